import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { stringify } from "yaml";
import {
  assertCiliumValuesSafe,
  ciliumRelease,
  ciliumValues,
  ipv6NodeMaskSize,
  CILIUM_IPV6_MAX_MASK_DIFF,
} from "../k8s/cilium";
import { CILIUM } from "../k8s/names";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const CONTRACTS = path.resolve(__dirname, "../../shared/contracts/cilium");

interface ValueEnums {
  values: Record<string, { allowed: unknown[] }>;
  talosRecommended: Record<string, unknown>;
}
const valueEnums: ValueEnums = JSON.parse(fs.readFileSync(path.join(CONTRACTS, "value-enums.json"), "utf8"));
const schema = JSON.parse(fs.readFileSync(path.join(CONTRACTS, "values.schema.json"), "utf8"));
const validateValues = new Ajv({ strict: false, allErrors: true }).compile(schema);

function valueAt(values: unknown, dottedPath: string): unknown {
  let node: unknown = values;
  for (const key of dottedPath.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Values that are set but outside value-enums.json's allowed list, as "path=value" strings. */
function enumViolations(values: unknown): string[] {
  return Object.entries(valueEnums.values)
    .filter(([key, rule]) => {
      const value = valueAt(values, key);
      return value !== undefined && !rule.allowed.some((allowed) => allowed === value);
    })
    .map(([key]) => `${key}=${JSON.stringify(valueAt(values, key))}`);
}

/** A deep, mutable copy to build bad variants from. */
function mutableCopy(values: unknown): Record<string, any> {
  return JSON.parse(JSON.stringify(values));
}

describe("k8s/cilium: Helm values", () => {
  const cfg = homeOpsConfig();
  const values = ciliumValues(cfg);

  it("validates against the Cilium 1.17 chart's values.schema.json", () => {
    const ok = validateValues(values);
    assert.equal(ok, true, JSON.stringify(validateValues.errors, null, 2));
  });

  it("sets only values value-enums.json allows, and sets the ones the reference needs", () => {
    assert.deepEqual(enumViolations(values), []);
    // These are in value-enums.json, so the check above really looked at them.
    assert.equal(valueAt(values, "kubeProxyReplacement"), true);
    assert.equal(valueAt(values, "loadBalancer.acceleration"), "disabled");
    assert.equal(valueAt(values, "ipam.mode"), "cluster-pool");
  });

  it("honours every Talos-recommended value except ipam.mode (the reference decides cluster-pool)", () => {
    const recommended = Object.entries(valueEnums.talosRecommended).filter(
      ([k]) => !k.startsWith("_") && k !== "ipam.mode",
    );
    assert.ok(recommended.length >= 6, "the contract lists the Talos settings");
    for (const [key, expected] of recommended) {
      assert.deepEqual(valueAt(values, key), expected, key);
    }
    assert.notEqual(valueEnums.talosRecommended["ipam.mode"], "cluster-pool", "the exception is real");
  });

  it("uses KubePrism and the stack's port", () => {
    assert.equal(values.k8sServiceHost, "localhost");
    assert.equal(values.k8sServicePort, 7445);
    assert.equal(
      ciliumValues(homeOpsConfig({ machine: { ...cfg.machine, kubePrismPort: 7446 } })).k8sServicePort,
      7446,
    );
  });

  it("runs dual-stack cluster-pool IPAM from the stack's pod CIDRs", () => {
    assert.deepEqual(values.ipam, {
      mode: "cluster-pool",
      operator: {
        clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"],
        clusterPoolIPv4MaskSize: 24,
        clusterPoolIPv6PodCIDRList: ["fd47:25e1:2f96:51:2000::/68"],
        clusterPoolIPv6MaskSize: 84,
      },
    });
    assert.deepEqual(values.ipv4, { enabled: true });
    assert.deepEqual(values.ipv6, { enabled: true });
  });

  it("keeps the IPv6 node mask within Cilium's 16-bit limit above the pool prefix", () => {
    const mask = values.ipam.operator.clusterPoolIPv6MaskSize!;
    assert.ok(mask > 68 && mask - 68 <= CILIUM_IPV6_MAX_MASK_DIFF, `mask ${mask}`);
    assert.equal(ipv6NodeMaskSize(104), 120);
    assert.equal(ipv6NodeMaskSize(112), 120);
  });

  it("is IPv4-only when the stack has no IPv6 pod CIDR", () => {
    const v4only = ciliumValues(homeOpsConfig({ network: { ...cfg.network, podCidrs: ["10.244.0.0/16"] } }));
    assert.deepEqual(v4only.ipv6, { enabled: false });
    assert.deepEqual(Object.keys(v4only.ipam.operator).sort(), [
      "clusterPoolIPv4MaskSize",
      "clusterPoolIPv4PodCIDRList",
    ]);
    assert.equal(validateValues(v4only), true);
  });

  it("rejects a mask size that does not subdivide the IPv4 pool, naming the key", () => {
    assert.throws(
      () => ciliumValues(homeOpsConfig({ cilium: { ...cfg.cilium, ipv4MaskSize: 16 } })),
      /cilium\.ipv4MaskSize 16/,
    );
    assert.throws(
      () => ciliumValues(homeOpsConfig({ network: { ...cfg.network, podCidrs: ["fd47:25e1:2f96:51:2000::/64"] } })),
      /no IPv4 CIDR/,
    );
  });

  it("enables the BGP control plane, disables L2 announcements, no XDP", () => {
    assert.deepEqual(values.bgpControlPlane, { enabled: true });
    assert.deepEqual(values.l2announcements, { enabled: false });
    assert.deepEqual(values.loadBalancer, { acceleration: "disabled" });
    // Cilium 1.17 has no prefilter value; setting one would only hide a typo.
    assert.equal(valueAt(values, "prefilter"), undefined);
    assert.equal(valueAt(schema, "properties.prefilter"), undefined, "the chart really has no prefilter key");
    // Talos' forwardKubeDNSToHost breaks with BPF masquerading: never switched on here.
    assert.equal(valueAt(values, "bpf.masquerade"), undefined);
  });

  it("sets Hubble, relay and operator replicas from the stack", () => {
    assert.equal(values.hubble.enabled, true);
    assert.equal(values.hubble.relay.enabled, true);
    assert.equal(values.operator.replicas, 1);
    const quiet = ciliumValues(homeOpsConfig({ cilium: { ...cfg.cilium, hubble: false, operatorReplicas: 2 } }));
    assert.equal(quiet.hubble.enabled, false);
    assert.equal(quiet.hubble.relay.enabled, false);
    assert.equal(quiet.operator.replicas, 2);
  });

  it("lets the operator start on control-plane nodes that are NotReady (no CNI yet)", () => {
    const keys = values.operator.tolerations.map((t) => t.key);
    assert.ok(keys.includes("node-role.kubernetes.io/control-plane"));
    assert.ok(keys.includes("node.kubernetes.io/not-ready"));
    assert.deepEqual(values.tolerations, [{ operator: "Exists" }], "the agent tolerates every taint");
  });

  it("is deterministic and serialises without YAML aliases", () => {
    assert.equal(JSON.stringify(ciliumValues(homeOpsConfig())), JSON.stringify(values));
    assert.doesNotMatch(stringify(values), /[&*]a\d/);
  });

  it("describes the release: cilium in kube-system, the stack's chart version", () => {
    const release = ciliumRelease(cfg);
    assert.deepEqual(release.metadata, { name: "cilium", namespace: "kube-system" });
    assert.equal(release.spec.chart, "cilium");
    assert.equal(release.spec.repo, CILIUM.chart.source);
    assert.equal(release.spec.version, "1.17.6");
    assert.deepEqual(release.spec.values, values);
  });
});

describe("k8s/cilium: the checks can fail", () => {
  const values = ciliumValues(homeOpsConfig());

  it("assertCiliumValuesSafe rejects native or missing acceleration", () => {
    const native = mutableCopy(values);
    native.loadBalancer.acceleration = "native";
    assert.throws(() => assertCiliumValuesSafe(native), /loadBalancer\.acceleration is "native"/);
    const missing = mutableCopy(values);
    delete missing.loadBalancer;
    assert.throws(() => assertCiliumValuesSafe(missing), /loadBalancer\.acceleration/);
    assert.doesNotThrow(() => assertCiliumValuesSafe(values));
  });

  it("assertCiliumValuesSafe rejects an XDP prefilter by any route", () => {
    for (const patch of [
      (v: Record<string, any>) => (v.prefilter = { enabled: true }),
      (v: Record<string, any>) => (v.extraConfig = { "prefilter-device": "enp3s0f0" }),
      (v: Record<string, any>) => (v.extraArgs = ["--prefilter-device=enp3s0f0"]),
      (v: Record<string, any>) => (v.extraConfig = { "bpf-lb-acceleration": "native" }),
      (v: Record<string, any>) => (v.nodePort = { acceleration: "best-effort" }),
    ]) {
      const bad = mutableCopy(values);
      patch(bad);
      assert.throws(() => assertCiliumValuesSafe(bad), /XDP|acceleration/);
    }
  });

  it("the enum check rejects a value outside the allowed list", () => {
    const bogus = mutableCopy(values);
    bogus.loadBalancer.acceleration = "bogus";
    assert.deepEqual(enumViolations(bogus), ['loadBalancer.acceleration="bogus"']);
    const ipam = mutableCopy(values);
    ipam.ipam.mode = "cluster_pool";
    assert.deepEqual(enumViolations(ipam), ['ipam.mode="cluster_pool"']);
  });

  it("the schema rejects wrong types", () => {
    for (const patch of [
      (v: Record<string, any>) => (v.k8sServicePort = true),
      (v: Record<string, any>) => (v.operator.replicas = "1"),
      (v: Record<string, any>) => (v.bgpControlPlane.enabled = "true"),
      (v: Record<string, any>) => (v.securityContext.capabilities.ciliumAgent = "NET_ADMIN"),
    ]) {
      const bad = mutableCopy(values);
      patch(bad);
      assert.equal(validateValues(bad), false, JSON.stringify(bad).slice(0, 80));
    }
  });
});
