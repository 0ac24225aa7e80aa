/**
 * A miniature of the Pulumi engine's update semantics over the plan, for fast simulated
 * execution. It is kept only where it agrees with the real engine (test/e2e/differential.e2e.ts
 * runs the same scenarios and a sample of fault-matrix cells on both). What it models, with the
 * real source:
 * - a step starts as soon as its dependencies succeeded, in parallel (pulumi v3.248.0
 *   pkg/resource/deploy/step_executor.go); after a failure no new step starts, running ones finish;
 * - a command step runs when any input differs from the stored inputs: the command provider has
 *   no custom diff, so pulumi-go-provider v1.3.0 infer compares every input (infer/resource.go);
 *   the program sets no ignoreChanges, so the stored inputs are exactly the last run's;
 * - create runs `create`, an update runs `create` again (no `update` is set), each with
 *   `/bin/sh <script file>` in the project directory (pulumi-command v1.2.1
 *   local/commandController.go, commandOutputs.go); a failed create stores nothing and a failed
 *   update keeps the old state (infer/resource.go returns no partial state for a plain error);
 * - the environment of a script is the provider's own (PATH, HOME, TMPDIR here) plus the step's
 *   `environment`, which carries the 1Password CLI credentials only for the steps that declare
 *   them (components/steps.ts createCommandStep); a cancelled step's /bin/sh is killed with
 *   SIGKILL, and only it (exec.CommandContext in commandOutputs.go);
 * - delete runs the *stored* delete command with the stored environment and stdin, on destroy and
 *   at the end of an update for resources the program no longer declares (a node renamed or
 *   removed); Kubernetes objects are all retained on delete here;
 * - before every run the program's evaluation writes the run-time settings file;
 * - Kubernetes objects: a create of an object that already exists upserts (the provider sets
 *   upsertExistingObjects: pulumi-kubernetes v4.32.0 provider/pkg/await/await.go); a Helm release
 *   create whose name is already in use goes through the release's create hook
 *   (components/helmGuard.ts), whose decision is k8s/helmAdoption.ts decideAdoption, called here
 *   on the release's latest revision: in the fake cluster only this stack's steps install
 *   releases, so it is deployed with the step's mark, and the install supersedes it in place.
 * Not modelled: previews, providers' own diffs of Kubernetes objects (an object step re-runs when
 * its rendered object changes), pending operations after a kill (the e2e tier covers those).
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import { CommandStep, Plan, Step, STDIN_PRODUCER } from "../../plan";
import { scriptPath } from "../../talos/scripts";
import { writeRuntimeSettings } from "../../components/runtimeFiles";
import { decideAdoption } from "../../k8s/helmAdoption";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeWorld = require("../fakes/lib/state.js");

/** What the engine keeps between runs (the stack state). */
export interface SimState {
  steps: Record<
    string,
    { inputsHash: string; stdout: string; env: Record<string, string>; stdin?: string; deleteScript?: string }
  >;
}

export interface RunResult {
  readonly ran: string[];
  readonly unchanged: string[];
  /** Resources no longer declared, deleted at the end of the run. */
  readonly deleted: string[];
  readonly failed?: { id: string; message: string };
  readonly notStarted: string[];
  readonly wallMs: number;
  /** Start/end of every executed step, relative to the run's start. */
  readonly timings: Record<string, { startMs: number; endMs: number }>;
  /** What each executed script printed (what the engine would log or store); killedAt if killed. */
  readonly output: Record<string, { stdout: string; stderr: string; killedAt?: number }>;
}

export interface RunOptions {
  readonly fakeDir: string;
  /** The project directory: `steps/` and the settings file are relative to it. */
  readonly projectDir: string;
  /** TMPDIR of every script (where the scripts' scratch directories live). */
  readonly tmpDir?: string;
  /** Extra environment for every script. */
  readonly env?: Record<string, string>;
  /** The 1Password CLI credentials, given only to steps with `onePasswordAuth` (as the program does). */
  readonly onePasswordEnv?: Record<string, string>;
  /** Kill a script after this many ms (the engine's cancel: SIGKILL to the interpreter only). */
  readonly stepTimeoutMs?: number;
  /**
   * Kill the script's whole process group instead (its watchdog and tool calls too): not what
   * the provider does, but what a crash of the operator's session does.
   */
  readonly killProcessGroup?: boolean;
  /**
   * Kubernetes/Helm/1Password steps to fail, by id: the provider's API call errors ("exit") or
   * hangs until the engine gives up ("timeout"). Each entry fires once per run it is present in.
   */
  readonly failObjectSteps?: Readonly<Record<string, "exit" | "timeout">>;
  /** Steps run as inline shell text instead of their script file (the benchmark's old sleeps). */
  readonly inlineScripts?: ReadonlyMap<string, string>;
  /** At most this many steps at a time (default: no limit, like the engine's default). */
  readonly parallel?: number;
  /** Called before a step starts (with `parallel: 1`, nothing else runs meanwhile). */
  readonly beforeStep?: (step: Step) => void;
}

