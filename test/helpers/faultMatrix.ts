/**
 * The fault matrix: for every step of the plan and every fault kind (exit, unreachable, timeout,
 * drop), a fault on the step's own main tool call, matched on the parsed call; the first run must
 * fail at that step with the fault delivered (calls.log), or absorb a delivered drop by design;
 * after the fault is cleared, a re-run must converge to the clean end state, and a third run must
 * do nothing. Helm/Kubernetes/1Password steps have no tool call: their cells only exercise the
 * miniature engine's own failure flag, and say so.
 *
 * Cost: each cell starts from a snapshot of the clean reference run taken just before its step (a
 * serial run, so the snapshot is a quiescent world), with the stack's bundle already in 1Password,
 * so only the faulted step and what follows run. The mint rows (1Password empty) start from a
 * fresh world. This module derives rows and cells from the plan, runs cells, normalises end states
 * and judges them (a pure function, so the test can show that it fails); test/faultMatrix.test.ts
 * asserts and reports.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { StackConfig } from "../../config/types";
import { CommandStep, Plan, Step } from "../../plan";
import { PRELUDE, shellCommand } from "../../talos/shell";
import { talosctl } from "../../talos/talosctl";
import { RunOptions, RunResult, runScript, SimState, stepEnv } from "../sim/engine";
import { appliesTo, fakeWorld, fastConfig, Fault, QUICK_NODE_HANG_MS, SimWorld } from "./simWorld";
import { RECHECK_MS, recheck, timeScale } from "./calibration";

export const FAULT_KINDS = ["exit", "unreachable", "timeout", "drop"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Short deadlines (2 s; 5 s for the API-side waits, whose clean run includes one retry of the
 * bootstrap loop after etcd's first, 2 s probe) and a 250 ms poll: a persistent fault fails its
 * step within a few seconds, and a failing call is repeated a handful of times, not dozens.
 * nodeReady only bounds the apply's waits, which no cell's fault makes loop; at 20 it makes one
 * call's bound (CALL_TIMEOUT) 6 s and an etcd probe's 2 s (plan/settings.ts), far above a fake
 * call's 0.1-0.5 s even with three cells on two cores. No clean step retries (the fake world has
 * no delays), so no cell's convergence depends on a retry racing a whole-second deadline; where
 * a retry must be proven, the simulation tests do it with deadlines of 3 s and more. These are
 * idle figures: fastConfig scales them to the machine when a cell's world is made.
 */
export function matrixConfig(): StackConfig {
  return fastConfig({ timeouts: { nodeReady: 20, apiReady: 5, health: 2, storeReady: 2, fluxReady: 2, poll: 0.25 } });
}

/** The world a row starts from: the stack's bundle in 1Password, or none (the mint branch). */
export type Start = "seeded" | "mint";

/** Where a command step's fault is injected: one parsed tool call (state.d.ts FakeFault). */
export interface FaultTarget {
  readonly match: Omit<Fault, "kind" | "times" | "hangMs" | "message" | "matched" | "fired">;
  /** A local command (no node or service contacted): unreachable/timeout are N/A for it. */
  readonly local: boolean;
  readonly start: Start;
  /** Why this call was chosen, when it is not the obvious one. */
  readonly note?: string;
}

export interface MatrixRow {
  /** The step id, or `<step id> · <call>` for a further call of the same step. */
  readonly label: string;
  readonly step: Step;
  /** Command steps; Helm/Kubernetes/1Password rows have none (engine flag only). */
  readonly target?: FaultTarget;
}

export type CellPlan =
  | { readonly row: MatrixRow; readonly kind: FaultKind; readonly applicable: true }
  | { readonly row: MatrixRow; readonly kind: FaultKind; readonly applicable: false; readonly reason: string };

export const ENGINE_FLAG_ONLY =
  "engine flag only: the miniature engine fails (exit) or hangs then fails (timeout) the provider call itself; no fake tool runs, so the cell proves the engine's resume semantics, not a provider's behaviour";

const NA_OBJECT: Record<"unreachable" | "drop", string> = {
  unreachable: "no tool call to refuse: an unreachable API server is the same failed provider call as the exit column",
  drop: "no model of a provider call that took effect but reported failure (the fake cluster's create is idempotent, so such a cell would pass trivially); not claimed",
};

