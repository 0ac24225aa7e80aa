/**
 * The delete of a node's apply (steps/node-reset.sh) run for real under /bin/sh, against a
 * recording stand-in for talosctl and kubectl written here: every call is logged, and each answer
 * comes from the test's table (the fakes in test/fakes model etcd leave/remove-member on another
 * branch; these tests pin the script's decisions and order, not the nodes' behaviour). The
 * answers follow the real formats: `etcd members` columns NODE ID HOSTNAME PEER-URLS CLIENT-URLS
 * LEARNER with a %016x ID (talos @ v1.14.1 cmd/talosctl/cmd/talos/etcd.go, NOTES §7.5),
 * `kubectl get nodes -o name` lines `node/<name>`, gRPC's dial error for a node that is down.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeRuntimeSettings } from "../components/runtimeFiles";
import { StackConfig } from "../config/types";
import { buildPlan } from "../plan";
import { CommandStep } from "../plan/types";
import { scriptPath } from "../talos/scripts";
import { runScript } from "./sim/engine";
import { fastConfig, scratchProject } from "./helpers/simWorld";

const ID = { mini01: "1a2b3c4d5e6f7081", mini02: "2b3c4d5e6f708192", mini03: "3c4d5e6f708192a3" };
const membersText = (hosts: (keyof typeof ID)[]) =>
  "NODE           ID                 HOSTNAME   PEER URLS                   CLIENT URLS                 LEARNER\n" +
  hosts
    .map(
      (h) =>
        `172.29.51.11   ${ID[h]}   ${h}     https://172.29.51.1${h.slice(-1)}:2380   https://172.29.51.1${h.slice(-1)}:2379   false`,
    )
    .join("\n") +
  "\n";
const DIAL_ERROR =
  'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 172.29.51.13:50000: connect: connection refused"';

/** One answer: the first rule whose tool and argv words match (and whose flag condition holds). */
interface Rule {
  tool: "talosctl" | "kubectl";
  has: string[];
  when?: string;
  unless?: string;
  set?: string;
  /** Answers only the first `upTo` calls it matches. */
  upTo?: number;
  exit?: number;
  stdout?: string;
  stderr?: string;
}

const STUB = `
const fs = require("fs"), path = require("path");
const dir = process.env.STUB_DIR, tool = process.argv[2], argv = process.argv.slice(3);
fs.appendFileSync(path.join(dir, "calls.log"), JSON.stringify({ tool, argv }) + "\\n");
const flags = fs.existsSync(path.join(dir, "flags")) ? fs.readFileSync(path.join(dir, "flags"), "utf8").split("\\n") : [];
const rules = JSON.parse(fs.readFileSync(path.join(dir, "rules.json"), "utf8"));
for (const [i, r] of rules.entries()) {
  if (r.tool !== tool || !r.has.every((w) => argv.includes(w))) continue;
  if (r.when && !flags.includes(r.when)) continue;
  if (r.unless && flags.includes(r.unless)) continue;
  if (r.upTo !== undefined && flags.filter((f) => f === "#" + i).length >= r.upTo) continue;
  if (r.upTo !== undefined) fs.appendFileSync(path.join(dir, "flags"), "#" + i + "\\n");
  if (r.set) fs.appendFileSync(path.join(dir, "flags"), r.set + "\\n");
  process.stdout.write(r.stdout || ""); process.stderr.write(r.stderr || "");
  process.exit(r.exit || 0);
}
process.exit(0);
`;

interface Run {
  code: number;
  stderr: string;
  calls: { tool: string; argv: string[] }[];
}

