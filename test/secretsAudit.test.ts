/**
 * Secrets audit: every secret input is seeded with a distinctive canary; no canary may appear in
 * a command string, a non-secret input or output, a log line, a rendered file or an error message.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { CANARY, CANARY_FRAGMENTS, evaluate, Evaluation } from "./helpers/program";
import { RecordedResource } from "./helpers/mocks";
import { fakeWorld, fastConfig, SimWorld } from "./helpers/simWorld";
import { StackConfig } from "../config/types";
import { renderStackFiles } from "../render/files";
import { up } from "./sim/engine";
import { decodeConnectCredentials } from "../k8s/connect";
import { connectCredentialsText, gitCredentialsFromItem, itemField } from "../k8s/onepasswordItems";

function canariesIn(text: string): string[] {
  return CANARY_FRAGMENTS.filter((c) => text.includes(c));
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Drops values wrapped as Pulumi secrets (as the registration carries them). */
function withoutSecretValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecretValues);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (SECRET_SIG_KEY in obj) return "<secret>";
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, withoutSecretValues(v)]));
}

/** The inputs of a resource with every subtree that was sent as a secret removed. */
function nonSecretInputs(r: RecordedResource): unknown {
  const copy = withoutSecretValues(JSON.parse(JSON.stringify(r.inputs))) as Record<string, unknown>;
  for (const p of r.secretPaths) {
    const parts = p.split(".");
    let node: Record<string, unknown> = copy;
    for (const part of parts.slice(0, -1)) node = (node?.[part] as Record<string, unknown>) ?? {};
    delete node[parts[parts.length - 1]];
  }
  return copy;
}

const gitAuth = (auth: "token" | "ssh"): StackConfig => {
  const cfg = homeOpsConfig();
  return {
    ...cfg,
    gitops: {
      ...cfg.gitops,
      auth,
      url: auth === "ssh" ? "ssh://git@github.com/geoffdavis/talos-gitops" : cfg.gitops.url,
      credentialsItem: auth === "ssh" ? "GitOps deploy key" : "GitOps deploy token",
    },
  };
};

