/**
 * The end-to-end harness: the real Pulumi CLI (built from its Go module) drives the real program
 * through the SDK's language server (host.ts) and the command provider binary, against the fake
 * nodes (test/fakes, with the real talosctl of the stack's minor doing every local talosctl job).
 * Each stack is a scratch project directory (Pulumi.yaml, the stack file, `steps/` linked to the
 * repository's) with its own file backend; a run shares one PULUMI_HOME with the plugin installed.
 * Everything runs inside the network namespace test/e2e/run.sh sets up: loopback only.
 */
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { scaledDelays, scaledMs, scaledTimeouts } from "../helpers/calibration";

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const fakeWorld = require("../fakes/lib/state.js");

export const REPO = path.resolve(__dirname, "../..");
/** How the language host and the 1Password stand-in load TypeScript (test/e2e/tsLoader.js: why not tsx). */
const TS_LOADER = path.join(__dirname, "tsLoader.js");
export const STACK = "e2e";
export const PROJECT = "homeops";
export const PASSPHRASE = "e2e-test-passphrase";

/** The directory of the built tools (HOMEOPS_TOOLS_DIR, else built now by build.sh). */
export function toolsDir(): string {
  const given = process.env.HOMEOPS_TOOLS_DIR;
  if (given) return given;
  return execFileSync("bash", [path.join(REPO, "test/e2e/tools/build.sh")], { encoding: "utf8" }).trim();
}

let sharedHome: string | undefined;
/**
 * One PULUMI_HOME for the run, with the command provider installed as plugin command 1.2.1 and
 * the Kubernetes provider (built from v4.25.0's commit) as plugin kubernetes 4.25.0, the version
 * the pinned @pulumi/kubernetes asks for.
 */
export function pulumiHome(tools: string): string {
  if (sharedHome) return sharedHome;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-e2e-home-"));
  const install = (args: string[]) =>
    execFileSync(path.join(tools, "pulumi"), ["plugin", "install", ...args], { env: baseEnv(home), stdio: "pipe" });
  install(["resource", "command", "v1.2.1", "--file", path.join(tools, "pulumi-resource-command")]);
  install(["resource", "kubernetes", "v4.25.0", "--file", path.join(tools, "pulumi-resource-kubernetes")]);
  install(["resource", "onepassword", "v1.1.3", "--file", onePasswordLauncher(home)]);
  // The launcher the engine falls back to for a Node.js policy pack when no nodejs language
  // plugin is installed (pulumi v3.248.0 sdk/go/common/resource/plugin/analyzer_plugin.go).
  install([
    "analyzer",
    "policy-nodejs",
    "v1.0.0",
    "--file",
    path.join(REPO, "test/e2e/tools/pulumi-analyzer-policy-nodejs"),
  ]);
  sharedHome = home;
  return home;
}

/**
 * The stand-in 1Password provider (test/e2e/tools/onepassword/provider.ts: the real one cannot be
 * built from the Go module proxy) behind a launcher written for this run: the plugin is copied
 * into PULUMI_HOME, so the launcher names this checkout's files by absolute path.
 */
function onePasswordLauncher(home: string): string {
  const launcher = path.join(home, "pulumi-resource-onepassword");
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    launcher,
    `#!/bin/sh\nexec ${quote(process.execPath)} --require ${quote(TS_LOADER)} ${quote(
      path.join(REPO, "test/e2e/tools/onepassword/provider.ts"),
    )} "$@"\n`,
    { mode: 0o755 },
  );
  return launcher;
}

/**
 * Where the fake talosctl remembers the argv shapes the real parser accepted (FAKE_TALOSCTL_PARSE_CACHE,
 * test/fakes/lib/talos/real.js): in the run's PULUMI_HOME, so it lasts one mocha process and no longer.
 */
export function talosctlParseCache(home: string): string {
  return path.join(home, "talosctl-parse-cache");
}

export function removeSharedHome(): void {
  if (sharedHome) fs.rmSync(sharedHome, { recursive: true, force: true });
  sharedHome = undefined;
}

