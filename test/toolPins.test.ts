/**
 * Tool pins: mise.toml, the stack file's versions, package-lock.json and the README agree, and
 * renovate.json's managers find every pinned version (so a bump reaches each place, in one group).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The `[tools]` table of mise.toml: `name = "version"` lines (the only form the file uses). */
function miseTools(text: string): Record<string, string> {
  const section = text.split(/^\[tools\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  return Object.fromEntries([...section.matchAll(/^([\w-]+) = "([^"]+)"$/gm)].map((m) => [m[1], m[2]]));
}

/** `homeops:<key>` of the stack file. */
function stackConfig(key: string): Record<string, unknown> {
  const doc = parse(read("Pulumi.home-ops.yaml")) as { config: Record<string, Record<string, unknown>> };
  return doc.config[`homeops:${key}`];
}

const minorOf = (version: string) => /^v?(\d+\.\d+)/.exec(version)?.[1];
const bare = (version: string) => version.replace(/^v/, "");

const tools = miseTools(read("mise.toml"));
const talosVersion = String(stackConfig("talos").version);
const kubernetesVersion = String(stackConfig("kubernetes").version);
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version: string }> };
const pulumiSdk = lock.packages["node_modules/@pulumi/pulumi"].version;

/** The README's "Tool versions" section. */
function readmeSection(title: string): string {
  const readme = read("README.md");
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no "## ${title}" section`);
  const rest = readme.slice(start + 1);
  const next = rest.indexOf("\n## ", 1);
  return next < 0 ? rest : rest.slice(0, next);
}

describe("tool pins: mise.toml, the stack, the lockfile and the README agree", () => {
  it("pins exactly talosctl, pulumi, kubectl and helm, each to a full version", () => {
    assert.deepEqual(Object.keys(tools).sort(), ["helm", "kubectl", "pulumi", "talosctl"]);
    for (const [tool, version] of Object.entries(tools)) assert.match(version, /^\d+\.\d+\.\d+$/, tool);
    assert.match(tools.helm, /^3\./, "helm stays on 3.x");
  });

  it("pins talosctl to the stack's Talos version (so its minor matches the config contract)", () => {
    assert.equal(tools.talosctl, bare(talosVersion));
  });

  it("pins kubectl to the stack's Kubernetes minor", () => {
    assert.equal(minorOf(tools.kubectl), minorOf(kubernetesVersion));
  });

  it("pins the Pulumi CLI to the lockfile's @pulumi/pulumi", () => {
    assert.equal(tools.pulumi, pulumiSdk);
  });

  it("lists the same versions in the README's Tool versions table", () => {
    const rows = [...readmeSection("Tool versions").matchAll(/^\| `([\w-]+)` +\| ([\d.]+) +\|/gm)];
    assert.deepEqual(Object.fromEntries(rows.map((m) => [m[1], m[2]])), tools);
  });

  it("names the same talosctl, kubectl and Pulumi CLI versions wherever a README table lists the tool", () => {
    const agrees: [RegExp, (v: string) => boolean][] = [
      [/talosctl/, (v) => minorOf(v) === minorOf(talosVersion)],
      [/kubectl/, (v) => minorOf(v) === minorOf(kubernetesVersion)],
      [/Pulumi CLI|`pulumi`/, (v) => pulumiSdk.startsWith(v.replace(/\.x$/, ""))],
    ];
    const firstCells = read("README.md")
      .split("\n")
      .filter((l) => l.startsWith("| "))
      .map((l) => l.split("|")[1]);
    let checked = 0;
    for (const cell of firstCells) {
      for (const [tool, ok] of agrees) {
        if (!tool.test(cell)) continue;
        for (const m of cell.matchAll(/\bv?(\d+(?:\.\d+)*(?:\.x)?)\b/g)) {
          assert.ok(ok(m[1]), `README table row "${cell.trim()}" disagrees with the pins`);
          checked++;
        }
      }
    }
    // At least the Prerequisites rows of talosctl (v1.10.x) and the Pulumi CLI (3.x).
    assert.ok(checked >= 2, "the README tables name the tool versions");
  });
});

interface CustomManager {
  managerFilePatterns: string[];
  matchStrings: string[];
  depNameTemplate?: string;
  datasourceTemplate?: string;
}
interface PackageRule {
  matchDepNames?: string[];
  groupName?: string;
}
const renovate = JSON.parse(read("renovate.json")) as {
  customManagers: CustomManager[];
  packageRules: PackageRule[];
  mise?: { enabled: boolean };
};

/** A Renovate `/regex/` or exact-name pattern as a test. */
function matcher(pattern: string): (name: string) => boolean {
  const m = /^\/(.*)\/$/.exec(pattern);
  return m ? (name) => new RegExp(m[1]).test(name) : (name) => name === pattern;
}

/** What the custom managers extract from a repository file: `depName@currentValue`. */
function extracted(file: string): string[] {
  const text = read(file);
  return renovate.customManagers
    .filter((cm) => cm.managerFilePatterns.some((p) => matcher(p)(file)))
    .flatMap((cm) =>
      cm.matchStrings.flatMap((s) =>
        [...text.matchAll(new RegExp(s, "g"))].map((m) => {
          const depName = cm.depNameTemplate ?? m.groups!.depName;
          assert.ok(cm.datasourceTemplate ?? m.groups!.datasource, `no datasource for ${depName}`);
          return `${depName}@${m.groups!.currentValue}`;
        }),
      ),
    );
}

function groupOf(depName: string): string | undefined {
  return renovate.packageRules.find((r) => r.groupName && r.matchDepNames?.some((p) => matcher(p)(depName)))?.groupName;
}

describe("tool pins: Renovate finds every pinned version and groups them", () => {
  const flux = stackConfig("flux");
  const stackDeps = [
    `siderolabs/talos@${talosVersion}`,
    `kubernetes/kubernetes@${kubernetesVersion}`,
    `cilium@${stackConfig("cilium").version}`,
    `external-secrets@${stackConfig("externalSecrets").version}`,
    `1password/connect-api@${stackConfig("connect").version}`,
    `fluxcd/flux2@${flux.version}`,
    `ghcr.io/controlplaneio-fluxcd/charts/flux-operator@${flux.operatorVersion}`,
  ];

  it("extracts every version of the stack file, exactly once", () => {
    assert.deepEqual(extracted("Pulumi.home-ops.yaml").sort(), [...stackDeps].sort());
  });

  it("extracts every pin of mise.toml from its annotation (the built-in mise manager is off: no duplicates)", () => {
    assert.deepEqual(extracted("mise.toml").sort(), [
      `helm/helm@${tools.helm}`,
      `kubernetes/kubernetes@${tools.kubectl}`,
      `pulumi/pulumi@${tools.pulumi}`,
      `siderolabs/talos@${tools.talosctl}`,
    ]);
    assert.equal(renovate.mise?.enabled, false);
  });

  it("groups Talos/talosctl, the cluster platform (compatibility.json's components) and Pulumi", () => {
    const groups = Object.fromEntries(
      [
        ...stackDeps.map((d) => d.slice(0, d.lastIndexOf("@"))),
        "pulumi/pulumi",
        "@pulumi/pulumi",
        "@pulumi/command",
      ].map((d) => [d, groupOf(d)]),
    );
    assert.deepEqual(groups, {
      "siderolabs/talos": "Talos and talosctl",
      "kubernetes/kubernetes": "Cluster platform (compatibility.json)",
      cilium: "Cluster platform (compatibility.json)",
      "external-secrets": "Cluster platform (compatibility.json)",
      "1password/connect-api": "Cluster platform (compatibility.json)",
      "fluxcd/flux2": "Cluster platform (compatibility.json)",
      "ghcr.io/controlplaneio-fluxcd/charts/flux-operator": "Cluster platform (compatibility.json)",
      "pulumi/pulumi": "Pulumi",
      "@pulumi/pulumi": "Pulumi",
      "@pulumi/command": "Pulumi",
    });
  });
});
