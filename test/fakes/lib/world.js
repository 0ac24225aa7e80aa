"use strict";
/**
 * Time-based simulation of the nodes and the Kubernetes controllers. Nothing runs in the
 * background: every status is computed from creation timestamps and config.delaysMs.
 */

const { effectivePhase } = require("./state");

/** Node phase at `now` (installing/rebooting end by themselves). Mutates nothing. */
const nodePhase = effectivePhase;

/** Persist finished transitions (call under the lock before mutating a node). */
function settleNode(node, now) {
  const p = nodePhase(node, now);
  if (p !== node.phase) {
    node.phase = p;
    node.phaseUntil = null;
    node.phaseNext = null;
  }
  return node;
}

function etcdUpAt(state, cfg) {
  const c = state.cluster;
  if (c.bootstrappedAt == null) return null;
  return c.bootstrappedAt + (cfg.delaysMs.bootstrap || 0);
}

function apiUpAt(state, cfg) {
  const e = etcdUpAt(state, cfg);
  if (e == null) return null;
  return e + (cfg.delaysMs.apiServer || 0);
}

/** Configured nodes that belong to the bootstrapped cluster (etcd members / Kubernetes nodes). */
function clusterNodes(state, now) {
  const id = state.cluster.identity;
  if (!id) return [];
  return Object.values(state.nodes).filter((n) => n.identity === id && nodePhase(n, now) === "configured");
}

const KINDS = [
  { kind: "Node", names: ["node", "nodes", "no"], group: "", version: "v1", cluster: true },
  { kind: "Namespace", names: ["namespace", "namespaces", "ns"], group: "", version: "v1", cluster: true },
  { kind: "Secret", names: ["secret", "secrets"], group: "", version: "v1" },
  { kind: "ConfigMap", names: ["configmap", "configmaps", "cm"], group: "", version: "v1" },
  { kind: "Service", names: ["service", "services", "svc"], group: "", version: "v1" },
  { kind: "ServiceAccount", names: ["serviceaccount", "serviceaccounts", "sa"], group: "", version: "v1" },
  { kind: "Pod", names: ["pod", "pods", "po"], group: "", version: "v1" },
  { kind: "Deployment", names: ["deployment", "deployments", "deploy"], group: "apps", version: "v1" },
  { kind: "DaemonSet", names: ["daemonset", "daemonsets", "ds"], group: "apps", version: "v1" },
  { kind: "StatefulSet", names: ["statefulset", "statefulsets", "sts"], group: "apps", version: "v1" },
  {
    kind: "CustomResourceDefinition",
    names: ["customresourcedefinition", "customresourcedefinitions", "crd", "crds"],
    group: "apiextensions.k8s.io",
    version: "v1",
    cluster: true,
  },
  {
    kind: "ClusterSecretStore",
    names: ["clustersecretstore", "clustersecretstores", "css"],
    group: "external-secrets.io",
    version: "v1",
    cluster: true,
  },
  { kind: "SecretStore", names: ["secretstore", "secretstores", "ss"], group: "external-secrets.io", version: "v1" },
  {
    kind: "ExternalSecret",
    names: ["externalsecret", "externalsecrets", "es"],
    group: "external-secrets.io",
    version: "v1",
  },
  {
    kind: "Kustomization",
    names: ["kustomization", "kustomizations", "ks"],
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
  },
  {
    kind: "GitRepository",
    names: ["gitrepository", "gitrepositories", "gitrepo"],
    group: "source.toolkit.fluxcd.io",
    version: "v1",
  },
  { kind: "HelmRelease", names: ["helmrelease", "helmreleases", "hr"], group: "helm.toolkit.fluxcd.io", version: "v2" },
  { kind: "FluxInstance", names: ["fluxinstance", "fluxinstances"], group: "fluxcd.controlplane.io", version: "v1" },
];

const HELM_KIND = "HelmRelease(pulumi)";

/** Resolve a kubectl resource name ("deployments", "deploy.apps", "kustomization.kustomize.toolkit.fluxcd.io"). */
function resolveKind(resource) {
  const r = resource.toLowerCase();
  for (const k of KINDS) {
    if (k.names.includes(r)) return k;
    for (const n of k.names) {
      if (k.group && (r === `${n}.${k.group}` || (r.startsWith(`${n}.`) && k.group.startsWith(r.slice(n.length + 1)))))
        return k;
    }
  }
  return null;
}

function kindInfo(kind) {
  return KINDS.find((k) => k.kind === kind) || { kind, names: [kind.toLowerCase()], group: "", version: "v1" };
}

