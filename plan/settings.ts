/**
 * The run-time settings of a stack: what the scripts read fresh on every run from
 * `.homeops/<stack>/settings.env` (written by every evaluation of the program), never a resource
 * input. The engine copies the stored value of an ignored input into every later run (pulumi
 * v3.248.0 pkg/resource/deploy/step_generator.go processIgnoreChanges; again in pulumi-go-provider
 * v1.3.0 infer/resource.go), so a tool path or timeout kept as an input would either re-run the
 * step on every tweak or stay frozen at its first value. Here a raised timeout or a new talosctl
 * reaches the next run, including a failed step's retry and a destroy, and re-runs nothing.
 */
import { StackConfig, SUPPORTED_TALOS_MINORS } from "../config/types";
import { talosctlSetting } from "../config/upgradeRules";

/** The settings file of a stack, relative to the project directory. */
export function settingsPath(stack: string): string {
  return `.homeops/${stack}/settings.env`;
}

/** What the stack's own earlier updates say about the cluster (its previous outputs). */
export interface StackHistory {
  /** An earlier update completed the cluster phase: etcd and the API ran. */
  readonly clusterWasRunning: boolean;
}

/**
 * From the stack's previous `phasesCompleted` output: the cluster ran once an update completed
 * the cluster phase (nothing on a new stack, or after lost state).
 */
export function stackHistory(phasesCompletedBefore: readonly string[] = []): StackHistory {
  return { clusterWasRunning: phasesCompletedBefore.includes("cluster") };
}

/** Name -> value; every name is a shell variable the scripts read. */
export function runtimeSettings(cfg: StackConfig, history: StackHistory = stackHistory()): Record<string, string> {
  const addresses = (role?: string) =>
    cfg.nodes
      .filter((n) => role === undefined || n.role === role)
      .map((n) => n.address)
      .join(" ");
  const t = cfg.timeouts;
  // The talosctl of each minor an upgrade path runs (talos/scripts/upgrade.ts SELECT_TALOSCTL).
  const talosctls = Object.fromEntries(
    SUPPORTED_TALOS_MINORS.flatMap((m) => {
      const exe = m === cfg.talos.minor ? cfg.talos.talosctl : cfg.talos.talosctls[m];
      return exe === undefined ? [] : [[talosctlSetting(m), exe]];
    }),
  );
  return {
    TALOSCTL: cfg.talos.talosctl,
    ...talosctls,
    KUBECTL: "kubectl",
    CURL: "curl",
    OP: "op",
    POLL_SECONDS: String(t.poll),
    TIMEOUT_NODE_READY: String(t.nodeReady),
    TIMEOUT_API_READY: String(t.apiReady),
    TIMEOUT_FACTORY: String(t.apiReady),
    TIMEOUT_HEALTH: String(t.health),
    TIMEOUT_STORE_READY: String(t.storeReady),
    TIMEOUT_FLUX_READY: String(t.fluxReady),
    // Bounds of one tool call: a call that never answers must not hang its step. A probe of a
    // control plane's etcd answers at once when it serves, and blocks while etcd is down.
    CALL_TIMEOUT: String(clamp(Math.floor(t.nodeReady / 3), 2, 60)),
    PROBE_TIMEOUT: String(t.probe ?? clamp(Math.floor(t.nodeReady / 10), 1, 5)),
    // One node's Talos upgrade (pull, install, reboot, back running: talosctl upgrade --timeout,
    // a duration) and its drain (1.13+ --drain-timeout); upgrade-k8s is bounded by the first too.
    UPGRADE_WAIT: `${3 * t.nodeReady + t.health}s`,
    DRAIN_WAIT: `${t.health}s`,
    // Waiting for the rolling lock: every other node may take its turn first.
    TIMEOUT_ROLLING: String(cfg.nodes.length * (t.nodeReady + 2 * t.health)),
    ROLLING_LOCK: `.homeops/${cfg.stack}/rolling.lock`,
    NODE_ADDRESSES: addresses(),
    CONTROL_PLANE_ADDRESSES: addresses("controlplane"),
    // address=Kubernetes node name (the hostname: Talos nodename.go), for the mirror pods.
    NODE_NAMES: cfg.nodes.map((n) => `${n.address}=${n.hostname}`).join(" "),
    // The rolling gate fails closed on a cluster that ran before (talos/scripts/rolling.ts).
    CLUSTER_WAS_RUNNING: history.clusterWasRunning ? "yes" : "no",
    RESET_ON_DESTROY: cfg.operations.resetOnDestroy.join(" "),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** `NAME='value'` lines, single-quoted for sh. */
export function settingsFileText(settings: Readonly<Record<string, string>>): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return (
    "# Written by the homeops program on every preview and up: the run-time settings the steps\n" +
    "# read (tools, waits, node inventory, reset list). Not configuration: edit the stack file.\n" +
    Object.entries(settings)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join("\n") +
    "\n"
  );
}
