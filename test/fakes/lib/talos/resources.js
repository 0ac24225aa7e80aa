"use strict";
/**
 * The COSI resources `talosctl get` can read from the fake nodes (MachineStatus, Disks) and the
 * writers it prints them with (cmd/talosctl/cmd/talos/output @ v1.10.5: table, yaml, json,
 * jsonpath).
 */
const YAML = require("yaml");
const { Fail } = require("../runtime");
const { findResults } = require("../jsonpath");
const nodes = require("./nodes");
const world = require("../world");
const { rpc } = require("./errors");

/** text/tabwriter as talosctl configures it (minwidth 0, tabwidth 0, padding 3, ' '). */
function tabular(rows) {
  const widths = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] || 0, String(c).length)));
  return rows
    .map((r) => r.map((c, i) => (i < r.length - 1 ? String(c).padEnd(widths[i] + 3) : String(c))).join("") + "\n")
    .join("");
}

/** go-humanize Bytes (SI), as the Disks table prints sizes. */
function humanBytes(s) {
  if (s < 10) return `${s} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(s) / Math.log(1000));
  const val = Math.floor((s / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${sizes[e]}`;
}

/**
 * MachineStatus readiness (internal/app/machined/pkg/controllers/runtime/machine_status.go @
 * v1.10.5): checks run only in the booting and running stages (otherwise ready is true with no
 * unmet conditions); services apid/machined/kubelet (+ etcd/trustd on a control plane) running and
 * healthy, control plane static pods ready, and the Kubernetes Node Ready (nodeReadyCheck).
 */
function readiness(state, cfg, n, now) {
  const stage = nodes.stageOf(n, now);
  if (stage !== "booting" && stage !== "running") return [];
  const unmet = [];
  const cp = nodes.isControlPlane(n.config);
  const name = nodes.memberName(n);
  if (cp) {
    const etcd = nodes.localEtcd(state, n, now);
    if (etcd === "down") unmet.push({ name: "services", reason: "etcd not running" });
    else if (etcd !== "serving") unmet.push({ name: "services", reason: "etcd not healthy" });
  }
  if (nodes.kubeletRestarting(n, now)) unmet.push({ name: "services", reason: "kubelet not healthy" });
  const cluster = Object.values(state.etcd.clusters).find(
    (c) => c.identity === (n.config && n.config.identity) && nodes.hasQuorum(state, c, now),
  );
  // staticPodsCheck: every static pod of this node Running and Ready (StaticPodStatus).
  if (cp) {
    const notReady = nodes.COMPONENTS.filter((c) =>
      c === "kube-apiserver" ? !nodes.apiServerServing(state, cfg, n, now) : !(nodes.staticPod(n, c, now) || {}).ready,
    );
    if (notReady.length)
      unmet.push({ name: "staticPods", reason: notReady.map((c) => `kube-system/${c}-${name} not ready`).join(", ") });
  }
  const k8s = cluster ? world.k8sNodes(state, cfg, cluster, now, false).find((x) => x.n === n) : null;
  if (!k8s) unmet.push({ name: "nodeReady", reason: `node "${name}" status is not available yet` });
  else if (!world.reached(k8s.readyAt, now)) unmet.push({ name: "nodeReady", reason: `node "${name}" is not ready` });
  return unmet;
}

const metadata = (namespace, type, id) => ({ namespace, type, id, version: 1, owner: "", phase: "running" });

function machineStatus(state, cfg, n, now) {
  const unmet = readiness(state, cfg, n, now);
  return [
    {
      metadata: Object.assign(metadata("runtime", "MachineStatuses.runtime.talos.dev", "machine"), {
        owner: "runtime.MachineStatusController",
      }),
      spec: { stage: nodes.stageOf(n, now), status: { ready: unmet.length === 0, unmetConditions: unmet } },
    },
  ];
}

function disks(state, cfg, n) {
  const disksOf = (cfg.nodes.find((x) => x.address === n.address) || {}).disks || [];
  return disksOf.map((d) => ({
    metadata: Object.assign(metadata("runtime", "Disks.block.talos.dev", d.id), { owner: "block.DisksController" }),
    spec: {
      dev_path: `/dev/${d.id}`,
      size: d.size,
      pretty_size: humanBytes(d.size),
      io_size: 512,
      sector_size: 512,
      readonly: false,
      cdrom: false,
      model: d.model,
      serial: d.serial,
      wwid: d.wwid || "",
      transport: d.transport,
      rotational: d.rotational,
    },
  }));
}

/**
 * The control-plane static pods Talos renders for the kubelet (StaticPods.kubernetes.talos.dev,
 * namespace k8s: ControlPlaneStaticPodController @ v1.10.5, only while the node's etcd is
 * healthy), each with the annotations the kubelet copies to its mirror pod.
 */
function staticPods(state, cfg, n, now) {
  if (!nodes.isControlPlane(n.config) || nodes.localEtcd(state, n, now) !== "serving") return [];
  return nodes.COMPONENTS.filter((c) => nodes.staticPod(n, c, now)).map((c) => ({
    metadata: Object.assign(metadata("k8s", "StaticPods.kubernetes.talos.dev", c), {
      version: nodes.staticPod(n, c, now).rendered,
      owner: "k8s.ControlPlaneStaticPodController",
    }),
    spec: {
      pod: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: c,
          namespace: "kube-system",
          annotations: nodes.staticPodAnnotations(nodes.staticPod(n, c, now).rendered),
          labels: { "k8s-app": c, tier: "control-plane" },
        },
      },
    },
  }));
}