/** Runs the delete of `hostname`'s apply (env of `applied`) with the settings of `now`. */
async function deleteApply(applied: StackConfig, now: StackConfig, hostname: string, rules: Rule[]): Promise<Run> {
  const project = scratchProject("homeops-removal-");
  const stubs = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-removal-stubs-"));
  try {
    fs.writeFileSync(path.join(stubs, "stub.js"), STUB);
    for (const tool of ["talosctl", "kubectl"]) {
      fs.writeFileSync(path.join(stubs, tool), `#!/bin/sh\nexec node "${stubs}/stub.js" ${tool} "$@"\n`, {
        mode: 0o755,
      });
    }
    fs.writeFileSync(path.join(stubs, "rules.json"), JSON.stringify(rules));
    const plan = buildPlan(now);
    writeRuntimeSettings(project, {
      ...plan,
      settings: { ...plan.settings, TALOSCTL: path.join(stubs, "talosctl"), KUBECTL: path.join(stubs, "kubectl") },
    });
    const step = buildPlan(applied).steps.find((s) => s.id === `apply-${hostname}`) as CommandStep;
    const r = await runScript(scriptPath(step.deleteScript!), step.env, "bundle: not a real one\n", {
      projectDir: project,
      fakeDir: stubs,
      env: { STUB_DIR: stubs },
      stepTimeoutMs: 600000,
    });
    const log = path.join(stubs, "calls.log");
    const calls = fs.existsSync(log)
      ? fs
          .readFileSync(log, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Run["calls"][number])
      : [];
    return { code: r.code ?? -1, stderr: r.stderr, calls };
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(stubs, { recursive: true, force: true });
  }
}

const dropping = (cfg: StackConfig, hostname: string): StackConfig => ({
  ...cfg,
  nodes: cfg.nodes.filter((n) => n.hostname !== hostname),
});
const listing = (cfg: StackConfig, reset: string[]): StackConfig => ({
  ...cfg,
  operations: { ...cfg.operations, resetOnDestroy: reset },
});
const withMinor = (cfg: StackConfig, minor: StackConfig["talos"]["minor"]): StackConfig => ({
  ...cfg,
  talos: { ...cfg.talos, minor },
});

/** The words of each call: `talosctl etcd leave @172.29.51.13`, `kubectl drain mini03`. */
function summary(calls: Run["calls"]): string[] {
  return calls
    .filter((c) => !(c.tool === "talosctl" && c.argv[0] === "gen"))
    .map((c) => {
      const at = c.argv.indexOf("--nodes");
      const node = at >= 0 ? ` @${c.argv[at + 1]}` : "";
      const words = c.argv.filter(
        (a, i) =>
          !a.startsWith("-") && !c.argv[i - 1]?.match(/^(--nodes|--endpoints|--talosconfig|--kubeconfig|--output|-o)$/),
      );
      return `${c.tool} ${words.join(" ")}${node}`;
    });
}

/** A healthy cluster of mini01-03 whose mini03 answers and leaves etcd when asked. */
function healthyCluster(): Rule[] {
  return [
    { tool: "talosctl", has: ["leave"], set: "left" },
    { tool: "talosctl", has: ["remove-member"], set: "left" },
    { tool: "talosctl", has: ["members"], when: "left", stdout: membersText(["mini01", "mini02"]) },
    { tool: "talosctl", has: ["members"], stdout: membersText(["mini01", "mini02", "mini03"]) },
    { tool: "talosctl", has: ["kubeconfig"], stdout: "apiVersion: v1\nkind: Config\n" },
    { tool: "talosctl", has: ["apply-config", "--dry-run"], stderr: "Config diff:\n\nNo changes.\n" },
    { tool: "talosctl", has: ["machinestatus", "--insecure"], stdout: "maintenance" },
    { tool: "kubectl", has: ["delete", "node"], set: "deleted" },
    { tool: "kubectl", has: ["get", "nodes"], when: "deleted", stdout: "node/mini01\nnode/mini02\n" },
    { tool: "kubectl", has: ["get", "nodes"], stdout: "node/mini01\nnode/mini02\nnode/mini03\n" },
  ];
}

