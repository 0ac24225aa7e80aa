/**
 * Fault matrix (simulated execution): every step × (exit, unreachable, timeout, drop). A fault on
 * the step's own main call (matched on the parsed call, see primaryTarget in
 * helpers/faultMatrix.ts) must be delivered and fail the first run at that step (a delivered drop
 * may be absorbed by design: "tolerated"); with the fault cleared, the re-run must converge to the
 * clean end state (same identity, etcd bootstrapped once on the bootstrap node and nowhere else,
 * no node re-applied or installed again, no insecure apply of a configured node, no usage error),
 * and a third run must do nothing. Helm/Kubernetes/1Password rows only exercise the miniature
 * engine's failure flag (marked so). Negative controls show the judge fails what it must. The
 * table is printed and written to out/fault-matrix.json.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  CellPlan,
  CellResult,
  cellKey,
  configOracle,
  ENGINE_FLAG_ONLY,
  FAULT_KINDS,
  judgeCell,
  limited,
  matrixCells,
  matrixConcurrency,
  matrixConfig,
  matrixRows,
  mintBundle,
  Outcome,
  Reference,
  referenceRun,
  renderMatrix,
  runCell,
} from "./helpers/faultMatrix";
import { buildPlan } from "../plan";
import { SimWorld } from "./helpers/simWorld";

const plan = buildPlan(matrixConfig());
const rows = matrixRows(plan);
const cells = matrixCells(rows);
type Applicable = CellPlan & { applicable: true };
const applicable = cells.filter((c): c is Applicable => c.applicable);
const cellOf = (label: string, kind: CellPlan["kind"]) =>
  applicable.find((c) => c.row.label === label && c.kind === kind)!;

interface CellRecord {
  result: CellResult;
  problems?: string[];
  failedAt?: string;
  message?: string;
  delivered?: number;
  firstRunMs?: number;
  rerunRan?: string[];
  totalMs?: number;
}

describe("fault matrix: a failure at any step, then a re-run, converges to the clean end state", function () {
  this.timeout(600000);
  const t0 = Date.now();
  const records = new Map<string, CellRecord>();
  let bundle = "";
  const refs: Partial<Record<"seeded" | "mint", { w: SimWorld; ref: Reference }>> = {};
  let outcomes: Promise<Outcome>[] = [];
  let controls: Promise<Outcome>[] = [];
  const refOf = (c: Applicable) => refs[c.row.target?.start ?? "seeded"]!.ref;
  /** Every concurrency the cells were started with (matrixConcurrency, read as cells end). */
  const concurrency: number[] = [];

  before(async function () {
    bundle = mintBundle();
    refs.seeded = await referenceRun("seeded", bundle);
    refs.mint = await referenceRun("mint");
    outcomes = limited(
      applicable.map((c) => () => runCell(c, refOf(c), bundle)),
      () => {
        const n = matrixConcurrency();
        concurrency.push(n);
        return n;
      },
    );
    // Negative controls, after the cells: a fault that never meets its call (what a drop that
    // does nothing looks like), and a fault left in place for the re-run.
    controls = limited(
      [
        () =>
          Promise.all(outcomes).then(() =>
            runCell(cellOf("flux-ready", "drop"), refs.seeded!.ref, bundle, {
              fault: { tool: "kubectl", command: "wait", args: ["kustomization/not-there"], kind: "drop" },
            }),
          ),
        () =>
          Promise.all(outcomes).then(() =>
            runCell(cellOf("flux-ready", "exit"), refs.seeded!.ref, bundle, { keepFault: true }),
          ),
      ],
      2,
    );
  });

  after(function () {
    for (const r of Object.values(refs)) r?.w.cleanup();
    const results = new Map<string, CellResult>();
    for (const c of cells) {
      const key = cellKey(c.row.label, c.kind);
      results.set(key, c.applicable ? (records.get(key)?.result ?? "FAIL") : "N/A");
    }
    const all = [...results.values()];
    const count = (r: CellResult) => all.filter((x) => x === r).length;
    const counted = all.length - count("N/A");
    const ok = count("pass") + count("tolerated");
    const engineFlagOnly = applicable.filter((c) => !c.row.target).length;
    const runtimeMs = Date.now() - t0;
    console.log(`\nFault matrix (rows: steps of ${plan.phases.join(" → ")}; columns: fault kinds)\n`);
    console.log(renderMatrix(rows, results));
    console.log(
      `\n${ok}/${counted} applicable cells pass (${count("pass")} pass, ${count("tolerated")} tolerated), ` +
        `${count("FAIL")} FAIL, ${count("N/A")} N/A; ${engineFlagOnly} of them engine flag only; ` +
        `runtime ${(runtimeMs / 1000).toFixed(1)} s, ${Math.min(...concurrency)}-${Math.max(...concurrency)} cells at a time\n`,
    );
    const report = {
      description:
        "Fault matrix of the simulated execution (fake talosctl/kubectl/op/curl, miniature engine): rows are plan steps (and the bundle step's mint-branch calls), columns fault kinds. " +
        "pass = the fault was delivered (calls.log) and failed the first run at the step, the re-run converged to the clean end state and a third run did nothing; " +
        "tolerated = a delivered drop the step absorbed by design, same end state; N/A = not modelled (reason given). " +
        "Cells start from a snapshot of the clean serial run taken just before their step, the stack's bundle in 1Password; mint rows start from an empty 1Password.",
      stack: plan.stack,
      timeouts: matrixConfig().timeouts,
      kinds: FAULT_KINDS,
      rows: rows.map((r) => ({
        label: r.label,
        step: r.step.id,
        phase: r.step.phase,
        stepKind: r.step.kind,
        injection: r.target
          ? {
              via: "fake tool fault on the parsed call",
              ...r.target.match,
              start: r.target.start,
              localCommand: r.target.local,
              note: r.target.note,
            }
          : { via: ENGINE_FLAG_ONLY },
        cells: Object.fromEntries(
          FAULT_KINDS.map((k) => {
            const c = cells.find((x) => x.row.label === r.label && x.kind === k)!;
            if (!c.applicable) return [k, { result: "N/A", reason: c.reason }];
            return [k, records.get(cellKey(r.label, k)) ?? { result: "FAIL", problems: ["not run"] }];
          }),
        ),
      })),
      summary: {
        applicable: counted,
        passed: count("pass"),
        tolerated: count("tolerated"),
        failed: count("FAIL"),
        notApplicable: count("N/A"),
        engineFlagOnly,
        runtimeMs,
        concurrency: { min: Math.min(...concurrency), max: Math.max(...concurrency) },
      },
    };
    const outDir = path.resolve(__dirname, "..", "out");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "fault-matrix.json"), JSON.stringify(report, null, 2) + "\n");
  });

  for (const start of ["seeded", "mint"] as const) {
    it(`the clean reference (${start === "seeded" ? "bundle in 1Password, one step at a time" : "1Password empty: the mint"}) reaches the full end state; a second run does nothing`, () => {
      const { ref } = refs[start]!;
      assert.equal(ref.r1.failed, undefined, JSON.stringify(ref.r1.failed));
      assert.equal(ref.r1.ran.length, plan.steps.length);
      assert.deepEqual(ref.r2.ran, []);
      assert.deepEqual(ref.end.stateSteps, plan.steps.map((s) => s.id).sort());
      for (const [host, n] of Object.entries(ref.end.nodes)) {
        assert.deepEqual(
          [
            n.stage,
            n.etcdState,
            n.appliedHostname,
            n.identity,
            n.insecureApplies,
            n.authApplies,
            n.bootstraps,
            n.alreadyExists,
          ],
          ["running", "serving", host, "ours", 1, 0, host === "mini01" ? 1 : 0, 0],
          host,
        );
        if (start === "mint") assert.equal(n.config, "unchanged", host);
      }
      assert.deepEqual(ref.end.cluster, {
        bootstrapCount: 1,
        bootstrapAlreadyExists: 0,
        etcdClusters: 1,
        members: ["mini01", "mini02", "mini03"],
      });
      assert.equal(ref.end.quorumViolations, 0);
      assert.ok(ref.end.k8sObjects.length >= 10, ref.end.k8sObjects.join(", "));
      if (start === "seeded") assert.equal(ref.snapshots.size, plan.steps.length, "a snapshot before every step");
    });
  }

  it("the config oracle of the mint rows tells a wrong config from the right one", async () => {
    const w = refs.mint!.w;
    const apply = (id: string) => w.plan.steps.find((s) => s.id === id) as { env: Record<string, string> };
    const verdict = await configOracle(w, { mini02: apply("apply-mini03").env.NODE_PATCH });
    assert.deepEqual(verdict, { mini01: "unchanged", mini02: "would change", mini03: "unchanged" });
  });

  it("negative controls: the judge fails a fault that was never delivered, a fault left in place, a second bootstrap", async () => {
    const [neverMet, kept] = await Promise.all(controls);
    const seeded = refs.seeded!.ref;
    const a = judgeCell(cellOf("flux-ready", "drop"), neverMet, seeded);
    assert.equal(a.result, "FAIL");
    assert.ok(
      a.problems.includes("the injected fault was never delivered (no failed call in calls.log)"),
      a.problems.join("\n"),
    );
    const b = judgeCell(cellOf("flux-ready", "exit"), kept, seeded);
    assert.equal(b.result, "FAIL");
    assert.ok(
      b.problems.some((p) => p.startsWith("the re-run failed at flux-ready")),
      b.problems.join("\n"),
    );
    // A passing cell's outcome with one more bootstrap on mini02 is a failure.
    const good = await outcomes[applicable.indexOf(cellOf("bootstrap", "drop"))];
    const tampered: Outcome = JSON.parse(JSON.stringify(good));
    tampered.end!.nodes.mini02.bootstraps = 1;
    tampered.end!.cluster.bootstrapCount = 2;
    const c = judgeCell(cellOf("bootstrap", "drop"), tampered, seeded);
    assert.equal(c.result, "FAIL");
    assert.ok(c.problems.includes("end state: nodes.mini02.bootstraps: 1 (clean run: 0)"), c.problems.join("\n"));
  });

  for (const cell of cells) {
    const title = `${cell.row.label} × ${cell.kind}${cell.row.target ? "" : " (engine flag only)"}`;
    if (!cell.applicable) {
      it(`${title} (N/A)`); // pending, with its reason in the report
      continue;
    }
    it(title, async () => {
      const o = await outcomes[applicable.indexOf(cell)];
      const verdict = judgeCell(cell, o, refOf(cell));
      records.set(cellKey(cell.row.label, cell.kind), {
        result: verdict.result,
        problems: verdict.problems.length ? verdict.problems : undefined,
        failedAt: o.r1.failed?.id,
        message: o.r1.failed?.message,
        delivered: o.delivered,
        firstRunMs: o.r1.wallMs,
        rerunRan: o.r2?.ran,
        totalMs: o.totalMs,
      });
      assert.deepEqual(verdict.problems, []);
    });
  }
});