const NA_LOCAL =
  "a local command (no node or service contacted) cannot meet a refused connection or a network deadline; its no-effect failure is the exit column, its effect-then-failure the drop column";

/** The first `Condition:ns:kind/name` entry of a kube gate: the object `kubectl wait` names. */
function waitObject(step: CommandStep): string {
  const first = step.env.WAIT_FOR.split(/\s+/)[0];
  const obj = first.split(":").slice(2).join(":");
  return obj === "nodes" ? "nodes" : obj;
}

/**
 * The main call of a command step, from its script and environment. A command step whose script
 * is not known here throws: a new kind of step must get its row in the matrix.
 */
export function primaryTarget(step: CommandStep): FaultTarget {
  const e = step.env;
  const seeded = (match: FaultTarget["match"], note?: string): FaultTarget => ({
    match,
    local: false,
    start: "seeded",
    note,
  });
  switch (step.script) {
    case "secrets-bundle":
      return seeded({ tool: "op", command: "item get" }, "the 1Password read of the bundle");
    case "register-schematic":
      return seeded({ tool: "curl", command: "POST /schematics" }, "the schematic's POST to Image Factory");
    case "talosconfig":
      return {
        match: { tool: "talosctl", command: "config endpoint" },
        local: true,
        start: "seeded",
        note: "`gen config --output-types talosconfig` runs in every Talos-contacting step; `config endpoint` is this step's alone",
      };
    case "apply-node":
      return seeded(
        { tool: "talosctl", command: "apply-config", node: e.NODE_ADDRESS, flags: { "dry-run": false } },
        "the install (insecure apply; the snapshot's nodes are in maintenance mode), not its dry runs",
      );
    case "bootstrap":
      return seeded({ tool: "talosctl", command: "bootstrap" });
    case "kubeconfig":
      return seeded({ tool: "talosctl", command: "kubeconfig" }, "every control plane (the script tries each)");
    case "api-ready":
      return seeded({ tool: "kubectl", command: "get", flags: { raw: "/readyz" } });
    case "kube-wait":
      return seeded({ tool: "kubectl", command: "wait", args: [waitObject(step)] }, "the gate's first condition");
    case "talos-health":
      return seeded({ tool: "talosctl", command: "health" });
    default:
      throw new Error(
        `fault matrix: no fault target for command step ${step.id}; add one in test/helpers/faultMatrix.ts`,
      );
  }
}

