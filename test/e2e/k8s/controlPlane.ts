/**
 * A real Kubernetes control plane for the end-to-end tier, on loopback: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler of Kubernetes v1.31.14 and kwok v0.7.0 (kubelet-less
 * Nodes and Pods), all built from their Go modules by test/e2e/tools/build.sh. It runs inside the
 * network namespace of test/e2e/run.sh (loopback only); every address it binds is the caller's
 * 127.0.0.0/8 API address.
 *
 * The API server trusts the CA the caller gives (a Talos bundle's `certs.k8s`): its serving
 * certificate is signed by that CA for the API address, and any client certificate the CA signed
 * authenticates (CN = user, O = groups; O=system:masters is admin).
 *
 * The flags follow what Talos v1.10.5 runs on a control plane (internal/app/machined/pkg/
 * controllers/k8s/control_plane_static_pod.go: manageAPIServer, manageControllerManager,
 * manageScheduler), minus what needs files this harness does not model (etcd TLS, the aggregator
 * front proxy, audit log, secretbox encryption, kubelet client certificates).
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { CertificateAuthority, issueCertificate } from "./x509";
import { nodeObject, NodeSpec } from "./nodes";

export { NodeSpec } from "./nodes";

export interface ControlPlaneOptions {
  /** The directory of the built tools (etcd, kube-apiserver, ..., kubectl, kwok). */
  readonly tools: string;
  /** The API server's address, in 127.0.0.0/8 (the e2e stack's VIP is 127.0.0.10). */
  readonly host: string;
  /** The API server's port (6443 for the e2e stack). */
  readonly port: number;
  /** The cluster CA, PEM: the API server's serving certificate and every client trust it. */
  readonly ca: CertificateAuthority;
  /** The Nodes kwok keeps Ready (mini01..03 for the e2e stack). */
  readonly nodes: readonly NodeSpec[];
  /** cluster.allowSchedulingOnControlPlanes: without it control planes get the NoSchedule taint. Default true. */
  readonly allowSchedulingOnControlPlanes?: boolean;
  /** Service and pod ranges (data only: nothing routes them). Defaults 10.96.0.0/12, 10.244.0.0/16. */
  readonly serviceCidr?: string;
  readonly podCidr?: string;
  /** Each wait of the start-up (etcd, API ready, Nodes Ready). Default HOMEOPS_K8S_WAIT_MS or 300 s. */
  readonly waitMs?: number;
}

