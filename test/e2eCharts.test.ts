/**
 * The e2e tier's test charts (test/e2e/charts): each accepts exactly the values the stack passes,
 * the Cilium chart's keys are keys of the real chart (contracts/cilium/values.schema.json) with
 * values the real chart allows (value-enums.json), and the packages and index are what Helm reads.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import Ajv from "ajv";
import { parse } from "yaml";
import { parseStackConfig } from "../config/index";
import { rawConfigFromStackFile } from "../config/load";
import { ciliumValues } from "../k8s/cilium";
import { externalSecretsValues } from "../k8s/externalSecrets";
import { fluxOperatorValues } from "../k8s/flux";
import { CHARTS_DIR, packageChart, packageCharts, repositoryIndex } from "./e2e/charts/repo";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const CONTRACTS = path.resolve(__dirname, "../../shared/contracts/cilium");
const realSchema = JSON.parse(fs.readFileSync(path.join(CONTRACTS, "values.schema.json"), "utf8"));
const valueEnums = JSON.parse(fs.readFileSync(path.join(CONTRACTS, "value-enums.json"), "utf8")) as {
  values: Record<string, { allowed: unknown[] }>;
};
const e2eConfig = parseStackConfig(
  rawConfigFromStackFile(fs.readFileSync(path.join(__dirname, "e2e/Pulumi.e2e.yaml"), "utf8")),
  "e2e",
).config;

const testSchema = (chart: string) =>
  JSON.parse(fs.readFileSync(path.join(CHARTS_DIR, chart, "values.schema.json"), "utf8"));
const validator = (chart: string) => new Ajv({ strict: false, allErrors: true }).compile(testSchema(chart));

function copy<T>(v: T): any {
  return JSON.parse(JSON.stringify(v));
}

/** Every dotted property path a schema declares (array items as "[]"). */
function schemaPaths(schema: any, prefix = ""): string[] {
  const out: string[] = [];
  for (const [key, sub] of Object.entries<any>(schema.properties ?? {})) {
    const p = prefix ? `${prefix}.${key}` : key;
    out.push(p);
    out.push(...schemaPaths(sub, p));
    if (sub.items) out.push(...schemaPaths(sub.items, `${p}[]`));
  }
  return out;
}

/** Whether the real chart's schema has the path (properties, array items, anyOf branches). */
function realHas(schema: any, dotted: string): boolean {
  let nodes: any[] = [schema];
  for (const part of dotted.split(".")) {
    const [key, array] = part.endsWith("[]") ? [part.slice(0, -2), true] : [part, false];
    const expand = (n: any): any[] => [n, ...(n.anyOf ?? []).flatMap(expand), ...(n.oneOf ?? []).flatMap(expand)];
    nodes = nodes
      .flatMap(expand)
      .map((n) => n.properties?.[key])
      .filter(Boolean);
    if (array)
      nodes = nodes
        .flatMap(expand)
        .map((n) => n.items)
        .filter(Boolean);
    if (!nodes.length) return false;
  }
  return true;
}

