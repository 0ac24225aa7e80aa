/**
 * compatibility.json and its rule (config/compatibility.ts): the table is well formed and cited,
 * every pair lives in one Renovate group, the stacks' pins are coherent, and incoherent or unknown
 * versions are refused naming both keys and a version that fits.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { parse } from "yaml";
import {
  COMPATIBILITY,
  ComponentId,
  ComponentVersions,
  describeRange,
  incompatibilities,
  Problem,
} from "../config/compatibility";
import { parseStackConfig } from "../config/index";
import { fluxInstance } from "../k8s/flux";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { HOME_OPS_RAW_CONFIG, homeOpsRawConfig, problemsOf } from "./helpers/badInputs";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const COMPONENTS = Object.keys(COMPATIBILITY.components) as ComponentId[];

/** The versions a stack file pins, by component (the keys compatibility.json names). */
function pinnedVersions(file: string): ComponentVersions {
  const config = (parse(read(file)) as { config: Record<string, unknown> }).config;
  const at = (key: string): string => {
    const [section, field] = key.replace(/^homeops:/, "").split(".");
    const value = (config[`homeops:${section}`] as Record<string, unknown> | undefined)?.[field];
    assert.equal(typeof value, "string", `${file} has no ${key}`);
    return value as string;
  };
  return Object.fromEntries(COMPONENTS.map((id) => [id, at(COMPATIBILITY.components[id].key)])) as ComponentVersions;
}

const HOME_OPS = pinnedVersions("Pulumi.home-ops.yaml");