describe("removing a node from the stack: the delete of its apply (steps/node-reset.sh)", function () {
  this.timeout(600000);
  const cfg = fastConfig();

  it("a control plane gone from homeops:nodes: lock, remaining etcd serving, forfeit and leave on the node, cordon, drain, delete node; no reset unless listed", async () => {
    const r = await deleteApply(cfg, dropping(cfg, "mini03"), "mini03", healthyCluster());
    assert.equal(r.code, 0, r.stderr);
    const calls = summary(r.calls);
    assert.deepEqual(
      calls.filter(
        (c) =>
          !c.startsWith("talosctl etcd members") &&
          !c.startsWith("kubectl get nodes") &&
          !c.includes("kubeconfig") &&
          !c.startsWith("talosctl version"),
      ),
      [
        "talosctl etcd forfeit-leadership @172.29.51.13",
        "talosctl etcd leave @172.29.51.13",
        "kubectl cordon mini03",
        "kubectl drain mini03",
        "kubectl delete node mini03",
      ],
    );
    // The remaining members were asked before anything changed; mini03's own etcd never was.
    assert.ok(
      calls.indexOf("talosctl etcd members @172.29.51.11") <
        calls.indexOf("talosctl etcd forfeit-leadership @172.29.51.13"),
    );
    assert.ok(!calls.includes("talosctl etcd members @172.29.51.13"));
    // End checks: etcd asked again after the leave, the node list after the delete.
    assert.ok(
      calls.lastIndexOf("talosctl etcd members @172.29.51.11") > calls.indexOf("talosctl etcd leave @172.29.51.13"),
    );
    assert.ok(calls.lastIndexOf("kubectl get nodes") > calls.indexOf("kubectl delete node mini03"));
    assert.ok(!r.calls.some((c) => c.argv[0] === "reset"), "not listed for reset");
    assert.match(r.stderr, /removing mini03 \(172\.29\.51\.13\) from the cluster: it left homeops:nodes/);
    assert.match(r.stderr, /mini03 left etcd \(member 3c4d5e6f708192a3\)/);
    const drain = r.calls.find((c) => c.argv.includes("drain"))!.argv;
    assert.ok(drain.includes("--ignore-daemonsets") && drain.some((a) => /^--timeout=\d+s$/.test(a)), drain.join(" "));
  });

  it("a control plane that does not answer: its member is removed by its hex ID through a remaining control plane", async () => {
    const rules: Rule[] = [
      { tool: "talosctl", has: ["172.29.51.13", "forfeit-leadership"], exit: 1, stderr: DIAL_ERROR },
      { tool: "talosctl", has: ["version", "172.29.51.13"], exit: 1, stderr: DIAL_ERROR },
      ...healthyCluster(),
    ];
    const r = await deleteApply(cfg, dropping(cfg, "mini03"), "mini03", rules);
    assert.equal(r.code, 0, r.stderr);
    // Not drained (its pods cannot end: drain would wait until it times out); its Node is deleted.
    assert.deepEqual(
      summary(r.calls).filter((c) => /cordon|drain|delete/.test(c)),
      ["kubectl cordon mini03", "kubectl delete node mini03"],
    );
    assert.match(r.stderr, /not draining mini03: it does not answer \(.*connection refused/);
    const remove = r.calls.filter((c) => c.argv.includes("remove-member"));
    assert.equal(remove.length, 1);
    assert.deepEqual(remove[0].argv.slice(0, 5), ["etcd", "remove-member", ID.mini03, "--nodes", "172.29.51.11"]);
    assert.ok(!r.calls.some((c) => c.argv.includes("leave")));
    assert.match(
      r.stderr,
      /could not leave etcd itself .*connection refused.*removing member 3c4d5e6f708192a3 through 172\.29\.51\.11/,
    );
  });

  it("never takes an unreadable member list for 'not a member': it fails and removes nothing", async () => {
    const rules: Rule[] = [
      {
        tool: "talosctl",
        has: ["members", "172.29.51.11"],
        upTo: 1,
        stdout: membersText(["mini01", "mini02", "mini03"]),
      },
      { tool: "talosctl", has: ["members", "172.29.51.11"], exit: 1, stderr: "rpc error: code = DeadlineExceeded" },
      ...healthyCluster(),
    ];
    const r = await deleteApply(cfg, dropping(cfg, "mini03"), "mini03", rules);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot list etcd members on 172\.29\.51\.11/);
    assert.ok(
      !r.calls.some((c) =>
        ["leave", "remove-member", "forfeit-leadership", "drain", "delete"].some((w) => c.argv.includes(w)),
      ),
    );
  });

  it("refuses to start while a remaining control plane's etcd does not serve (waits, then fails naming it)", async () => {
    const rules: Rule[] = [
      { tool: "talosctl", has: ["members", "172.29.51.12"], exit: 1, stderr: DIAL_ERROR.replace("13", "12") },
      ...healthyCluster(),
    ];
    const r = await deleteApply(cfg, dropping(cfg, "mini03"), "mini03", rules);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /every remaining control plane's etcd serving before mini03 leaves not reached .*etcd on 172\.29\.51\.12/,
    );
    assert.ok(!r.calls.some((c) => ["leave", "forfeit-leadership", "drain"].some((w) => c.argv.includes(w))));
  });

  it("a worker leaves Kubernetes only: no etcd call changes anything", async () => {
    const withWorker: StackConfig = {
      ...cfg,
      nodes: cfg.nodes.map((n) => (n.hostname === "mini03" ? { ...n, role: "worker" as const } : n)),
    };
    const r = await deleteApply(withWorker, dropping(withWorker, "mini03"), "mini03", healthyCluster());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.calls.some((c) => ["leave", "forfeit-leadership", "remove-member"].some((w) => c.argv.includes(w))));
    assert.deepEqual(
      summary(r.calls).filter((c) => /cordon|drain|delete/.test(c)),
      ["kubectl cordon mini03", "kubectl drain mini03", "kubectl delete node mini03"],
    );
  });

  for (const [minor, labels] of [
    ["v1.13", ["STATE", "EPHEMERAL"]],
    ["v1.14", ["STATE", "EPHEMERAL", "ETCD", "CRI", "KUBELET", "LOG"]],
  ] as const) {
    it(`listed for reset on Talos ${minor}: reset after the removal, not graceful, wiping ${labels.join(", ")}, never a user volume; done in maintenance mode`, async () => {
      const applied = withMinor(cfg, minor);
      const r = await deleteApply(
        applied,
        listing(dropping(applied, "mini03"), ["mini03"]),
        "mini03",
        healthyCluster(),
      );
      assert.equal(r.code, 0, r.stderr);
      const resets = r.calls.filter((c) => c.argv[0] === "reset");
      assert.equal(resets.length, 1);
      const argv = resets[0].argv;
      const wiped = argv.flatMap((a, i) => (argv[i - 1] === "--system-labels-to-wipe" ? [a] : []));
      assert.deepEqual(wiped, labels);
      assert.ok(argv.includes("--graceful=false") && argv.includes("--reboot"), argv.join(" "));
      assert.ok(!argv.some((a) => /user-disks|wipe-mode|^u-/.test(a)), argv.join(" "));
      const at = (w: string) => r.calls.findIndex((c) => c.argv.includes(w));
      assert.ok(
        at("leave") < at("reset") && at("delete") < at("reset"),
        "the reset comes after etcd and Kubernetes let it go",
      );
      assert.match(r.stderr, /reset mini03 \(system volumes of Talos v1\.1[34] wiped, back in maintenance mode\)/);
    });
  }

  it("pulumi destroy (the inventory still lists the node): nothing leaves etcd or Kubernetes, nothing is called", async () => {
    const r = await deleteApply(cfg, cfg, "mini03", healthyCluster());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, []);
    assert.match(r.stderr, /leaving mini03 as it is \(not listed in operations\.resetOnDestroy\)/);
  });

  it("a rename (the hostname gone, its address still in the inventory) is no removal", async () => {
    const renamed: StackConfig = {
      ...cfg,
      nodes: cfg.nodes.map((n) => (n.hostname === "mini03" ? { ...n, hostname: "mini03b" } : n)),
    };
    const r = await deleteApply(cfg, renamed, "mini03", healthyCluster());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, []);
  });
});
