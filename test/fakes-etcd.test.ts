/**
 * The fake nodes' etcd: per-node data directories, bootstrap, joins, quorum, what `etcd members`
 * and `etcd status` answer, resets, stale data, and the downtime record with quorumViolations.
 */
import { strict as assert } from "assert";
import { at, failsWith, fake, N1, N2, N3, NODES, ok, sleep, T, World } from "./fakes/testkit";

describe("fake talosctl: etcd", function () {
  this.timeout(30000);
  let w: World;
  beforeEach(() => (w = new World({ nodeHangMs: 300 })));
  afterEach(() => w.done());

  const members = (a: string) => w.talosctl("etcd", "members", ...at(a), ...w.tc());
  const status = (a: string) => w.talosctl("etcd", "status", ...at(a), ...w.tc());
  const bootstrap = (a: string) => w.talosctl("bootstrap", ...at(a), ...w.tc());
  const reset = (a: string, graceful: boolean, labels = ["STATE", "EPHEMERAL"]) =>
    w.talosctl(
      "reset",
      ...at(a),
      ...w.tc(),
      ...labels.flatMap((l) => ["--system-labels-to-wipe", l]),
      "--reboot",
      `--graceful=${graceful}`,
      "--wait=false",
    );

  it("bootstrap: per node; AlreadyExists once its own data directory is not empty", async () => {
    await w.configured();
    fake.setDelays(w.dir, { cri: 60000, bootstrap: T(300) });
    failsWith(
      await bootstrap(N1),
      /^error executing bootstrap: 1 error occurred:\n\t\* 172\.29\.51\.11: rpc error: code = FailedPrecondition desc = bootstrap is not available yet\n\n\n$/,
      "before CRI is up",
    );
    fake.setDelays(w.dir, { cri: 0 });
    ok(await bootstrap(N1), "bootstrap");
    const again = failsWith(await bootstrap(N1), /AlreadyExists/, "second bootstrap");
    assert.equal(
      again.stderr,
      "error executing bootstrap: 1 error occurred:\n\t* 172.29.51.11: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n\n\n",
    );
    await w.until(() => w.node(N2).etcdState === "serving", "mini02 joined");
    failsWith(await bootstrap(N2), /AlreadyExists/, "a joined node has data too");
    const s = w.state();
    assert.deepEqual(
      [s.cluster.bootstrapCount, s.cluster.bootstrapAlreadyExists, s.nodes[N1].alreadyExists],
      [1, 2, 1],
    );
    assert.equal(Object.keys(s.etcd.clusters).length, 1);
  });

  it("bootstrap on a worker: FailedPrecondition", async () => {
    w.done();
    w = new World({
      nodes: [
        { address: N1, hostname: "mini01" },
        { address: "172.29.51.14", hostname: "worker01" },
      ],
    });
    await w.genSecrets();
    await w.genTalosconfig();
    await w.genConfig("worker01", { type: "worker" });
    ok(
      await w.talosctl("apply-config", ...at("172.29.51.14"), "--insecure", "--file", w.file("worker01.yaml")),
      "install worker",
    );
    await w.until(() => w.node("172.29.51.14").stage === "running", "a worker boots straight to running");
    failsWith(
      await bootstrap("172.29.51.14"),
      /code = FailedPrecondition desc = bootstrap can only be performed on a control plane node/,
      "worker",
    );
    failsWith(
      await members("172.29.51.14"),
      /^error getting members: 1 error occurred:\n\t\* 172\.29\.51\.14: rpc error: code = Unimplemented desc = member list is only available on control plane nodes\n/,
      "members on a worker",
    );
  });

  it("etcd members asks the node's local etcd: it hangs while none listens, lists members once it serves", async () => {
    fake.setDelays(w.dir, { etcdJoin: T(2000) });
    await w.configured();
    const hung = failsWith(await members(N1), /context deadline exceeded/, "no etcd before bootstrap");
    assert.ok(hung.ms >= 300, `hung for nodeHangMs (${hung.ms} ms)`);
    // The call a script's watchdog ends: a hang that lasts until its caller ends it.
    fake.writeConfig(w.dir, { ...fake.readConfig(w.dir), nodeHangMs: 3600000 });
    const cancelled = await w.execThenTerm("talosctl", ["etcd", "members", ...at(N2), ...w.tc()]);
    fake.writeConfig(w.dir, { ...fake.readConfig(w.dir), nodeHangMs: 300 });
    assert.equal(cancelled.code, 1);
    assert.equal(
      cancelled.stderr,
      "Signal received, aborting, press Ctrl+C once again to abort immediately...\nerror getting members: rpc error: code = Canceled desc = context canceled\n",
    );
    assert.equal(w.calls().pop()!.killed, "SIGTERM");
    ok(await bootstrap(N1), "bootstrap");
    const list = ok(await members(N1), "members").stdout.split("\n");
    assert.equal(
      list[0],
      "NODE           ID                 HOSTNAME   PEER URLS                   CLIENT URLS                 LEARNER",
    );
    assert.match(
      list[1],
      /^172\.29\.51\.11 {3}[0-9a-f]{16} {3}mini01 {5}https:\/\/172\.29\.51\.11:2380 {3}https:\/\/172\.29\.51\.11:2379 {3}false$/,
    );
    // mini02/03 joined as learners; a learner's etcd refuses MemberList (etcd v3rpc interceptor).
    failsWith(
      await members(N2),
      /rpc error: code = Unavailable desc = etcdserver: rpc not supported for learner/,
      "learner",
    );
    assert.match(ok(await status(N2), "status of a learner").stdout, / true {6}3\.5\.0 {6}3\.5\.0 {5}\n$/);
    assert.match(ok(await members(N1), "members").stdout, /mini02 .* true\n/);
    await w.until(() => w.node(N2).etcdState === "serving", "promoted");
    assert.equal(
      ok(await members(N3), "from mini03")
        .stdout.trim()
        .split("\n").length,
      4,
    );
  });

  it("without quorum: members fails with no leader, status still answers with leader 0", async () => {
    await w.bootstrapped();
    fake.powerOff(w.dir, N2);
    fake.powerOff(w.dir, N3);
    const r = failsWith(await members(N1), /no leader/, "members without quorum");
    assert.equal(
      r.stderr,
      "error getting members: 1 error occurred:\n\t* 172.29.51.11: rpc error: code = Unavailable desc = etcdserver: no leader\n\n\n",
    );
    const st = ok(await status(N1), "status").stdout.split("\n");
    assert.equal(
      st[0],
      "NODE           MEMBER             DB SIZE   IN USE            LEADER             RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   PROTOCOL   STORAGE   ERRORS",
    );
    assert.match(st[1], /^172\.29\.51\.11 {3}[0-9a-f]{16} .* 0000000000000000 /);
    failsWith(await status(N2), /connection refused/, "a powered-off node");
    fake.powerOn(w.dir, N2);
    ok(await members(N1), "quorum is back");
  });

  it("a graceful reset leaves etcd; a non-graceful one leaves a stale member that the node replaces when it rejoins", async () => {
    fake.setDelays(w.dir, { reboot: T(200) });
    await w.bootstrapped();
    ok(await reset(N3, true), "graceful reset");
    assert.equal(
      ok(await members(N1), "members")
        .stdout.trim()
        .split("\n").length,
      3,
      "mini03 left",
    );
    await w.until(() => w.node(N3).stage === "maintenance", "back in maintenance");
    ok(await w.talosctl("apply-config", ...at(N3), "--insecure", "--file", w.file("mini03.yaml")), "reinstall");
    await w.until(() => w.node(N3).etcdState === "serving", "rejoined");
    ok(await reset(N2, false), "non-graceful reset");
    const stale = ok(await members(N1), "members").stdout;
    assert.match(stale, /mini02/, "a stale member stays behind");
    assert.deepEqual(
      w
        .state()
        .downtime.filter((d) => d.to == null)
        .map((d) => d.hostname),
      ["mini02"],
    );
    await w.until(() => w.node(N2).stage === "maintenance", "mini02 in maintenance");
    ok(await w.talosctl("apply-config", ...at(N2), "--insecure", "--file", w.file("mini02.yaml")), "reinstall mini02");
    await w.until(() => w.node(N2).etcdState === "serving", "mini02 rejoined");
    const after = ok(await members(N1), "members")
      .stdout.trim()
      .split("\n");
    assert.equal(
      after.filter((l) => / mini02 /.test(l)).length,
      1,
      "the stale member was replaced (services/etcd.go addMember)",
    );
    assert.ok(
      w.state().downtime.every((d) => d.to != null),
      "the stale member's downtime ended when it was removed",
    );
  });

  it("a graceful reset etcd refuses (last member) stops the reset: the node keeps running", async () => {
    await w.configured([N1]);
    ok(await bootstrap(N1), "bootstrap");
    await w.until(() => w.node(N1).etcdState === "serving", "serving");
    ok(await reset(N1, true), "the reply comes before the sequence");
    const n = w.node(N1);
    assert.equal(n.stage, "running");
    assert.match(
      n.lastReset!.outcome,
      /leave failed: etcdserver: re-configuration failed due to not enough started members/,
    );
    failsWith(await reset(N1, true, []), /REFUSED \(test oracle\)/, "label-less reset");
    failsWith(
      await w.talosctl(
        "reset",
        ...at(N1),
        ...w.tc(),
        "--system-labels-to-wipe",
        "STATE",
        "--wipe-mode",
        "all",
        "--reboot",
        "--wait=false",
      ),
      /REFUSED/,
      "wipe-mode all",
    );
  });

  it("stale data of another cluster: AlreadyExists on bootstrap, no leader, the node stays booting", async () => {
    await w.configured();
    fake.giveStaleEtcdData(w.dir, N1);
    failsWith(await bootstrap(N1), /AlreadyExists desc = etcd data directory is not empty/, "stale data");
    failsWith(await members(N1), /etcdserver: no leader/, "its etcd has no quorum");
    ok(await bootstrap(N2), "another node can bootstrap");
    await w.until(() => w.node(N3).etcdState === "serving", "mini03 joined mini02");
    assert.equal(w.node(N1).stage, "booting", "the stale node never joins");
    fake.toMaintenance(w.dir, N1, { keepEtcdData: false });
    ok(
      await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")),
      "reinstall with an empty disk",
    );
    await w.until(() => w.node(N1).etcdState === "serving", "mini01 joined");
  });

  it("maintenance keeping the etcd data: after the install the member comes back with its data", async () => {
    await w.bootstrapped();
    fake.toMaintenance(w.dir, N3, { keepEtcdData: true });
    ok(await members(N1), "quorum with two of three");
    ok(await w.talosctl("apply-config", ...at(N3), "--insecure", "--file", w.file("mini03.yaml")), "re-apply");
    await w.until(() => w.node(N3).etcdState === "serving", "back with its data");
    assert.equal(
      ok(await members(N1), "members")
        .stdout.trim()
        .split("\n").length,
      4,
    );
    const d = w.state().downtime;
    assert.equal(d.length, 1);
    assert.ok(d[0].to! >= d[0].from);
  });

  it("records each member's downtime and finds every moment two were down together", async () => {
    fake.setDelays(w.dir, { reboot: T(700) });
    await w.bootstrapped();
    // --wait=false: the tracker would wait for MachineStatus ready, which needs a CNI (no Cilium here).
    const reboot = (a: string) => w.talosctl("reboot", ...at(a), ...w.tc(), "--wait=false");
    ok(await reboot(N1), "reboot mini01");
    await w.until(() => w.node(N1).etcdState === "serving", "mini01 back");
    ok(await reboot(N2), "reboot mini02");
    await w.until(() => w.node(N2).etcdState === "serving", "mini02 back");
    assert.deepEqual(fake.quorumViolations(w.state()), [], "one at a time");
    ok(await reboot(N2), "reboot mini02");
    await sleep(T(100));
    ok(await reboot(N3), "reboot mini03 while mini02 is down");
    const during = fake.quorumViolations(w.state());
    assert.equal(during.length, 1);
    assert.deepEqual(during[0].members, ["mini02", "mini03"]);
    await w.until(() => NODES.every((a) => w.node(a).etcdState === "serving"), "all back");
    const v = fake.quorumViolations(w.state());
    assert.equal(v.length, 1);
    assert.ok(v[0].to! - v[0].from >= T(200) && v[0].to! - v[0].from <= T(600), `overlap ${v[0].to! - v[0].from} ms`);
    assert.equal(w.state().downtime.length, 4);
  });
});