/** Further calls of the identity-critical bundle step, on the mint branch (1Password empty). */
function mintTargets(step: CommandStep): { name: string; target: FaultTarget }[] {
  if (step.script !== "secrets-bundle") return [];
  return [
    {
      name: "maintenance probe",
      target: {
        match: { tool: "talosctl", command: "get", node: "172.29.51.12", flags: { insecure: true } },
        local: false,
        start: "mint",
        note: "the mint guard's probe of mini02: anything but an answer in maintenance mode must stop the mint",
      },
    },
    {
      name: "gen secrets",
      target: {
        match: { tool: "talosctl", command: "gen secrets" },
        local: true,
        start: "mint",
        note: "the mint itself",
      },
    },
    {
      name: "op item create",
      target: {
        match: { tool: "op", command: "item create" },
        local: false,
        start: "mint",
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
    for (const x of mintTargets(step)) rows.push({ label: `${step.id} · ${x.name}`, step, target: x.target });
  }
  return rows;
}

export function matrixCells(rows: MatrixRow[]): CellPlan[] {
  return rows.flatMap((row) =>
    FAULT_KINDS.map((kind): CellPlan => {
      if (row.target?.local && (kind === "unreachable" || kind === "timeout"))
        return { row, kind, applicable: false, reason: NA_LOCAL };
      if (row.target || kind === "exit" || kind === "timeout") return { row, kind, applicable: true };
      return { row, kind, applicable: false, reason: NA_OBJECT[kind] };
    }),
  );
}

// ------------------------------------------------------------------ end state

/** The cluster identity of a bundle: SHA-256 of its OS CA certificate (what the fake nodes keep). */
export function bundleIdentity(text: string | undefined): string | null {
  try {
    const crt = (YAML.parse(text ?? "") as { certs?: { os?: { crt?: string } } })?.certs?.os?.crt;
    return crt ? createHash("sha256").update(Buffer.from(crt, "base64")).digest("hex") : null;
  } catch {
    return null;
  }
}

export interface NodeEnd {
  stage: string;
  etcdState: string;
  appliedHostname: string | null;
  /** "ours": the node's identity is the bundle's in 1Password and in the stack state. */
  identity: string;
  /** The running config: its hash (same bundle, same plan: deterministic), or the oracle's verdict. */
  config: string;
  insecureApplies: number;
  authApplies: number;
  changedApplies: number;
  unchangedApplies: number;
  bootstraps: number;
  alreadyExists: number;
  reboots: number;
  resets: number;
}

export interface EndState {
  nodes: Record<string, NodeEnd>;
  cluster: { bootstrapCount: number; bootstrapAlreadyExists: number; etcdClusters: number; members: string[] };
  quorumViolations: number;
  k8sObjects: string[];
  opItems: string[];
  stateSteps: string[];
}

/**
 * Render each node's config afresh from the world's bundle and the node's apply inputs and ask
 * the fake node (dry run) whether it would change: how a node's config is judged when the bundle
 * (and so every config's bytes) differs between worlds, on the mint rows. It mirrors the render of
 * the apply-node script.
 */
const DRY_RUN_ORACLE = `${PRELUDE}
cat > "$WORK/secrets.yaml"
${shellCommand('"$TALOSCTL"', talosctl.genTalosconfig())} >/dev/null
printf '%s\\n' "$NODE_PATCH" > "$WORK/patch.yaml"
${shellCommand('"$TALOSCTL"', talosctl.genMachineConfig())} >/dev/null
${shellCommand('"$TALOSCTL"', talosctl.applyDryRun("${NODE_ADDRESS}"))}
`;

export async function configOracle(
  w: SimWorld,
  patchOverride: Record<string, string> = {},
): Promise<Record<string, string>> {
  const bundle = w.state.steps["talos-secrets"]?.stdout;
  const out: Record<string, string> = {};
  const applies = w.plan.steps.filter((s): s is CommandStep => s.kind === "command" && s.script === "apply-node");
  for (const s of applies) {
    const env = { ...stepEnv(s, w.options), ...(patchOverride[s.node!] ? { NODE_PATCH: patchOverride[s.node!] } : {}) };
    const res = await runScript({ inline: DRY_RUN_ORACLE }, env, bundle, w.options);
    out[s.node!] =
      res.code === 0 && /No changes\./.test(res.stderr)
        ? "unchanged"
        : res.code === 0
          ? "would change"
          : `oracle failed (exit ${res.code}): ${res.stderr.trim().split("\n").pop()}`;
  }
  return out;
}

export async function endState(w: SimWorld, start: Start): Promise<EndState> {
  const s = w.world();
  const ours = [bundleIdentity(w.storedBundle()), bundleIdentity(w.state.steps["talos-secrets"]?.stdout)];
  const oracle = start === "mint" ? await configOracle(w) : {};
  const nodes: Record<string, NodeEnd> = {};
  for (const n of w.cfg.nodes) {
    const x = s.nodes[n.address];
    nodes[n.hostname] = {
      stage: x.stage,
      etcdState: x.etcdState,
      appliedHostname: x.appliedHostname,
      identity: x.identity !== null && ours.every((id) => id === x.identity) ? "ours" : `other: ${x.identity}`,
      config: start === "mint" ? oracle[n.hostname] : (x.configHash ?? "none"),
      insecureApplies: x.insecureApplies,
      authApplies: x.authApplies,
      changedApplies: x.changedApplies,
      unchangedApplies: x.unchangedApplies,
      bootstraps: x.bootstraps,
      alreadyExists: x.alreadyExists,
      reboots: x.reboots,
      resets: x.resets,
    };
  }
  const clusters = Object.values(s.etcd.clusters);
  return {
    nodes,
    cluster: {
      bootstrapCount: s.cluster.bootstrapCount,
      bootstrapAlreadyExists: s.cluster.bootstrapAlreadyExists,
      etcdClusters: clusters.length,
      members: clusters.flatMap((c) => c.members.map((m) => m.name)).sort(),
    },
    quorumViolations: fakeWorld.quorumViolations(s).length,
    k8sObjects: s.k8s.objects.map((o) => `${o.kind} ${o.metadata.namespace || "-"}/${o.metadata.name}`).sort(),
    opItems: Object.entries(s.op.items)
      .flatMap(([vault, items]) => Object.keys(items).map((t) => `${vault}/${t}`))
      .sort(),
    stateSteps: Object.keys(w.state.steps).sort(),
  };
}

// ------------------------------------------------------------------ references and snapshots

/** A quiescent world: the fakes' state and config, and the engine's state. */
interface Snapshot {
  readonly fakeState: string;
  readonly fakeConfig: string;
  readonly sim: SimState;
}

export interface Reference {
  readonly start: Start;
  readonly r1: RunResult;
  readonly r2: RunResult;
  readonly end: EndState;
  /** Seeded: the world just before each step of a serial run, by step id. */
  readonly snapshots: Map<string, Snapshot>;
}

function snapshot(w: SimWorld): Snapshot {
  const read = (f: string) => fs.readFileSync(path.join(w.dir, f), "utf8");
  return { fakeState: read("state.json"), fakeConfig: read("config.json"), sim: JSON.parse(JSON.stringify(w.state)) };
}

function restore(w: SimWorld, snap: Snapshot): void {
  fs.writeFileSync(path.join(w.dir, "state.json"), snap.fakeState);
  fs.writeFileSync(path.join(w.dir, "config.json"), snap.fakeConfig);
  w.state = JSON.parse(JSON.stringify(snap.sim)) as SimState;
}

/** A world of the matrix: the stack's bundle seeded in 1Password (the same bundle for every cell), or none. */
function matrixWorld(start: Start, bundle?: string): SimWorld {
  // The real hang of an etcd probe and its bound are the simulation tests'.
  const w = new SimWorld(matrixConfig(), {}, { nodeHangMs: QUICK_NODE_HANG_MS });
  if (start === "seeded") {
    const op = w.cfg.onepassword;
    fakeWorld.putOpItem(w.dir, op.vault, {
      title: op.talosSecretsItem,
      category: "SECURE_NOTE",
      fields: [{ label: op.talosSecretsField, type: "CONCEALED", value: bundle! }],
    });
  }
  return w;
}

/**
 * The clean reference of a start: a run and a no-op re-run; for "seeded", one step at a time,
 * with a snapshot before each step. Returns the world too (the caller cleans it up).
 */
export async function referenceRun(start: Start, bundle?: string): Promise<{ w: SimWorld; ref: Reference }> {
  const w = matrixWorld(start, bundle);
  const snapshots = new Map<string, Snapshot>();
  const beforeStep = start === "seeded" ? (step: Step) => snapshots.set(step.id, snapshot(w)) : undefined;
  const r1 = await w.up({ options: { parallel: start === "seeded" ? 1 : undefined, beforeStep } });
  const r2 = await w.up();
  return { w, ref: { start, r1, r2, end: await endState(w, start), snapshots } };
}

/** A bundle minted by the fake, for the seeded worlds. */
export function mintBundle(): string {
  const w = new SimWorld(matrixConfig());
  try {
    return w.seedBundle();
  } finally {
    w.cleanup();
  }
}

// ------------------------------------------------------------------ cells

/** What a cell's scenario observed; judgeCell decides. */
export interface Outcome {
  r1: RunResult;
  r2?: RunResult;
  r3?: RunResult;
  /** Calls on which the injected fault was delivered (it decided what the caller saw), from calls.log. */
  delivered: number;
  /** Calls of the third run (must be none). */
  callsByR3: number;
  /** Insecure applies that failed without a fault: an insecure apply reached a configured node. */
  insecureRefused: number;
  end?: EndState;
  totalMs: number;
  error?: string;
  /** The machine's time scale over the cell: the larger of the scales measured before and after it. */
  scale?: number;
}

export interface CellOptions {
  /** Replace the cell's fault (negative controls). */
  readonly fault?: Fault;
  /** Leave the fault in place for the re-run (negative control). */
  readonly keepFault?: boolean;
}

export async function runCell(
  cell: CellPlan & { applicable: true },
  ref: Reference,
  bundle: string,
  opts: CellOptions = {},
): Promise<Outcome> {
  const t0 = Date.now();
  // The cells themselves load the machine: measure again (at most every 10 s) before each.
  const scale = await recheck();
  // ... and while it runs: a load spike between the two measurements slows the cell as well.
  let during = scale;
  const sampler = setInterval(() => {
    recheck().then(
      (k) => (during = Math.max(during, k)),
      () => undefined,
    );
  }, RECHECK_MS);
  const w = matrixWorld(cell.row.target?.start ?? "seeded", bundle);
  let outcome: Outcome;
  try {
    outcome = await scenario(w, cell, ref, opts);
  } catch (e) {
    outcome = {
      r1: EMPTY_RUN,
      delivered: 0,
      callsByR3: 0,
      insecureRefused: 0,
      totalMs: 0,
      error: String((e as Error)?.stack ?? e),
    };
  }
  try {
    w.cleanup();
  } catch (e) {
    outcome.error ??= `cleanup: ${(e as Error).message}`;
  }
  clearInterval(sampler);
  // The load may have risen while the cell ran (the cells beside it, other work): its bounds are
  // judged with the slowest of the machine's scales before, during and after it.
  const after = await recheck();
  return { ...outcome, totalMs: Date.now() - t0, scale: Math.max(scale, during, after) };
}

const EMPTY_RUN: RunResult = {
  ran: [],
  unchanged: [],
  deleted: [],
  notStarted: [],
  wallMs: 0,
  timings: {},
  output: {},
};

/** Fault → first run; cleared → re-run; third run; then the normalised end state. */
async function scenario(
  w: SimWorld,
  cell: CellPlan & { applicable: true },
  ref: Reference,
  opts: CellOptions,
): Promise<Outcome> {
  const { step, target } = cell.row;
  const start = target?.start ?? "seeded";
  if (start === "seeded") {
    const snap = ref.snapshots.get(step.id);
    if (!snap) throw new Error(`no snapshot before ${step.id}`);
    restore(w, snap);
  }
  let failObjectSteps: RunOptions["failObjectSteps"];
  if (target) w.faults([opts.fault ?? { ...target.match, kind: cell.kind }]);
  else failObjectSteps = { [step.id]: cell.kind as "exit" | "timeout" };
  const r1 = await w.up({ options: { failObjectSteps } });
  const delivered = target
    ? w.calls().filter((c) => c.fault?.index === 0 && c.fault.delivered).length
    : r1.failed?.id === step.id && /^sim: API call/.test(r1.failed.message)
      ? 1
      : 0;
  if (!opts.keepFault) w.faults([]);
  const r2 = await w.up();
  const mark = w.calls().length;
  const r3 = await w.up();
  const calls = w.calls();
  const insecureRefused = w.cfg.nodes
    .flatMap((n) => appliesTo(calls, n.address).insecure)
    .filter((c) => c.exit !== 0 && !c.fault?.delivered).length;
  const end = await endState(w, start);
  return { r1, r2, r3, delivered, callsByR3: calls.length - mark, insecureRefused, end, totalMs: 0 };
}

// ------------------------------------------------------------------ judging

export type CellResult = "pass" | "tolerated" | "N/A" | "FAIL";

/**
 * A persistent fault must fail its step within this (idle; times the cell's time scale). The
 * slowest cell, kubeconfig × timeout (the talos and cluster phases, then the kubeconfig step's own
 * bounded retries of a hanging call), took 20.1 s × k in two of three whole runs of 2026-12-06 (k 2.7
 * and 5.4): 30 s keeps a margin over it and stays below the engine's kill of a step that never
 * ends (SimWorld stepTimeoutMs, 60 s × k), which is what an unbounded hang would reach.
 */
export const FIRST_RUN_BOUND_MS = 30000;

/** Paths where two values differ, each with both values (shortened), for messages. */
export function differences(a: unknown, b: unknown, at = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k),
    );
  }
  const show = (v: unknown) => {
    const text = JSON.stringify(v) ?? "undefined";
    return text.length > 100 ? `${text.slice(0, 100)}…` : text;
  };
  return [`${at}: ${show(a)} (clean run: ${show(b)})`];
}

