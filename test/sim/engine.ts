/**
 * A miniature of the Pulumi engine's update semantics, over the plan, for simulated execution:
 * steps start as soon as their dependencies succeeded (in parallel, like the engine); a command
 * step runs only when its inputs (environment minus the ignored keys, stdin) differ from the last
 * successful run recorded in the state; a failed step records nothing and blocks its dependents;
 * after a failure no new step starts. The command steps' scripts are executed for real with
 * /bin/sh against the fake executables in test/fakes/bin. Kubernetes/Helm steps are "applied" by
 * recording the object in the fake cluster, whose simulated controllers make conditions true.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as path from "path";
import { CommandStep, Plan, Step, STDIN_PRODUCER } from "../../talos/plan";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeWorld = require("../fakes/lib/state.js");

export const FAKE_BIN = path.resolve(__dirname, "../fakes/bin");

/** What the engine keeps between runs (the stack state). */
export interface SimState {
  steps: Record<string, { inputsHash: string; stdout: string; env: Record<string, string>; stdin?: string }>;
}

export interface RunResult {
  readonly ran: string[];
  readonly unchanged: string[];
  readonly failed?: { id: string; message: string };
  readonly notStarted: string[];
  readonly wallMs: number;
  /** Start/end of every executed step, relative to the run's start. */
  readonly timings: Record<string, { startMs: number; endMs: number }>;
  /** What each executed script printed (what the engine would log or store). */
  readonly output: Record<string, { stdout: string; stderr: string }>;
}

export interface RunOptions {
  readonly fakeDir: string;
  /** Extra environment for every script (e.g. the 1Password CLI auth). */
  readonly env?: Record<string, string>;
  /** Kill a script after this many ms (a hung command). */
  readonly stepTimeoutMs?: number;
  /**
   * Kubernetes/Helm/1Password steps to fail, by id: the provider's API call errors ("exit") or
   * hangs until the engine gives up ("timeout"). Each entry fires once per run it is present in.
   */
  readonly failObjectSteps?: Readonly<Record<string, "exit" | "timeout">>;
}

export function newState(): SimState {
  return { steps: {} };
}

function hash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** The inputs that decide whether a command re-runs (as Pulumi diffs them, with ignoreChanges). */
export function commandInputsHash(step: CommandStep, stdin: string | undefined): string {
  const env = Object.fromEntries(Object.entries(step.env).filter(([k]) => !step.envIgnoredForChanges.includes(k)));
  // A run-once step ignores changes of its environment and stdin entirely.
  if (step.runOnce) return hash({ id: step.id });
  return hash({ env, stdin: stdin === undefined ? null : hash(stdin) });
}

