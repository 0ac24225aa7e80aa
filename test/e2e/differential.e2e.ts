/**
 * The miniature engine (test/sim/engine.ts) is kept only where it agrees with the real one: the
 * same scenarios run on both, each against its own fake world (the same config, the same fakes in
 * end-to-end mode with the real talosctl), and must run the same steps and end in the same state.
 * The scenarios: a first up, a no-op re-run, one node's live change, a reboot-needing change on
 * every node, and a failed step fixed by running up again.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../../config/index";
import { rawConfigFromStackFile } from "../../config/load";
import { StackConfig } from "../../config/types";
import { buildPlan, Plan } from "../../plan";
import { newState, RunResult as SimRun, SimState, up } from "../sim/engine";
import { fakeWorld, scratchProject } from "../helpers/simWorld";
import { scaledMs } from "../helpers/calibration";
import { E2E_DELAYS, E2EStack, pulumiHome, RunResult, stepOps, talosctlParseCache } from "./harness";

/** What both engines are compared on after each scenario step. */
interface Outcome {
  ran: string[];
  failed: string | null;
  nodes: Record<string, string>;
  bootstrapCount: number;
  quorumViolations: number;
}

function worldOutcome(dir: string): Omit<Outcome, "ran" | "failed"> {
  const w = fakeWorld.readState(dir);
  const nodes: Record<string, string> = {};
  for (const n of Object.values(w.nodes)) {
    nodes[n.hostname] = [
      n.state,
      n.stage,
      n.appliedHostname,
      `insecure=${n.insecureApplies}`,
      `changed=${n.changedApplies}`,
      `reboots=${n.reboots}`,
      `bootstraps=${n.bootstraps}`,
    ].join(" ");
  }
  return { nodes, bootstrapCount: w.cluster.bootstrapCount, quorumViolations: fakeWorld.quorumViolations(w).length };
}

/** The steps' resource names (`<phase>-<step id>`): what both engines run. */
function stepNames(cfg: StackConfig): Set<string> {
  return new Set(buildPlan(cfg).steps.map((st) => `${st.phase}-${st.id}`));
}

function realOutcome(s: E2EStack, r: RunResult): Outcome {
  const steps = stepNames(parseStackConfig(rawConfigFromStackFile(fs.readFileSync(s.stackFile, "utf8")), "e2e").config);
  const ops = Object.fromEntries(Object.entries(stepOps(r.events)).filter(([n]) => steps.has(n)));
  const ran = Object.entries(ops)
    .filter(([, o]) => o.some((x) => x === "create" || x === "update"))
    .map(([n]) => n)
    .sort();
  const failed = Object.entries(ops).find(([, o]) => o.some((x) => x.endsWith("-failed")))?.[0] ?? null;
  return { ran, failed, ...worldOutcome(s.fakeDir) };
}

class MiniStack {
  readonly project = scratchProject("homeops-diff-");
  readonly fakeDir = path.join(this.project, "fake-world");
  readonly tmp = path.join(this.project, "tmp");
  state: SimState = newState();
  constructor(
    private readonly tools: string,
    world: Record<string, unknown>,
  ) {
    fs.mkdirSync(this.tmp);
    fakeWorld.initFakeWorld(this.fakeDir, { talosVersion: "v1.10.5", nodes: NODES, ...world });
  }
  async up(cfg: StackConfig): Promise<Outcome> {
    const plan: Plan = buildPlan(cfg);
    const r: SimRun = await up(plan, this.state, {
      fakeDir: this.fakeDir,
      projectDir: this.project,
      tmpDir: this.tmp,
      env: {
        FAKE_TALOSCTL_REAL: path.join(this.tools, "talosctl-v1.10"),
        FAKE_TALOSCTL_PARSE_CACHE: talosctlParseCache(pulumiHome(this.tools)),
      },
      onePasswordEnv: { OP_ACCOUNT: cfg.onepassword.account ?? "" },
      stepTimeoutMs: scaledMs(120_000),
    });
    const name = (id: string) => `${plan.steps.find((s) => s.id === id)!.phase}-${id}`;
    return { ran: r.ran.map(name).sort(), failed: r.failed ? name(r.failed.id) : null, ...worldOutcome(this.fakeDir) };
  }
  cleanup(): void {
    fs.rmSync(this.project, { recursive: true, force: true });
  }
}

