/**
 * Random mutations of the real stack file's raw config, for property tests: delete a key or an
 * item, replace a value (plausible values, wrong types, anything JSON), turn a value into another
 * type, duplicate an item (a node, an extension, a CIDR), add a key, or put in another valid value
 * for that key (so that many mutated configs stay valid and get rendered: other minors, per-node
 * overrides, no encryption, ...). Each mutation picks its target among every position of the
 * current tree, so sections, nodes and leaves all get hit.
 */
import fc from "fast-check";
import type { RawConfig } from "../../config/types";
import { homeOpsRawConfig } from "./badInputs";

type Tree = Record<string, unknown> | unknown[];

export interface Mutation {
  readonly kind: "alternative" | "delete" | "replace" | "retype" | "duplicate" | "addKey";
  /** Which position of the tree (modulo the number of positions). */
  readonly at: number;
  readonly value: unknown;
  readonly key: string;
}

/** Values close to real ones, so that many mutated configs stay valid (and get rendered). */
const PLAUSIBLE: readonly unknown[] = [
  "172.29.51.14",
  "172.29.51.10",
  "172.29.51.300",
  "172.29.60.1",
  "fd47:25e1:2f96:51::99",
  "fe80::2",
  "10.0.0.0/8",
  "10.244.0.0/16",
  "10.245.0.0/16",
  "fd00:1::/64",
  "172.29.51.0/25",
  "v1.11.3",
  "v1.10.2",
  "v1.12.0",
  "v1.31.4",
  "1.17.7",
  "worker",
  "controlplane",
  "mini04",
  "enp4s0",
  "siderolabs/lldpd",
  "siderolabs/ext-lldpd",
  "siderolabs/i915",
  "xfs",
  "ext4",
  "45s",
  "500GB",
  "cni",
  "talos",
  "ssh",
  "token",
  "account",
  "",
  " ",
  true,
  false,
  0,
  1,
  2,
  20,
  24,
  7445,
  300,
  -1,
  1.5,
  null,
  [],
  {},
];

/** Other valid values by key path (list indices left out); for a node, settings to add to it. */
const ALTERNATIVES: Readonly<Record<string, readonly unknown[]>> = {
  "cluster.allowSchedulingOnControlPlanes": [false],
  "cluster.dnsDomain": ["cluster.internal"],
  nodes: [
    { interface: "enp4s0" },
    { installDisk: { serial: "S4EVNX0N123456" } },
    { installDisk: { type: "nvme", size: ">= 100GB" } },
    { extraKernelArgs: ["console=ttyS0"] },
    { sysctls: { "vm.swappiness": 10, "net.core.somaxconn": "4096" } },
    { role: "worker" },
  ],
  "nodes.hostname": ["mini09"],
  "nodes.address": ["172.29.51.99"],
  "nodes.ipv6": ["fd47:25e1:2f96:51::99"],
  "talos.version": ["v1.11.5", "v1.11.0", "v1.10.1"],
  "talos.talosctl": ["/usr/local/bin/talosctl-v1.10"],
  "kubernetes.version": ["v1.32.3"],
  "network.interface": ["eth0"],
  "network.ipv6Gateway": ["fe80::2"],
  "network.loadBalancerCidrs": [[], ["172.29.53.0/24", "fd47:25e1:2f96:52::/64"]],
  "network.dhcpRouteMetric": [512],
  "machine.installDisk": [{ serial: "S4EVNX0N123456" }, { type: "ssd" }],
  "machine.extraKernelArgs": [[], ["console=ttyS0", "net.ifnames=0"]],
  "machine.encryptSystemDisk": [false],
  "machine.sysctls": [{}, { "vm.swappiness": 10 }],
  "machine.udevRules": [[]],
  "schematic.extensions": [["siderolabs/lldpd"], ["siderolabs/lldpd", "siderolabs/i915"]],
  "lldpd.config": ["configure lldpd portidsubtype macaddress\n"],
  "usbSsd.name": ["fast-disk"],
  "usbSsd.selector": ['disk.transport == "usb"'],
  "usbSsd.maxSize": ["500GiB"],
  "usbSsd.filesystem": ["ext4"],
  "cilium.ipv4MaskSize": [25],
  "cilium.hubble": [false],
  "cilium.operatorReplicas": [2],
  stopAfter: ["talos", "cni"],
};