/**
 * The verdict of a cell: pass (the first run failed at the step with the fault delivered, the
 * re-run converged to the clean end state, the third did nothing), tolerated (a delivered drop
 * the step absorbed by design, same end state), or FAIL with every problem found.
 */
export function judgeCell(
  cell: CellPlan & { applicable: true },
  o: Outcome,
  ref: Reference,
): { result: CellResult; problems: string[] } {
  const problems: string[] = [];
  const step = cell.row.step.id;
  if (o.error) return { result: "FAIL", problems: [o.error] };
  if (o.delivered === 0) problems.push("the injected fault was never delivered (no failed call in calls.log)");
  const tolerated = o.r1.failed === undefined;
  if (tolerated) {
    if (cell.kind !== "drop") problems.push(`a ${cell.kind} fault at ${step} did not fail the first run`);
    if (o.r1.notStarted.length)
      problems.push(`a tolerated fault left steps not started: ${o.r1.notStarted.join(", ")}`);
  } else {
    if (o.r1.failed!.id !== step)
      problems.push(`the first run failed at ${o.r1.failed!.id} (${o.r1.failed!.message}), not at ${step}`);
    const bound = FIRST_RUN_BOUND_MS * (o.scale ?? 1);
    if (o.r1.wallMs > bound) problems.push(`the first run took ${o.r1.wallMs} ms (bound ${bound} ms)`);
  }
  if (!o.r2 || !o.r3 || !o.end) return { result: "FAIL", problems: [...problems, "the scenario did not complete"] };
  if (o.r2.failed) problems.push(`the re-run failed at ${o.r2.failed.id}: ${o.r2.failed.message}`);
  if (o.r2.notStarted.length) problems.push(`the re-run did not start ${o.r2.notStarted.join(", ")}`);
  if (!tolerated && !o.r2.ran.includes(step)) problems.push(`the re-run did not run ${step}`);
  if (o.r3.ran.length || o.r3.failed) problems.push(`the third run ran ${o.r3.ran.join(", ") || o.r3.failed?.id}`);
  if (o.callsByR3) problems.push(`the third run made ${o.callsByR3} tool calls`);
  if (o.insecureRefused) problems.push(`${o.insecureRefused} insecure apply(s) reached a configured node`);
  problems.push(...differences(o.end, ref.end).map((d) => `end state: ${d}`));
  return { result: problems.length ? "FAIL" : tolerated ? "tolerated" : "pass", problems };
}

