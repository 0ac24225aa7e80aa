"use strict";
/**
 * The Kubernetes side of the fake world: the API server, Nodes, and the controllers of the charts
 * and objects the program creates, computed from creation timestamps and config.delaysMs.
 *
 * The API server serves while the etcd cluster of the kubeconfig's cluster has quorum, from
 * apiServer ms after that etcd first served. Nodes are the machines configured for that cluster;
 * a node is Ready once it is up and Cilium has rolled out. Resource types of CRDs exist only once
 * their chart installed them and they are Established (External Secrets with the external-secrets
 * release, FluxInstance with flux-operator, Kustomization/GitRepository/HelmRelease once the
 * FluxInstance is being reconciled): before, kubectl answers that the server doesn't have them.
 */
const nodes = require("./talos/nodes");

const HELM_KIND = "HelmRelease(pulumi)";

/** A resource type: its kind, API group, short names; plural = lowercase kind + "s" unless given. */
function kind(name, group, short, opts) {
  const o = opts || {};
  const plural = o.plural || `${name.toLowerCase()}s`;
  return {
    kind: name,
    names: [name.toLowerCase(), plural, ...short],
    group,
    version: o.version || "v1",
    cluster: !!o.cluster,
  };
}
const CLUSTER = { cluster: true };
const BUILTIN = [
  kind("Node", "", ["no"], CLUSTER),
  kind("Namespace", "", ["ns"], CLUSTER),
  kind("Secret", "", []),
  kind("ConfigMap", "", ["cm"]),
  kind("Service", "", ["svc"]),
  kind("ServiceAccount", "", ["sa"]),
  kind("Pod", "", ["po"]),
  kind("Deployment", "apps", ["deploy"]),
  kind("DaemonSet", "apps", ["ds"]),
  kind("StatefulSet", "apps", ["sts"]),
  kind("CustomResourceDefinition", "apiextensions.k8s.io", ["crd", "crds"], CLUSTER),
];
const ESO_KINDS = [
  kind("ClusterSecretStore", "external-secrets.io", ["css"], CLUSTER),
  kind("SecretStore", "external-secrets.io", ["ss"]),
  kind("ExternalSecret", "external-secrets.io", ["es"]),
  kind("ClusterExternalSecret", "external-secrets.io", ["ces"], CLUSTER),
];
const FLUX_OPERATOR_KINDS = [kind("FluxInstance", "fluxcd.controlplane.io", [])];
const FLUX_KINDS = [
  kind("Kustomization", "kustomize.toolkit.fluxcd.io", ["ks"]),
  kind("GitRepository", "source.toolkit.fluxcd.io", ["gitrepo"], { plural: "gitrepositories" }),
  kind("HelmRelease", "helm.toolkit.fluxcd.io", ["hr"], { version: "v2" }),
];
const ALL_KINDS = [...BUILTIN, ...ESO_KINDS, ...FLUX_OPERATOR_KINDS, ...FLUX_KINDS];

const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const kindInfo = (kind) =>
  ALL_KINDS.find((k) => k.kind === kind) || { kind, names: [kind.toLowerCase()], group: "", version: "v1" };
const plural = (ki) => ki.names[1] || ki.kind.toLowerCase();
const reached = (at, now) => at != null && Number.isFinite(at) && now >= at;

/** The etcd cluster behind a kubeconfig (by its cluster CA), serving with quorum now, or null. */
function apiCluster(state, k8sIdentity, now) {
  return (
    Object.values(state.etcd.clusters).find((c) => c.k8sIdentity === k8sIdentity && nodes.hasQuorum(state, c, now)) ||
    null
  );
}

/** When the API server of `cluster` answers (null when its etcd has no quorum now). */
function apiUpAt(state, cfg, cluster, now) {
  if (!cluster || !nodes.hasQuorum(state, cluster, now)) return null;
  return cluster.createdAt + (cfg.delaysMs.bootstrap || 0) + (cfg.delaysMs.apiServer || 0);
}

