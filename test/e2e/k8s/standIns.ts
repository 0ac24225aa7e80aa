/**
 * Stand-ins for the controllers the stack's charts run, out of cluster, against the real API server
 * of test/e2e/k8s/controlPlane.ts: their Go modules cannot be built here (the Go module proxy
 * refuses github.com/1Password/connect and serves none of flux-operator's and External Secrets'
 * controller images' dependencies in a buildable set within the CI budget), so each one does what
 * the real controller does to the objects the stack's gates read, and no more.
 *
 * - 1Password Connect (connect-api, v1.8.1): an HTTP server on loopback answering the Connect API
 *   call External Secrets makes (GET /v1/vaults?filter=title eq "<vault>": 1Password/connect-sdk-go
 *   v1.5.3 connect/client.go GetVaultByTitle), only with the bearer token it was issued for
 *   (401 otherwise), and only while the credentials Secret it is started from holds the
 *   credentials file (version "2") 1Password issued for it (1password-credentials.json, mounted
 *   from the Secret by the Deployment; connect-api refuses to start without it).
 * - External Secrets (v0.17.0): a ClusterSecretStore's Ready condition, as
 *   pkg/controllers/secretstore/common.go `reconcile` sets it (Ready True "Valid" "store
 *   validated"; Ready False "InvalidProviderConfig" "unable to validate store: <err>"), validating
 *   the onepassword provider as pkg/provider/onepassword/onepassword.go `Validate` does (every
 *   vault of spec.provider.onepassword.vaults found by title through Connect with the token read
 *   from auth.secretRef.connectTokenSecretRef). The Connect host is reached as kube-proxy would
 *   route it: the Service named by the URL must exist with that port and have ready endpoints.
 * - flux-operator (v0.43.0): the FluxInstance `flux` reconcile of
 *   internal/controller/fluxinstance_controller.go: the Flux CRDs and controller Deployments of
 *   spec.components (internal/builder/build.go), then the sync objects of spec.sync named after
 *   the namespace (GitRepository and Kustomization flux-system, internal/builder/sync.go), then
 *   Ready True "ReconciliationSucceeded". kustomize-controller (v1.8.x, part of Flux v2.8.1) then
 *   marks the Kustomization Ready True "ReconciliationSucceeded" "Applied revision: <ref>@sha1:<x>"
 *   (internal/controller/kustomization_controller.go); no git repository is fetched here.
 */
import * as crypto from "crypto";
import * as http from "http";
import { stringify } from "yaml";
import { ControlPlane } from "./controlPlane";

type Json = any;

export interface StandInOptions {
  readonly cp: ControlPlane;
  /** What 1Password issued for this Connect server: its token and credentials file (JSON). */
  readonly connect: { readonly token: string; readonly credentials: Record<string, unknown> };
  /** The vaults the Connect server's credentials give access to. */
  readonly vaults: readonly string[];
  /**
   * Called once the cilium DaemonSet is ready on every node: the Talos side of the (fake) nodes
   * learns that the CNI runs, as a kubelet reports Ready once the CNI is up (talosctl health's
   * "all k8s nodes to report ready" then passes).
   */
  readonly onCiliumReady?: () => void;
  /** Poll interval of the controllers (ms). */
  readonly intervalMs?: number;
}

