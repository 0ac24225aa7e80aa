/**
 * A fresh fake world (nodes in maintenance mode, empty 1Password) plus the plan for a config, run
 * by the miniature engine. Every run through a SimWorld asserts that no fake rejected an argv
 * (usage-errors.log), and every world has its own TMPDIR, which must be empty when it is cleaned
 * up: a script leaves no scratch file (and so no secret) behind.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../../config/types";
import { buildPlan, Plan } from "../../plan";
import { REPO_ROOT } from "./paths";
import { destroy, DestroyResult, newState, RunOptions, RunResult, SimState, up } from "../sim/engine";
import { homeOpsConfig } from "./stackConfigFixture";
import { scaledDelays, scaledMs, scaledTimeouts } from "./calibration";

export { scaledTimeouts };
import type * as Fake from "../fakes/lib/state";

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const fakeWorld: typeof Fake = require("../fakes/lib/state.js");

export type Fault = Fake.FakeFault;
export type Call = Fake.FakeCall;

/** The 1Password CLI credentials the program gives the bundle step (a service-account token). */
export const OP_ENV = { OP_SERVICE_ACCOUNT_TOKEN: "ops_fake_service_account" };

/**
 * The home-ops config with waits short enough for tests (the deadlines stay real), scaled to the
 * machine (calibration.ts scaledTimeouts). The fakes' delays of a SimWorld are scaled alike, so
 * a deadline a test means to expire before a delay still does, and one it means to hold holds
 * with the margin a busy CPU needs. The program's own derivation of a call's bound (CALL_TIMEOUT:
 * plan/settings.ts) follows from these: on an idle machine nodeReady 20 makes it 6 s, far above a
 * fake call's 0.2 s. The etcd probe's bound is set (2 s idle, scaled): the program caps the
 * derived one at 5 s, less than one fake call takes at a time scale of 30.
 * `overrides.timeouts` replaces these (idle figures too, scaled the same way).
 */
export function fastConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const cfg = homeOpsConfig();
  const idle = { nodeReady: 20, apiReady: 6, health: 6, storeReady: 6, fluxReady: 6, poll: 0.05, probe: 2 };
  return { ...cfg, ...overrides, timeouts: scaledTimeouts(overrides.timeouts ?? idle) };
}

/** `cfg` with some of its timeouts replaced (idle figures, scaled like fastConfig's). */
export function withTimeouts(cfg: StackConfig, timeouts: Partial<StackConfig["timeouts"]>): StackConfig {
  return { ...cfg, timeouts: { ...cfg.timeouts, ...scaledTimeouts(timeouts) } };
}

/** The talosctl the e2e tier builds for each minor (test/e2e/tools). */
export const TALOSCTL_VERSION_OF_MINOR: Record<string, string> = { "v1.10": "v1.10.5", "v1.11": "v1.11.5" };

/** A scratch project directory: `steps/` linked to the repository's, settings written by runs. */
export function scratchProject(prefix = "homeops-sim-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.symlinkSync(path.join(REPO_ROOT, "steps"), path.join(dir, "steps"));
  return dir;
}

/**
 * Files and directories under `dir`, relative, depth first (directories end with "/"). Other
 * processes may remove what is walked (a script's watchdog removes its scratch directory at any
 * moment): a directory gone before it is read lists as empty, never an ENOENT.
 */
export function listTree(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return entries.flatMap((e) => {
    const rel = e.name;
    if (!e.isDirectory()) return [rel];
    return [`${rel}/`, ...listTree(path.join(dir, rel)).map((x) => `${rel}/${x}`)];
  });
}

/**
 * What a script may leave in TMPDIR: only the empty per-user root of the scratch directories
 * (talos/shell.ts PRELUDE, WORK_ROOT), never a scratch directory or a file.
 */
export function tmpLeftovers(tmpDir: string): string[] {
  return listTree(tmpDir).filter((p) => !/^homeops-work-\d+\/$/.test(p));
}