/** Timestamps of the charts and objects (null = absent). */
function clocks(state, cfg) {
  const d = cfg.delaysMs;
  const rec = state.k8s.objects;
  const find = (kind, ns, name) =>
    rec.find((o) => o.kind === kind && (o.metadata.namespace || "") === (ns || "") && o.metadata.name === name);
  const release = (name, ns) =>
    rec.find((o) => o.kind === HELM_KIND && o.metadata.name === name && (ns == null || o.metadata.namespace === ns));
  const cilium = release("cilium", "kube-system");
  const eso = release("external-secrets");
  const fluxOperator = release("flux-operator");
  const fluxInstance = find("FluxInstance", "flux-system", "flux");
  const fluxStart = fluxInstance && fluxOperator ? Math.max(fluxInstance.createdAt, fluxOperator.createdAt) : null;
  const credentials = find("Secret", "onepassword-connect", "onepassword-connect-credentials");
  const token = find("Secret", "onepassword-connect", "onepassword-connect-token");
  const connect = find("Deployment", "onepassword-connect", "onepassword-connect");
  return {
    find,
    cilium,
    ciliumAt: cilium ? cilium.createdAt + (d.ciliumRollout || 0) : null,
    eso,
    esoAt: eso ? eso.createdAt + (d.esoReady || 0) : null,
    fluxOperator,
    fluxStart,
    fluxAt: fluxStart != null ? fluxStart + (d.fluxReady || 0) : null,
    credentials,
    token,
    connect,
    connectAt:
      connect && credentials && token
        ? Math.max(connect.createdAt, credentials.createdAt, token.createdAt) + (d.connectReady || 0)
        : null,
  };
}

/** The resource types the API server serves now (kubectl's discovery). */
function servedKinds(state, cfg, now) {
  const c = clocks(state, cfg);
  return [
    ...BUILTIN,
    ...(reached(c.esoAt, now) ? ESO_KINDS : []),
    ...(c.fluxOperator && reached(c.fluxOperator.createdAt, now) ? FLUX_OPERATOR_KINDS : []),
    // flux-operator installs Flux's CRDs when it starts reconciling the FluxInstance.
    ...(reached(c.fluxStart, now) ? FLUX_KINDS : []),
  ];
}

/**
 * kubectl's resource argument ("deployments", "deploy.apps", "kustomization.kustomize.toolkit.fluxcd.io")
 * among the served kinds; null when the server doesn't have it.
 */
function resolveKind(resource, kinds) {
  const r = resource.toLowerCase();
  for (const k of kinds) {
    if (k.names.includes(r)) return k;
    for (const n of k.names) {
      if (k.group && (r === `${n}.${k.group}` || (r.startsWith(`${n}.`) && k.group.startsWith(r.slice(n.length + 1)))))
        return k;
    }
  }
  return null;
}

/** A condition that becomes True at `at`; `never` (kubectl fault) keeps it False. */
function cond(type, at, now, never, reasons, falseMsg) {
  const ok = !never && reached(at, now);
  return {
    type,
    status: ok ? "True" : "False",
    reason: ok ? reasons[0] : reasons[1],
    message: ok ? `${type} (fake)` : never ? `${falseMsg} (fake fault: the condition never becomes true)` : falseMsg,
    lastTransitionTime: iso(ok ? at : now),
    _at: never || at == null ? Infinity : at,
    _trueAt: at == null ? Infinity : at,
  };
}
const AVAILABLE = ["MinimumReplicasAvailable", "MinimumReplicasUnavailable"];
const available = (at, now, never, msg) => [
  cond("Available", at, now, never, AVAILABLE, msg || "Deployment does not have minimum availability."),
];
const established = (at, now, never) => [
  cond(
    "Established",
    at,
    now,
    never,
    ["InitialNamesAccepted", "Installing"],
    "the initial names have not been accepted",
  ),
];

const reconciled = (at, now, never, msg) => [
  cond("Ready", at, now, never, ["ReconciliationSucceeded", "Progressing"], msg),
];

