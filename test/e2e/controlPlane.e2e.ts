/**
 * The real Kubernetes control plane of the e2e tier (test/e2e/k8s): etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler v1.31.14 and kwok v0.7.0 on the e2e stack's VIP, serving
 * with a CA given by the caller; workloads become Available; then the real Pulumi CLI with the
 * Kubernetes provider built from v4.25.0's commit manages objects in it, idempotently.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { alive, ControlPlane, startControlPlane } from "./k8s/controlPlane";
import { issueCertificate, selfSignedCa } from "./k8s/x509";
import {
  assertSucceeded,
  baseEnv,
  changeSummary,
  pulumiHome,
  REPO,
  RunResult,
  runCli,
  startHost,
  toolsDir,
} from "./harness";

const NODES = [
  { name: "mini01", address: "127.0.0.11" },
  { name: "mini02", address: "127.0.0.12" },
  { name: "mini03", address: "127.0.0.13" },
];

function json<T = any>(text: string): T {
  return JSON.parse(text) as T;
}

/** Polls kubectl until `done` holds for the parsed object (bounded; no fixed sleep). */
async function until<T>(
  cp: ControlPlane,
  args: string[],
  done: (o: T) => boolean | undefined,
  what: string,
  ms = 180_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = json<T>(await cp.kubectlRun([...args, "-o", "json"]));
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.fail(`${what} not reached in ${ms} ms; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

describe("a real Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler, kwok)", function () {
  this.timeout(900_000);
  const tools = toolsDir();
  const ca = selfSignedCa("ecdsa"); // the type `talosctl gen secrets` makes for certs.k8s
  let cp: ControlPlane | undefined;
  let started = 0;

  before(async () => {
    const t0 = Date.now();
    cp = await startControlPlane({ tools, host: "127.0.0.10", port: 6443, ca, nodes: NODES });
    started = Date.now() - t0;
  });
  after(async () => {
    await cp?.stop();
  });

  it("starts (API ready and every Node Ready) and reports v1.31.14", async () => {
    console.log(`      control plane ready in ${started} ms`);
    assert.equal(cp!.server, "https://127.0.0.10:6443");
    assert.equal((await cp!.kubectlRun(["get", "--raw", "/readyz"])).trim(), "ok");
    const v = json(await cp!.kubectlRun(["version", "-o", "json"]));
    assert.equal(v.serverVersion.gitVersion, "v1.31.14");
    assert.equal(v.clientVersion.gitVersion, "v1.31.14");
  });

  it("has the three Nodes Ready, labelled as Talos labels control planes, without taints", async () => {
    const nodes = json(await cp!.kubectlRun(["get", "nodes", "-o", "json"])).items as any[];
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ["mini01", "mini02", "mini03"]);
    for (const n of nodes) {
      assert.equal(n.status.conditions.find((c: any) => c.type === "Ready").status, "True", n.metadata.name);
      assert.equal(n.metadata.labels["node-role.kubernetes.io/control-plane"], "");
      assert.equal(n.metadata.labels["kubernetes.io/hostname"], n.metadata.name);
      assert.deepEqual(n.spec.taints ?? [], [], n.metadata.name);
      const ip = n.status.addresses.find((a: any) => a.type === "InternalIP").address;
      assert.equal(ip, NODES.find((x) => x.name === n.metadata.name)!.address);
    }
  });

  it("authenticates client certificates of the given CA only (O=system:masters is admin)", async () => {
    const asUser = (cert: { cert: string; key: string }) => {
      const file = path.join(cp!.dir, `client-${Math.random().toString(36).slice(2)}.kubeconfig`);
      fs.writeFileSync(file, cp!.kubeconfigFor(cert.cert, cert.key, "probe"), { mode: 0o600 });
      return cp!.kubectlRun([`--kubeconfig=${file}`, "get", "nodes", "-o", "name"]);
    };
    const admin = issueCertificate(ca, { commonName: "admin", organizations: ["system:masters"], usage: "client" });
    assert.match(await asUser(admin), /node\/mini01/);
    const nobody = issueCertificate(ca, { commonName: "nobody", usage: "client" });
    await assert.rejects(asUser(nobody), /forbidden: User "nobody" cannot list resource "nodes"/);
    const stranger = issueCertificate(selfSignedCa("ecdsa"), {
      commonName: "admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    await assert.rejects(asUser(stranger), /Unauthorized|must be logged in/);
  });

  it("runs a Deployment to Available and a DaemonSet on every node", async () => {
    const labels = (app: string) => ({ app });
    const podSpec = { containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }] };
    const docs = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "smoke" } },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "smoke" },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels("web") },
          template: { metadata: { labels: labels("web") }, spec: podSpec },
        },
      },
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: "smoke" },
        spec: {
          selector: { matchLabels: labels("agent") },
          template: {
            metadata: { labels: labels("agent") },
            // As charts give their agents: tolerate everything, so a control plane's taint never blocks.
            spec: { ...podSpec, tolerations: [{ operator: "Exists" }] },
          },
        },
      },
    ];
    await cp!.kubectlRun(["apply", "-f", "-"], docs.map((d) => stringify(d)).join("---\n"));
    await until<any>(
      cp!,
      ["-n", "smoke", "get", "deployment", "web"],
      (d) =>
        d.status?.conditions?.some((c: any) => c.type === "Available" && c.status === "True") &&
        d.status.availableReplicas === 2,
      "Deployment web Available with 2 replicas",
    );
    const ds = await until<any>(
      cp!,
      ["-n", "smoke", "get", "daemonset", "agent"],
      (d) => d.status?.desiredNumberScheduled === 3 && d.status.numberReady === 3,
      "DaemonSet agent ready on 3 nodes",
    );
    assert.equal(ds.status.numberAvailable, 3);
    const pods = json(await cp!.kubectlRun(["-n", "smoke", "get", "pods", "-l", "app=agent", "-o", "json"]))
      .items as any[];
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ["mini01", "mini02", "mini03"]);
    for (const p of pods) assert.equal(p.status.phase, "Running");
  });

  it("establishes a CustomResourceDefinition and serves its objects", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.e2e.homeops.test" },
      spec: {
        group: "e2e.homeops.test",
        names: { kind: "Widget", plural: "widgets", singular: "widget" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
              },
            },
          },
        ],
      },
    };
    await cp!.kubectlRun(["apply", "-f", "-"], JSON.stringify(crd));
    await until<any>(
      cp!,
      ["get", "crd", "widgets.e2e.homeops.test"],
      (c) => c.status?.conditions?.some((x: any) => x.type === "Established" && x.status === "True"),
      "CRD Established",
    );
    const widget = {
      apiVersion: "e2e.homeops.test/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "smoke" },
      spec: { a: 1 },
    };
    await cp!.kubectlRun(["apply", "-f", "-"], JSON.stringify(widget));
    assert.equal(json(await cp!.kubectlRun(["-n", "smoke", "get", "widget", "w", "-o", "json"])).spec.a, 1);
  });

  it("stops: no process of it alive, its directory gone", async () => {
    const { pids, dir } = cp!;
    assert.equal(pids.length, 5);
    for (const pid of pids) assert.ok(alive(pid), `pid ${pid} runs before stop`);
    await cp!.stop();
    cp = undefined;
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} still alive after stop`);
    assert.ok(!fs.existsSync(dir), `${dir} removed`);
  });
});

