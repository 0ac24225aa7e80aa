/**
 * npm run render -- --stack <name> | --stack-file <path> [--out <dir>] [--diff <earlier render>]
 *   [--previous <outputs.json>]
 * Writes out/<stack>/ (node patches, plan.json, the scripts and settings, Cilium values,
 * Kubernetes objects) without secrets and without contacting anything. Invalid config: errors on
 * stderr, exit 1, nothing written. With --diff, writes nothing and prints unified diffs from the
 * earlier render (a directory holding plan.json, or one holding <stack>/plan.json): exit 2 when
 * something differs, 0 when nothing does. With --previous (the stack's outputs as
 * `pulumi stack output --json --show-secrets=false` writes them), the plan carries the upgrade
 * path from what the cluster runs and the removals of the nodes that left homeops:nodes (plan.json
 * `removals`), as `pulumi up` would. A usage error exits 64.
 */
import * as fs from "fs";
import * as path from "path";
import { deployedNodesFromOutputs, parseStackConfig } from "../config/index";
import { rawConfigFromStackFile, stackNameFromFile } from "../config/load";
import { ConfigError } from "../config/types";
import { renderStackFiles } from "../render/files";
import { readRender, renderDiff } from "../render/diff";
import { parsePreviousDeployment, PreviousDeployment, PreviousOutputsUnreadable } from "../config/previousDeployment";

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run render -- --stack <name> | --stack-file <Pulumi.<stack>.yaml> [--out <dir>] [--diff <earlier render dir>] [--previous <stack outputs JSON>]\n`,
  );
  // 64 (EX_USAGE), never 2: with --diff, 2 means "the renders differ".
  process.exit(64);
}

export function main(argv: string[]): number {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? usage(`${flag} needs a value`)) : undefined;
  };
  const root = path.resolve(__dirname, "..");
  const stackArg = arg("--stack");
  const file =
    arg("--stack-file") ??
    (stackArg ? path.join(root, `Pulumi.${stackArg}.yaml`) : usage("give --stack or --stack-file"));
  const outRoot = path.resolve(arg("--out") ?? path.join(root, "out"));
  let stack: string;
  try {
    stack = stackNameFromFile(file);
  } catch (e) {
    return usage((e as Error).message);
  }
  if (!fs.existsSync(file)) return usage(`no stack file ${file}`);
  const previousFile = arg("--previous");
  if (previousFile !== undefined && !fs.existsSync(previousFile)) return usage(`no stack outputs file ${previousFile}`);
  let files: Map<string, string>;
  try {
    const outputs: unknown = previousFile === undefined ? undefined : JSON.parse(fs.readFileSync(previousFile, "utf8"));
    const previous: PreviousDeployment | undefined =
      outputs === undefined ? undefined : parsePreviousDeployment(outputs);
    // The same judgement as `pulumi up`: nodes leaving the stack against the nodes it deployed.
    const read = (typeof outputs === "object" && outputs !== null ? outputs : {}) as Record<string, unknown>;
    const deployed = outputs === undefined ? undefined : deployedNodesFromOutputs(read.nodes, read.removedNodes);
    const raw = rawConfigFromStackFile(fs.readFileSync(file, "utf8"));
    const { config, warnings } = parseStackConfig(raw, stack, { previous, deployed });
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    files = renderStackFiles(config, previous, deployed);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PreviousOutputsUnreadable || e instanceof SyntaxError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const earlier = arg("--diff");
  if (earlier !== undefined) {
    const dir = fs.existsSync(path.join(earlier, stack, "plan.json")) ? path.join(earlier, stack) : earlier;
    if (!fs.existsSync(path.join(dir, "plan.json"))) return usage(`${earlier} holds no earlier render (no plan.json)`);
    const patches = renderDiff(readRender(dir), files);
    for (const p of patches) process.stdout.write(p.endsWith("\n") ? p : `${p}\n`);
    process.stderr.write(
      patches.length ? `${patches.length} difference(s) from ${dir}\n` : `no difference from ${dir}\n`,
    );
    return patches.length ? 2 : 0;
  }
  // Write into a fresh directory, then swap it in: no stale or half-written files.
  const target = path.join(outRoot, stack);
  const staging = `${target}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  for (const [rel, content] of files) {
    const p = path.join(staging, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(staging, target);
  process.stdout.write(`wrote ${files.size} files to ${path.relative(process.cwd(), target) || "."}\n`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