/** The Kubernetes Nodes of `cluster`: machines configured for it, Ready when up after Cilium's rollout. */
function k8sNodes(state, cfg, cluster, now, never) {
  const apiAt = apiUpAt(state, cfg, cluster, now);
  if (apiAt == null) return [];
  const { ciliumAt } = clocks(state, cfg);
  return Object.values(state.nodes)
    .filter((n) => n.config && n.config.identity === cluster.identity)
    .map((n) => {
      const registered = Math.max(apiAt, n.upSince);
      const up = nodes.isUp(n, now);
      const readyAt = up && ciliumAt != null ? Math.max(ciliumAt, registered) : null;
      return { n, name: nodes.memberName(n), registered, readyAt: never ? null : readyAt, trueAt: readyAt };
    })
    .filter((x) => reached(x.registered, now));
}

/** All objects the API serves now, with status. [] when the API does not answer. */
function objects(state, cfg, cluster, now, never) {
  const c = clocks(state, cfg);
  const out = [];
  const add = (kind, ns, name, createdAt, conditions, extraStatus) => {
    const ki = kindInfo(kind);
    const obj = {
      apiVersion: ki.group ? `${ki.group}/${ki.version}` : ki.version,
      kind,
      metadata: { name, creationTimestamp: iso(createdAt) },
      status: Object.assign({}, extraStatus || {}),
    };
    if (!ki.cluster) obj.metadata.namespace = ns || "default";
    if (conditions) obj.status.conditions = conditions;
    out.push(obj);
  };
  const nodeMsg =
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";
  const k8s = k8sNodes(state, cfg, cluster, now, never);
  for (const x of k8s) {
    const ready = cond(
      "Ready",
      x.readyAt,
      now,
      never,
      ["KubeletReady", "KubeletNotReady"],
      nodes.isUp(x.n, now) ? nodeMsg : "Kubelet stopped posting node status.",
    );
    ready._trueAt = x.trueAt == null ? Infinity : x.trueAt;
    add("Node", "", x.name, x.registered, [ready], {
      addresses: [
        { type: "InternalIP", address: x.n.address },
        { type: "Hostname", address: x.name },
      ],
      // the kubelet's own version (kubernetes v1.31.14 pkg/kubelet/nodestatus/setters.go NodeInfo:
      // version.Get().String(), e.g. v1.31.2): the image its machine config runs
      nodeInfo: { kubeletVersion: nodes.runningVersion(x.n, "kubelet", now) || "" },
    });
    // A cordoned Node (the node's own while it upgrades or resets: k8s/node_cordoned_spec.go @
    // v1.12.6; talosctl's drain: nodedrain CordonAndDrain @ v1.14.1) has spec.unschedulable.
    if (x.n.cordon) out[out.length - 1].spec = { unschedulable: true };
  }
  // The mirror pods of the control planes' static pods: the kubelet creates one per static pod,
  // named <pod>-<node name>, with the static pod's annotations (talos.dev/config-version...),
  // and reports its status there (pkg/kubelet/pod/mirror_client.go; kubelet status manager).
  for (const x of k8s) {
    if (!nodes.isControlPlane(x.n.config)) continue;
    for (const c of nodes.COMPONENTS) {
      const pod = nodes.staticPod(x.n, c, now);
      if (!pod) continue;
      const up = nodes.isUp(x.n, now);
      const ready = up && (c === "kube-apiserver" ? nodes.apiServerServing(state, cfg, x.n, now) : pod.ready);
      out.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${c}-${x.name}`,
          namespace: "kube-system",
          creationTimestamp: iso(x.registered),
          annotations: Object.assign(nodes.staticPodAnnotations(pod.version), {
            "kubernetes.io/config.mirror": "fake",
            "kubernetes.io/config.source": "http",
          }),
          labels: { "k8s-app": c, tier: "control-plane" },
        },
        status: {
          phase: "Running",
          hostIP: x.n.address,
          conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
        },
      });
    }
  }
  if (c.cilium) {
    const ready = reached(c.ciliumAt, now) ? k8s.filter((x) => nodes.isUp(x.n, now)).length : 0;
    add("DaemonSet", "kube-system", "cilium", c.cilium.createdAt, null, {
      desiredNumberScheduled: k8s.length,
      numberReady: ready,
    });
    add("Deployment", "kube-system", "cilium-operator", c.cilium.createdAt, available(c.ciliumAt, now, never));
  }
  if (c.eso) {
    for (const ki of ESO_KINDS)
      add(
        "CustomResourceDefinition",
        "",
        `${plural(ki)}.${ki.group}`,
        c.eso.createdAt,
        established(c.esoAt, now, never),
      );
    for (const dep of ["external-secrets", "external-secrets-webhook", "external-secrets-cert-controller"]) {
      add("Deployment", c.eso.metadata.namespace, dep, c.eso.createdAt, available(c.esoAt, now, never));
    }
  }
  if (c.fluxOperator) {
    add(
      "Deployment",
      c.fluxOperator.metadata.namespace,
      "flux-operator",
      c.fluxOperator.createdAt,
      available(c.fluxOperator.createdAt, now, false),
    );
    add(
      "CustomResourceDefinition",
      "",
      "fluxinstances.fluxcd.controlplane.io",
      c.fluxOperator.createdAt,
      established(c.fluxOperator.createdAt, now, false),
    );
  }
  if (reached(c.fluxStart, now)) {
    for (const ki of FLUX_KINDS)
      add(
        "CustomResourceDefinition",
        "",
        `${plural(ki)}.${ki.group}`,
        c.fluxStart,
        established(c.fluxStart, now, false),
      );
    add("GitRepository", "flux-system", "flux-system", c.fluxStart, [
      cond(
        "Ready",
        c.fluxAt,
        now,
        never,
        ["Succeeded", "Progressing"],
        "building artifact: cloning the repository (fake)",
      ),
    ]);
    add(
      "Kustomization",
      "flux-system",
      "flux-system",
      c.fluxStart,
      reconciled(c.fluxAt, now, never, "reconciliation in progress (fake)"),
    );
  }
  for (const o of state.k8s.objects) {
    if (o.kind === HELM_KIND) continue;
    const ns = o.metadata.namespace;
    let conditions = null;
    if (o === c.connect) {
      const missing = [
        !c.credentials && "onepassword-connect-credentials",
        !c.token && "onepassword-connect-token",
      ].filter(Boolean);
      const msg = missing.length
        ? `Deployment does not have minimum availability: pods cannot start, secret ${missing.join(", ")} not found`
        : null;
      conditions = available(c.connectAt, now, never, msg);
    } else if (o.kind === "ClusterSecretStore" || o.kind === "SecretStore") {
      const at = c.connectAt != null ? Math.max(o.createdAt, c.connectAt) + (cfg.delaysMs.storeReady || 0) : null;
      const why = !c.eso
        ? "no external-secrets controller is running"
        : !reached(c.connectAt, now)
          ? "unable to validate store: could not reach 1Password Connect at http://onepassword-connect.onepassword-connect.svc.cluster.local:8080: connection refused"
          : "store validation pending";
      conditions = [cond("Ready", at, now, never, ["Valid", "InvalidProviderConfig"], why)];
    } else if (["Deployment", "DaemonSet", "StatefulSet"].includes(o.kind))
      conditions = available(o.createdAt, now, never, "");
    else if (o.kind === "CustomResourceDefinition") conditions = established(o.createdAt, now, never);
    else if (o.kind === "FluxInstance") {
      const why = c.fluxOperator ? "reconciliation in progress (fake)" : "no flux-operator is running";
      conditions = reconciled(c.fluxAt, now, never, why);
    }
    const ki = kindInfo(o.kind);
    const dup = out.some(
      (x) =>
        x.kind === o.kind &&
        x.metadata.name === o.metadata.name &&
        (x.metadata.namespace || "") === (ki.cluster ? "" : ns || "default"),
    );
    if (!dup)
      add(o.kind, ns, o.metadata.name, o.createdAt, conditions, o.kind === "Namespace" ? { phase: "Active" } : null);
  }
  return out;
}

/** Strip internal fields before printing. */
const publicObject = (obj) =>
  JSON.parse(JSON.stringify(obj, (k, v) => (k === "_at" || k === "_trueAt" ? undefined : v)));

module.exports = {
  HELM_KIND,
  ALL_KINDS,
  apiCluster,
  apiUpAt,
  servedKinds,
  resolveKind,
  kindInfo,
  plural,
  k8sNodes,
  objects,
  publicObject,
  iso,
  reached,
};