export function baseEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    LANG: "C.UTF-8",
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    ...fakeWorld.bundleEnv(),
  };
}

/** One engine event of `--json` (`pulumi up`/`destroy`) or a preview's JSON document. */
export type EngineEvent = Record<string, any>;

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** `--json` output of up/destroy: the engine events, one per line. */
  readonly events: EngineEvent[];
  /** When each event arrived, in ms from the CLI's start (parallel to `events`). */
  readonly arrivals: number[];
}

export interface RunOptions {
  /** Run the program (up, preview, refresh --run-program): starts the language host. */
  readonly program?: boolean;
  /** The program's entry point (default: the repository's program.js, package.json "main", as `pulumi up` loads it). */
  readonly entry?: string;
  /** Kill the CLI with SIGKILL as soon as this returns true for an event (or after `killAfterMs`). */
  readonly killWhen?: (event: EngineEvent) => boolean;
  readonly killAfterMs?: number;
  /** Kill the CLI with SIGKILL once this resolves true (polled every `everyMs`): a condition outside the CLI. */
  readonly killWhenPolled?: { readonly everyMs: number; readonly check: () => Promise<boolean> };
  /** Send `signal` (e.g. SIGINT, a Ctrl-C) `signalDelayMs` after the first event `signalWhen` accepts. */
  readonly signalWhen?: (event: EngineEvent) => boolean;
  readonly signal?: NodeJS.Signals;
  readonly signalDelayMs?: number;
  readonly timeoutMs?: number;
  readonly extraEnv?: NodeJS.ProcessEnv;
}

export interface StackOptions {
  /** Edits of the e2e stack file's `config:` map before the first run. */
  readonly config?: Record<string, unknown>;
  /** Fake world config (delays, 1Password items, canaries, ...). */
  readonly world?: Record<string, unknown>;
  /**
   * The steps' `kubectl` is the real one of the built tools (against the real API server of
   * test/e2e/k8s/controlPlane.ts), not the fake's: a directory holding only it goes first on PATH.
   */
  readonly realKubectl?: boolean;
}

export class E2EStack {
  readonly project: string;
  readonly fakeDir: string;
  readonly tools: string;
  readonly home: string;
  /** A directory holding only the real kubectl, first on the steps' PATH (StackOptions.realKubectl). */
  private realBin?: string;

