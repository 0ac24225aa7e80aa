/**
 * The fault matrix: for every step of the plan, a fault of each kind is injected at that step's
 * own main tool invocation (or, for Helm/Kubernetes/1Password steps, at the engine's provider
 * call), the first run must fail there, and after the fault is cleared the re-run must converge
 * to the end state of a clean run without a second etcd bootstrap or an unneeded re-apply.
 * This module derives the cells from the plan, runs one scenario per cell against its own fake
 * world and normalises end states for comparison; test/faultMatrix.test.ts asserts and reports.
 */
import { StackConfig } from "../../config/types";
import { CommandStep, Plan, Step } from "../../plan";
import * as scripts from "../../talos/scripts";
import { PRELUDE, shellCommand } from "../../talos/shell";
import { talosctl } from "../../talos/talosctl";
import { RunOptions, RunResult, runScript, up } from "../sim/engine";
import type { FakeConfig } from "../fakes/lib/state";
import { Fault, fastConfig, fakeWorld, SimWorld } from "./simWorld";

export const FAULT_KINDS = ["exit", "unreachable", "timeout", "drop"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Waits short enough that a persistent fault fails its step within ~1 s (poll 50 ms). A clean run
 * never retries a wait (the fake world has no delays) and every wait tries once before it looks at
 * its deadline, so the short deadline only bounds the faulted step.
 */
export function matrixConfig(): StackConfig {
  return fastConfig({ timeouts: { nodeReady: 1, apiReady: 1, health: 1, storeReady: 1, fluxReady: 1, poll: 0.05 } });
}

/** Where a command step's fault is injected: one fake tool invocation, by argv substring. */
export interface FaultTarget {
  readonly tool: Fault["tool"];
  readonly match: string;
  readonly node?: string;
  /** A local command (no node or service contacted): unreachable/timeout are N/A for it. */
  readonly local: boolean;
  /** Why this invocation was chosen, when it is not the obvious one. */
  readonly note?: string;
}

export interface MatrixRow {
  /** Row label: the step id, or `<step id> · <invocation>` for an extra target of the same step. */
  readonly label: string;
  readonly step: Step;
  /** Command steps only. */
  readonly target?: FaultTarget;
}

export type CellPlan =
  | { readonly row: MatrixRow; readonly kind: FaultKind; readonly applicable: true }
  | { readonly row: MatrixRow; readonly kind: FaultKind; readonly applicable: false; readonly reason: string };

const NA_OBJECT: Record<"unreachable" | "drop", string> = {
  unreachable:
    "the mini engine models a provider (Helm/Kubernetes/1Password) call as failing or hanging; an unreachable API is the same failed call as the exit column",
  drop: "no model of a provider call that took effect but reported failure (the fake cluster's create is idempotent, so such a cell would pass trivially); not claimed",
};

const NA_LOCAL =
  "a local command (no node or service contacted) cannot meet a refused connection or a network deadline; its no-effect failure is the exit column, its effect-then-failure the drop column";

/** The first `Condition:ns:kind/name` entry of a kube gate as the `kubectl wait` argv words. */
function waitMatch(step: CommandStep): string {
  const first = step.env.WAIT_FOR.split(/\s+/)[0];
  const [cond, , ...objParts] = first.split(":");
  const obj = objParts.join(":");
  return obj === "nodes" ? `wait --for=condition=${cond} nodes --all` : `wait --for=condition=${cond} ${obj}`;
}

/**
 * The main invocation of a command step, derived from its script and environment. A command step
 * whose script is not known here throws: a new kind of step must get its row in the matrix.
 */
export function primaryTarget(step: CommandStep): FaultTarget {
  const e = step.env;
  switch (step.script) {
    case scripts.secretsBundleScript:
      return {
        tool: "op",
        match: "item get",
        local: false,
        note: "the 1Password read of the bundle (also its read-back after a mint)",
      };
    case scripts.talosconfigScript:
      return {
        tool: "talosctl",
        match: `config endpoint ${e.TALOS_ENDPOINTS}`,
        local: true,
        note:
          "`gen config --output-types talosconfig` is byte-identical in every Talos-contacting step (each writes its own talosconfig), " +
          "so a fault there also fails the parallel apply steps; the operator talosconfig's `config endpoint <all control planes>` is this step's alone",
      };
    case scripts.registerSchematicScript:
      return { tool: "curl", match: "/schematics", local: false, note: "POST of the schematic to Image Factory" };
    case scripts.applyNodeScript:
      return { tool: "talosctl", match: "apply-config", node: e.NODE_ADDRESS, local: false };
    case scripts.bootstrapScript:
      return { tool: "talosctl", match: "bootstrap --nodes", node: e.BOOTSTRAP_ADDRESS, local: false };
    case scripts.kubeconfigScript:
      return { tool: "talosctl", match: "kubeconfig - --merge=false", node: e.BOOTSTRAP_ADDRESS, local: false };
    case scripts.apiReadyScript:
      return { tool: "kubectl", match: "get --raw /readyz", local: false };
    case scripts.kubeWaitScript:
      return { tool: "kubectl", match: waitMatch(step), local: false };
    case scripts.talosHealthScript:
      return { tool: "talosctl", match: "health --nodes", node: e.BOOTSTRAP_ADDRESS, local: false };
    default:
      throw new Error(
        `fault matrix: no fault target for command step ${step.id}; add one in test/helpers/faultMatrix.ts`,
      );
  }
}

/** Further invocations of the identity-critical bundle step, as extra rows. */
function extraTargets(step: CommandStep): { name: string; target: FaultTarget }[] {
  if (step.script !== scripts.secretsBundleScript) return [];
  return [
    {
      name: "gen secrets",
      target: {
        tool: "talosctl",
        match: "gen secrets",
        local: true,
        note: "the mint itself (1Password empty, all nodes in maintenance)",
      },
    },
    {
      name: "op item create",
      target: {
        tool: "op",
        match: "item create",
        local: false,
        note: "storing the minted bundle; a drop means stored but reported failed",
      },
    },
  ];
}

export function matrixRows(plan: Plan): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const step of plan.steps) {
    if (step.kind !== "command") {
      rows.push({ label: step.id, step });
      continue;
    }
    rows.push({ label: step.id, step, target: primaryTarget(step) });
    for (const x of extraTargets(step)) rows.push({ label: `${step.id} · ${x.name}`, step, target: x.target });
  }
  return rows;
}