export function newState(): SimState {
  return { steps: {} };
}

function hash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/**
 * Every input of a command step as the program registers it (components/steps.ts): the script's
 * path (never its text), the delete script's path, the environment, stdin.
 */
export function commandInputsHash(step: CommandStep, env: Record<string, string>, stdin: string | undefined): string {
  return hash({
    create: scriptPath(step.script),
    delete: step.deleteScript ? scriptPath(step.deleteScript) : null,
    env,
    stdin: stdin === undefined ? null : hash(stdin),
  });
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
  /** When the script was killed (epoch ms), if it was. */
  killedAt?: number;
}

/**
 * What every script starts with: the provider's own environment (PATH with the fakes first, HOME,
 * TMPDIR) and the fake world's (its state dir, and the fakes' one-file bundle of this test run:
 * test/fakes/lib/bundle.js).
 */
export function scriptBaseEnv(opts: Pick<RunOptions, "fakeDir" | "tmpDir">): Record<string, string> {
  return {
    PATH: `${fakeWorld.binDir()}:${process.env.PATH ?? ""}`,
    HOME: process.env.HOME ?? "/tmp",
    TMPDIR: opts.tmpDir ?? process.env.TMPDIR ?? "/tmp",
    FAKE_STATE_DIR: opts.fakeDir,
    ...fakeWorld.bundleEnv(),
  };
}

/** The environment a command step's script gets (components/steps.ts createCommandStep). */
export function stepEnv(step: CommandStep, opts: Pick<RunOptions, "onePasswordEnv">): Record<string, string> {
  return { ...step.env, ...(step.onePasswordAuth ? opts.onePasswordEnv : {}) };
}

/** `/bin/sh <script file>` in the project directory, as the command provider runs it. */
export function runScript(
  file: string | { inline: string },
  env: Record<string, string>,
  stdin: string | undefined,
  opts: Pick<RunOptions, "fakeDir" | "projectDir" | "tmpDir" | "env" | "stepTimeoutMs" | "killProcessGroup">,
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", typeof file === "string" ? [file] : ["-c", file.inline], {
      cwd: opts.projectDir,
      env: { ...scriptBaseEnv(opts), ...opts.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: opts.killProcessGroup === true,
    });
    let stdout = "";
    let stderr = "";
    let killedAt: number | undefined;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = opts.stepTimeoutMs
      ? setTimeout(() => {
          stderr += `\n(sim: killed after ${opts.stepTimeoutMs} ms)`;
          killedAt = Date.now();
          if (opts.killProcessGroup) process.kill(-child.pid!, "SIGKILL");
          else child.kill("SIGKILL");
        }, opts.stepTimeoutMs)
      : undefined;
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      // The command provider trims one trailing newline.
      const trim = (t: string) => t.replace(/\n$/, "");
      resolve({ code: code ?? 137, stdout: trim(stdout), stderr: trim(stderr), killedAt });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
  });
}

function objectHash(step: Step): string {
  return hash(step.kind === "helm" ? step.release : step.kind === "k8s" ? step.object : { id: step.id });
}

/** Creates (or upserts) a step's object in the fake cluster; a Helm name in use goes through the create hook's decision. */
function applyObject(step: Step, opts: RunOptions, known: boolean): string | undefined {
  if (step.kind === "helm") {
    const existing = fakeWorld
      .readState(opts.fakeDir)
      .k8s.objects.find(
        (o: { kind: string; metadata: { name: string; namespace: string } }) =>
          o.kind === "HelmRelease(pulumi)" &&
          o.metadata.name === step.release.metadata.name &&
          o.metadata.namespace === step.release.metadata.namespace,
      );
    if (existing && !known) {
      const decision = decideAdoption({
        release: step.release.metadata,
        stepId: step.id,
        marker: step.marker,
        records: [
          {
            secret: { metadata: { name: "fake" } },
            release: {},
            revision: 1,
            status: "deployed",
            description: step.marker,
            hookCount: 0,
          },
        ],
        timeoutSeconds: step.timeoutSeconds,
        now: new Date(),
        adoptList: [],
        fluxClaims: [],
        handOff: step.handOff,
      });
      if (decision.action === "refuse") return decision.message;
    }
    fakeWorld.createK8sObject(opts.fakeDir, step.release);
  } else if (step.kind === "k8s") {
    fakeWorld.createK8sObject(opts.fakeDir, step.object);
  }
  return undefined;
}