  constructor(options: StackOptions = {}) {
    this.tools = toolsDir();
    this.home = pulumiHome(this.tools);
    this.project = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-e2e-"));
    this.fakeDir = path.join(this.project, "fake-world");
    fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(this.project, "Pulumi.yaml"));
    fs.symlinkSync(path.join(REPO, "steps"), path.join(this.project, "steps"));
    fs.copyFileSync(path.join(REPO, "test/e2e/Pulumi.e2e.yaml"), this.stackFile);
    // The stack's timeouts are idle figures: scaled to the machine (helpers/calibration.ts).
    const timeouts = options.config?.["homeops:timeouts"] ?? this.config()["homeops:timeouts"];
    // Every timeout of a stack file is whole seconds (config/schema.ts `seconds`), the poll too.
    const scaled = scaledTimeouts(timeouts as Record<string, number>);
    if (scaled.poll !== undefined) scaled.poll = Math.ceil(scaled.poll);
    this.setConfig({ ...options.config, "homeops:timeouts": scaled });
    const nodes = (this.config()["homeops:nodes"] as { hostname: string; address: string }[]).map((n) => ({
      address: n.address,
      hostname: n.hostname,
    }));
    fakeWorld.initFakeWorld(this.fakeDir, { talosVersion: "v1.10.5", nodes, ...(options.world ?? {}) });
    if (options.realKubectl) {
      this.realBin = path.join(this.project, "real-bin");
      fs.mkdirSync(this.realBin);
      fs.symlinkSync(path.join(this.tools, "kubectl"), path.join(this.realBin, "kubectl"));
    }
    this.run(["stack", "init", STACK], {});
  }

  get stackFile(): string {
    return path.join(this.project, `Pulumi.${STACK}.yaml`);
  }

  /** The state file of the file backend (project-scoped layout). */
  get stateFile(): string {
    return path.join(this.project, ".pulumi", "stacks", PROJECT, `${STACK}.json`);
  }

  config(): Record<string, unknown> {
    return (parse(fs.readFileSync(this.stackFile, "utf8")) as { config: Record<string, unknown> }).config;
  }

  /** Sets top-level config keys (`homeops:<key>` → value) in the stack file. */
  setConfig(values: Record<string, unknown>): void {
    const doc = parse(fs.readFileSync(this.stackFile, "utf8")) as { config: Record<string, unknown> };
    doc.config = { ...doc.config, ...values };
    fs.writeFileSync(this.stackFile, stringify(doc));
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const minor = /^v\d+\.\d+/.exec(String((this.config()["homeops:talos"] as { version: string }).version))![0];
    return {
      ...baseEnv(this.home),
      PATH: [...(this.realBin ? [this.realBin] : []), fakeWorld.binDir(), this.tools, process.env.PATH ?? ""].join(
        path.delimiter,
      ),
      FAKE_STATE_DIR: this.fakeDir,
      FAKE_TALOSCTL_REAL: path.join(this.tools, `talosctl-${minor}`),
      FAKE_TALOSCTL_PARSE_CACHE: talosctlParseCache(this.home),
      ...extra,
    };
  }

  /** Runs the real CLI in the project directory (with the language host when the program runs). */
  async pulumi(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    let host: ChildProcess | undefined;
    const cliArgs = [...args, "--stack", STACK, "--non-interactive"];
    if (opts.program) {
      const started = await startHost(
        this.project,
        this.env(opts.extraEnv),
        opts.entry ?? path.join(REPO, "program.js"),
      );
      host = started.child;
      cliArgs.push("--client", `127.0.0.1:${started.port}`);
    }
    try {
      return await runCli(path.join(this.tools, "pulumi"), cliArgs, this.project, this.env(opts.extraEnv), opts);
    } finally {
      host?.kill("SIGKILL");
    }
  }

  /** Synchronous CLI call without the program (stack init, config, export). */
  run(args: string[], extra: NodeJS.ProcessEnv): string {
    return execFileSync(path.join(this.tools, "pulumi"), [...args, "--non-interactive"], {
      cwd: this.project,
      env: this.env(extra),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  up(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return this.pulumi(["up", "--yes", "--skip-preview", "--json", ...extra], { ...opts, program: true });
  }

  preview(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return this.pulumi(["preview", "--json", ...extra], { ...opts, program: true });
  }

  destroy(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview", "--json", ...extra], opts);
  }

  /** The checkpoint as the file backend stores it. */
  state(): Checkpoint {
    const raw = JSON.parse(fs.readFileSync(this.stateFile, "utf8")) as { checkpoint: Checkpoint };
    return raw.checkpoint;
  }

  world(): any {
    return fakeWorld.readState(this.fakeDir);
  }

  calls(): { tool: string; argv: string[]; exit: number }[] {
    return fakeWorld.readCalls(this.fakeDir);
  }

  /**
   * Ends what a killed CLI left running in this project (its provider keeps serving until its
   * health check of the engine fails, and the step it was running goes on), then removes it.
   */
  cleanup(): void {
    killProcessesIn(this.project);
    fs.rmSync(this.project, { recursive: true, force: true });
  }
}

/** SIGKILL to every process whose working directory is inside `dir` (Linux /proc). */
export function killProcessesIn(dir: string): number {
  let killed = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (Number(pid) !== process.pid && (cwd === dir || cwd.startsWith(`${dir}/`))) {
      try {
        process.kill(Number(pid), "SIGKILL");
        killed++;
      } catch {
        /* already gone */
      }
    }
  }
  return killed;
}

export interface Checkpoint {
  readonly latest?: {
    readonly resources?: {
      urn: string;
      type: string;
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
      protect?: boolean;
    }[];
    readonly pending_operations?: { type: string; resource: { urn: string } }[];
  };
}

export function startHost(
  cwd: string,
  env: NodeJS.ProcessEnv,
  entry: string,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", TS_LOADER, path.join(REPO, "test/e2e/host.ts"), entry], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.stderr!.on("data", (d) => (err += d));
    child.on("exit", (code) => reject(new Error(`language host exited (${code}) before serving: ${err}`)));
  });
}