export function matrixCells(rows: MatrixRow[]): CellPlan[] {
  return rows.flatMap((row) =>
    FAULT_KINDS.map((kind): CellPlan => {
      if (row.target?.local && (kind === "unreachable" || kind === "timeout"))
        return { row, kind, applicable: false, reason: NA_LOCAL };
      if (row.step.kind === "command" || kind === "exit" || kind === "timeout") return { row, kind, applicable: true };
      return { row, kind, applicable: false, reason: NA_OBJECT[kind] };
    }),
  );
}

// ------------------------------------------------------------------ normalised end state

/** cluster.id of a Talos secrets bundle (YAML text), or null. */
export function bundleId(text: string | undefined): string | null {
  const m = /^cluster:[ \t]*\r?\n[ \t]+id:[ \t]*["']?([^\s"']+)/m.exec(text ?? "");
  return m ? m[1] : null;
}

export interface NodeEnd {
  state: string;
  appliedHostname: string | null;
  appliedType: string | null;
  /** node identity = cluster identity = the bundle stored in 1Password = the bundle in the stack state. */
  identityConsistent: boolean;
  /** The fake's own dry-run of a fresh render for the node: "unchanged" = the config a clean apply gives it. */
  config: string;
  insecureApplies: number;
  changedApplies: number;
}

export interface EndState {
  nodes: Record<string, NodeEnd>;
  cluster: {
    bootstrapped: boolean;
    bootstrapCount: number;
    bootstrapNode: string | null;
    name: string | null;
    endpoint: string | null;
  };
  k8sObjects: string[];
  opItems: string[];
  stateSteps: string[];
}

/** What a cell's scenario observed; the test asserts on it. */
export interface Outcome {
  r1: RunResult;
  r2?: RunResult;
  r3?: RunResult;
  /** Invocations the injected fault fired on. */
  fired: number;
  /** Fake tool calls made by the third run (must be none). */
  callsByR3: number;
  end?: EndState;
  /** Per node: authenticated re-applies with an unchanged config (allowed, reported). */
  unchangedApplies: Record<string, number>;
  totalMs: number;
  error?: string;
}

/**
 * Render each node's machine config afresh from the world's bundle and the node's apply inputs
 * and ask the fake node, by `apply-config --dry-run`, whether it would change. This mirrors the
 * render part of scripts.applyNodeScript (if that changes, this oracle reports "would change").
 */
const DRY_RUN_ORACLE = `${PRELUDE}
cat > "$WORK/secrets.yaml"
${shellCommand('"$TALOSCTL"', talosctl.genTalosconfig())} >/dev/null
printf '%s\\n' "$NODE_PATCH" > "$WORK/patch.yaml"
${shellCommand('"$TALOSCTL"', talosctl.genMachineConfig())} >/dev/null
${shellCommand('"$TALOSCTL"', [...talosctl.applyAuthenticated("${NODE_ADDRESS}"), "--dry-run"])}
`;

export async function configOracle(
  w: SimWorld,
  opts: RunOptions,
  patchOverride: Record<string, string> = {},
): Promise<Record<string, string>> {
  const bundle = w.state.steps["talos-secrets"]?.stdout;
  const out: Record<string, string> = {};
  await Promise.all(
    w.plan.steps
      .filter((s): s is CommandStep => s.kind === "command" && s.script === scripts.applyNodeScript)
      .map(async (s) => {
        const env = { ...s.env, ...(patchOverride[s.node!] ? { NODE_PATCH: patchOverride[s.node!] } : {}) };
        const res = await runScript(DRY_RUN_ORACLE, env, bundle, opts);
        const verdict = /Applied configuration (unchanged|would change)/.exec(res.stdout);
        out[s.node!] = verdict
          ? verdict[1]
          : `oracle failed (exit ${res.code}): ${res.stderr.trim().split("\n").pop()}`;
      }),
  );
  return out;
}

export async function endState(w: SimWorld, opts: RunOptions): Promise<EndState> {
  const s = w.world();
  const oracle = await configOracle(w, opts);
  const cfg = w.cfg;
  const storedBundle = s.op.items[cfg.onepassword.vault]?.[cfg.onepassword.talosSecretsItem]?.fields.find(
    (f: { label: string }) => f.label === cfg.onepassword.talosSecretsField,
  )?.value;
  const ids = [bundleId(storedBundle), bundleId(w.state.steps["talos-secrets"]?.stdout), s.cluster.identity];
  const nodes: Record<string, NodeEnd> = {};
  for (const n of cfg.nodes) {
    const fn = s.nodes[n.address];
    nodes[n.hostname] = {
      state: fn.state,
      appliedHostname: fn.appliedHostname,
      appliedType: fn.appliedType ?? null,
      identityConsistent: fn.identity != null && ids.every((id) => id === fn.identity),
      config: oracle[n.hostname],
      insecureApplies: fn.insecureApplies,
      changedApplies: fn.changedApplies,
    };
  }
  return {
    nodes,
    cluster: {
      bootstrapped: s.cluster.bootstrappedAt != null,
      bootstrapCount: s.cluster.bootstrapCount,
      bootstrapNode: s.cluster.bootstrapNode ?? null,
      name: s.cluster.name,
      endpoint: s.cluster.endpoint,
    },
    k8sObjects: (s.k8s.objects as { kind: string; metadata: { namespace: string; name: string } }[])
      .map((o) => `${o.kind} ${o.metadata.namespace || "-"}/${o.metadata.name}`)
      .sort(),
    opItems: Object.entries(s.op.items as Record<string, Record<string, unknown>>)
      .flatMap(([vault, items]) => Object.keys(items).map((t) => `${vault}/${t}`))
      .sort(),
    stateSteps: Object.keys(w.state.steps).sort(),
  };
}

// ------------------------------------------------------------------ scenarios

export function fired(w: SimWorld): number {
  return (fakeWorld.readConfig(w.dir) as FakeConfig).faults.reduce((n, f) => n + (f.fired ?? 0), 0);
}

function runOptions(w: SimWorld, extra: Partial<RunOptions> = {}): RunOptions {
  return { ...w.options, stepTimeoutMs: 20000, ...extra };
}

/** A clean first run and a no-op second run: the reference end state. */
export async function referenceRun(): Promise<{ w: SimWorld; r1: RunResult; r2: RunResult; end: EndState }> {
  const w = new SimWorld(matrixConfig());
  const r1 = await up(w.plan, w.state, runOptions(w));
  const r2 = await up(w.plan, w.state, runOptions(w));
  return { w, r1, r2, end: await endState(w, runOptions(w)) };
}

/** One cell: fault → run 1, clear → run 2, run 3; then the normalised end state. */
export async function runCell(cell: CellPlan & { applicable: true }): Promise<Outcome> {
  const t0 = Date.now();
  const w = new SimWorld(matrixConfig());
  const unchangedApplies: Record<string, number> = {};
  let r1: RunResult | undefined;
  try {
    const { step, target } = cell.row;
    let failObjectSteps: RunOptions["failObjectSteps"];
    if (target) {
      w.faults([
        { tool: target.tool, match: target.match, node: target.node, kind: cell.kind, times: 100000, hangMs: 200 },
      ]);
    } else {
      failObjectSteps = { [step.id]: cell.kind as "exit" | "timeout" };
    }
    r1 = await up(w.plan, w.state, runOptions(w, { failObjectSteps }));
    const firedCount = target ? fired(w) : r1.failed?.id === step.id ? 1 : 0;
    w.faults([]);
    const r2 = await up(w.plan, w.state, runOptions(w));
    const callsBefore = w.calls().length;
    const r3 = await up(w.plan, w.state, runOptions(w));
    const callsByR3 = w.calls().length - callsBefore;
    const s = w.world();
    for (const n of w.cfg.nodes) unchangedApplies[n.hostname] = s.nodes[n.address].unchangedApplies;
    const end = await endState(w, runOptions(w));
    return { r1, r2, r3, fired: firedCount, callsByR3, end, unchangedApplies, totalMs: Date.now() - t0 };
  } catch (e) {
    const empty: RunResult = { ran: [], unchanged: [], notStarted: [], wallMs: 0, timings: {}, output: {} };
    return {
      r1: r1 ?? empty,
      fired: 0,
      callsByR3: 0,
      unchangedApplies,
      totalMs: Date.now() - t0,
      error: String((e as Error)?.stack ?? e),
    };
  } finally {
    w.cleanup();
  }
}

/** Run thunks with at most `limit` in flight; results keep the input order. */
export function limited<T>(thunks: (() => Promise<T>)[], limit: number): Promise<T>[] {
  let active = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  return thunks.map(
    (thunk) =>
      new Promise<T>((resolve, reject) => {
        const start = (): void => {
          active++;
          void thunk().then(resolve, reject).finally(release);
        };
        if (active < limit) start();
        else queue.push(start);
      }),
  );
}

// ------------------------------------------------------------------ report

export type CellResult = "pass" | "tolerated" | "N/A" | "FAIL";

export function renderMatrix(rows: MatrixRow[], results: Map<string, CellResult>): string {
  const header = ["step", ...FAULT_KINDS];
  const body = rows.map((r) => [r.label, ...FAULT_KINDS.map((k) => results.get(cellKey(r.label, k)) ?? "not run")]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]): string => "| " + cols.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  return [line(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...body.map(line)].join("\n");
}

export const cellKey = (row: string, kind: FaultKind): string => `${row}|${kind}`;
