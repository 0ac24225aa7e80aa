/**
 * Secrets audit: every secret input is seeded with a distinctive canary; no canary may appear in
 * a command string, a non-secret input or output, a log line, a rendered file or an error message.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { CANARY, CANARY_FRAGMENTS, evaluate, Evaluation } from "./helpers/program";
import { RecordedResource } from "./helpers/mocks";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { fakeWorld, fastConfig, listTree, SimWorld, succeeded, withSysctl } from "./helpers/simWorld";
import { StackConfig } from "../config/types";
import { settingsPath } from "../plan";
import { renderStackFiles } from "../render/files";
import { decodeConnectCredentials } from "../k8s/connect";
import { connectCredentialsText, gitCredentialsFromItem, itemField } from "../k8s/onepasswordItems";

function canariesIn(text: string): string[] {
  return CANARY_FRAGMENTS.filter((c) => text.includes(c));
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The secret values of a Talos secrets bundle: every key, token and secret (certificates are public). */
function secretLeaves(value: unknown, key = ""): string[] {
  if (typeof value === "string") return key === "crt" || value.length < 16 ? [] : [value];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => secretLeaves(v, k));
}

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

      it("every step fed a secret on stdin (the bundle, the kubeconfig) or printing one (the bundle, the talosconfig, the kubeconfig) logs nothing, whichever secret it is", () => {
        const fed = new Map<string, string[]>();
        for (const step of e.stack.plan.steps) {
          if (step.kind !== "command") continue;
          const secrets = [
            ...(step.stdinFrom ? [`stdin:${step.stdinFrom}`] : []),
            ...(step.secretStdout ? [`stdout:${step.id}`] : []),
          ];
          if (secrets.length === 0) continue;
          const r = e.resources.find(
            (x) => x.type === "command:local:Command" && x.name === `${step.phase}-${step.id}`,
          );
          assert.ok(r, `no resource for ${step.id}`);
          assert.equal(r.inputs.logging, "none", `${step.id} (${secrets.join(", ")}) logs its output`);
          assert.ok(r.additionalSecretOutputs.includes("stderr"), `${step.id}: stderr not secret`);
          if (step.secretStdout)
            assert.ok(r.additionalSecretOutputs.includes("stdout"), `${step.id}: stdout not secret`);
          if (step.stdinFrom)
            assert.deepEqual(
              r.secretPaths.filter((p) => p === "stdin"),
              ["stdin"],
              step.id,
            );
          for (const k of secrets) fed.set(k, [...(fed.get(k) ?? []), step.id]);
        }
        assert.deepEqual(
          [...fed.keys()].sort(),
          [
            "stdin:kubeconfig",
            "stdin:talos-secrets",
            "stdout:kubeconfig",
            "stdout:talos-secrets",
            "stdout:talosconfig",
          ],
          "every kind of secret a step reads or prints was checked",
        );
        assert.ok(fed.get("stdin:kubeconfig")!.length >= 3, "the kubeconfig feeds the gates of every phase");
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
    const MINT_CANARY = "CANARY_MINTED_BUNDLE_3c9d";
    let w: SimWorld;
    after(() => w?.cleanup());

    it("the mint branch, then every step re-run and a failing one: no secret in any call's environment or argv, in any stderr, non-secret stdout, error, stored input, settings or scratch file", async () => {
      // 1Password is empty: the first run mints the bundle (the fake's gen secrets embeds a canary).
      w = new SimWorld(fastConfig(), {}, { mintCanary: MINT_CANARY, canaries: [MINT_CANARY, CANARY.opToken] });
      const options = { onePasswordEnv: { OP_SERVICE_ACCOUNT_TOKEN: CANARY.opToken } };
      const runs = [await w.up({ options })];
      succeeded(runs[0]);
      const bundle = w.state.steps["talos-secrets"].stdout;
      assert.ok(bundle.includes(MINT_CANARY), "the minted bundle carries the canary (the audit looks at live values)");
      assert.ok(w.storedBundle()?.includes(MINT_CANARY), "and so does what 1Password stored");

      // Now every secret the run produced is a canary too: the bundle's keys and secrets, the
      // talosconfig's and the kubeconfig's client keys.
      const secrets = [
        ...new Set([
          MINT_CANARY,
          CANARY.opToken,
          ...secretLeaves(YAML.parse(bundle)),
          ...Object.values(
            YAML.parse(w.state.steps.talosconfig.stdout).contexts as Record<string, { key: string }>,
          ).map((c) => c.key),
          ...YAML.parse(w.state.steps.kubeconfig.stdout).users.map(
            (u: { user: Record<string, string> }) => u.user["client-key-data"],
          ),
        ]),
      ];
      assert.ok(secrets.length >= 10, `${secrets.length} secrets`);
      fakeWorld.withLock(w.dir, () =>
        fakeWorld.writeConfig(w.dir, { ...fakeWorld.readConfig(w.dir), canaries: secrets }),
      );
      const secretsIn = (text: string) => secrets.filter((c) => text.includes(c)).map((c) => c.slice(0, 12));

      // Lost state: every step runs again, reading the bundle back; then a failing change.
      w.state = { steps: {} };
      runs.push(await w.up({ options }));
      succeeded(runs[1]);
      w.faults([
        { tool: "talosctl", command: "apply-config", flags: { "dry-run": false }, kind: "exit", message: "refused" },
      ]);
      w.cfg = withSysctl(w.cfg, "mini02", "vm.swappiness", "1");
      runs.push(await w.up({ options }));
      assert.equal(runs[2].failed?.id, "apply-mini02");

      const calls = w.calls();
      const hits = calls.flatMap((c) => (c.canaryHits ?? []).map((h) => `${c.tool} ${c.command}: ${h}`));
      assert.ok(
        hits.some((h) => h.startsWith("op item get: env:OP_SERVICE_ACCOUNT_TOKEN")),
        "the scan sees the 1Password token where it belongs",
      );
      assert.deepEqual(
        hits.filter((h) => !h.endsWith(": env:OP_SERVICE_ACCOUNT_TOKEN")),
        [],
        "a secret in a tool's environment or argv",
      );
      const secretStdout = new Set(w.plan.steps.filter((s) => s.kind === "command" && s.secretStdout).map((s) => s.id));
      for (const [i, r] of runs.entries()) {
        for (const [id, out] of Object.entries(r.output)) {
          assert.deepEqual(secretsIn(out.stderr), [], `run ${i + 1}: ${id} stderr`);
          if (!secretStdout.has(id)) assert.deepEqual(secretsIn(out.stdout), [], `run ${i + 1}: ${id} stdout`);
        }
      }
      assert.ok(
        runs[0].output["talos-secrets"].stderr.includes("generated a new Talos secrets bundle"),
        "the mint branch ran",
      );
      assert.deepEqual(secretsIn(runs[2].failed!.message), [], "error message");
      for (const [id, st] of Object.entries(w.state.steps)) {
        const { OP_SERVICE_ACCOUNT_TOKEN, ...env } = st.env;
        assert.ok(OP_SERVICE_ACCOUNT_TOKEN === undefined || id === "talos-secrets", `${id} got the 1Password token`);
        assert.deepEqual(secretsIn(JSON.stringify(env)), [], `${id}: stored environment`);
      }
      assert.deepEqual(secretsIn(fs.readFileSync(path.join(w.projectDir, settingsPath(w.cfg.stack)), "utf8")), []);
      assert.deepEqual(
        listTree(w.tmpDir).filter((f) => !f.endsWith("/")),
        [],
        "no scratch file left",
      );
    });
  });
});