describe("compatibility.json: the table", () => {
  it("names every component the rule checks, by the stack key that pins it", () => {
    assert.deepEqual(COMPONENTS.sort(), ["cilium", "connect", "externalSecrets", "flux", "fluxOperator", "kubernetes"]);
    for (const id of COMPONENTS) assert.match(COMPATIBILITY.components[id].key, /^homeops:[a-zA-Z]+\.[a-zA-Z]+$/);
  });

  for (const pair of COMPATIBILITY.pairs) {
    it(`${pair.id}: every row is a valid range on both sides, with its source`, () => {
      assert.ok(COMPONENTS.includes(pair.subject) && COMPONENTS.includes(pair.other) && pair.subject !== pair.other);
      assert.ok(pair.rows.length > 0 && pair.effect.length > 0 && pair.why.length > 0);
      for (const row of pair.rows) {
        for (const side of [pair.subject, pair.other]) {
          const range = row[side];
          assert.ok(range !== undefined && semver.validRange(range) !== null, `${pair.id}: bad ${side} range ${range}`);
        }
        assert.match(row.source, / @ |PR #|INFERRED/, `${pair.id}: a row without a citable source`);
      }
      for (const range of Object.values(pair.known ?? {})) assert.notEqual(semver.validRange(range), null);
    });
  }

  it("reads ranges as people write them", () => {
    assert.equal(describeRange(">=0.43.0 <=0.58.1"), "0.43.0 to 0.58.1");
    assert.equal(describeRange(">=1.17.0 <1.18.0"), "1.17.x");
    assert.equal(describeRange(">=1.29.0 <1.33.0"), "1.29.x to 1.32.x");
    assert.equal(describeRange(">=1.33.0"), "1.33.0 or newer");
    assert.equal(describeRange("2.5.1 || >=2.6.0 <=2.7.3"), "2.5.1, 2.6.0 to 2.7.3");
  });
});

/** Renovate's group of a dependency: the last package rule that matches it and names a group. */
function renovateGroupOf(depName: string): string | undefined {
  const { packageRules } = JSON.parse(read("renovate.json")) as {
    packageRules: { matchDepNames?: string[]; groupName?: string }[];
  };
  const matches = (pattern: string) =>
    /^\/(.*)\/$/.test(pattern) ? new RegExp(pattern.slice(1, -1)).test(depName) : pattern === depName;
  return packageRules.filter((rule) => rule.groupName && rule.matchDepNames?.some(matches)).at(-1)?.groupName;
}

describe("compatibility.json: next to the Renovate groups", () => {
  for (const pair of COMPATIBILITY.pairs) {
    it(`${pair.id}: both sides are in one Renovate group, so a bump of one is proposed with the other`, () => {
      const [a, b] = [pair.subject, pair.other].map((id) => COMPATIBILITY.components[id].renovateDepName);
      const group = renovateGroupOf(a);
      assert.ok(group !== undefined, `${a} is in no Renovate group`);
      assert.equal(renovateGroupOf(b), group, `${a} and ${b} are not in one Renovate group`);
    });
  }

  it("the group that holds Kubernetes waits for approval (a running cluster takes it through upgrade-k8s)", () => {
    const { packageRules } = JSON.parse(read("renovate.json")) as {
      packageRules: { matchDepNames?: string[]; groupName?: string; dependencyDashboardApproval?: boolean }[];
    };
    const group = renovateGroupOf(COMPATIBILITY.components.kubernetes.renovateDepName);
    const rule = packageRules.find((r) => r.groupName === group);
    assert.equal(rule?.dependencyDashboardApproval, true);
  });
});

describe("compatibility: the stacks' pinned versions fit together", () => {
  for (const file of ["Pulumi.home-ops.yaml", "test/e2e/Pulumi.e2e.yaml"]) {
    it(`${file}: nothing refused; the one warning is Flux 2.8 on Kubernetes 1.31 (what production runs)`, () => {
      const problems = incompatibilities(pinnedVersions(file));
      assert.deepEqual(
        problems.filter((p) => p.severity === "refuse"),
        [],
      );
      assert.deepEqual(
        problems.map((p) => `${p.severity} ${p.pair} ${p.key}`),
        ["warn flux-needs-kubernetes homeops:flux.version"],
      );
    });
  }

  it("the FluxInstance asks the operator for exactly the pinned Flux, from its own image (no distribution.artifact)", () => {
    const instance = fluxInstance(homeOpsConfig());
    const distribution = (instance.spec as { distribution: Record<string, unknown> }).distribution;
    assert.deepEqual(distribution, { version: "2.8.1", registry: "ghcr.io/fluxcd" });
    assert.ok(!("artifact" in distribution), "an artifact would let a mutable registry tag decide what is installed");
    // The exact version it asks for is one the pinned operator carries (the table's row).
    assert.equal(HOME_OPS.flux.replace(/^v/, ""), distribution.version);
    assert.deepEqual(
      incompatibilities(HOME_OPS).filter((p) => p.pair === "flux-operator-carries-flux"),
      [],
    );
  });
});

interface Case {
  readonly name: string;
  readonly change: Partial<ComponentVersions>;
  /** Expected problems: kind, severity (refuse unless said), the key it is reported at, and text its message must contain. */
  readonly expect: readonly Expected[];
}
interface Expected {
  readonly kind: Problem["kind"];
  readonly severity?: Problem["severity"];
  readonly key: string;
  readonly says: readonly string[];
}

/** The home-ops pins run Flux 2.8 on Kubernetes 1.31: below Flux's advisory floor, a warning. */
const FLUX_BELOW_FLOOR: Expected = {
  kind: "incompatible",
  severity: "warn",
  key: "homeops:flux.version",
  says: ['homeops:kubernetes.version = "v1.31.1"', "homeops:kubernetes.version 1.33.0 or newer"],
};

const CASES: readonly Case[] = [
  {
    name: "issue 15 §1: Flux 2.8.1 with flux-operator 0.33.0 (on a Kubernetes Flux 2.8 supports)",
    change: { kubernetes: "v1.33.0", cilium: "1.18.0", flux: "v2.8.1", fluxOperator: "0.33.0" },
    expect: [
      {
        kind: "incompatible",
        key: "homeops:flux.operatorVersion",
        says: [
          'homeops:flux.version = "v2.8.1"',
          "homeops:flux.operatorVersion 0.43.0 to 0.58.1 (carries Flux 2.8.1)",
          "homeops:flux.version 2.2.3, 2.3.0, 2.4.0, 2.5.0, 2.5.1, 2.6.0 to 2.7.3 (with flux-operator 0.33.0)",
          "flux-operator @ v0.33.0",
        ],
      },
    ],
  },
  {
    name: "flux-operator 0.43.0, the first that carries Flux 2.8.1",
    change: { kubernetes: "v1.33.0", cilium: "1.18.0", flux: "v2.8.1", fluxOperator: "0.43.0" },
    expect: [],
  },
  {
    name: "flux-operator 0.42.1 does not carry Flux 2.8.1 yet",
    change: { kubernetes: "v1.33.0", cilium: "1.18.0", flux: "v2.8.1", fluxOperator: "0.42.1" },
    expect: [{ kind: "incompatible", key: "homeops:flux.operatorVersion", says: ["0.43.0 to 0.58.1"] }],
  },
  {
    name: "Flux 2.8.4 is carried by no operator release",
    change: { kubernetes: "v1.33.0", cilium: "1.18.0", flux: "v2.8.4", fluxOperator: "0.58.1" },
    expect: [
      {
        kind: "incompatible",
        key: "homeops:flux.operatorVersion",
        says: ["no flux-operator in the table carries Flux 2.8.4"],
      },
    ],
  },
  {
    name: "Flux 2.8.1 on Kubernetes 1.31 (Flux 2.8 supports 1.33 and newer): a warning, not a refusal",
    change: { flux: "v2.8.1", fluxOperator: "0.43.0" },
    expect: [{ ...FLUX_BELOW_FLOOR, says: [...FLUX_BELOW_FLOOR.says, "2.6.x", "controllers still run"] }],
  },
  {
    name: "Kubernetes 1.33 with Cilium 1.17",
    change: { kubernetes: "v1.33.0" },
    expect: [
      {
        kind: "incompatible",
        key: "homeops:cilium.version",
        says: ['homeops:kubernetes.version = "v1.33.0"', "homeops:cilium.version 1.18.x; 1.19.x"],
      },
    ],
  },
  {
    name: "Cilium 1.19 on Kubernetes 1.31 (1.19 lists 1.32 to 1.35)",
    change: { cilium: "1.19.3" },
    expect: [
      { kind: "incompatible", key: "homeops:cilium.version", says: ["homeops:kubernetes.version 1.32.x to 1.35.x"] },
      FLUX_BELOW_FLOOR,
    ],
  },
  {
    name: "Kubernetes older than the External Secrets chart allows (and older than Cilium and Flux support)",
    change: { kubernetes: "v1.18.0" },
    expect: [
      { kind: "incompatible", severity: "warn", key: "homeops:flux.version", says: ["1.33.0 or newer"] },
      {
        kind: "incompatible",
        key: "homeops:cilium.version",
        says: ["no Cilium in the table runs on Kubernetes 1.18.0"],
      },
      {
        kind: "incompatible",
        key: "homeops:externalSecrets.version",
        says: ["homeops:kubernetes.version 1.19.0 or newer"],
      },
    ],
  },
  {
    name: "Connect older than External Secrets' onepassword provider needs",
    change: { connect: "1.5.0" },
    expect: [
      {
        kind: "incompatible",
        key: "homeops:connect.version",
        says: ['homeops:externalSecrets.version = "0.17.0"', "homeops:connect.version 1.5.6 to below 2.0.0"],
      },
      FLUX_BELOW_FLOOR,
    ],
  },
  {
    name: "unknown: a Cilium minor the table has no row for",
    change: { cilium: "1.20.0" },
    expect: [
      {
        kind: "unknown",
        key: "homeops:cilium.version",
        says: ["Cilium 1.20.0 is not in the compatibility table", "add a row"],
      },
      FLUX_BELOW_FLOOR,
    ],
  },
  {
    name: "unknown: a flux-operator release newer than the table",
    change: { fluxOperator: "0.59.0" },
    expect: [{ kind: "unknown", key: "homeops:flux.operatorVersion", says: ["add a row"] }, FLUX_BELOW_FLOOR],
  },
  {
    name: "unknown: an External Secrets release newer than the table (both of its pairs)",
    change: { externalSecrets: "2.10.0" },
    expect: [
      { kind: "unknown", key: "homeops:externalSecrets.version", says: ["Kubernetes"] },
      { kind: "unknown", key: "homeops:externalSecrets.version", says: ["1Password Connect"] },
      FLUX_BELOW_FLOOR,
    ],
  },
  {
    name: "unknown: a Connect major release",
    change: { connect: "2.0.0" },
    expect: [{ kind: "unknown", key: "homeops:connect.version", says: ["add a row"] }, FLUX_BELOW_FLOOR],
  },
  {
    name: "unknown: a Kubernetes newer than any Cilium in the table lists",
    change: { kubernetes: "v1.36.0", cilium: "1.19.3", flux: "v2.9.4", fluxOperator: "0.58.1" },
    expect: [{ kind: "unknown", key: "homeops:kubernetes.version", says: ["Cilium ↔ Kubernetes"] }],
  },
];

describe("compatibility: incompatibilities(versions)", () => {
  for (const { name, change, expect } of CASES) {
    it(name, () => {
      const problems = incompatibilities({ ...HOME_OPS, ...change });
      assert.deepEqual(
        problems.map((p) => `${p.severity} ${p.kind} ${p.key}`).sort(),
        expect.map((e) => `${e.severity ?? "refuse"} ${e.kind} ${e.key}`).sort(),
        problems.map((p) => p.message).join("\n"),
      );
      for (const e of expect) {
        const match = problems.find(
          (p) =>
            p.kind === e.kind &&
            p.severity === (e.severity ?? "refuse") &&
            p.key === e.key &&
            e.says.every((t) => p.message.includes(t)),
        );
        assert.ok(
          match,
          `no ${e.kind} problem at ${e.key} saying ${JSON.stringify(e.says)}; got:\n${problems.map((p) => p.message).join("\n")}`,
        );
      }
    });
  }

  it("takes the Kubernetes version as a parameter: each step of an upgrade path is judged on its own", () => {
    const path = ["v1.31.1", "v1.32.0", "v1.33.0"];
    const judge = (versions: Partial<ComponentVersions>) =>
      incompatibilities({ ...HOME_OPS, ...versions }).map((p) => `${p.severity} ${p.key}`);
    const verdicts = path.map((kubernetes) => judge({ kubernetes }));
    assert.deepEqual(verdicts, [
      ["warn homeops:flux.version"],
      ["warn homeops:flux.version"],
      ["refuse homeops:cilium.version"],
    ]);
    // With Cilium 1.18 first (it runs on 1.31 too), the same path is clear from Kubernetes 1.33 on.
    const withCilium118 = path.map((kubernetes) => judge({ cilium: "1.18.0", kubernetes }));
    assert.deepEqual(withCilium118, [["warn homeops:flux.version"], ["warn homeops:flux.version"], []]);
  });

  it("a missing or malformed version is left to its own check (no second problem)", () => {
    assert.deepEqual(incompatibilities({ ...HOME_OPS, flux: undefined }), []);
    assert.deepEqual(incompatibilities({ ...HOME_OPS, kubernetes: "1.31" }), []);
  });
});

describe("compatibility: config validation refuses an incoherent pair before anything runs", () => {
  it("names both keys, the value and a version that fits, with every other problem (reported together)", () => {
    const raw = homeOpsRawConfig();
    raw.flux.operatorVersion = "0.33.0";
    raw.nodes[1].address = "172.29.51.11";
    const problems = problemsOf(raw);
    const flux = problems.filter((p) => p.startsWith('homeops:flux.operatorVersion = "0.33.0": '));
    assert.equal(flux.length, 1, problems.join("\n"));
    assert.match(flux[0], /homeops:flux\.version = "v2\.8\.1"/);
    assert.match(flux[0], /homeops:flux\.operatorVersion 0\.43\.0 to 0\.58\.1/);
    assert.ok(
      !problems.some((p) => p.startsWith('homeops:flux.version = "v2.8.1": ')),
      "Flux 2.8 on Kubernetes 1.31 is a warning, never a refusal",
    );
    assert.ok(
      problems.some((p) => p.startsWith("homeops:nodes[1].address")),
      "the other problem is still reported",
    );
  });

  it("the stack file as committed passes, warning that Flux 2.8 does not support Kubernetes 1.31", () => {
    const { warnings } = parseStackConfig(HOME_OPS_RAW_CONFIG, "home-ops");
    assert.deepEqual(
      warnings.map((w) => w.slice(0, w.indexOf(":", w.indexOf("=")))),
      ['homeops:flux.version = "v2.8.1"'],
    );
    assert.match(warnings[0], /homeops:kubernetes\.version 1\.33\.0 or newer/);
  });
});