export function runCli(
  bin: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  opts: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const events: EngineEvent[] = [];
    const arrivals: number[] = [];
    let signalled = false;
    const kill = () => child.kill("SIGKILL");
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          const event = JSON.parse(line) as EngineEvent;
          events.push(event);
          arrivals.push(Date.now() - t0);
          if (opts.killWhen?.(event)) kill();
          if (!signalled && opts.signalWhen?.(event)) {
            signalled = true;
            setTimeout(() => child.kill(opts.signal ?? "SIGINT"), opts.signalDelayMs ?? 0);
          }
        } catch {
          /* a multi-line JSON document (preview): parsed below */
        }
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    const killTimer = opts.killAfterMs ? setTimeout(kill, opts.killAfterMs) : undefined;
    let polling = false;
    const poller = opts.killWhenPolled
      ? setInterval(() => {
          if (polling) return;
          polling = true;
          opts
            .killWhenPolled!.check()
            .then((yes) => yes && kill())
            .catch(() => undefined)
            .finally(() => (polling = false));
        }, opts.killWhenPolled.everyMs)
      : undefined;
    const guard = setTimeout(kill, scaledMs(opts.timeoutMs ?? 240_000));
    child.on("close", (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      if (poller) clearInterval(poller);
      clearTimeout(guard);
      if (events.length === 0 && stdout.trim().startsWith("{")) {
        try {
          events.push(JSON.parse(stdout) as EngineEvent);
        } catch {
          /* not JSON */
        }
      }
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, events, arrivals });
    });
  });
}

/** op (create/update/delete/same/...) of every resource step an `up` or `destroy` performed, by name. */
export function stepOps(events: EngineEvent[]): Record<string, string[]> {
  const ops: Record<string, string[]> = {};
  for (const e of events) {
    const md = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
    if (!md) continue;
    const name = String(md.urn).split("::").pop()!;
    (ops[name] ??= []).push(e.resOpFailedEvent ? `${md.op}-failed` : md.op);
  }
  return ops;
}

/** The summary event's resource changes. */
export function changeSummary(events: EngineEvent[]): Record<string, number> | undefined {
  return events.find((e) => e.summaryEvent)?.summaryEvent.resourceChanges;
}

/** Fast delays (ms) that still make every wait poll more than once. */
export const E2E_DELAYS = scaledDelays({
  install: 1500,
  reboot: 1500,
  bootstrap: 1000,
  etcdJoin: 500,
  apiServer: 500,
  cri: 200,
});

/** Fails with the run's own account when the CLI did not succeed. */
export function assertSucceeded(r: RunResult, what: string): void {
  if (r.code === 0) return;
  const diag = r.events
    .filter((e) => e.diagnosticEvent && e.diagnosticEvent.severity !== "debug")
    .map((e) => e.diagnosticEvent.message)
    .join("")
    .slice(-4000);
  assert.fail(`${what}: exit ${r.code} ${r.signal ?? ""}\n${r.stderr.slice(-2000)}\n${diag}`);
}

/** Calls that went to a node (they carry --nodes). */
export function nodeCalls(s: E2EStack): { tool: string; argv: string[] }[] {
  return s.calls().filter((c) => c.argv.includes("--nodes"));
}

export const COMMANDS = [
  "talos-talos-secrets",
  "talos-schematic",
  "talos-talosconfig",
  "talos-apply-mini01",
  "talos-apply-mini02",
  "talos-apply-mini03",
  "cluster-bootstrap",
  "cluster-kubeconfig",
  "cluster-api-ready",
];