describe("the real Pulumi CLI with the Kubernetes provider v4.25.0 against the control plane", function () {
  this.timeout(900_000);
  const tools = toolsDir();
  // An Ed25519 CA, the type the fakes' secrets bundles carry (test/fakes/lib/talos/x509.js).
  const ca = selfSignedCa("ed25519");
  let cp: ControlPlane | undefined;
  let project = "";

  before(async () => {
    cp = await startControlPlane({ tools, host: "127.0.0.10", port: 6443, ca, nodes: NODES });
    project = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-e2e-k8s-"));
    fs.mkdirSync(path.join(project, ".pulumi"));
    fs.writeFileSync(
      path.join(project, "Pulumi.yaml"),
      stringify({ name: "k8ssmoke", runtime: "nodejs", backend: { url: `file://${project}/.pulumi` } }),
    );
  });
  after(async () => {
    await cp?.stop();
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  const pulumi = async (args: string[], program: boolean): Promise<RunResult> => {
    const home = pulumiHome(tools);
    const env = { ...baseEnv(home), HOMEOPS_E2E_KUBECONFIG: cp!.kubeconfig };
    const cliArgs = [...args, ...(program ? ["--stack", "e2e"] : []), "--non-interactive"];
    const host = program
      ? await startHost(project, env, path.join(REPO, "test/e2e/fixtures/k8s-namespace-secret.ts"))
      : undefined;
    if (host) cliArgs.push("--client", `127.0.0.1:${host.port}`);
    try {
      return await runCli(path.join(tools, "pulumi"), cliArgs, project, env, { timeoutMs: 300_000 });
    } finally {
      host?.child.kill("SIGKILL");
    }
  };

  it("creates a Namespace and a Secret; preview --expect-no-changes holds; a second up changes nothing", async () => {
    assertSucceeded(await pulumi(["stack", "init", "e2e"], false), "stack init");
    const up = await pulumi(["up", "--yes", "--skip-preview", "--json"], true);
    assertSucceeded(up, "first up");
    assert.deepEqual(changeSummary(up.events), { create: 4 });
    const plugin = up.events.find((e) => e.resOutputsEvent?.metadata?.type === "pulumi:providers:kubernetes");
    assert.ok(plugin, "the kubernetes provider resource was registered");

    const secret = json(
      await cp!.kubectlRun([
        "-n",
        "homeops-smoke",
        "get",
        "secret",
        "smoke-token",
        "--show-managed-fields",
        "-o",
        "json",
      ]),
    );
    assert.equal(Buffer.from(secret.data.token, "base64").toString(), "e2e-smoke-value");
    assert.ok(
      secret.metadata.managedFields.some((f: any) => /^pulumi-kubernetes/.test(f.manager) && f.operation === "Apply"),
      `created by the provider with server-side apply: ${JSON.stringify(secret.metadata.managedFields.map((f: any) => [f.manager, f.operation]))}`,
    );

    const preview = await pulumi(["preview", "--expect-no-changes"], true);
    assertSucceeded(preview, "preview --expect-no-changes");
    const again = await pulumi(["up", "--yes", "--skip-preview", "--json"], true);
    assertSucceeded(again, "second up");
    assert.deepEqual(changeSummary(again.events), { same: 4 });

    const plugins = await pulumi(["plugin", "ls", "--json"], false);
    const installed = json<any[]>(plugins.stdout).map((p) => `${p.kind} ${p.name} ${p.version}`);
    assert.ok(installed.includes("resource kubernetes 4.25.0"), installed.join(", "));
  });
});
