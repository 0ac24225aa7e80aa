/**
 * Every variable a step's script reads without a default is set where the script runs: in the
 * step's environment (plan step env, which becomes the command resource's environment), in the
 * run-time settings file the prelude sources, or by the script itself. The scripts run under
 * `set -u`, so a variable missing here fails the step on a real node with "parameter not set"
 * (the upgrade steps once lacked CLUSTER_NAME and CLUSTER_ENDPOINT, which the shared talosconfig
 * generation reads). The plans cover every script: all five phases, an upgrade path (Talos hops
 * and Kubernetes hops), renewal and the delete scripts.
 */
import { strict as assert } from "assert";
import { parsePreviousDeployment } from "../config/previousDeployment";
import { buildPlan, CommandStep, Plan, stackHistory, upgradeSummary } from "../plan";
import { scriptFileText } from "../talos/scripts";
import { schematicId } from "../talos/schematic";
import { homeOpsConfig, homeOpsUpgradeTarget } from "./helpers/stackConfigFixture";

/** Names the shell or the command provider sets, and those every process has. */
const AMBIENT = new Set(["HOME", "PATH", "PWD", "TMPDIR", "IFS", "OPTIND", "OPTARG", "LINENO", "PPID"]);

/** Variables read bare (`$X`, `${X}`, `${#X}`, `${X%…}`…): `${X:-…}`, `${X-…}`, `${X:=…}`, `${X+…}` tolerate absence. */
export function requiredVariables(script: string): Set<string> {
  const text = script.replace(/^\s*#.*$/gm, "");
  const needed = new Set<string>();
  for (const m of text.matchAll(/\$\{#?([A-Z_][A-Z0-9_]*)([^}]*)\}/g)) {
    const rest = m[2];
    if (/^:?[-=+?]/.test(rest)) continue;
    needed.add(m[1]);
  }
  for (const m of text.matchAll(/\$([A-Z_][A-Z0-9_]*)/g)) needed.add(m[1]);
  return needed;
}

/** Variables the script assigns (`X=`, `read … X`, `for X in`, `eval "X=…"`, `export X=`). */
export function assignedVariables(script: string): Set<string> {
  const set = new Set<string>();
  for (const m of script.matchAll(/(?:^|[\s;(&|`"])(?:export\s+|local\s+)?([A-Z_][A-Z0-9_]*)\+?=/gm)) set.add(m[1]);
  for (const m of script.matchAll(/\bread\s+(?:-r\s+)?([A-Z_][A-Z0-9_ ]*)/g))
    for (const v of m[1].trim().split(/\s+/)) set.add(v);
  for (const m of script.matchAll(/\bfor\s+([A-Z_][A-Z0-9_]*)\s+in\b/g)) set.add(m[1]);
  for (const m of script.matchAll(/\beval\s+"?\\?\$?\{?([A-Z_][A-Z0-9_]*)=/g)) set.add(m[1]);
  return set;
}

/** Every command step (create and delete script) whose script reads a variable nobody sets. */
export function unsetVariables(plan: Plan): string[] {
  const settings = new Set(Object.keys(plan.settings));
  const problems: string[] = [];
  for (const step of plan.steps.filter((s): s is CommandStep => s.kind === "command")) {
    for (const name of [step.script, step.deleteScript].filter((n): n is NonNullable<typeof n> => !!n)) {
      const text = scriptFileText(name);
      const assigned = assignedVariables(text);
      const missing = [...requiredVariables(text)].filter(
        (v) => !(v in step.env) && !settings.has(v) && !assigned.has(v) && !AMBIENT.has(v),
      );
      if (missing.length) problems.push(`${step.id} (${name}.sh): ${missing.sort().join(", ")}`);
    }
  }
  return problems;
}

/** home-ops moved to Talos v1.14.1 + Kubernetes 1.34.1, with the talosctl of each minor named. */
function upgradePlan(): Plan {
  const base = homeOpsConfig();
  const cfg = homeOpsUpgradeTarget();
  const s = schematicId(base);
  const previous = parsePreviousDeployment({
    phasesDeclared: ["talos", "cluster", "cni", "secrets", "gitops"],
    phasesCompleted: ["talos", "cluster", "cni", "secrets", "gitops"],
    running: {
      talos: Object.fromEntries(base.nodes.map((n) => [n.hostname, { version: "v1.10.5", schematic: s }])),
      kubernetes: "v1.31.1",
    },
  });
  return buildPlan(cfg, undefined, stackHistory(previous.phasesCompleted), {
    upgrade: upgradeSummary(cfg, previous),
    renewals: { talosconfig: 1, kubeconfig: 1 },
  });
}

describe("every variable a step's script needs is set (scripts run under set -u)", () => {
  it("the five phases of home-ops", () => {
    assert.deepEqual(unsetVariables(buildPlan(homeOpsConfig())), []);
  });

  it("an upgrade path: Talos hops and Kubernetes hops", () => {
    const plan = upgradePlan();
    assert.ok(plan.steps.some((s) => s.id.startsWith("talos-upgrade-")));
    assert.ok(plan.steps.some((s) => s.id.startsWith("kubernetes-upgrade-")));
    assert.deepEqual(unsetVariables(plan), []);
  });

  it("the check sees a variable a step lacks (it can fail)", () => {
    const plan = buildPlan(homeOpsConfig());
    const broken: Plan = {
      ...plan,
      steps: plan.steps.map((s) => {
        if (s.kind !== "command" || s.script !== "apply-node") return s;
        const env = { ...s.env };
        delete env.NODE_ADDRESS;
        return { ...s, env };
      }),
    };
    assert.ok(
      unsetVariables(broken).some((p) => /apply-node.*NODE_ADDRESS/.test(p)),
      unsetVariables(broken).join("\n"),
    );
  });

  it("reads and assignments are told apart", () => {
    assert.deepEqual([...requiredVariables('echo "$A ${B} ${C:-x} ${D-y} ${#E} ${F%.*}"')].sort(), [
      "A",
      "B",
      "E",
      "F",
    ]);
    assert.deepEqual([...assignedVariables('A=1\nread -r B C\nfor D in x; do :; done\neval "E=\\$x"')].sort(), [
      "A",
      "B",
      "C",
      "D",
      "E",
    ]);
  });
});