/**
 * How many cells run at once, from the machine: a cell mostly waits on short-lived fake processes
 * and its scripts' polls, so two per core on an idle machine; one per core once the calibrated
 * time scale k reaches 2 (the machine is busy: more processes would only compete for it, and a
 * cell's bounds are scaled by the k its own load helps to raise); at least one.
 */
export function matrixConcurrency(cores = os.cpus().length, k = timeScale()): number {
  return Math.max(1, Math.round((2 * cores) / Math.min(2, Math.max(1, k))));
}

/**
 * Run thunks with at most `limit` in flight (a number, or read again whenever one ends: the
 * machine's load may change); results keep the input order.
 */
export function limited<T>(thunks: (() => Promise<T>)[], limit: number | (() => number)): Promise<T>[] {
  let active = 0;
  const queue: (() => void)[] = [];
  const cap = (): number => (typeof limit === "number" ? limit : limit());
  const release = (): void => {
    active--;
    while (queue.length > 0 && active < cap()) queue.shift()!();
  };
  return thunks.map(
    (thunk) =>
      new Promise<T>((resolve, reject) => {
        const start = (): void => {
          active++;
          void thunk().then(resolve, reject).finally(release);
        };
        if (active < cap()) start();
        else queue.push(start);
      }),
  );
}

// ------------------------------------------------------------------ report

export function renderMatrix(rows: MatrixRow[], results: Map<string, CellResult>): string {
  const header = ["step", ...FAULT_KINDS, "injection"];
  const body = rows.map((r) => [
    r.label,
    ...FAULT_KINDS.map((k) => results.get(cellKey(r.label, k)) ?? "not run"),
    r.target ? `${r.target.match.tool} ${r.target.match.command}` : "engine flag only",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]): string => "| " + cols.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  return [line(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...body.map(line)].join("\n");
}

export const cellKey = (row: string, kind: FaultKind): string => `${row}|${kind}`;
