"use strict";
/**
 * talosctl upgrade-k8s --from X --to Y (cmd/talosctl/cmd/talos/upgrade-k8s.go,
 * pkg/cluster/kubernetes/talos_managed.go Upgrade, patch.go patchNodeConfig @ v1.12.6, v1.13.9,
 * v1.14.1; contracts/NOTES.md §7.4).
 *
 * - Exactly one -n node, a control plane: <= 1.13 `command "upgrade-k8s" is not supported with
 *   multiple nodes`, 1.14 `... requires exactly one node (got N)`.
 * - The path: only X->X or X->X+1, up to the newest minor this talosctl's go-kubernetes knows
 *   (kubernetes/upgrade/path.go Path.IsSupported; versions.js NEWEST_K8S_PATH). With --from and
 *   --to given, an unsupported path is refused before any node is contacted:
 *   `unsupported upgrade path 1.35->1.37 (from "1.35.2" to "1.37.0")`, exit 1. Without --from the
 *   lowest version running is detected first (DetectLowestVersion: the kube-system control-plane
 *   pods' image tags; here the control planes' kube-apiserver image in their configs), printed as
 *   `automatically detected the lowest Kubernetes version X`. --to defaults to this talosctl's
 *   constants.DefaultKubernetesVersion (the CLI reference's default).
 * - Every node's Talos must support Y (pkg/cluster/kubernetes/compat.go; compatibility/talos1NN
 *   ranges in versions.js), else nothing is changed. The exact wording of that refusal was not
 *   read from the source; the fake prints `node <n>: <SupportedWith's error>`.
 * - Then, per component and per control plane in turn: kube-apiserver, kube-controller-manager,
 *   kube-scheduler images, each node's static pod waited for (its new config version, Ready)
 *   before the next node is patched (talos_managed.go upgradeStaticPod → upgradeStaticPodOnNode →
 *   checkPodStatus @ v1.12.6), so no two control planes restart a component together; kube-
 *   proxy on control-plane configs; with --upgrade-kubelet (default true) the kubelet image on
 *   every node. Each node's machine config is read over COSI, patched and applied back with mode
 *   NO_REBOOT: the legacy v1alpha1 fields (.cluster.apiServer.image, ...,
 *   .machine.kubelet.image) or, where the config has them, the 1.14 documents KubeAPIServerConfig,
 *   KubeControllerManagerConfig, KubeSchedulerConfig, KubeProxyConfig, KubeletConfig `image`
 *   (stdpatches.GuessVersionContract). The change restarts the static pods / kubelet (nodes.js
 *   liveConfigChanged). An image already at Y is skipped (errUpdateSkipped): re-running is a no-op
 *   on the configs. A node that does not answer fails the run after the nodes before it were
 *   patched (a re-run finishes it).
 * - --dry-run prints the plan and changes nothing.
 * - Images: --apiserver-image etc. (the CLI reference defaults) + ":v" + Y.
 */
const { Fail } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const client = require("./client");
const versions = require("./versions");
const cfgs = require("./config");
const world = require("../world");
const store = require("../store");
const { target, onNode, proxied, requireRole, ADMIN } = require("./remote");

const COMPONENT_FLAGS = [
  {
    name: "kube-apiserver",
    flag: "apiserver-image",
    path: ["cluster", "apiServer"],
    doc: "KubeAPIServerConfig",
    cp: true,
  },
  {
    name: "kube-controller-manager",
    flag: "controller-manager-image",
    path: ["cluster", "controllerManager"],
    doc: "KubeControllerManagerConfig",
    cp: true,
  },
  {
    name: "kube-scheduler",
    flag: "scheduler-image",
    path: ["cluster", "scheduler"],
    doc: "KubeSchedulerConfig",
    cp: true,
  },
  { name: "kube-proxy", flag: "proxy-image", path: ["cluster", "proxy"], doc: "KubeProxyConfig", cp: true },
  { name: "kubelet", flag: "kubelet-image", path: ["machine", "kubelet"], doc: "KubeletConfig", cp: false },
];

const plainK8s = (v) => String(v).replace(/^v/, "");
const tagOf = (image) => {
  const m = /:v?(\d+\.\d+\.\d+[^@\s]*)$/.exec(String(image || ""));
  return m ? m[1] : null;
};

/** The object holding a component's `image` in the parsed docs (document, else v1alpha1 path). */
function holder(docs, c, create) {
  const doc = docs.find((d) => d && d.kind === c.doc);
  if (doc) return doc;
  const v = docs.find((d) => d && d.version === "v1alpha1");
  if (!v) return null;
  let o = v;
  for (const k of c.path) {
    if (o[k] == null) {
      if (!create) return null;
      o[k] = {};
    }
    o = o[k];
  }
  return o;
}

/** DetectLowestVersion: the lowest kube-apiserver tag among the control planes' configs. */
function lowestVersion(list) {
  let low = null;
  for (const n of list) {
    if (!nodes.isControlPlane(n.config)) continue;
    const h = holder(cfgs.parseMachineConfig(n.config.text).docs, COMPONENT_FLAGS[0], false);
    const tag = h && tagOf(h.image);
    if (tag && (!low || versions.compare(tag, low) < 0)) low = tag;
  }
  return low;
}

