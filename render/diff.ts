/**
 * `npm run render -- --diff <earlier>`: a fresh render against an earlier one, as unified diffs a
 * reviewer (or a CI gate) reads: one per file (node patches, scripts, settings, Kubernetes
 * objects) and, for plan.json, one per step, so a change to one node's step shows as that step.
 */
import * as fs from "fs";
import * as path from "path";
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";

/** Every file under a render directory: relative path -> content. */
export function readRender(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child), "utf8"));
    }
  };
  walk("");
  return files;
}

function patch(name: string, before: string | undefined, after: string | undefined): string {
  return createTwoFilesPatch(
    before === undefined ? "/dev/null" : `a/${name}`,
    after === undefined ? "/dev/null" : `b/${name}`,
    before ?? "",
    after ?? "",
    undefined,
    undefined,
    { context: 3 },
  )
    .split("\n")
    .slice(1) // the "====" banner
    .join("\n");
}

type PlanDoc = { steps?: { id: string }[] } & Record<string, unknown>;

/**
 * plan.json compared step by step (by id), then its other fields. Each step is shown as YAML,
 * where a multi-line value (a node's patch) becomes a block of lines, so its diff is line by line.
 */
function planPatches(before: string | undefined, after: string | undefined): string[] {
  let a: PlanDoc | undefined;
  let b: PlanDoc | undefined;
  try {
    a = before === undefined ? undefined : (JSON.parse(before) as PlanDoc);
    b = after === undefined ? undefined : (JSON.parse(after) as PlanDoc);
  } catch {
    return before === after ? [] : [patch("plan.json", before, after)];
  }
  const steps = (doc?: PlanDoc) => new Map((doc?.steps ?? []).map((s) => [s.id, stringify(s, { lineWidth: 0 })]));
  const sa = steps(a);
  const sb = steps(b);
  const ids = [...sb.keys(), ...[...sa.keys()].filter((id) => !sb.has(id))];
  const out: string[] = [];
  for (const id of ids) {
    if (sa.get(id) !== sb.get(id)) out.push(patch(`plan.json#${id}`, sa.get(id), sb.get(id)));
  }
  const rest = (doc?: PlanDoc) => (doc ? stringify({ ...doc, steps: undefined }, { lineWidth: 0 }) : undefined);
  if (rest(a) !== rest(b)) out.push(patch("plan.json", rest(a), rest(b)));
  return out;
}

/** Unified diffs from `earlier` to `fresh`; empty when the renders are the same. */
export function renderDiff(earlier: Map<string, string>, fresh: Map<string, string>): string[] {
  const names = [...new Set([...earlier.keys(), ...fresh.keys()])].sort();
  const out: string[] = [];
  for (const name of names) {
    const before = earlier.get(name);
    const after = fresh.get(name);
    if (before === after) continue;
    if (name === "plan.json") out.push(...planPatches(before, after));
    else out.push(patch(name, before, after));
  }
  return out;
}
