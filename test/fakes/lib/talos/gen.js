"use strict";
/**
 * What the fake talosctl generates: secrets bundles, machine configs, talosconfigs (gen) and
 * admin kubeconfigs (the node's `kubeconfig` answer). Real keys and layout (compare a real
 * `talosctl gen secrets` / `gen config --with-docs=false --with-examples=false`), fake content:
 * the certificates are real Ed25519 X.509 (lib/talos/x509.js) but not Talos's PKI, and the
 * v1alpha1 document carries the fields that matter here, not every default.
 */
const crypto = require("crypto");
const YAML = require("yaml");
const { certificate } = require("./x509");
const { ConfigError, isMap, parseDocuments, encodeDocuments } = require("./config");

const b64 = (n) => crypto.randomBytes(n).toString("base64");
const token = () => `${crypto.randomBytes(3).toString("hex")}.${crypto.randomBytes(8).toString("hex")}`;
const yaml = (doc) => YAML.stringify(doc, { indent: 4, indentSeq: true, lineWidth: 0, minContentWidth: 0 });
const TEN_YEARS = 3650;

/** A secrets bundle (talosctl gen secrets); `canary` is embedded in cluster.secret when set. */
function renderSecretsBundle(canary) {
  return yaml({
    cluster: { id: b64(32), secret: canary ? `${canary}${b64(24)}` : b64(32) },
    secrets: { bootstraptoken: token(), secretboxencryptionsecret: b64(32) },
    trustdinfo: { token: token() },
    certs: {
      etcd: certificate("etcd", TEN_YEARS),
      k8s: certificate("kubernetes", TEN_YEARS),
      k8saggregator: certificate("", TEN_YEARS),
      k8sserviceaccount: { key: certificate("", TEN_YEARS).key },
      os: certificate("talos", TEN_YEARS),
    },
  });
}

/**
 * Strategic merge of a patch into a document (pkg/machinery/config/configpatcher, modelled:
 * mappings merge key by key, lists are appended, scalars replaced; `$patch: delete` and
 * per-field replace rules are not modelled).
 */
function merge(into, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (isMap(v) && isMap(into[k])) merge(into[k], v);
    else if (Array.isArray(v) && Array.isArray(into[k])) into[k] = into[k].concat(v);
    else into[k] = v;
  }
  return into;
}

/**
 * Apply --config-patch contents to the documents: a partial v1alpha1 document (no kind) is merged,
 * a document with apiVersion/kind replaces the one of the same kind and name or is appended.
 */
function applyPatches(docs, patches) {
  for (const text of patches) {
    const parsed = parseDocuments(text);
    for (const p of parsed) {
      if (Array.isArray(p)) throw new ConfigError("JSON6902 patches are not simulated by the fake talosctl");
      if (!isMap(p)) throw new ConfigError("a config patch document must be a mapping");
      if (p.kind) {
        const i = docs.findIndex((d) => d.kind === p.kind && (d.name || null) === (p.name || null));
        if (i >= 0) docs[i] = p;
        else docs.push(p);
      } else merge(docs[0], p);
    }
  }
  return docs;
}

