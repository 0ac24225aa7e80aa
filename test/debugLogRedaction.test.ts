import { strict as assert } from "assert";
import { filterSdkDebugLog, redactRpcResponse, sdkDebugLine } from "../components/debugLogRedaction";

const SECRET = "context: home-ops\ncontexts:\n  home-ops:\n    key: LS0tLS1CRUdJTiBFRDI1NTE5";
const FINISHED = [
  "RegisterResource RPC finished: resource:talos-talosconfig[command:local:Command]; err: null, resp: ",
  "ReadResource RPC finished: previous-deployment; err: null, resp: ",
  "Invoke RPC finished: tok=onepassword:index/getItem:getItem; err: null, resp: ",
  "Call RPC finished: tok=x; err: null, resp: ",
];
/** One line of each kind the SDK runtime sends (@pulumi/pulumi 3.248.0 runtime/*.js log.debug calls). */
const SDK_LINES = [
  ...FINISHED.map((head) => `${head}urn:pulumi:x,stdout,,,${SECRET}`),
  "Registering resource: t=command:local:Command, name=talos-apply-mini01, custom=true, remote=false",
  "RegisterResource RPC prepared: t=command:local:Command, name=talos-apply-mini01",
  "RegisterResource RPC failed: t=command:local:Command, name=x, err=boom",
  "Reading resource: t=pulumi:pulumi:StackReference, name=previous-deployment",
  "ReadResource RPC prepared: id=o/p/s, t=pulumi:pulumi:StackReference, name=previous-deployment",
  "Getting resource: urn=urn:pulumi:s::p::t::n",
  "getResource Invoke RPC finished: err: null, resp: x",
  "Invoking function: tok=command:local:run asynchronously",
  'Invoke RPC prepared: tok=command:local:run, obj={"environment":{"TALOSCTL":"talosctl"}}',
  "Calling function: tok=x",
  "Call RPC prepared: tok=x",
  "RegisterResourceOutputs RPC prepared: urn=urn:pulumi:s::p::t::n",
  "RegisterResourceOutputs RPC finished: urn=urn:pulumi:s::p::t::n; err: null, resp: x",
  "Resource RPC serialization requested: resource:x is current",
  "Serialize property [resource:x]: Output<T>",
  "registering package kubernetes@4.25.0",
  "skip re-registering already registered module kubernetes:core/v1@4.25.0.",
];

describe("the SDK's own debug lines are not sent (they cost an engine call each, and some hold secrets)", () => {
  it("drops every line of the SDK runtime, keeps the program's own", () => {
    for (const line of SDK_LINES) assert.equal(sdkDebugLine(line, {}), undefined, line);
    for (const own of ["node mini01 runs v1.10.5", "Running program 'x' in pwd '/p' w/ args: "])
      assert.equal(sdkDebugLine(own, {}), own);
  });

  it("HOMEOPS_SDK_DEBUG_LOG keeps them, without the responses of finished RPCs", () => {
    const env = { HOMEOPS_SDK_DEBUG_LOG: "1" };
    for (const head of FINISHED) {
      const out = sdkDebugLine(`${head}urn:pulumi:x,stdout,,,${SECRET}`, env)!;
      assert.ok(out.startsWith(head), out);
      assert.ok(!out.includes("LS0tLS1"), out);
      assert.match(out, /response not logged/);
    }
    const other = "Registering resource: t=command:local:Command, name=talos-apply-mini01";
    assert.equal(sdkDebugLine(other, env), other);
    assert.equal(redactRpcResponse(other), other);
  });

  it("filterSdkDebugLog wraps a log module's debug function once: the SDK's lines never reach the original", async () => {
    const sent: string[] = [];
    const log = { debug: async (msg: string) => void sent.push(msg) };
    const original = log.debug;
    filterSdkDebugLog(log, {});
    const wrapped = log.debug;
    filterSdkDebugLog(log, {}); // once per module: a second call does not wrap it again
    assert.notEqual(wrapped, original);
    assert.equal(log.debug, wrapped);
    for (const line of SDK_LINES) await log.debug(line);
    await log.debug("the program's own line");
    assert.deepEqual(sent, ["the program's own line"]);
  });
});