export interface StandIns {
  /** The Connect stand-in's loopback URL. */
  readonly connectUrl: string;
  /** Bearer tokens the Connect stand-in was called with (what reached it). */
  readonly connectCalls: { path: string; authorized: boolean }[];
  /** Every status the stand-ins wrote, in order (kind/name: condition). */
  readonly events: string[];
  stop(): Promise<void>;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function condition(status: boolean, reason: string, message: string, generation?: number): Json {
  return {
    type: "Ready",
    status: status ? "True" : "False",
    reason,
    message,
    lastTransitionTime: now(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** The API group, version and plural of each kind the stand-ins read or write (as the charts' CRDs serve them). */
const KINDS = {
  secret: ["", "v1", "secrets"],
  service: ["", "v1", "services"],
  endpoints: ["", "v1", "endpoints"],
  daemonset: ["apps", "v1", "daemonsets"],
  clustersecretstore: ["external-secrets.io", "v1", "clustersecretstores"],
  fluxinstance: ["fluxcd.controlplane.io", "v1", "fluxinstances"],
  gitrepository: ["source.toolkit.fluxcd.io", "v1", "gitrepositories"],
  kustomization: ["kustomize.toolkit.fluxcd.io", "v1", "kustomizations"],
} as const;
type Kind = keyof typeof KINDS;

/** The REST path of an object (or, without a name, of its list). */
function apiPath(kind: Kind, ns: string | undefined, name?: string): string {
  const [group, version, plural] = KINDS[kind];
  const seg = encodeURIComponent;
  return [
    group ? `/apis/${group}/${version}` : `/api/${version}`,
    ns !== undefined ? `/namespaces/${seg(ns)}` : "",
    `/${plural}`,
    name !== undefined ? `/${seg(name)}` : "",
  ].join("");
}

/**
 * An object (or a list) as a controller's informer would see it; undefined when it cannot be read.
 * Read over the API, not with kubectl: the stand-ins poll every second for as long as a cluster runs.
 */
async function getJson(cp: ControlPlane, kind: Kind, ns: string | undefined, name?: string): Promise<Json | undefined> {
  try {
    const r = await cp.api("GET", apiPath(kind, ns, name));
    return r.status === 200 ? r.json : undefined;
  } catch {
    return undefined;
  }
}

function readyWith(o: Json, status: "True" | "False", reason?: string): boolean {
  const c = (o.status?.conditions ?? []).find((x: Json) => x.type === "Ready");
  return (
    !!c && c.status === status && (!reason || c.reason === reason) && c.observedGeneration === o.metadata.generation
  );
}

/** A merge patch of the status subresource, as a controller writes its conditions. */
async function patchStatus(cp: ControlPlane, kind: Kind, name: string, ns: string | undefined, status: Json) {
  const r = await cp.api("PATCH", `${apiPath(kind, ns, name)}/status`, { status });
  if (r.status !== 200) throw new Error(`patch ${kind}/${name} status: ${r.status} ${r.json?.message ?? ""}`);
}

export async function startStandIns(o: StandInOptions): Promise<StandIns> {
  const { cp } = o;
  const events: string[] = [];
  const connectCalls: { path: string; authorized: boolean }[] = [];

  /** The credentials connect-api would start from: the Secret the stack created. */
  const connectCredentialsOk = async (): Promise<string | undefined> => {
    const secret = await getJson(cp, "secret", "onepassword-connect", "onepassword-connect-credentials");
    const raw = secret?.data?.["1password-credentials.json"];
    if (!raw) return "connect-api: no credentials file (Secret onepassword-connect-credentials)";
    let text = Buffer.from(String(raw), "base64").toString("utf8").trim();
    // The Secret may hold the file's base64 (the Connect chart's OP_SESSION form): one layer.
    if (!text.startsWith("{")) text = Buffer.from(text, "base64").toString("utf8");
    let creds: Json;
    try {
      creds = JSON.parse(text);
    } catch {
      return "connect-api: the credentials file is not JSON";
    }
    const want = o.connect.credentials as Json;
    if (creds.version !== "2" || creds.deviceUuid !== want.deviceUuid || creds.uniqueKey?.kid !== want.uniqueKey?.kid)
      return "connect-api: the credentials file is not the one 1Password issued for this server";
    return undefined;
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://connect");
      const authorized = req.headers.authorization === `Bearer ${o.connect.token}`;
      connectCalls.push({ path: url.pathname, authorized });
      const problem = await connectCredentialsOk();
      const send = (code: number, body: Json) =>
        res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (problem) return send(500, { status: 500, message: problem });
      if (!authorized) return send(401, { status: 401, message: "Invalid token signature" });
      if (req.method !== "GET" || url.pathname !== "/v1/vaults")
        return send(404, { status: 404, message: "Not Found" });
      const filter = /^title eq "(.*)"$/.exec(url.searchParams.get("filter") ?? "");
      const vaults = o.vaults
        .filter((v) => !filter || v === filter[1])
        .map((name) => ({
          id: crypto.createHash("sha256").update(name).digest("hex").slice(0, 26),
          name,
          type: "USER_CREATED",
        }));
      return send(200, vaults);
    })();
  });
  const connectUrl = await new Promise<string>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
  });