/** The v1alpha1 document of `talosctl gen config` for one machine type. */
function baseV1alpha1(b, o) {
  const host = new URL(o.endpoint).hostname;
  const image = (name) => `registry.k8s.io/${name}:v${o.kubernetesVersion}`;
  const cp = o.type === "controlplane";
  const machine = {
    type: o.type,
    token: b.trustdinfo.token,
    ca: { crt: b.certs.os.crt, key: cp ? b.certs.os.key : "" },
    certSANs: [],
    kubelet: {
      image: `ghcr.io/siderolabs/kubelet:v${o.kubernetesVersion}`,
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
    network: {},
    install: { disk: o.installDisk, image: o.installImage, wipe: false },
    features: {
      rbac: true,
      stableHostname: true,
      apidCheckExtKeyUsage: true,
      diskQuotaSupport: true,
      kubePrism: { enabled: true, port: 7445 },
      hostDNS: { enabled: true, forwardKubeDNSToHost: true },
    },
  };
  if (cp) machine.nodeLabels = { "node.kubernetes.io/exclude-from-external-load-balancers": "" };
  const cluster = {
    id: b.cluster.id,
    secret: b.cluster.secret,
    controlPlane: { endpoint: o.endpoint },
    clusterName: o.name,
    network: { dnsDomain: o.dnsDomain, podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] },
    token: b.secrets.bootstraptoken,
    ca: { crt: b.certs.k8s.crt, key: cp ? b.certs.k8s.key : "" },
  };
  if (cp) {
    Object.assign(cluster, {
      secretboxEncryptionSecret: b.secrets.secretboxencryptionsecret,
      aggregatorCA: b.certs.k8saggregator,
      serviceAccount: b.certs.k8sserviceaccount,
      apiServer: { image: image("kube-apiserver"), certSANs: [...new Set([host, ...o.sans])] },
      controllerManager: { image: image("kube-controller-manager") },
      proxy: { image: image("kube-proxy") },
      scheduler: { image: image("kube-scheduler") },
      discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } },
      etcd: { ca: b.certs.etcd },
    });
  }
  return { version: "v1alpha1", debug: false, persist: true, machine, cluster };
}

/** A machine config text: the base document with the patches applied. */
function renderMachineConfig(bundle, o) {
  return encodeDocuments(applyPatches([baseV1alpha1(bundle, o)], o.patches));
}

/**
 * A talosconfig with a fresh client certificate for `roles` (default os:admin), valid `days`
 * from `now`: `gen config` mints it for constants.TalosAPIDefaultCertificateValidityDuration =
 * 365 days (pkg/machinery/constants @ v1.10.5 ... v1.14.1; generate/secrets/ca.go
 * NewAdminCertificateAndKey: NotAfter = currentTime + ttl), `config new` for --crt-ttl.
 */
function renderTalosconfig(bundle, name, opts) {
  const o = opts || {};
  const client = certificate(
    o.roles || "os:admin",
    o.days || 365,
    { org: "talos", key: bundle.certs.os.key },
    { now: o.now },
  );
  return yaml({
    context: name,
    contexts: { [name]: { endpoints: o.endpoints || [], ca: bundle.certs.os.crt, crt: client.crt, key: client.key } },
  });
}

/**
 * The admin kubeconfig a control plane generates from its config (v1alpha1_server.go Kubeconfig ->
 * kubeconfig.GenerateAdmin): the cluster CA, the control plane endpoint, an admin client
 * certificate signed by the cluster CA, valid from the node's clock (`now`) for
 * constants.KubernetesAdminCertDefaultLifetime = 365 days (pkg/machinery/constants @ v1.10.5 ...
 * v1.14.1), organization system:masters (KubernetesAdminCertOrganization).
 */
function renderKubeconfig(v1alpha1, now) {
  const c = v1alpha1.cluster || {};
  const name = c.clusterName || "talos";
  const user = `admin@${name}`;
  const ca = c.ca || {};
  // CN=admin, O=system:masters (siderolabs/talos v1.10.5 pkg/machinery/constants/constants.go
  // KubernetesAdminCertCommonName, KubernetesAdminCertOrganization; pkg/kubeconfig/generate.go
  // GenerateAdmin), so a real API server authenticates it as user admin in group system:masters.
  const client = ca.key
    ? certificate("system:masters", 365, { org: "kubernetes", key: ca.key, crt: ca.crt }, { cn: "admin", now })
    : certificate("system:masters", 365, undefined, { cn: "admin", now });
  return yaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: (c.controlPlane || {}).endpoint, "certificate-authority-data": ca.crt } }],
    users: [{ name: user, user: { "client-certificate-data": client.crt, "client-key-data": client.key } }],
    contexts: [{ context: { cluster: name, namespace: "default", user }, name: user }],
    "current-context": user,
  });
}

module.exports = {
  renderSecretsBundle,
  renderMachineConfig,
  renderTalosconfig,
  renderKubeconfig,
  applyPatches,
  merge,
  yaml,
};