describe("e2e test charts", () => {
  const cilium = validator("cilium");
  const stackConfigs = {
    "home-ops (dual stack)": homeOpsConfig(),
    e2e: e2eConfig,
    "without hubble, 3 operators": homeOpsConfig({
      cilium: { ...homeOpsConfig().cilium, hubble: false, operatorReplicas: 3 },
    }),
  };

  for (const [name, cfg] of Object.entries(stackConfigs)) {
    it(`cilium: accepts the stack's values (${name})`, () => {
      assert.equal(cilium(ciliumValues(cfg)), true, JSON.stringify(cilium.errors));
    });
  }

  it("cilium: refuses an unknown key at any level, a wrong type and XDP acceleration", () => {
    const values = ciliumValues(homeOpsConfig());
    const bad: [string, (v: any) => void][] = [
      ["top-level key", (v) => (v.routingMode = "native")],
      ["nested key", (v) => (v.ipam.operator.clusterPoolIPv4MaskSize2 = 24)],
      ["toleration key", (v) => (v.tolerations[0].operatr = "Exists")],
      ["wrong type", (v) => (v.operator.replicas = "1")],
      ["acceleration native", (v) => (v.loadBalancer.acceleration = "native")],
      ["missing key", (v) => delete v.k8sServiceHost],
    ];
    for (const [what, edit] of bad) {
      const v = copy(values);
      edit(v);
      assert.equal(cilium(v), false, what);
    }
  });

  it("cilium: every key the test chart accepts is a key of the real chart's schema", () => {
    const paths = schemaPaths(testSchema("cilium"));
    assert.ok(paths.includes("ipam.operator.clusterPoolIPv4PodCIDRList"), paths.join(", "));
    // kubeProxyReplacement is absent from the real schema (contracts NOTES §3) but in value-enums.json.
    // Items of a list (tolerations) are Kubernetes core/v1 objects the chart passes through: the
    // real schema describes the list, not their fields, so the list itself must be the chart's.
    const missing = paths
      .map((p) => p.replace(/\[\].*$/, ""))
      .filter((p) => !realHas(realSchema, p) && !(p in valueEnums.values));
    assert.deepEqual(missing, []);
  });

  it("cilium: the test chart's enums allow only what the real chart allows (value-enums.json)", () => {
    const schema = testSchema("cilium");
    for (const [key, rule] of Object.entries(valueEnums.values)) {
      let node: any = schema;
      for (const part of key.split(".")) node = node?.properties?.[part];
      if (!node?.enum) continue;
      for (const v of node.enum) assert.ok(rule.allowed.includes(v), `${key}: ${v}`);
    }
  });

  it("cilium: the stack's values also pass the real chart's schema", () => {
    const real = new Ajv({ strict: false, allErrors: true }).compile(realSchema);
    for (const cfg of Object.values(stackConfigs)) assert.equal(real(ciliumValues(cfg)), true);
  });

  it("external-secrets and flux-operator: accept the stack's values, refuse any other key", () => {
    const eso = validator("external-secrets");
    const flux = validator("flux-operator");
    assert.equal(eso(externalSecretsValues(e2eConfig)), true, JSON.stringify(eso.errors));
    assert.equal(flux(fluxOperatorValues(e2eConfig)), true, JSON.stringify(flux.errors));
    assert.equal(eso({ ...externalSecretsValues(e2eConfig), crds: { createClusterSecretStore: true } }), false);
    assert.equal(eso({ ...externalSecretsValues(e2eConfig), webhook: { create: true, port: 9443 } }), false);
    assert.equal(flux({ installCRDs: true }), false);
  });

  it("each chart carries the real name and the version the e2e stack pins", () => {
    const pins: Record<string, string> = {
      cilium: e2eConfig.cilium.version,
      "external-secrets": e2eConfig.externalSecrets.version,
      "flux-operator": e2eConfig.flux.operatorVersion,
    };
    for (const c of packageCharts()) assert.equal(c.version, pins[c.name], c.name);
  });

  it("packages a gzip'd tar whose entries sit under the chart name, and an index with each digest", () => {
    const dir = path.join(CHARTS_DIR, "cilium");
    const tar = zlib.gunzipSync(packageChart(dir));
    const names: string[] = [];
    const files: Record<string, string> = {};
    for (let off = 0; off + 512 <= tar.length;) {
      const header = tar.subarray(off, off + 512);
      if (header.every((b) => b === 0)) break;
      const name = header.toString("utf8", 0, 100).replace(/\0.*$/s, "");
      const size = parseInt(header.toString("utf8", 124, 136).replace(/\0.*$/s, ""), 8);
      let sum = 0;
      header.forEach((b, i) => (sum += i >= 148 && i < 156 ? 32 : b));
      assert.equal(parseInt(header.toString("utf8", 148, 156), 8), sum, `checksum of ${name}`);
      names.push(name);
      files[name] = tar.toString("utf8", off + 512, off + 512 + size);
      off += 512 + Math.ceil(size / 512) * 512;
    }
    assert.ok(
      names.every((n) => n.startsWith("cilium/")),
      names.join(", "),
    );
    assert.ok(names.includes("cilium/templates/agent.yaml"));
    assert.equal(files["cilium/Chart.yaml"], fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8"));
    const charts = packageCharts();
    const index = parse(repositoryIndex(charts));
    assert.equal(index.apiVersion, "v1");
    for (const c of charts) {
      const [entry] = index.entries[c.name];
      assert.equal(entry.version, c.version);
      assert.deepEqual(entry.urls, [c.file]);
      assert.equal(entry.digest, crypto.createHash("sha256").update(c.data).digest("hex"));
    }
  });
});