/**
 * The node's machine configs (MachineConfigs.config.talos.dev, namespace config:
 * pkg/machinery/resources/config/machine_config.go @ v1.12.6 ... v1.14.1): ID v1alpha1 is the
 * active config, its spec the whole multi-document YAML as one string (MarshalYAML), so
 * `-o jsonpath={.spec}` prints the config text. Sensitive (internal/app/resources/access.go):
 * os:admin only (remote.js get). The `persistent` ID (after an apply during this boot) is not
 * modelled. A maintenance node has none.
 */
function machineConfigs(state, cfg, n) {
  if (!n.config) return [];
  return [
    {
      metadata: Object.assign(metadata("config", "MachineConfigs.config.talos.dev", "v1alpha1"), {
        owner: "config.AcquireController",
      }),
      spec: n.config.text,
    },
  ];
}

/**
 * The installed extensions (ExtensionStatuses.runtime.talos.dev, namespace runtime). A node
 * booted from an Image Factory image lists its schematic as the extension named "schematic"
 * whose version is the schematic ID (siderolabs/docs v1.12 learn-more/image-factory.mdx:
 * `talosctl get extensions` shows `schematic` with the ID as VERSION). The fake's nodes carry
 * only that extension (node.talos.schematic; none for a ghcr.io installer).
 */
function extensionStatuses(state, cfg, n) {
  if (!n.talos || !n.talos.schematic) return [];
  return [
    {
      metadata: Object.assign(metadata("runtime", "ExtensionStatuses.runtime.talos.dev", "0"), {
        owner: "runtime.ExtensionStatusController",
      }),
      spec: {
        image: "",
        metadata: { name: "schematic", version: n.talos.schematic, description: "", compatibility: {} },
      },
    },
  ];
}

/** Resource definitions: aliases, the table's columns (their PrintColumns) and a reader. */
const RESOURCES = [
  {
    names: ["machinestatus", "machinestatuses", "machinestatuses.runtime.talos.dev"],
    display: "MachineStatus",
    columns: [
      ["STAGE", (s) => s.stage],
      ["READY", (s) => s.status.ready],
    ],
    read: machineStatus,
  },
  {
    names: ["staticpods", "staticpod", "staticpods.kubernetes.talos.dev"],
    display: "StaticPod",
    columns: [],
    read: staticPods,
  },
  {
    names: ["disks", "disk", "disks.block.talos.dev"],
    display: "Disk",
    columns: [
      ["SIZE", (s) => s.pretty_size],
      ["READ ONLY", (s) => s.readonly],
      ["TRANSPORT", (s) => s.transport],
      ["ROTATIONAL", (s) => s.rotational],
      ["WWID", (s) => s.wwid],
      ["MODEL", (s) => s.model],
      ["SERIAL", (s) => s.serial],
    ],
    read: disks,
  },
  {
    names: ["machineconfig", "machineconfigs", "mc", "machineconfigs.config.talos.dev"],
    display: "MachineConfig",
    columns: [],
    sensitive: true,
    read: machineConfigs,
  },
  {
    names: ["extensions", "extension", "extensionstatus", "extensionstatuses", "extensionstatuses.runtime.talos.dev"],
    display: "ExtensionStatus",
    columns: [
      ["NAME", (s) => s.metadata.name],
      ["VERSION", (s) => s.metadata.version],
    ],
    read: extensionStatuses,
  },
];

/** ResolveResourceKind (pkg/machinery/client/resources.go): NotFound for an unknown type. */
function resolveResource(type) {
  const rd = RESOURCES.find((r) => r.names.includes(type.toLowerCase()));
  if (!rd) throw new Fail(rpc("NotFound", `resource ${JSON.stringify(type)} is not registered`));
  return rd;
}

/** Print resources like talosctl's output writers; `node` is "" for an --insecure call. */
function printResources(ctx, rd, items, node, format) {
  const data = items.map((r) => Object.assign({ node }, r));
  if (format === "table") {
    const rows = [["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", ...rd.columns.map((c) => c[0])]];
    for (const r of items)
      rows.push([
        node,
        r.metadata.namespace,
        rd.display,
        r.metadata.id,
        r.metadata.version,
        ...rd.columns.map((c) => String(c[1](r.spec))),
      ]);
    ctx.out(tabular(rows));
  } else if (format === "yaml") {
    ctx.out(data.map((d) => YAML.stringify(d, { indent: 4 })).join("---\n"));
  } else if (format === "json") {
    for (const d of data) ctx.out(JSON.stringify(d, null, 4) + "\n");
  } else if (format.startsWith("jsonpath=")) {
    for (const d of data) {
      let groups;
      try {
        groups = findResults(format.slice(9), d);
      } catch (e) {
        throw new Fail(`error finding result for jsonpath: ${e.message}`);
      }
      // Each result on its own line, text nodes included (output/jsonpath.go printResult).
      for (const g of groups)
        for (const v of g)
          ctx.out((v !== null && typeof v === "object" ? JSON.stringify(sortKeys(v), null, 4) : String(v)) + "\n");
    }
  } else throw new Fail(`output format ${JSON.stringify(format)} is not supported`);
}

/** encoding/json marshals map keys sorted. */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

module.exports = { tabular, humanBytes, readiness, resolveResource, printResources, RESOURCES };