const NODES = [
  { address: "127.0.0.11", hostname: "mini01" },
  { address: "127.0.0.12", hostname: "mini02" },
  { address: "127.0.0.13", hostname: "mini03" },
];

describe("the miniature engine agrees with the real one", function () {
  const world = {
    delaysMs: E2E_DELAYS,
    faults: [{ tool: "talosctl", command: "apply-config", node: "127.0.0.13", kind: "exit", times: 1 }],
  };
  let real: E2EStack;
  let mini: MiniStack;
  before(() => {
    real = new E2EStack({ world });
    mini = new MiniStack(real.tools, world);
  });
  after(() => {
    real?.cleanup();
    mini?.cleanup();
  });

  const config = (): StackConfig =>
    parseStackConfig(rawConfigFromStackFile(fs.readFileSync(real.stackFile, "utf8")), "e2e").config;

  async function both(what: string): Promise<void> {
    const r = await real.up();
    const a = realOutcome(real, r);
    const b = await mini.up(config());
    assert.deepEqual(b, a, `${what}: the miniature engine differs from the real one`);
  }

  it("a first up that fails at mini03's apply (fault delivered once)", () => both("first up"));
  it("the re-run that converges", () => both("re-run"));
  it("a no-op re-run", () => both("no-op"));
  it("one node's live change", async () => {
    const nodes = real.config()["homeops:nodes"] as Record<string, unknown>[];
    nodes[0] = { ...nodes[0], sysctls: { "vm.swappiness": "10" } };
    real.setConfig({ "homeops:nodes": nodes });
    await both("sysctl on mini01");
  });
  it("a reboot-needing change on every node", async () => {
    const machine = real.config()["homeops:machine"] as { udevRules: string[] };
    real.setConfig({
      "homeops:machine": {
        ...machine,
        udevRules: [...machine.udevRules, 'KERNEL=="sd*", ATTR{queue/nr_requests}="64"'],
      },
    });
    await both("udev rule everywhere");
  });
});

/** A sample of the fault matrix's cells under both engines: the same outcome of the faulted run and of its re-run. */
describe("fault-matrix cells agree on both engines", function () {
  const cells: [string, Record<string, unknown>][] = [
    [
      "a dropped apply connection on mini02 (tolerated: the node took the config)",
      { tool: "talosctl", command: "apply-config", node: "127.0.0.12", kind: "drop", times: 1 },
    ],
    ["the bootstrap call failing (exit) on every try", { tool: "talosctl", command: "bootstrap", kind: "exit" }],
    ["the API unreachable for kubectl", { tool: "kubectl", command: "get", kind: "unreachable" }],
  ];
  for (const [what, fault] of cells) {
    it(what, async () => {
      const world = { delaysMs: E2E_DELAYS, faults: [fault] };
      // Waits short enough that a persistent fault fails its step in seconds.
      const timeouts = { nodeReady: 20, apiReady: 6, health: 6, storeReady: 6, fluxReady: 6, poll: 1 };
      const real = new E2EStack({ world, config: { "homeops:timeouts": timeouts } });
      const mini = new MiniStack(real.tools, world);
      try {
        const cfg = parseStackConfig(rawConfigFromStackFile(fs.readFileSync(real.stackFile, "utf8")), "e2e").config;
        const a1 = realOutcome(real, await real.up());
        const b1 = await mini.up(cfg);
        assert.deepEqual(b1, a1, "the faulted run");
        fakeWorld.setFaults(real.fakeDir, []);
        fakeWorld.setFaults(mini.fakeDir, []);
        const a2 = realOutcome(real, await real.up());
        const b2 = await mini.up(cfg);
        assert.deepEqual(b2, a2, "the re-run");
        assert.equal(a2.failed, null, "the re-run converges");
        assert.equal(a2.bootstrapCount, 1);
      } finally {
        real.cleanup();
        mini.cleanup();
      }
    });
  }
});