const KEYS = ["adress", "vipp", "role", "bootstrap", "installDisk", "interface", "ipv6", "__proto__", "constructor"];

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.oneof(
    { weight: 2, arbitrary: fc.constant("alternative" as const) },
    { weight: 3, arbitrary: fc.constantFrom("delete", "replace", "retype", "duplicate", "addKey") },
  ),
  at: fc.nat(),
  value: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PLAUSIBLE) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.double(), fc.integer()) },
  ),
  key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })),
});

function isTree(value: unknown): value is Tree {
  return typeof value === "object" && value !== null;
}

interface Position {
  readonly container: Tree;
  readonly key: string | number;
  /** Key path without list indices, e.g. `nodes.address`. */
  readonly keyPath: string;
}

/** Every position of the tree (the root's own keys included). */
function positions(tree: Tree): Position[] {
  const found: Position[] = [];
  const visit = (node: Tree, parentPath: string): void => {
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    for (const key of keys) {
      const keyPath = typeof key === "number" ? parentPath : parentPath === "" ? key : `${parentPath}.${key}`;
      found.push({ container: node, key, keyPath });
      const child = (node as Record<string | number, unknown>)[key];
      if (isTree(child)) visit(child, keyPath);
    }
  };
  visit(tree, "");
  return found;
}

/** An own property even for keys like `__proto__`, as YAML and JSON parsers create them. */
function setOwn(container: Tree, key: string | number, value: unknown): void {
  Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
}

function retyped(value: unknown): unknown {
  if (typeof value === "string") return Number.isNaN(Number(value)) ? value.length : Number(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return Object.fromEntries(value.map((item, i) => [String(i), item]));
  if (isTree(value)) return Object.values(value);
  return "null";
}

function apply(root: Record<string, unknown>, mutation: Mutation): void {
  const all = positions(root);
  const candidates = mutation.kind === "alternative" ? all.filter((p) => ALTERNATIVES[p.keyPath] !== undefined) : all;
  if (candidates.length === 0) return;
  const { container, key, keyPath } = candidates[mutation.at % candidates.length];
  const current = (container as Record<string | number, unknown>)[key];
  switch (mutation.kind) {
    case "alternative": {
      const choices = ALTERNATIVES[keyPath];
      const choice = structuredClone(choices[Math.floor(mutation.at / candidates.length) % choices.length]);
      // A node gets the chosen settings added; any other key gets the chosen value.
      return setOwn(
        container,
        key,
        keyPath === "nodes" && isTree(current) ? { ...current, ...(choice as object) } : choice,
      );
    }
    case "delete":
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key];
      return;
    case "replace":
      return setOwn(container, key, structuredClone(mutation.value));
    case "retype":
      return setOwn(container, key, retyped(current));
    case "duplicate":
      if (Array.isArray(container)) container.push(structuredClone(current));
      else setOwn(container, `${String(key)}2`, structuredClone(current));
      return;
    case "addKey":
      if (isTree(current) && !Array.isArray(current)) setOwn(current, mutation.key, structuredClone(mutation.value));
      else setOwn(container, key, { [mutation.key]: structuredClone(mutation.value) });
      return;
  }
}

/** The home-ops raw config with `mutations` applied in order. */
export function mutatedHomeOpsConfig(mutations: readonly Mutation[]): RawConfig {
  const raw = homeOpsRawConfig();
  for (const mutation of mutations) apply(raw, mutation);
  return raw;
}