function iso(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A condition that becomes True at `at` (null/Infinity = not yet known). `falseMsg` explains why
 * it is not true yet. When `never` is set (kubectl fault), the condition stays False.
 */
function cond(type, at, now, never, trueReason, falseReason, falseMsg) {
  const ok = !never && at != null && Number.isFinite(at) && now >= at;
  return {
    type,
    status: ok ? "True" : "False",
    reason: ok ? trueReason : falseReason,
    message: ok ? `${type} (fake)` : never ? `${falseMsg} (fake fault: the condition never becomes true)` : falseMsg,
    lastTransitionTime: iso(ok ? at : now),
    _at: never ? Infinity : at == null ? Infinity : at,
  };
}

function maxOf(...xs) {
  if (xs.some((x) => x == null || !Number.isFinite(x))) return null;
  return Math.max(...xs);
}

/**
 * All Kubernetes objects visible at `now`, with status. Returns [] when the API is not up.
 * Pulumi Helm releases are inputs only (not Kubernetes objects kubectl can list).
 */
function objects(state, cfg, now, never) {
  const d = cfg.delaysMs;
  const recorded = state.k8s.objects;
  const find = (kind, ns, name) =>
    recorded.find((o) => o.kind === kind && (o.metadata.namespace || "") === (ns || "") && o.metadata.name === name);
  const release = (name, ns) =>
    recorded.find(
      (o) => o.kind === HELM_KIND && o.metadata.name === name && (ns == null || o.metadata.namespace === ns),
    );
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
    return obj;
  };

  // Nodes: registered once the API is up; Ready once Cilium has rolled out.
  const apiAt = apiUpAt(state, cfg);
  const cilium = release("cilium", "kube-system");
  const ciliumAt = cilium ? cilium.createdAt + (d.ciliumRollout || 0) : null;
  for (const n of clusterNodes(state, now)) {
    const readyAt = maxOf(ciliumAt, apiAt);
    add(
      "Node",
      "",
      n.hostname,
      apiAt,
      [
        cond(
          "Ready",
          readyAt,
          now,
          never,
          "KubeletReady",
          "KubeletNotReady",
          "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        ),
      ],
      {
        addresses: [
          { type: "InternalIP", address: n.address },
          { type: "Hostname", address: n.hostname },
        ],
      },
    );
  }
  if (cilium) {
    add("DaemonSet", "kube-system", "cilium", cilium.createdAt, null, {
      desiredNumberScheduled: clusterNodes(state, now).length,
      numberReady: ciliumAt != null && now >= ciliumAt ? clusterNodes(state, now).length : 0,
    });
    add("Deployment", "kube-system", "cilium-operator", cilium.createdAt, [
      cond(
        "Available",
        ciliumAt,
        now,
        never,
        "MinimumReplicasAvailable",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
      ),
    ]);
  }

  // External Secrets (Helm release): CRDs Established and webhook Available after esoReady.
  const eso = release("external-secrets");
  if (eso) {
    const at = eso.createdAt + (d.esoReady || 0);
    for (const crd of ["clustersecretstores", "secretstores", "externalsecrets", "clusterexternalsecrets"]) {
      add("CustomResourceDefinition", "", `${crd}.external-secrets.io`, eso.createdAt, [
        cond("NamesAccepted", eso.createdAt, now, false, "NoConflicts", "Pending", "names not yet accepted"),
        cond(
          "Established",
          at,
          now,
          never,
          "InitialNamesAccepted",
          "Installing",
          "the initial names have not been accepted",
        ),
      ]);
    }
    for (const dep of ["external-secrets", "external-secrets-webhook", "external-secrets-cert-controller"]) {
      add("Deployment", eso.metadata.namespace, dep, eso.createdAt, [
        cond(
          "Available",
          at,
          now,
          never,
          "MinimumReplicasAvailable",
          "MinimumReplicasUnavailable",
          "Deployment does not have minimum availability.",
        ),
      ]);
    }
  }

  // flux-operator (Helm release) + FluxInstance -> root GitRepository/Kustomization flux-system.
  const fluxOperator = release("flux-operator");
  if (fluxOperator) {
    add("Deployment", fluxOperator.metadata.namespace, "flux-operator", fluxOperator.createdAt, [
      cond(
        "Available",
        fluxOperator.createdAt,
        now,
        false,
        "MinimumReplicasAvailable",
        "MinimumReplicasUnavailable",
        "",
      ),
    ]);
    add("CustomResourceDefinition", "", "fluxinstances.fluxcd.controlplane.io", fluxOperator.createdAt, [
      cond("Established", fluxOperator.createdAt, now, false, "InitialNamesAccepted", "Installing", ""),
    ]);
  }
  const fluxInstance = find("FluxInstance", "flux-system", "flux");
  const fluxStart = fluxInstance && fluxOperator ? Math.max(fluxInstance.createdAt, fluxOperator.createdAt) : null;
  const fluxAt = fluxStart != null ? fluxStart + (d.fluxReady || 0) : null;
  if (fluxStart != null && now >= fluxStart) {
    add("GitRepository", "flux-system", "flux-system", fluxStart, [
      cond("Ready", fluxAt, now, never, "Succeeded", "Progressing", "building artifact: cloning the repository (fake)"),
    ]);
    add("Kustomization", "flux-system", "flux-system", fluxStart, [
      cond("Ready", fluxAt, now, never, "ReconciliationSucceeded", "Progressing", "reconciliation in progress (fake)"),
    ]);
  }

  // 1Password Connect: Available connectReady ms after it and both credential Secrets exist.
  const credentials = find("Secret", "onepassword-connect", "onepassword-connect-credentials");
  const token = find("Secret", "onepassword-connect", "onepassword-connect-token");
  const connect = find("Deployment", "onepassword-connect", "onepassword-connect");
  let connectAt = null;
  if (connect && credentials && token) {
    connectAt = Math.max(connect.createdAt, credentials.createdAt, token.createdAt) + (d.connectReady || 0);
  }

  for (const o of recorded) {
    if (o.kind === HELM_KIND) continue;
    const ns = o.metadata.namespace;
    const name = o.metadata.name;
    let conditions = null;
    if (o === connect) {
      const missing = [!credentials && "onepassword-connect-credentials", !token && "onepassword-connect-token"].filter(
        Boolean,
      );
      conditions = [
        cond(
          "Available",
          connectAt,
          now,
          never,
          "MinimumReplicasAvailable",
          "MinimumReplicasUnavailable",
          missing.length
            ? `Deployment does not have minimum availability: pods cannot start, secret ${missing.join(", ")} not found`
            : "Deployment does not have minimum availability.",
        ),
      ];
    } else if (o.kind === "ClusterSecretStore" || o.kind === "SecretStore") {
      const at = connectAt != null ? Math.max(o.createdAt, connectAt) + (d.storeReady || 0) : null;
      const why = !eso
        ? "no external-secrets controller is running"
        : connectAt == null || now < connectAt
          ? "unable to validate store: could not reach 1Password Connect at http://onepassword-connect.onepassword-connect.svc.cluster.local:8080: connection refused"
          : "store validation pending";
      conditions = [cond("Ready", at, now, never, "Valid", "InvalidProviderConfig", why)];
    } else if (["Deployment", "DaemonSet", "StatefulSet"].includes(o.kind)) {
      conditions = [
        cond("Available", o.createdAt, now, never, "MinimumReplicasAvailable", "MinimumReplicasUnavailable", ""),
      ];
    } else if (o.kind === "CustomResourceDefinition") {
      conditions = [cond("Established", o.createdAt, now, never, "InitialNamesAccepted", "Installing", "")];
    } else if (o.kind === "FluxInstance") {
      conditions = [
        cond(
          "Ready",
          fluxAt,
          now,
          never,
          "ReconciliationSucceeded",
          "Progressing",
          fluxOperator ? "reconciliation in progress (fake)" : "no flux-operator is running",
        ),
      ];
    }
    const extra = o.kind === "Namespace" ? { phase: "Active" } : null;
    // do not duplicate synthesized objects the test also recorded
    if (
      out.some(
        (x) =>
          x.kind === o.kind &&
          x.metadata.name === name &&
          (x.metadata.namespace || "") === (kindInfo(o.kind).cluster ? "" : ns || "default"),
      )
    )
      continue;
    add(o.kind, ns, name, o.createdAt, conditions, extra);
  }
  return out;
}

/** When (ms epoch) condition `type` of `obj` becomes true: a number, or Infinity if not foreseeable. */
function conditionAt(obj, type) {
  const c = ((obj.status && obj.status.conditions) || []).find((x) => x.type === type);
  return c ? c._at : Infinity;
}

/** Strip internal fields before printing. */
function publicObject(obj) {
  const copy = JSON.parse(JSON.stringify(obj, (k, v) => (k === "_at" ? undefined : v)));
  return copy;
}

module.exports = {
  nodePhase,
  settleNode,
  etcdUpAt,
  apiUpAt,
  clusterNodes,
  objects,
  resolveKind,
  kindInfo,
  conditionAt,
  publicObject,
  HELM_KIND,
  KINDS,
  iso,
};
