/**
 * npm run render -- --stack <name> | --stack-file <path> [--out <dir>]
 * Writes out/<stack>/ (node patches, plan.json, Cilium values, Kubernetes objects) without
 * secrets and without contacting anything. Invalid config: errors on stderr, exit 1, nothing written.
 */
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../config/index";
import { rawConfigFromStackFile, stackNameFromFile } from "../config/load";
import { ConfigError } from "../config/types";
import { renderStackFiles } from "../render/files";

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run render -- --stack <name> | --stack-file <Pulumi.<stack>.yaml> [--out <dir>]\n`,
  );
  process.exit(2);
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
  let files: Map<string, string>;
  try {
    const { config, warnings } = parseStackConfig(rawConfigFromStackFile(fs.readFileSync(file, "utf8")), stack);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    files = renderStackFiles(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
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