export function runScript(
  script: string,
  env: Record<string, string>,
  stdin: string | undefined,
  opts: RunOptions,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", script], {
      env: {
        PATH: `${FAKE_BIN}:${process.env.PATH ?? ""}`,
        HOME: process.env.HOME ?? "/tmp",
        TMPDIR: process.env.TMPDIR ?? "/tmp",
        FAKE_STATE_DIR: opts.fakeDir,
        ...opts.env,
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = opts.stepTimeoutMs
      ? setTimeout(() => {
          stderr += `\n(sim: killed after ${opts.stepTimeoutMs} ms)`;
          child.kill("SIGKILL");
        }, opts.stepTimeoutMs)
      : undefined;
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      // The command provider trims one trailing newline.
      resolve({ code: code ?? 137, stdout: stdout.replace(/\n$/, ""), stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
  });
}

function objectHash(step: Step): string {
  return hash(step.kind === "helm" ? step.release : step.kind === "k8s" ? step.object : { id: step.id });
}

/** One `pulumi up` of the plan against the fake world. Mutates `state` like the engine would. */
export async function up(plan: Plan, state: SimState, opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const ran: string[] = [];
  const unchanged: string[] = [];
  const timings: RunResult["timings"] = {};
  const output: RunResult["output"] = {};
  const done = new Set<string>();
  const started = new Set<string>();
  let failed: RunResult["failed"];

  const stdinOf = (step: CommandStep): string | undefined =>
    step.stdinFrom ? state.steps[STDIN_PRODUCER[step.stdinFrom]]?.stdout : undefined;

  async function execute(step: Step): Promise<void> {
    const startMs = Date.now() - t0;
    if (step.kind === "command") {
      const stdin = stdinOf(step);
      if (step.stdinFrom && stdin === undefined) throw new Error(`sim: ${step.id} has no ${step.stdinFrom}`);
      const inputsHash = commandInputsHash(step, stdin);
      if (state.steps[step.id]?.inputsHash === inputsHash) {
        unchanged.push(step.id);
        return;
      }
      const res = await runScript(step.script, step.env, stdin, opts);
      timings[step.id] = { startMs, endMs: Date.now() - t0 };
      output[step.id] = { stdout: res.stdout, stderr: res.stderr };
      if (res.code !== 0) {
        failed ??= { id: step.id, message: res.stderr.trim().split("\n").filter(Boolean).pop() ?? `exit ${res.code}` };
        throw new Error(step.id);
      }
      ran.push(step.id);
      state.steps[step.id] = { inputsHash, stdout: res.stdout, env: { ...step.env }, stdin };
      return;
    }
    const inputsHash = objectHash(step);
    if (state.steps[step.id]?.inputsHash === inputsHash) {
      unchanged.push(step.id);
      return;
    }
    const injected = opts.failObjectSteps?.[step.id];
    if (injected) {
      if (injected === "timeout") await new Promise((r) => setTimeout(r, 50));
      timings[step.id] = { startMs, endMs: Date.now() - t0 };
      failed ??= { id: step.id, message: injected === "timeout" ? "sim: API call timed out" : "sim: API call failed" };
      throw new Error(step.id);
    }
    if (step.kind === "helm") {
      fakeWorld.createK8sObject(opts.fakeDir, step.release);
    } else if (step.kind === "k8s") {
      fakeWorld.createK8sObject(opts.fakeDir, step.object);
    }
    timings[step.id] = { startMs, endMs: Date.now() - t0 };
    ran.push(step.id);
    state.steps[step.id] = { inputsHash, stdout: "", env: {} };
  }

  await new Promise<void>((resolve) => {
    const pending = new Set<Promise<void>>();
    const schedule = (): void => {
      if (!failed) {
        for (const step of plan.steps) {
          if (started.has(step.id) || !step.dependsOn.every((d) => done.has(d))) continue;
          started.add(step.id);
          const p: Promise<void> = execute(step)
            .then(() => {
              done.add(step.id);
            })
            .catch((e: Error) => {
              if (!failed) failed = { id: step.id, message: e.message };
            })
            .finally(() => {
              pending.delete(p);
              schedule();
            });
          pending.add(p);
        }
      }
      if (pending.size === 0) resolve();
    };
    schedule();
  });

  return {
    ran,
    unchanged,
    failed,
    notStarted: plan.steps.filter((s) => !started.has(s.id)).map((s) => s.id),
    wallMs: Date.now() - t0,
    timings,
    output,
  };
}

/**
 * `pulumi destroy`: delete scripts run in reverse order with the stored environment and stdin
 * (as the command provider does); retained Kubernetes objects stay.
 */
export async function destroy(
  plan: Plan,
  state: SimState,
  opts: RunOptions,
): Promise<{ failed?: string; deleted: string[] }> {
  const deleted: string[] = [];
  for (const step of [...plan.steps].reverse()) {
    const s = state.steps[step.id];
    if (!s) continue;
    if (step.kind === "command" && step.deleteScript) {
      const res = await runScript(step.deleteScript, s.env, s.stdin, opts);
      if (res.code !== 0) return { failed: `${step.id}: ${res.stderr.trim()}`, deleted };
    } else if ((step.kind === "helm" || step.kind === "k8s") && !step.retainOnDelete) {
      fakeWorld.deleteK8sObject(opts.fakeDir, step.kind === "helm" ? step.release : step.object);
    }
    delete state.steps[step.id];
    deleted.push(step.id);
  }
  return { deleted };
}