export class SimWorld {
  readonly dir: string;
  readonly projectDir: string;
  /** TMPDIR of every script this world runs. */
  readonly tmpDir: string;
  state: SimState = newState();
  /** The engine's kill of a step that outlives every bound (a stuck test), scaled. */
  readonly stepTimeoutMs = scaledMs(60000);
  /** `delaysMs` as given (perTest().open scales a test's; the benchmark's are its model). */
  constructor(
    public cfg: StackConfig,
    delaysMs: Partial<Fake.FakeDelays> = {},
    extra: Fake.FakeConfigInput = {},
  ) {
    this.projectDir = scratchProject();
    this.dir = path.join(this.projectDir, "fake-world");
    this.tmpDir = path.join(this.projectDir, "tmp");
    fs.mkdirSync(this.tmpDir);
    fakeWorld.initFakeWorld(this.dir, {
      talosVersion: TALOSCTL_VERSION_OF_MINOR[cfg.talos.minor],
      nodes: cfg.nodes.map((n) => ({ address: n.address, hostname: n.hostname })),
      delaysMs,
      faults: [],
      ...extra,
    });
  }
  get plan(): Plan {
    return buildPlan(this.cfg);
  }
  get options(): RunOptions {
    return {
      fakeDir: this.dir,
      projectDir: this.projectDir,
      tmpDir: this.tmpDir,
      onePasswordEnv: OP_ENV,
      stepTimeoutMs: this.stepTimeoutMs,
    };
  }
  /** One `pulumi up`; asserts that no fake rejected an argv. */
  async up(over: { plan?: Plan; options?: Partial<RunOptions> } = {}): Promise<RunResult> {
    const r = await up(over.plan ?? this.plan, this.state, { ...this.options, ...over.options });
    this.assertNoUsageErrors();
    return r;
  }
  /** One `pulumi destroy` (the settings file is the last up's); asserts no usage errors. */
  async destroy(over: { options?: Partial<RunOptions> } = {}): Promise<DestroyResult> {
    const r = await destroy(this.plan, this.state, { ...this.options, ...over.options });
    this.assertNoUsageErrors();
    return r;
  }
  /** Every rejected argv is a bug of a script (an unknown flag makes a probe fail for the wrong reason). */
  assertNoUsageErrors(): void {
    assert.deepEqual(
      fakeWorld.readUsageErrors(this.dir).map((u) => `${u.tool} ${u.argv.join(" ")}: ${u.message.split("\n")[0]}`),
      [],
      "a fake rejected an argv",
    );
  }
  faults(faults: Fault[]): void {
    fakeWorld.setFaults(this.dir, faults);
  }
  /** The faults as the fakes keep them (with matched/fired counts). */
  faultRecords(): Fault[] {
    return fakeWorld.readConfig(this.dir).faults;
  }
  calls(): Call[] {
    return fakeWorld.readCalls(this.dir);
  }
  world(): Fake.FakeState {
    return fakeWorld.readState(this.dir);
  }
  /** A node of the world by hostname. */
  node(hostname: string): Fake.FakeNode {
    const n = this.cfg.nodes.find((x) => x.hostname === hostname);
    if (!n) throw new Error(`no node ${hostname} in the config`);
    return this.world().nodes[n.address];
  }
  /** Runs a fake tool against this world, outside any script (staging a scenario); its stdout. */
  fake(tool: Fake.FakeTool, args: string[]): string {
    const staging = path.join(this.projectDir, "staging");
    fs.mkdirSync(staging, { recursive: true });
    return execFileSync(path.join(fakeWorld.binDir(), tool), args, {
      cwd: staging,
      env: fakeWorld.fakeEnv(this.dir, OP_ENV),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }
  /** A bundle minted by the fake `talosctl gen secrets`, stored in 1Password where the stack reads it. */
  seedBundle(): string {
    this.fake("talosctl", ["gen", "secrets", "--output-file", "seed.yaml", "--force"]);
    const bundle = fs.readFileSync(path.join(this.projectDir, "staging", "seed.yaml"), "utf8");
    const op = this.cfg.onepassword;
    fakeWorld.putOpItem(this.dir, op.vault, {
      title: op.talosSecretsItem,
      category: "SECURE_NOTE",
      fields: [{ label: op.talosSecretsField, type: "CONCEALED", value: bundle }],
    });
    return bundle;
  }
  /** The bundle 1Password holds for the stack, if any. */
  storedBundle(): string | undefined {
    const op = this.cfg.onepassword;
    return this.world().op.items[op.vault]?.[op.talosSecretsItem]?.fields.find((f) => f.label === op.talosSecretsField)
      ?.value;
  }
  /** Removes the world; fails when a script left anything in its TMPDIR. */
  cleanup(): void {
    const left = tmpLeftovers(this.tmpDir);
    fs.rmSync(this.projectDir, { recursive: true, force: true });
    assert.deepEqual(left, [], "a script left files in its TMPDIR");
  }
}

/**
 * How long the fakes block a call no real node answers (an etcd probe while that etcd is down)
 * before failing with the client's deadline error: the fakes' default is an hour, which only the
 * scripts' bound (PROBE_TIMEOUT) ends; in most tests 300 ms, which fails the probe the same way
 * (no connection error) and spares every bootstrap the bound. Tests of the real hang pass
 * REAL_NODE_HANG_MS (and assert that the scripts ended it: calls.log `killed`). QUICK is not
 * scaled: it races nothing (PROBE_TIMEOUT is at least 1 s, and whichever ends the probe first,
 * the script sees a failed probe and polls again).
 */
export const QUICK_NODE_HANG_MS = 300;
export const REAL_NODE_HANG_MS = 3600000;

/**
 * One SimWorld per test of the calling suite (call it in a describe): `worlds.open(cfg)` makes
 * the test's world (QUICK_NODE_HANG_MS unless `extra` says otherwise; `delaysMs` idle figures,
 * scaled to the machine like fastConfig's timeouts), removed after the test, which fails if a
 * script left files in its TMPDIR.
 */
export function perTest(): { open: (...args: ConstructorParameters<typeof SimWorld>) => SimWorld } {
  let current: SimWorld | undefined;
  afterEach(() => {
    const w = current;
    current = undefined;
    w?.cleanup();
  });
  return {
    open: (cfg, delaysMs = {}, extra = {}) =>
      (current = new SimWorld(cfg, scaledDelays(delaysMs), { nodeHangMs: QUICK_NODE_HANG_MS, ...extra })),
  };
}

/** The address a node-addressed call went to (--nodes), or undefined. */
export function nodeOf(call: Call): string | undefined {
  const i = call.argv.indexOf("--nodes");
  return i < 0 ? undefined : call.argv[i + 1];
}

/** Does the call carry flag `--name` (as `--name`, `--name=value` or `--name value`)? */
export function hasFlag(call: Call, name: string): boolean {
  return call.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

/**
 * Calls of one tool and parsed command (e.g. "apply-config", "etcd members", "item create"),
 * optionally to one node and with (true) or without (false) given flags.
 */
export function callsOf(
  calls: readonly Call[],
  tool: Call["tool"],
  command: string,
  opts: { node?: string; flags?: Record<string, boolean> } = {},
): Call[] {
  return calls.filter(
    (c) =>
      c.tool === tool &&
      c.command === command &&
      (opts.node === undefined || nodeOf(c) === opts.node) &&
      Object.entries(opts.flags ?? {}).every(([f, want]) => hasFlag(c, f) === want),
  );
}

/** The real applies (not dry runs) of a node, and which of them were insecure. */
export function appliesTo(calls: readonly Call[], address: string): { all: Call[]; insecure: Call[] } {
  const all = callsOf(calls, "talosctl", "apply-config", { node: address, flags: { "dry-run": false } });
  return { all, insecure: all.filter((c) => hasFlag(c, "insecure")) };
}

/** The run completed: nothing failed, every step started. */
export function succeeded(r: RunResult): void {
  assert.equal(r.failed, undefined, JSON.stringify(r.failed));
  assert.deepEqual(r.notStarted, []);
}

/** The config with one node's sysctls extended (a change Talos applies live). */
export function withSysctl(cfg: StackConfig, hostname: string, key: string, value: string): StackConfig {
  const nodes = cfg.nodes.map((n) => (n.hostname === hostname ? { ...n, sysctls: { ...n.sysctls, [key]: value } } : n));
  return { ...cfg, nodes };
}
