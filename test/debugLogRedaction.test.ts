import { strict as assert } from "assert";
import { redactRpcResponse } from "../components/debugLogRedaction";

describe("the SDK's debug lines lose their RPC responses (they hold secret outputs)", () => {
  it("drops the response of every finished RPC line, keeps the rest", () => {
    const secret = "context: home-ops\ncontexts:\n  home-ops:\n    key: LS0tLS1CRUdJTiBFRDI1NTE5";
    for (const head of [
      "RegisterResource RPC finished: resource:talos-talosconfig[command:local:Command]; err: null, resp: ",
      "ReadResource RPC finished: previous-deployment; err: null, resp: ",
      "Invoke RPC finished: tok=onepassword:index/getItem:getItem; err: null, resp: ",
      "Call RPC finished: tok=x; err: null, resp: ",
    ]) {
      const out = redactRpcResponse(`${head}urn:pulumi:x,stdout,,,${secret}`);
      assert.ok(out.startsWith(head), out);
      assert.ok(!out.includes("LS0tLS1"), out);
      assert.match(out, /response not logged/);
    }
    const other = "Registering resource: t=command:local:Command, name=talos-apply-mini01";
    assert.equal(redactRpcResponse(other), other);
  });
});
