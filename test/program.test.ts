import { strict as assert } from "assert";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { CANARY, evaluate, Evaluation } from "./helpers/program";
import { recorded } from "./helpers/mocks";
import { StackConfig } from "../config/types";

const names = (e: Evaluation) => e.resources.map((r) => `${r.type} ${r.name}`);
const res = (e: Evaluation, name: string) => {
  const r = e.resources.find((x) => x.name === name);
  assert.ok(r, `no resource ${name}`);
  return r;
};
const withStopAfter = (stopAfter: StackConfig["stopAfter"]): StackConfig => ({ ...homeOpsConfig(), stopAfter });

describe("program graph (Pulumi mocks)", function () {
  let full: Evaluation;
  before(async () => {
    full = await evaluate(homeOpsConfig());
  });

  it("registers exactly the five phases' resources, with derived names and types", () => {
    assert.deepEqual(
      names(full).sort(),
      [
        "command:local:Command cluster-api-ready",
        "command:local:Command cluster-bootstrap",
        "command:local:Command cluster-kubeconfig",
        "command:local:Command cni-nodes-ready",
        "command:local:Command cni-talos-health",
        "command:local:Command secrets-eso-ready",
        "command:local:Command secrets-store-ready",
        "command:local:Command gitops-flux-ready",
        "command:local:Command talos-apply-mini01",
        "command:local:Command talos-apply-mini02",
        "command:local:Command talos-apply-mini03",
        "command:local:Command talos-schematic",
        "command:local:Command talos-talos-secrets",
        "command:local:Command talos-talosconfig",
        "homeops:cluster:ClusterPhase cluster",
        "homeops:cni:CniPhase cni",
        "homeops:gitops:GitopsPhase gitops",
        "homeops:secrets:SecretsPhase secrets",
        "homeops:talos:TalosPhase talos",
        "kubernetes:fluxcd.controlplane.io/v1:FluxInstance gitops-flux-instance",
        "kubernetes:external-secrets.io/v1:ClusterSecretStore secrets-cluster-secret-store",
        "kubernetes:apps/v1:Deployment secrets-connect-deployment",
        "kubernetes:core/v1:Namespace gitops-flux-namespace",
        "kubernetes:core/v1:Namespace secrets-connect-namespace",
        "kubernetes:core/v1:Namespace secrets-eso-namespace",
        "kubernetes:core/v1:Secret secrets-connect-credentials",
        "kubernetes:core/v1:Secret secrets-connect-token",
        "kubernetes:core/v1:Service secrets-service-onepassword-connect",
        "kubernetes:core/v1:Service secrets-service-onepassword-connect-sync",
        "kubernetes:helm.sh/v3:Release cni-cilium",
        "kubernetes:helm.sh/v3:Release gitops-flux-operator",
        "kubernetes:helm.sh/v3:Release secrets-external-secrets",
        "pulumi:providers:kubernetes cni-kubernetes",
        "pulumi:providers:onepassword onepassword",
      ].sort(),
    );
  });

  it("parents every child to its phase component", () => {
    for (const r of full.resources) {
      if (r.type.startsWith("homeops:") || r.name === "onepassword") continue;
      const phase = r.name.split("-")[0];
      assert.match(
        r.parent,
        new RegExp(`::homeops:${phase}:[A-Za-z]+Phase::${phase}$`),
        `${r.name} parent ${r.parent}`,
      );
    }
  });

  it("orders by the plan's edges: bootstrap after every node's apply, gates between phases", () => {
    const deps = (name: string) => res(full, name).dependencies.map((u) => u.split("::").pop());
    assert.deepEqual(deps("talos-apply-mini02").sort(), ["talos-schematic", "talos-talos-secrets"]);
    // The bundle arrives on stdin: a data edge besides the plan's.
    assert.deepEqual(deps("cluster-bootstrap").sort(), [
      "talos-apply-mini01",
      "talos-apply-mini02",
      "talos-apply-mini03",
      "talos-talos-secrets",
    ]);
    // A Helm release has no guard step: its create hook runs in the program (test/program-helm).
    assert.deepEqual(deps("cni-cilium"), ["cluster-api-ready"]);
    assert.deepEqual(deps("secrets-external-secrets"), ["secrets-eso-namespace"]);
    assert.deepEqual(deps("gitops-flux-operator"), ["gitops-flux-namespace"]);
    assert.deepEqual(deps("secrets-connect-namespace"), ["cni-talos-health"]);
    assert.deepEqual(deps("secrets-cluster-secret-store").sort(), [
      "secrets-connect-deployment",
      "secrets-eso-ready",
      "secrets-service-onepassword-connect",
      "secrets-service-onepassword-connect-sync",
    ]);
    assert.deepEqual(deps("gitops-flux-namespace"), ["secrets-store-ready"]);
    assert.deepEqual(deps("gitops-flux-instance"), ["gitops-flux-operator"]);
  });

  it("protects nothing: protect would block pulumi destroy and its preview (pulumi step.go DeleteStep)", () => {
    assert.deepEqual(
      full.resources.filter((r) => r.protect).map((r) => r.name),
      [],
    );
  });

  it("retains on destroy everything in the cluster (Flux adopts it; Cilium is the network)", () => {
    const k8s = full.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.equal(k8s.length, 13);
    for (const r of k8s) assert.equal(r.retainOnDelete, true, r.name);
    for (const r of full.resources.filter((x) => x.type === "command:local:Command"))
      assert.equal(r.retainOnDelete, false, r.name);
  });

  it("uses one explicit Kubernetes provider, registered by the cni phase, with every input set", () => {
    const provider = res(full, "cni-kubernetes");
    assert.deepEqual(provider.secretPaths, ["kubeconfig"]);
    assert.match(provider.parent, /homeops:cni:CniPhase::cni$/);
    assert.deepEqual(Object.fromEntries(Object.entries(provider.inputs).filter(([k]) => k !== "kubeconfig")), {
      clusterIdentifier: "home-ops",
      deleteUnreachable: "false",
      enableConfigMapMutable: "false",
      enableSecretMutable: "false",
      enableServerSideApply: "true",
      skipUpdateUnreachable: "false",
      suppressDeprecationWarnings: "false",
      suppressHelmHookWarnings: "false",
    });
    assert.equal(provider.aliases.length, 1);
    const alias = JSON.stringify(provider.aliases[0]);
    assert.ok(
      alias.includes("cluster-kubernetes") && alias.includes("homeops:cluster:ClusterPhase::cluster"),
      `the provider's identity before it moved to the cni phase: ${alias}`,
    );
    for (const r of full.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
      assert.match(r.provider, /\$pulumi:providers:kubernetes::cni-kubernetes::/, r.name);
    }
  });

  it("Helm releases: the stack's timeouts, may replace a failed install, never imported", () => {
    const cilium = res(full, "cni-cilium");
    assert.equal(cilium.inputs.timeout, 600);
    assert.equal(cilium.inputs.replace, true);
    assert.equal(res(full, "secrets-external-secrets").inputs.timeout, 300);
    assert.equal(res(full, "gitops-flux-operator").inputs.timeout, 600);
    for (const r of full.resources) assert.equal(r.importId, "", r.name);
  });

  it("sets every input of the 1Password provider, so OP_* variables of the shell cannot change it", () => {
    const provider = res(full, "onepassword");
    assert.deepEqual(Object.keys(provider.inputs).sort(), [
      "account",
      "opCliPath",
      "serviceAccountToken",
      "token",
      "url",
    ]);
    assert.equal(provider.inputs.url, "");
    assert.equal(provider.inputs.account, "");
    assert.deepEqual(provider.secretPaths.sort(), ["serviceAccountToken", "token"]);
  });

  it("sends every secret input as a Pulumi secret, and never in a command string", () => {
    for (const r of full.resources.filter((x) => x.type === "command:local:Command")) {
      const secretInputs = r.secretPaths;
      if (r.inputs.stdin !== undefined) assert.ok(secretInputs.includes("stdin"), `${r.name} stdin is secret`);
      for (const key of ["create", "update", "delete"]) {
        assert.ok(!secretInputs.some((p) => p.startsWith(key)), `${r.name}.${key} holds no secret`);
      }
    }
    assert.deepEqual(res(full, "talos-talos-secrets").secretPaths, ["environment.OP_SERVICE_ACCOUNT_TOKEN"]);
    // Only stdin is secret on a node's apply: its patch stays readable in `pulumi preview --diff`.
    for (const host of ["mini01", "mini02", "mini03"]) {
      const apply = res(full, `talos-apply-${host}`);
      assert.deepEqual(apply.secretPaths, ["stdin"]);
      assert.match(String(apply.inputs.environment.NODE_PATCH), new RegExp(`hostname: ${host}`));
    }
    assert.deepEqual(res(full, "secrets-connect-credentials").secretPaths, ["stringData"]);
    assert.deepEqual(res(full, "secrets-connect-token").secretPaths, ["stringData"]);
  });

  it("marks secret-bearing command outputs secret and keeps their logs off", () => {
    for (const name of ["talos-talos-secrets", "talos-talosconfig", "cluster-kubeconfig"]) {
      const r = res(full, name);
      assert.deepEqual(r.additionalSecretOutputs.sort(), ["stderr", "stdout"]);
      assert.equal(r.inputs.logging, "none");
    }
    assert.equal(res(full, "talos-apply-mini01").inputs.logging, "none", "reads the bundle on stdin");
  });

  it("exports talosconfig and kubeconfig as secrets and everything else in the clear", () => {
    const secretOutputs = Object.entries(full.outputs)
      .filter(([, v]) => v.secret)
      .map(([k]) => k)
      .sort();
    assert.deepEqual(secretOutputs, ["kubeconfig", "talosconfig"]);
    assert.equal(full.outputs.talosconfig.value, CANARY.talosconfig);
    assert.deepEqual(full.outputs.phasesCompleted.value, ["talos", "cluster", "cni", "secrets", "gitops"]);
    assert.equal(full.outputs.longhornSsdMountPath.value, "/var/mnt/longhorn-ssd");
    assert.equal(full.outputs.talosconfigExpiry.value, "unknown", "the canary talosconfig holds no real certificate");
    const nodes = full.outputs.nodes.value as { hostname: string; installerImage: string }[];
    assert.deepEqual(
      nodes.map((n) => n.hostname),
      ["mini01", "mini02", "mini03"],
    );
    assert.ok(nodes.every((n) => n.installerImage.startsWith("factory.talos.dev/installer/")));
  });

  it("runs constant script files and ignores no input: tuning is read at run time, never stored", () => {
    const commands = full.resources.filter((r) => r.type === "command:local:Command");
    assert.equal(commands.length, 14);
    for (const r of commands) {
      assert.deepEqual(r.ignoreChanges, [], `${r.name}: an ignored input is frozen at its stored value`);
      assert.match(String(r.inputs.create), /^steps\/[a-z-]+\.sh$/, r.name);
      assert.equal(r.inputs.update, undefined, `${r.name}: an update runs create again`);
      assert.deepEqual(r.inputs.interpreter, ["/bin/sh"]);
      assert.equal(
        r.inputs.addPreviousOutputInEnv,
        false,
        `${r.name}: a secret stdout must not reach the next run's env`,
      );
      const raw = r.inputs.environment as Record<string, unknown>;
      // A map holding a secret value travels as one secret (the bundle step's 1Password token).
      const env = (raw.value && typeof raw.value === "object" ? raw.value : raw) as Record<string, string>;
      assert.equal(env.HOMEOPS_SETTINGS, ".homeops/home-ops/settings.env", r.name);
      for (const tuning of ["TALOSCTL", "KUBECTL", "POLL_SECONDS", "NODE_TIMEOUT", "API_TIMEOUT", "WAIT_TIMEOUT"]) {
        assert.ok(!(tuning in env), `${r.name} carries ${tuning} as an input`);
      }
      assert.ok(!Object.keys(env).some((k) => k.startsWith("TIMEOUT_")), r.name);
    }
    assert.equal(res(full, "talos-apply-mini01").inputs.delete, "steps/node-reset.sh");
  });

  it("reads 1Password only through the provider, by vault name then item title", () => {
    const tokens = recorded.calls.map((c) => c.token).filter((t) => t !== "command:local:run");
    assert.ok(tokens.length > 0);
    assert.ok(
      tokens.every((t) => t === "onepassword:index/getVault:getVault" || t === "onepassword:index/getItem:getItem"),
      tokens.join(),
    );
  });

  for (const [stopAfter, phases] of [
    ["talos", ["talos"]],
    ["cluster", ["talos", "cluster"]],
    ["cni", ["talos", "cluster", "cni"]],
    ["secrets", ["talos", "cluster", "cni", "secrets"]],
  ] as const) {
    it(`stopAfter ${stopAfter} declares only ${phases.join(" → ")}`, async () => {
      const e = await evaluate(withStopAfter(stopAfter));
      const present = [...new Set(e.resources.filter((r) => r.type.startsWith("homeops:")).map((r) => r.name))];
      assert.deepEqual(present, [...phases]);
      assert.deepEqual(e.outputs.phasesCompleted.value, [...phases]);
      if (stopAfter === "talos") {
        assert.ok(!e.resources.some((r) => r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers")));
        assert.deepEqual(
          recorded.calls.map((c) => c.token),
          ["command:local:run"],
          "only the talosctl preflight; no 1Password read before the secrets phase",
        );
      }
    });
  }

  it("previews a stack whose cluster does not exist yet: unknown kubeconfig, every resource shown", async () => {
    const e = await evaluate(homeOpsConfig(), { preview: true });
    assert.deepEqual(names(e).sort(), names(full).sort());
    assert.equal(e.outputs.kubeconfig.value, undefined, "kubeconfig is unknown in preview");
    assert.equal(e.outputs.clusterName.value, "home-ops");
  });
});
