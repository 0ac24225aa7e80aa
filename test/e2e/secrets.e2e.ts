/**
 * Secrets end to end under the real engine: canaries for every secret the stack handles (the
 * Talos bundle, the 1Password service-account token, the talosconfig and kubeconfig keys) must not
 * appear in plain text in the state file, the engine's output with debug and verbose logging, or
 * the fakes' command lines; the bundle never reaches a talosctl environment. A Ctrl-C (SIGINT to
 * the CLI, which cancels its steps) leaves no scratch directory and no tool running. Ambient
 * TALOSCONFIG/KUBECONFIG/OP_* in the operator's shell change nothing.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { assertSucceeded, E2E_DELAYS, E2EStack, fakeWorld } from "./harness";
import { scaledMs } from "../helpers/calibration";

const OP_TOKEN = "ops_eyJDANARYservicetokenXq7Tz9";

/** Command lines of the processes that run against this fake world (FAKE_STATE_DIR in their environment). */
function processesOfWorld(fakeDir: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (!environ.includes(`FAKE_STATE_DIR=${fakeDir}`)) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      // A fake as a process of its own (test/fakes/bin), or the fake server's native client
      // (test/fakes/lib/server.js), whose call runs for as long as it does.
      if (/fakes\/bin\//.test(cmd) || path.basename(fs.readlinkSync(`/proc/${pid}/exe`)) === "fake-client")
        out.push(cmd);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Distinctive values of a secrets bundle: every key and secret in it. */
function bundleSecrets(bundleYaml: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string" && v.length >= 16) out.push(v);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(parse(bundleYaml));
  return out;
}

function yamlValues(text: string, keys: RegExp): string[] {
  return [...text.matchAll(new RegExp(`^\\s*(?:${keys.source}):\\s*(\\S{16,})\\s*$`, "gm"))].map((m) => m[1]);
}

describe("real engine: secrets stay secret", function () {
  let s: E2EStack;
  let bundle: string;
  let tmp: string;

  before(async () => {
    // A bundle made by the real talosctl, seeded into 1Password, so its values are known
    // canaries before the first call.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-bundle-"));
    const probe = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
    execFileSync(path.join(probe.tools, "talosctl-v1.10"), ["gen", "secrets", "-o", path.join(work, "b.yaml")]);
    bundle = fs.readFileSync(path.join(work, "b.yaml"), "utf8");
    probe.cleanup();
    fs.rmSync(work, { recursive: true });
    s = new E2EStack({
      config: { "homeops:onepassword": { ...onePassword(), auth: "service-account" } },
      world: {
        delaysMs: E2E_DELAYS,
        canaries: [...bundleSecrets(bundle), OP_TOKEN],
        opItems: [{ title: "Talos Secrets - e2e", fields: [{ label: "talsecret", type: "CONCEALED", value: bundle }] }],
      },
    });
    s.run(["config", "set", "--secret", "homeops:onepasswordServiceAccountToken", OP_TOKEN, "--stack", "e2e"], {});
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-e2e-tmp-"));
  });
  after(() => {
    s?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function onePassword(): Record<string, unknown> {
    const c = parse(fs.readFileSync(path.join(__dirname, "Pulumi.e2e.yaml"), "utf8")) as {
      config: Record<string, Record<string, unknown>>;
    };
    const { account, ...rest } = c.config["homeops:onepassword"];
    void account;
    return rest;
  }

  it("with debug and verbose logging, and ambient TALOSCONFIG/KUBECONFIG/OP_CONNECT_*: the run succeeds, no canary leaks", async () => {
    const ambient = {
      TMPDIR: tmp,
      TALOSCONFIG: "/nonexistent/talosconfig",
      KUBECONFIG: "/nonexistent/kubeconfig",
      OP_CONNECT_HOST: "http://127.0.0.1:1",
      OP_CONNECT_TOKEN: "not-a-connect-token",
    };
    // -v=6 is the most verbose engine log without property values: from -v=7 the engine logs every
    // resource's inputs, secret ones in plain text (pulumi v3.248.0 pkg/resource/deploy/
    // step_generator.go "Planner decided ...", logging.V(7)), and at -v=9 every RPC's properties
    // (sdk/go/common/resource/plugin/rpc.go). No program can prevent that; the README says never to
    // share such a log.
    const r = await s.up(["--debug", "-v=6", "--logtostderr", "--logflow"], { extraEnv: ambient });
    assertSucceeded(r, "up with verbose logging");
    const outputs = JSON.parse(s.run(["stack", "output", "--json", "--show-secrets", "--stack", "e2e"], {}));
    const secrets = [
      ...bundleSecrets(bundle),
      OP_TOKEN,
      ...yamlValues(outputs.talosconfig as string, /key|crt/),
      ...yamlValues(outputs.kubeconfig as string, /client-key-data|client-certificate-data/),
    ];
    assert.ok(secrets.length >= 12, `canaries: ${secrets.length}`);
    const places: Record<string, string> = {
      "the state file": fs.readFileSync(s.stateFile, "utf8"),
      "the engine's output (--json events, --debug)": r.stdout,
      "the engine's verbose log (-v=6 --logtostderr)": r.stderr,
      "the fakes' command lines": JSON.stringify(s.calls().map((c) => c.argv)),
      "the stack file": fs.readFileSync(s.stackFile, "utf8"),
    };
    for (const [where, text] of Object.entries(places)) {
      const leaked = secrets.filter((x) => text.includes(x));
      assert.deepEqual(
        leaked.map((x) => `${x.slice(0, 6)}…`),
        [],
        `${where} holds ${leaked.length} secret value(s)`,
      );
    }
    // The fakes scanned their own environment and argv: the bundle never reached one; the token
    // only reached op, which needs it.
    const hits = s.calls().filter((c) => (c as { canaryHits?: string[] }).canaryHits?.length);
    assert.deepEqual(
      hits
        .filter((c) => c.tool !== "op")
        .map((c) => `${c.tool} ${c.argv[0]}: ${(c as { canaryHits?: string[] }).canaryHits}`),
      [],
    );
    assert.ok(
      hits.some((c) => c.tool === "op"),
      "op did get the token (the scan works)",
    );
    // Ambient variables were ignored: every node still went through our own talosconfig, and op
    // used the service account, not the Connect server.
    assert.deepEqual(fakeWorld.readUsageErrors(s.fakeDir), []);
    assert.equal(fs.readdirSync(path.join(tmp, `homeops-work-${process.getuid!()}`)).length, 0, "no scratch left");
  });

  it("ambient variables cause no diff: a preview with them expects no changes", async () => {
    const p = await s.preview(["--expect-no-changes"], {
      extraEnv: { KUBECONFIG: "/elsewhere", PULUMI_K8S_DELETE_UNREACHABLE: "true", OP_CONNECT_HOST: "http://x" },
    });
    assertSucceeded(p, "preview with ambient variables");
  });

  it("Ctrl-C (SIGINT to the CLI) while nodes are configured: no scratch directory, no tool left running", async () => {
    // A change that needs a reboot, with a long reboot: the CLI is interrupted while an apply
    // step waits for its node to come back.
    const machine = s.config()["homeops:machine"] as { udevRules: string[] };
    s.setConfig({
      "homeops:machine": {
        ...machine,
        udevRules: [...machine.udevRules, 'KERNEL=="sd*", ATTR{queue/nr_requests}="64"'],
      },
    });
    fakeWorld.setDelays(s.fakeDir, { reboot: scaledMs(20_000) });
    const started = s.pulumi(["up", "--yes", "--skip-preview", "--json"], {
      program: true,
      extraEnv: { TMPDIR: tmp },
      signalWhen: (e) => e.resourcePreEvent?.metadata?.op === "update",
      signal: "SIGINT",
      signalDelayMs: scaledMs(1500),
    });
    const r = await started;
    assert.notEqual(r.code, 0, "the update was cancelled");
    const updating = r.events.filter((e) => e.resourcePreEvent?.metadata?.op === "update").length;
    const updated = r.events.filter((e) => e.resOutputsEvent?.metadata?.op === "update").length;
    assert.ok(updating > updated, "interrupted while an apply was running");
    await new Promise((res) => setTimeout(res, scaledMs(3000)));
    const work = path.join(tmp, `homeops-work-${process.getuid!()}`);
    const left = fs.existsSync(work) ? fs.readdirSync(work) : [];
    assert.deepEqual(left, [], "every scratch directory was removed");
    assert.deepEqual(processesOfWorld(s.fakeDir), [], "no fake tool of this world still running");
  });
});