  const connectGet = (token: string, vault: string): Promise<{ code: number; body: Json }> =>
    new Promise((resolve, reject) => {
      const req = http.get(
        `${connectUrl}/v1/vaults?filter=${encodeURIComponent(`title eq "${vault}"`)}`,
        { headers: { authorization: `Bearer ${token}` }, timeout: 5000 },
        (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(body || "null") }));
        },
      );
      req.on("error", reject);
    });

  /** The Service a cluster URL names, routed as kube-proxy would (exists, port, ready endpoints). */
  const routeService = async (host: string): Promise<string | undefined> => {
    const u = new URL(host);
    const [svc, ns] = u.hostname.split(".");
    const service = await getJson(cp, "service", ns, svc);
    if (!service) return `dial tcp: lookup ${u.hostname}: no such host`;
    if (!(service.spec.ports ?? []).some((p: Json) => String(p.port) === (u.port || "80")))
      return `dial tcp ${u.host}: connect: connection refused`;
    const ep = await getJson(cp, "endpoints", ns, svc);
    if (!(ep?.subsets ?? []).some((s: Json) => (s.addresses ?? []).length > 0))
      return `dial tcp ${u.host}: connect: connection refused (no ready endpoints)`;
    return undefined;
  };

  const validateStore = async (store: Json): Promise<string | undefined> => {
    const p = store.spec?.provider?.onepassword;
    if (!p) return "no onepassword provider";
    const ref = p.auth?.secretRef?.connectTokenSecretRef ?? {};
    const secret = await getJson(cp, "secret", ref.namespace, ref.name);
    const token = secret?.data?.[ref.key];
    if (!token) return `cannot get Kubernetes secret "${ref.name}" key "${ref.key}"`;
    const route = await routeService(String(p.connectHost));
    if (route) return route;
    for (const vault of Object.keys(p.vaults ?? {})) {
      const r = await connectGet(Buffer.from(String(token), "base64").toString("utf8"), vault);
      if (r.code !== 200) return `status ${r.code}: ${r.body?.message ?? ""}`;
      if (!Array.isArray(r.body) || r.body.length !== 1)
        return `found ${r.body?.length ?? 0} vaults with title "${vault}"`;
    }
    return undefined;
  };

  const reconcileStores = async () => {
    const list = await getJson(cp, "clustersecretstore", undefined);
    for (const store of list?.items ?? []) {
      const problem = await validateStore(store);
      const gen = store.metadata.generation;
      if (!problem && !readyWith(store, "True")) {
        await patchStatus(cp, "clustersecretstore", store.metadata.name, undefined, {
          conditions: [condition(true, "Valid", "store validated", gen)],
          capabilities: "ReadOnly",
        });
        events.push(`ClusterSecretStore/${store.metadata.name}: Ready True Valid`);
      } else if (problem && !readyWith(store, "False", "InvalidProviderConfig")) {
        await patchStatus(cp, "clustersecretstore", store.metadata.name, undefined, {
          conditions: [condition(false, "InvalidProviderConfig", `unable to validate store: ${problem}`, gen)],
        });
        events.push(`ClusterSecretStore/${store.metadata.name}: Ready False ${problem}`);
      }
    }
  };

  const reconcileFlux = async () => {
    const instance = await getJson(cp, "fluxinstance", "flux-system", "flux");
    if (instance && !readyWith(instance, "True")) {
      const spec = instance.spec ?? {};
      const ns = instance.metadata.namespace;
      // The CRDs first: objects of a kind whose CRD is not Established yet have no REST mapping.
      await cp.kubectlRun(
        ["apply", "--server-side", "--field-manager=flux-operator", "-f", "-"],
        FLUX_CRDS.map((c) => stringify(crd(c))).join("---\n"),
      );
      await cp.kubectlRun([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        ...FLUX_CRDS.map((c) => `crd/${c.plural}.${c.group}`),
      ]);
      const docs: Json[] = (spec.components ?? []).map((c: string) => controllerDeployment(c, ns));
      if (spec.sync) {
        docs.push(
          {
            apiVersion: "source.toolkit.fluxcd.io/v1",
            kind: "GitRepository",
            metadata: { name: ns, namespace: ns },
            spec: {
              interval: spec.sync.interval ?? "1m",
              url: spec.sync.url,
              ref: { name: spec.sync.ref },
              ...(spec.sync.pullSecret ? { secretRef: { name: spec.sync.pullSecret } } : {}),
            },
          },
          {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: { name: ns, namespace: ns },
            spec: {
              interval: spec.sync.interval ?? "1m",
              path: spec.sync.path,
              prune: true,
              sourceRef: { kind: spec.sync.kind, name: ns },
            },
          },
        );
      }
      await cp.kubectlRun(
        ["apply", "--server-side", "--field-manager=flux-operator", "-f", "-"],
        docs.map((d) => stringify(d)).join("---\n"),
      );
      await patchStatus(cp, "fluxinstance", "flux", ns, {
        conditions: [
          condition(true, "ReconciliationSucceeded", "Reconciliation finished", instance.metadata.generation),
        ],
        lastAppliedRevision: `v${String(spec.distribution?.version ?? "").replace(/^v/, "")}@sha256:standin`,
      });
      events.push(`FluxInstance/flux: Ready True`);
    }
    const ks = await getJson(cp, "kustomization", "flux-system", "flux-system");
    if (ks && !readyWith(ks, "True")) {
      const repo = await getJson(cp, "gitrepository", "flux-system", ks.spec.sourceRef.name);
      const ref = repo?.spec?.ref?.name ?? "main";
      const revision = `${ref}@sha1:${crypto.createHash("sha1").update(String(repo?.spec?.url)).digest("hex")}`;
      if (repo && !readyWith(repo, "True")) {
        await patchStatus(cp, "gitrepository", repo.metadata.name, "flux-system", {
          conditions: [
            condition(true, "Succeeded", `stored artifact for revision '${revision}'`, repo.metadata.generation),
          ],
        });
      }
      await patchStatus(cp, "kustomization", "flux-system", "flux-system", {
        conditions: [
          condition(true, "ReconciliationSucceeded", `Applied revision: ${revision}`, ks.metadata.generation),
        ],
        lastAppliedRevision: revision,
      });
      events.push(`Kustomization/flux-system: Ready True`);
    }
  };

  let ciliumReady = false;
  const watchCilium = async () => {
    if (ciliumReady || !o.onCiliumReady) return;
    const ds = await getJson(cp, "daemonset", "kube-system", "cilium");
    if (ds && ds.status?.desiredNumberScheduled > 0 && ds.status.numberReady === ds.status.desiredNumberScheduled) {
      ciliumReady = true;
      o.onCiliumReady();
      events.push("DaemonSet/cilium: ready on every node");
    }
  };

  let stopped = false;
  const loops = [reconcileStores, reconcileFlux, watchCilium].map(async (fn) => {
    while (!stopped) {
      try {
        await fn();
      } catch (err) {
        const lines = (err as Error).message.split("\n").filter((l) => !/^Warning: /.test(l));
        events.push(`error: ${lines.join(" ").slice(0, 300)}`);
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
    }
  });

  return {
    connectUrl,
    connectCalls,
    events,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The Flux CRDs the sync objects need (source-controller's and kustomize-controller's). */
const FLUX_CRDS = [
  { group: "source.toolkit.fluxcd.io", kind: "GitRepository", plural: "gitrepositories" },
  { group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization", plural: "kustomizations" },
];

function crd(c: { group: string; kind: string; plural: string }): Json {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${c.plural}.${c.group}` },
    spec: {
      group: c.group,
      scope: "Namespaced",
      names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular: c.kind.toLowerCase() },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
}

function controllerDeployment(component: string, ns: string): Json {
  const labels = { app: component };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: component, namespace: ns, labels: { ...labels, "app.kubernetes.io/part-of": "flux" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: "manager", image: `ghcr.io/fluxcd/${component}` }],
          tolerations: [{ operator: "Exists" }],
        },
      },
    },
  };
}
