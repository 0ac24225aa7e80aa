/**
 * npm run drift -- --stack <name> | --stack-file <Pulumi.<stack>.yaml>
 * What each node runs against what the stack says (issue 18): per node its Talos version, its
 * Image Factory schematic and its machine config, compared by render/drift.ts (secrets masked,
 * Kubernetes image tags `upgrade-k8s` moved judged against the stack's Kubernetes version).
 * Reads the stack's talosconfig from its outputs (`pulumi stack output --show-secrets`, run in the
 * stack file's directory; PULUMI names the CLI, default `pulumi`), then runs steps/drift-node.sh
 * per node (authenticated calls only; talos/scripts/drift.ts). Changes nothing. Prints the
 * report (a redacted unified diff per node and document); exit 0 when every node runs what the
 * stack says, 2 on drift, 1 on an error (a node that cannot be read, no outputs), 64 on a usage
 * error. Bringing a drifted node back is an explicit choice: homeops:operations.reapply.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../config/index";
import { rawConfigFromStackFile, stackNameFromFile } from "../config/load";
import { ConfigError, StackConfig } from "../config/types";
import { buildPlan } from "../plan/index";
import { settingsFileText } from "../plan/settings";
import { nodeConfigInputs } from "../plan/talos";
import { driftExitCode, driftReport, NodeDrift, nodeDrift } from "../render/drift";
import { schematicId } from "../talos/schematic";

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run drift -- --stack <name> | --stack-file <Pulumi.<stack>.yaml>\n`);
  process.exit(64);
}

/** What a node runs, from the files steps/drift-node.sh wrote. */
export function runningOf(dir: string): { version: string; schematic: string; machineConfig: string } {
  const version = /"tag":\s*"([^"]*)"/.exec(fs.readFileSync(path.join(dir, "version.json"), "utf8"))?.[1];
  if (!version) throw new Error("talosctl version --json printed no version tag");
  return {
    version,
    schematic: schematicOf(fs.readFileSync(path.join(dir, "extensions"), "utf8")),
    machineConfig: fs.readFileSync(path.join(dir, "running.yaml"), "utf8"),
  };
}

/**
 * The schematic in `get extensions -o jsonpath={.spec.metadata.name}={.spec.metadata.version}`:
 * talosctl prints every jsonpath result on a line of its own, the literal "=" too (talos
 * cmd/talosctl/cmd/talos/output/jsonpath.go WriteResource/printResult over client-go
 * FindResults), so each extension is three lines: name, "=", version. "none" without one.
 */
export function schematicOf(extensions: string): string {
  const lines = extensions.split("\n").map((l) => l.trim());
  for (let i = 0; i + 2 < lines.length; i++) if (lines[i] === "schematic" && lines[i + 1] === "=") return lines[i + 2];
  return "none";
}

/** Reads every node of the stack; returns their drift and the errors (node: why). */
export function readDrift(
  cfg: StackConfig,
  talosconfig: string,
  env: NodeJS.ProcessEnv,
): { results: NodeDrift[]; errors: string[] } {
  const script = path.resolve(__dirname, "..", "steps", "drift-node.sh");
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-drift-"));
  const results: NodeDrift[] = [];
  const errors: string[] = [];
  try {
    fs.writeFileSync(path.join(scratch, "settings.env"), settingsFileText(buildPlan(cfg).settings), { mode: 0o600 });
    for (const node of cfg.nodes) {
      const out = fs.mkdtempSync(path.join(scratch, `${node.hostname}-`));
      const r = spawnSync("sh", [script], {
        cwd: scratch,
        input: talosconfig,
        encoding: "utf8",
        env: {
          ...env,
          ...nodeConfigInputs(cfg, node),
          HOMEOPS_SETTINGS: "settings.env",
          DRIFT_OUT: out,
          STEP_ID: `drift-${node.hostname}`,
        },
      });
      if (r.status !== 0) {
        const why = (r.stderr || r.error?.message || "").trim().split("\n").pop();
        errors.push(`${node.hostname}: ${why}`);
        continue;
      }
      try {
        const rendered = {
          version: cfg.talos.version,
          schematic: schematicId(cfg),
          machineConfig: fs.readFileSync(path.join(out, "rendered.yaml"), "utf8"),
        };
        results.push(nodeDrift(node.hostname, rendered, runningOf(out), cfg.kubernetes.version));
      } catch (e) {
        errors.push(`${node.hostname}: ${(e as Error).message}`);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return { results, errors };
}

export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? usage(`${flag} needs a value`)) : undefined;
  };
  const stackArg = arg("--stack");
  const file = path.resolve(
    arg("--stack-file") ?? (stackArg ? `Pulumi.${stackArg}.yaml` : usage("give --stack or --stack-file")),
  );
  if (!fs.existsSync(file)) return usage(`no stack file ${file}`);
  let cfg: StackConfig;
  let talosconfig: string;
  try {
    const stack = stackNameFromFile(file);
    cfg = parseStackConfig(rawConfigFromStackFile(fs.readFileSync(file, "utf8")), stack).config;
    const outputs = JSON.parse(
      execFileSync(env.PULUMI || "pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], {
        cwd: path.dirname(file),
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }),
    ) as Record<string, unknown>;
    if (typeof outputs.talosconfig !== "string" || outputs.talosconfig === "")
      throw new Error(`stack ${stack} has no talosconfig output: run pulumi up first`);
    talosconfig = outputs.talosconfig;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    process.stderr.write(`error: ${err instanceof ConfigError ? err.message : (err.stderr || err.message).trim()}\n`);
    return 1;
  }
  const { results, errors } = readDrift(cfg, talosconfig, env);
  process.stdout.write(driftReport(results, errors));
  return driftExitCode(results, errors);
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