export interface ControlPlane {
  /** https://<host>:<port> */
  readonly server: string;
  /** A kubeconfig file for an admin (O=system:masters) client certificate signed by the CA. */
  readonly kubeconfig: string;
  /** The kubectl of the same build. */
  readonly kubectl: string;
  /** The scratch directory (data, certificates, logs); removed by stop(). */
  readonly dir: string;
  /** The process ids of etcd, the API server, controller manager, scheduler and kwok. */
  readonly pids: readonly number[];
  /** A kubeconfig (YAML text) for this server with the given client certificate and key (PEM). */
  kubeconfigFor(certPem: string, keyPem: string, user?: string): string;
  /** Runs kubectl with the admin kubeconfig; rejects with its stderr on a non-zero exit. */
  kubectlRun(args: readonly string[], stdin?: string): Promise<string>;
  /**
   * One request to the API server as the admin, over a kept-alive HTTPS connection instead of a
   * kubectl process (what the controllers' stand-ins poll with: a kubectl start costs about
   * 0.1 CPU-s, a request a few ms). A PATCH body is a JSON merge patch.
   */
  api(method: "GET" | "PATCH", apiPath: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Ends every process (process groups: TERM, then KILL) and removes the scratch directory. */
  stop(): Promise<void>;
}

const live = new Set<{ pids: number[]; dir: string }>();
// A test runner that dies or exits early must not leave a control plane running.
process.on("exit", () => {
  for (const cp of live) {
    for (const pid of cp.pids) killGroup(pid, "SIGKILL");
    fs.rmSync(cp.dir, { recursive: true, force: true });
  }
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone */
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const DEFAULT_WAIT_MS = Number(process.env.HOMEOPS_K8S_WAIT_MS) || 300_000;

/** Starts the control plane; resolves when the API is ready and every Node is Ready. */
export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  if (!/^127\.\d+\.\d+\.\d+$/.test(o.host)) throw new Error(`the API address must be in 127.0.0.0/8: ${o.host}`);
  const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-k8s-"));
  const procs: { name: string; child: ChildProcess; log: string }[] = [];
  const entry = { pids: [] as number[], dir };
  live.add(entry);
  const server = `https://${o.host}:${o.port}`;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const tool = (name: string) => path.join(o.tools, name);

  let agent: https.Agent | undefined;
  const stop = async () => {
    agent?.destroy();
    for (const p of [...procs].reverse()) if (p.child.pid !== undefined) await ending(p.child, 15_000);
    live.delete(entry);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const run = (name: string, args: string[]) => {
    const log = path.join(dir, `${name}.log`);
    const fd = fs.openSync(log, "a");
    // Its own process group (detached), so that stop() can end it and anything it started.
    const child = spawn(tool(name), args, { detached: true, stdio: ["ignore", fd, fd], env: componentEnv() });
    fs.closeSync(fd);
    child.on("error", (err) => fs.appendFileSync(log, `\nspawn ${tool(name)}: ${err.message}\n`));
    procs.push({ name, child, log });
    if (child.pid !== undefined) entry.pids.push(child.pid);
    return child;
  };
  /** Fails at once when a component died, with the end of its log. */
  const check = () => {
    for (const p of procs) {
      if (p.child.pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(
          `${p.name} ${p.child.pid === undefined ? `could not be started (${tool(p.name)})` : `exited (${p.child.exitCode ?? p.child.signalCode})`} during start-up:\n${tail(p.log)}`,
        );
      }
    }
  };

  try {
    if (!(await portFree(o.host, o.port))) throw new Error(`${o.host}:${o.port} is in use`);
    const ca = file("ca.crt", o.ca.cert);
    const caKey = file("ca.key", o.ca.key.replace(/(BEGIN|END) ED25519 PRIVATE KEY/g, "$1 PRIVATE KEY"));
    const serviceCidr = o.serviceCidr ?? "10.96.0.0/12";
    const serving = issueCertificate(o.ca, {
      commonName: "kube-apiserver",
      usage: "server",
      ipAddresses: [o.host, firstServiceIp(serviceCidr)],
      dnsNames: ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
    });
    const admin = issueCertificate(o.ca, {
      commonName: "homeops-e2e-admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    const sa = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const saKey = file("sa.key", sa.privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const saPub = file("sa.pub", sa.publicKey.export({ format: "pem", type: "spki" }).toString());
    const kubeconfigFor = (certPem: string, keyPem: string, user = "admin") =>
      renderKubeconfig(server, o.ca.cert, certPem, keyPem, user);
    const kubeconfig = file("admin.kubeconfig", kubeconfigFor(admin.cert, admin.key));

    // etcd: plain HTTP on the API address, data in the scratch directory. No fsync: a test
    // cluster's data dies with it, and fsync on a loaded CI disk is what makes etcd slow.
    const [etcdPort, peerPort] = [await freePort(o.host), await freePort(o.host)];
    const etcdUrl = `http://${o.host}:${etcdPort}`;
    const peerUrl = `http://${o.host}:${peerPort}`;
    run("etcd", [
      "--name=e2e",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e2e=${peerUrl}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitFor("etcd to be healthy", waitMs, check, async () =>
      /"health":"true"/.test(await httpGet(`${etcdUrl}/health`)),
    );

    // Talos v1.10.5 generates this PodSecurity configuration (pkg/machinery/config/generate/init.go).
    const admission = file(
      "admission.yaml",
      stringify({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "AdmissionConfiguration",
        plugins: [
          {
            name: "PodSecurity",
            configuration: {
              apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
              kind: "PodSecurityConfiguration",
              defaults: {
                enforce: "baseline",
                "enforce-version": "latest",
                audit: "restricted",
                "audit-version": "latest",
                warn: "restricted",
                "warn-version": "latest",
              },
              exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system"] },
            },
          },
        ],
      }),
    );
    run("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${o.host}`,
      `--advertise-address=${o.host}`,
      `--secure-port=${o.port}`,
      `--tls-cert-file=${file("apiserver.crt", serving.cert)}`,
      `--tls-private-key-file=${file("apiserver.key", serving.key)}`,
      `--client-ca-file=${ca}`,
      `--service-account-issuer=${server}`,
      `--api-audiences=${server}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      `--admission-control-config-file=${admission}`,
      "--enable-admission-plugins=NodeRestriction",
      "--authorization-mode=Node,RBAC",
      "--allow-privileged=true",
      "--anonymous-auth=false",
      "--enable-bootstrap-token-auth=true",
      "--profiling=false",
      // The "kubernetes" Service's endpoints would be the advertise address, a loopback address,
      // which Endpoints validation refuses (validateEndpointAddress -> ValidateNonSpecialIP,
      // pkg/apis/core/validation/validation.go at v1.31.14); nothing here routes to the Service.
      "--endpoint-reconciler-type=none",
    ]);
    const tls = { ca: o.ca.cert, cert: admin.cert, key: admin.key };
    await waitFor(
      "the API server's /readyz",
      waitMs,
      check,
      async () => (await httpGet(`${server}/readyz`, tls)) === "ok",
    );

    run("kube-controller-manager", [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--use-service-account-credentials",
      // "*" includes nodelifecycle: it taints a Node that is not Ready and lifts the taint once kwok
      // reports Ready, and evicts from Nodes that stop reporting, as on a real cluster.
      "--controllers=*,tokencleaner",
      `--cluster-signing-cert-file=${ca}`,
      `--cluster-signing-key-file=${caKey}`,
      `--root-ca-file=${ca}`,
      `--service-account-private-key-file=${saKey}`,
      "--allocate-node-cidrs=true",
      `--cluster-cidr=${o.podCidr ?? "10.244.0.0/16"}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--configure-cloud-routes=false",
      "--leader-elect=false",
      "--profiling=false",
      "--secure-port=0",
    ]);
    run("kube-scheduler", [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--profiling=false",
      "--secure-port=0",
    ]);

    const kubectlRun = (args: readonly string[], stdin?: string) => kubectlAt(tool("kubectl"), kubeconfig, args, stdin);
    agent = new https.Agent({ keepAlive: true, maxSockets: 4, ...tls });
    const api = apiClient(server, agent);
    const allowScheduling = o.allowSchedulingOnControlPlanes ?? true;
    await kubectlRun(
      ["apply", "-f", "-"],
      o.nodes.map((n) => JSON.stringify(nodeObject(n, allowScheduling))).join("\n"),
    );
    // kwok's own default stages (pkg/kwok/cmd/root.go at v0.7.0: node-initialize, node heartbeat,
    // pod-ready, pod-complete, pod-delete), for the Nodes this harness annotates only.
    run("kwok", [
      `--kubeconfig=${kubeconfig}`,
      `--config=${file("kwok.yaml", kwokConfiguration(o.podCidr ?? "10.244.0.0/16"))}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      // Node leases renewed every 10 s, as a kubelet does (kube-node-lease, 40 s). Without the
      // flag kwok v0.7.0 runs with a lease duration of 0: no Lease at all, and the default node
      // stages then chosen are the "with lease" heartbeat that posts Node status every 10-20
      // minutes (pkg/kwok/cmd/root.go getDefaultNodeStages(NodeLeaseDurationSeconds == 0);
      // pkg/kwok/controllers/controller.go initNodeLeaseController). The node lifecycle
      // controller then finds no heartbeat within its 40 s grace, marks the Nodes unknown and
      // every pod on them NotReady: Deployments lose availability 40 s to 4 min after start.
      "--node-lease-duration-seconds=40",
    ]);
    const names = o.nodes.map((n) => n.name);
    await waitFor(`Nodes ${names.join(", ")} Ready and untainted by the node lifecycle`, waitMs, check, async () => {
      const list = JSON.parse(await kubectlRun(["get", "nodes", "-o", "json"])) as { items: NodeState[] };
      return names.every((name) => nodeReady(list.items.find((n) => n.metadata.name === name)));
    });

    return {
      server,
      kubeconfig,
      kubectl: tool("kubectl"),
      dir,
      pids: procs.map((p) => p.child.pid!),
      kubeconfigFor,
      kubectlRun,
      api,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface NodeState {
  metadata: { name: string };
  spec: { taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Ready, and the node lifecycle controller's not-ready / unreachable taints gone. */
export function nodeReady(node: NodeState | undefined): boolean {
  if (!node) return false;
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const tainted = (node.spec.taints ?? []).some((t) =>
    ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"].includes(t.key),
  );
  return ready && !tainted;
}

/** kwok's configuration: the pod address pool; stages are kwok's defaults (none given here). */
function kwokConfiguration(podCidr: string): string {
  return stringify({
    apiVersion: "config.kwok.x-k8s.io/v1alpha1",
    kind: "KwokConfiguration",
    options: { cidr: podCidr.replace(/\.0\/(\d+)$/, ".1/$1") },
  });
}

export function renderKubeconfig(server: string, caPem: string, certPem: string, keyPem: string, user: string): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: user, user: { "client-certificate-data": b64(certPem), "client-key-data": b64(keyPem) } }],
    contexts: [{ name: `${user}@e2e`, context: { cluster: "e2e", user } }],
    "current-context": `${user}@e2e`,
  });
}

/** The first address of a service range: the "kubernetes" Service's ClusterIP. */
function firstServiceIp(cidr: string): string {
  const [base] = cidr.split("/");
  const p = base.split(".").map(Number);
  p[3] += 1;
  return p.join(".");
}

function componentEnv(): NodeJS.ProcessEnv {
  // Nothing ambient (KUBECONFIG, proxies) reaches the components.
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: "C.UTF-8" };
}

function kubectlAt(kubectl: string, kubeconfig: string, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectl,
      [`--kubeconfig=${kubeconfig}`, "--request-timeout=30s", ...args],
      { env: componentEnv(), maxBuffer: 64 << 20, timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin!.end(stdin ?? "");
  });
}

/** Polls `ready` until it returns true; `check` throws to give up early. */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => void,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    check();
    try {
      if (await ready()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last error: ${last}` : ""} (HOMEOPS_K8S_WAIT_MS raises the bound)`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function apiClient(server: string, agent: https.Agent): ControlPlane["api"] {
  return (method, apiPath, body) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        `${server}${apiPath}`,
        {
          method,
          agent,
          timeout: 30_000,
          headers: {
            accept: "application/json",
            ...(data === undefined
              ? {}
              : { "content-type": "application/merge-patch+json", "content-length": Buffer.byteLength(data) }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => {
            let json: any;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer in 30 s`)));
      req.on("error", reject);
      req.end(data);
    });
}

function httpGet(url: string, tls?: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body.trim()));
    };
    const req = url.startsWith("https:")
      ? https.get(url, { ...(tls ?? {}), timeout: 5000 }, onResponse)
      : http.get(url, { timeout: 5000 }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer in 5 s`)));
    req.on("error", reject);
  });
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** TERM to the process group, KILL after `graceMs`; resolves once the process is gone. */
function ending(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child.pid!, "SIGKILL"); // anything left in its group
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      killGroup(child.pid!, "SIGKILL");
      resolve();
    });
    killGroup(child.pid!, "SIGTERM");
  });
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