describe("secrets audit: canaries in every secret input", function () {
  this.timeout(120000);

  for (const [label, cfg] of [
    ["public repository", homeOpsConfig()],
    ["private repository, token", gitAuth("token")],
    ["private repository, deploy key", gitAuth("ssh")],
  ] as const) {
    describe(`program (mocks), ${label}`, () => {
      let e: Evaluation;
      const logged: string[] = [];
      before(async () => {
        const original = { ...pulumi.log };
        for (const level of ["debug", "info", "warn", "error"] as const) {
          (pulumi.log as any)[level] = (msg: string) => {
            logged.push(String(msg));
            return Promise.resolve();
          };
        }
        try {
          e = await evaluate(cfg);
        } finally {
          Object.assign(pulumi.log, original);
        }
      });

      it("the secrets really flow (the audit looks at live values)", () => {
        const all = JSON.stringify(e.resources.map((r) => r.inputs));
        assert.ok(all.includes(CANARY.opToken), "op token reaches the bundle step");
        assert.ok(all.includes("CANARY_TALOS_BUNDLE_7f3a9c"), "bundle reaches the applies on stdin");
        assert.ok(all.includes(CANARY.connectToken), "Connect token reaches its Secret");
        if (cfg.gitops.auth === "token") assert.ok(all.includes(CANARY.gitToken));
        if (cfg.gitops.auth === "ssh") assert.ok(all.includes("CANARY_SSH_KEY_6f6f"));
      });

      it("no canary in any command string", () => {
        for (const r of e.resources.filter((x) => x.type === "command:local:Command")) {
          for (const key of ["create", "update", "delete"])
            assert.deepEqual(canariesIn(String(r.inputs[key] ?? "")), [], `${r.name}.${key}`);
        }
      });

      it("no canary in any input outside the parts sent as secrets", () => {
        for (const r of e.resources) assert.deepEqual(canariesIn(JSON.stringify(nonSecretInputs(r))), [], r.name);
      });

      it("no canary in any non-secret stack output; the secret ones are secret", () => {
        for (const [k, v] of Object.entries(e.outputs)) {
          if (v.secret) continue;
          assert.deepEqual(canariesIn(JSON.stringify(v.value ?? null)), [], k);
        }
        assert.equal(e.outputs.talosconfig.secret, true);
        assert.equal(e.outputs.kubeconfig.secret, true);
      });

      it("no canary in any log line of the program", () => {
        // The SDK's own RPC transport traces (debug level, shown only with --debug) echo the
        // registration payloads, secrets still wrapped; they are not this program's logs.
        const ours = logged.filter(
          (l) => !/^(RegisterResource|Invoke|ReadResource|RegisterResourceOutputs) RPC/.test(l),
        );
        assert.ok(logged.length > ours.length, "the filter only removes SDK traces");
        assert.deepEqual(canariesIn(ours.join("\n")), []);
      });
    });
  }

  it("no canary in error messages of the 1Password readers and the credentials decoder", () => {
    const messages: string[] = [];
    const capture = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        messages.push((err as Error).message);
      }
    };
    capture(() => decodeConnectCredentials(CANARY.connectCredentials.replace('"version":"2"', '"version":"1"')));
    capture(() => decodeConnectCredentials(`garbage ${CANARY.connectToken}`));
    capture(() =>
      itemField(
        { password: "", sections: [{ fields: [{ label: "other", value: CANARY.connectToken }] }] },
        "token",
        "item",
      ),
    );
    capture(() => connectCredentialsText({ sections: [{ fields: [{ label: "x", value: CANARY.gitToken }] }] }, "item"));
    capture(() => gitCredentialsFromItem("ssh", { privateKey: CANARY.sshKey }, "item"));
    assert.equal(messages.length, 5, "every probe failed");
    assert.deepEqual(canariesIn(messages.join("\n")), []);
  });

  it("no canary in the offline render", () => {
    const files = renderStackFiles(gitAuth("token"));
    assert.deepEqual(canariesIn([...files.values()].join("\n")), []);
    assert.ok([...files.values()].some((f) => f.includes("<secret: set at apply time from 1Password>")));
  });

  describe("simulated execution with canary secrets", () => {
    let w: SimWorld;
    after(() => w?.cleanup());

    it("no canary in any command line, log line, non-secret output or error", async () => {
      w = new SimWorld(fastConfig());
      // A real-shaped bundle holding canaries, stored in 1Password before the first run.
      const bundle = [
        "cluster:",
        "    id: CANARY_TALOS_BUNDLE_7f3a9c",
        "    secret: CANARY_TALOS_SECRET_b2e4",
        "secrets:",
        "    bootstraptoken: abcdef.0123456789abcdef",
        "    secretboxencryptionsecret: CANARY_TALOS_SECRET_b2e4",
        "trustdinfo:",
        "    token: abcdef.0123456789abcdef",
        "certs:",
        "    os:",
        "        crt: Q0FOQVJZ",
        "        key: CANARY_TALOS_SECRET_b2e4",
        "",
      ].join("\n");
      fakeWorld.putOpItem(w.dir, "Automation", {
        title: "Talos Secrets - home-ops",
        category: "SECURE_NOTE",
        fields: [{ label: "talsecret", type: "CONCEALED", value: bundle }],
      });
      const opts = { ...w.options, env: { OP_SERVICE_ACCOUNT_TOKEN: CANARY.opToken } };

      const r1 = await up(w.plan, w.state, opts);
      assert.equal(r1.failed, undefined, JSON.stringify(r1.failed));
      assert.equal(
        w.world().nodes["172.29.51.11"].identity,
        "CANARY_TALOS_BUNDLE_7f3a9c",
        "the seeded bundle was used",
      );
      // A failing run too: its error message must not leak either.
      w.faults([{ tool: "talosctl", match: "apply-config", kind: "exit", message: "refused" }]);
      const cfg = w.cfg;
      w.cfg = { ...cfg, nodes: cfg.nodes.map((n) => ({ ...n, sysctls: { ...n.sysctls, "vm.swappiness": "1" } })) };
      const r2 = await up(w.plan, w.state, opts);
      assert.ok(r2.failed);

      const commandLines = w
        .calls()
        .map((c) => c.argv.join(" "))
        .join("\n");
      assert.deepEqual(canariesIn(commandLines), [], "command lines");
      const secretStdout = new Set(w.plan.steps.filter((s) => s.kind === "command" && s.secretStdout).map((s) => s.id));
      for (const r of [r1, r2]) {
        for (const [id, out] of Object.entries(r.output)) {
          assert.deepEqual(canariesIn(out.stderr), [], `${id} stderr`);
          if (!secretStdout.has(id)) assert.deepEqual(canariesIn(out.stdout), [], `${id} stdout`);
        }
      }
      assert.deepEqual(canariesIn(r2.failed!.message), [], "error message");
      assert.ok(
        canariesIn(w.state.steps["talos-secrets"].stdout).length > 0,
        "the bundle itself is in the (secret) stdout",
      );
    });
  });
});