/** One `pulumi up` of the plan against the fake world. Mutates `state` like the engine would. */
export async function up(plan: Plan, state: SimState, opts: RunOptions): Promise<RunResult> {
  writeRuntimeSettings(opts.projectDir, plan);
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
      const env = stepEnv(step, opts);
      const inputsHash = commandInputsHash(step, env, stdin);
      if (state.steps[step.id]?.inputsHash === inputsHash) {
        unchanged.push(step.id);
        return;
      }
      const inline = opts.inlineScripts?.get(step.id);
      const res = await runScript(inline ? { inline } : scriptPath(step.script), env, stdin, opts);
      timings[step.id] = { startMs, endMs: Date.now() - t0 };
      output[step.id] = { stdout: res.stdout, stderr: res.stderr, killedAt: res.killedAt };
      if (res.code !== 0) {
        failed ??= { id: step.id, message: res.stderr.trim().split("\n").filter(Boolean).pop() ?? `exit ${res.code}` };
        throw new Error(step.id);
      }
      ran.push(step.id);
      state.steps[step.id] = {
        inputsHash,
        stdout: res.stdout,
        env,
        stdin,
        deleteScript: step.deleteScript ? scriptPath(step.deleteScript) : undefined,
      };
      return;
    }
    const inputsHash = objectHash(step);
    const known = state.steps[step.id] !== undefined;
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
    const refused = applyObject(step, opts, known);
    timings[step.id] = { startMs, endMs: Date.now() - t0 };
    if (refused) {
      failed ??= { id: step.id, message: refused };
      throw new Error(step.id);
    }
    ran.push(step.id);
    state.steps[step.id] = { inputsHash, stdout: "", env: {} };
  }

  await new Promise<void>((resolve) => {
    const pending = new Set<Promise<void>>();
    const limit = opts.parallel ?? Infinity;
    const schedule = (): void => {
      if (!failed) {
        for (const step of plan.steps) {
          if (pending.size >= limit) break;
          if (started.has(step.id) || !step.dependsOn.every((d) => done.has(d))) continue;
          started.add(step.id);
          opts.beforeStep?.(step);
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

  // Resources the program no longer declares are deleted once the rest succeeded, newest first,
  // each command with its stored delete script, environment and stdin (step_generator.go
  // GenerateDeletes; the provider's Delete).
  const deleted: string[] = [];
  const declared = new Set(plan.steps.map((s) => s.id));
  for (const id of failed ? [] : Object.keys(state.steps).reverse()) {
    if (declared.has(id)) continue;
    const s = state.steps[id];
    if (s.deleteScript) {
      const res = await runScript(s.deleteScript, s.env, s.stdin, opts);
      output[id] = { stdout: res.stdout, stderr: res.stderr, killedAt: res.killedAt };
      if (res.code !== 0) {
        failed = { id, message: res.stderr.trim().split("\n").filter(Boolean).pop() ?? `exit ${res.code}` };
        break;
      }
    }
    delete state.steps[id];
    deleted.push(id);
  }

  return {
    ran,
    unchanged,
    deleted,
    failed,
    notStarted: plan.steps.filter((s) => !started.has(s.id)).map((s) => s.id),
    wallMs: Date.now() - t0,
    timings,
    output,
  };
}

export interface DestroyResult {
  readonly failed?: string;
  readonly deleted: string[];
  /** What each delete script printed. */
  readonly output: Record<string, { stdout: string; stderr: string }>;
}

/**
 * `pulumi destroy`: delete commands run in reverse dependency order with the stored command,
 * environment and stdin (as the command provider does); retained Kubernetes objects stay. The
 * program is not evaluated, so the scripts read the settings file the last preview or up wrote.
 */
export async function destroy(plan: Plan, state: SimState, opts: RunOptions): Promise<DestroyResult> {
  const deleted: string[] = [];
  const output: DestroyResult["output"] = {};
  for (const step of [...plan.steps].reverse()) {
    const s = state.steps[step.id];
    if (!s) continue;
    if (step.kind === "command" && s.deleteScript) {
      const res = await runScript(s.deleteScript, s.env, s.stdin, opts);
      output[step.id] = { stdout: res.stdout, stderr: res.stderr };
      if (res.code !== 0) return { failed: `${step.id}: ${res.stderr.trim()}`, deleted, output };
    } else if ((step.kind === "helm" || step.kind === "k8s") && !step.retainOnDelete) {
      fakeWorld.deleteK8sObject(opts.fakeDir, step.kind === "helm" ? step.release : step.object);
    }
    delete state.steps[step.id];
    deleted.push(step.id);
  }
  return { deleted, output };
}
