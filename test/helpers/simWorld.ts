/** A fresh fake world (nodes in maintenance mode, empty 1Password) plus the plan for a config. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../../config/types";
import { buildPlan, Plan } from "../../plan";
import { REPO_ROOT } from "./paths";
import { newState, RunOptions, SimState, up, RunResult } from "../sim/engine";
import { homeOpsConfig } from "./stackConfigFixture";

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const fakeWorld = require("../fakes/lib/state.js");

export interface Fault {
  tool: "talosctl" | "kubectl" | "op" | "curl";
  match: string;
  node?: string;
  kind: "exit" | "unreachable" | "timeout" | "drop" | "never";
  times?: number;
  hangMs?: number;
  /** Custom stderr for kind "exit". */
  message?: string;
}

export interface Call {
  tool: string;
  argv: string[];
  exit: number;
}

/** The home-ops config with waits short enough for tests (the deadlines stay real). */
export function fastConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const cfg = homeOpsConfig();
  return {
    ...cfg,
    timeouts: { nodeReady: 6, apiReady: 6, health: 6, storeReady: 6, fluxReady: 6, poll: 0.05 },
    ...overrides,
  };
}

/** The talosctl the e2e tier builds for each minor (test/e2e/tools). */
export const TALOSCTL_VERSION_OF_MINOR: Record<string, string> = { "v1.10": "v1.10.5", "v1.11": "v1.11.5" };

/** A scratch project directory: `steps/` linked to the repository's, settings written by runs. */
export function scratchProject(prefix = "homeops-sim-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.symlinkSync(path.join(REPO_ROOT, "steps"), path.join(dir, "steps"));
  return dir;
}

export class SimWorld {
  readonly dir: string;
  readonly projectDir: string;
  state: SimState = newState();
  constructor(
    public cfg: StackConfig,
    delaysMs: Record<string, number> = {},
    extra: Record<string, unknown> = {},
  ) {
    this.projectDir = scratchProject();
    this.dir = path.join(this.projectDir, "fake-world");
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
      env: { OP_SERVICE_ACCOUNT_TOKEN: "ops_fake_service_account" },
      stepTimeoutMs: 30000,
    };
  }
  up(): Promise<RunResult> {
    return up(this.plan, this.state, this.options);
  }
  faults(faults: Fault[]): void {
    fakeWorld.setFaults(this.dir, faults);
  }
  calls(): Call[] {
    return fakeWorld.readCalls(this.dir);
  }
  world(): any {
    return fakeWorld.readState(this.dir);
  }
  cleanup(): void {
    fs.rmSync(this.projectDir, { recursive: true, force: true });
  }
}

/** Calls of one tool whose argv contains every given word. */
export function callsWith(calls: Call[], tool: string, ...words: string[]): Call[] {
  return calls.filter((c) => c.tool === tool && words.every((w) => c.argv.includes(w)));
}
