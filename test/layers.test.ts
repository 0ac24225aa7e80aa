/**
 * Imports run one way: config → builders (talos/, k8s/) → plan → components → index.ts; the
 * offline render, the docs generator and the policy pack sit beside the components. No product
 * source file is much over 500 lines.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./helpers/paths";

/** Layer → the layers its files may import (besides itself and node packages). */
const MAY_IMPORT: Record<string, string[]> = {
  config: [],
  talos: ["config"],
  k8s: ["config"],
  plan: ["config", "talos", "k8s"],
  components: ["config", "talos", "k8s", "plan"],
  render: ["config", "talos", "k8s", "plan"],
  docs: ["config"],
  policy: ["config", "talos", "k8s", "plan"],
};

function sources(layer: string): string[] {
  const dir = path.join(REPO_ROOT, layer);
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .map((d) => path.join(d.parentPath, d.name));
}

/** Data files at the repository root any layer may read (no code): the version tables. */
const ROOT_DATA = ["compatibility.json", "upgrades.json"];

/** The repository layer a relative import of `file` lands in. */
function importedLayers(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  return specs.map((spec) => path.relative(REPO_ROOT, path.resolve(path.dirname(file), spec)).split(path.sep)[0]);
}

describe("layers", () => {
  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${layer}/ imports only from ${allowed.length ? allowed.join(", ") : "itself"}`, () => {
      const wrong: string[] = [];
      for (const file of sources(layer)) {
        for (const target of importedLayers(file)) {
          if (target !== layer && !allowed.includes(target) && !ROOT_DATA.includes(target))
            wrong.push(`${path.relative(REPO_ROOT, file)} → ${target}/`);
        }
      }
      assert.deepEqual(wrong, []);
    });
  }

  it("the check sees an upward import (it can fail)", () => {
    const probe = path.join(REPO_ROOT, "talos", "__layer_probe__.ts");
    fs.writeFileSync(probe, 'import { buildPlan } from "../plan";\nvoid buildPlan;\n');
    try {
      assert.deepEqual(importedLayers(probe), ["plan"]);
    } finally {
      fs.rmSync(probe);
    }
  });

  it("no product source file is over 520 lines", () => {
    const long = Object.keys(MAY_IMPORT)
      .flatMap(sources)
      .concat(path.join(REPO_ROOT, "index.ts"))
      .map((f) => [path.relative(REPO_ROOT, f), fs.readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 520);
    assert.deepEqual(long, []);
  });
});