function upgradeK8s(ctx, o) {
  const c = client.client();
  const list = o.all("nodes");
  if (list.length > 1) throw new Fail(client.singleNodeError("upgrade-k8s", list.length));
  const to = plainK8s(o.get("to") || client.flagDefault("upgrade-k8s", "to"));
  const from0 = o.has("from") ? plainK8s(o.get("from")) : null;
  const pathError = (from) => {
    if (!versions.parse(from) || !versions.parse(to))
      return `error parsing version: ${JSON.stringify(versions.parse(from) ? to : from)}`;
    if (versions.upgradePathSupported(c.minor, from, to)) return null;
    const f = versions.parse(from);
    const t = versions.parse(to);
    return `unsupported upgrade path ${f.major}.${f.minor}->${t.major}.${t.minor} (from ${JSON.stringify(from)} to ${JSON.stringify(to)})`;
  };
  // With --from and --to both given, the path is checked before any node is contacted.
  if (from0 != null) {
    const why = pathError(from0);
    if (why) throw new Fail(why);
  }
  const t = target(o, "upgrade-k8s");
  const dry = o.bool("dry-run");
  const kubelet = o.bool("upgrade-kubelet", true);
  const image = (comp) => `${o.get(comp.flag) || client.flagDefault("upgrade-k8s", comp.flag)}:v${to}`;
  const log = onNode(ctx, t, (s, e, now) => {
    requireRole(t, ADMIN);
    if (!nodes.isControlPlane(e.config))
      throw new Fail(
        `error building kubernetes client: ${E.rpc("Unimplemented", "kubeconfig is only available on control plane nodes")}`,
      );
    const cluster = Object.values(s.etcd.clusters).find(
      (x) => x.identity === e.config.identity && nodes.hasQuorum(s, x, now),
    );
    const apiAt = world.apiUpAt(s, ctx.cfg, cluster, now);
    if (apiAt == null || now < apiAt)
      throw new Fail(
        `error fetching kubeconfig: ${E.rpc("Unavailable", 'connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:6443: connect: connection refused"')}`,
      );
    // The nodes Kubernetes knows, control planes first, in address order.
    const members = world
      .k8sNodes(s, ctx.cfg, cluster, now, false)
      .map((x) => x.n)
      .sort(
        (a, b) =>
          Number(nodes.isControlPlane(b.config)) - Number(nodes.isControlPlane(a.config)) ||
          (a.address < b.address ? -1 : 1),
      );
    const out = [];
    let from = from0;
    if (from == null) {
      from = lowestVersion(members);
      if (!from) throw new Fail("error detecting the lowest Kubernetes version: no control plane pods found");
      out.push(`automatically detected the lowest Kubernetes version ${from}`);
      const why = pathError(from);
      if (why) throw new Fail(why);
    }
    const cps = members.filter((n) => nodes.isControlPlane(n.config));
    const workers = members.filter((n) => !nodes.isControlPlane(n.config));
    out.push(`discovered controlplane nodes [${cps.map((n) => `"${n.address}"`).join(" ")}]`);
    out.push(`discovered worker nodes [${workers.map((n) => `"${n.address}"`).join(" ")}]`);
    for (const n of members) {
      const why = versions.kubernetesSupportedWith(to, n.talos.version);
      if (why) throw new Fail(`node ${n.address}: ${why}`);
    }
    const comps = COMPONENT_FLAGS.filter((x) => x.name !== "kubelet" || kubelet);
    // When the change reaches each node: after the node before it has its new pod Ready.
    let at = now;
    for (const comp of comps) {
      const targets = comp.cp ? cps : members;
      out.push(`updating ${JSON.stringify(comp.name)} to version ${JSON.stringify(to)}`);
      for (const n0 of targets) {
        const r = proxied(s, now, e, n0.address);
        if (r.error) throw new Fail(`error updating node ${JSON.stringify(n0.address)}: ${r.error}`);
        const n = r.n;
        const docs = cfgs.parseMachineConfig(n.config.text).docs;
        const h = holder(docs, comp, true);
        const want = image(comp);
        if (h.image === want) {
          out.push(` > ${JSON.stringify(n.address)}: update skipped`);
          continue;
        }
        out.push(` > ${JSON.stringify(n.address)}: starting update`);
        if (dry) continue;
        h.image = want;
        n.config = cfgs.configRecord(cfgs.encodeDocuments(docs));
        n.pending = null;
        n.k8sUpgrades = (n.k8sUpgrades || 0) + 1;
        nodes.liveConfigChanged(s, ctx.cfg, n, at);
        const pod = n.staticPods && n.staticPods[comp.name];
        if (comp.name !== "kube-proxy" && pod && pod.readyAt != null) at = Math.max(at, pod.readyAt);
        if (comp.name === "kubelet" && n.kubelet) at = Math.max(at, n.kubelet.restartTo || at);
      }
    }
    if (!dry) (s.k8sUpgrades = s.k8sUpgrades || []).push({ at: now, from, to, client: c.version, until: at });
    return { out, until: at };
  });
  // The CLI returns once the last node's pod is Ready.
  store.sleepMs(Math.max(0, log.until - Date.now()));
  ctx.out(log.out.join("\n") + "\n");
}

module.exports = { lowestVersion, handlers: { "upgrade-k8s": upgradeK8s } };
