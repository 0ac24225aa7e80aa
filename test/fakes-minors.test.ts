/**
 * The fake nodes per Talos minor (v1.10-v1.14): the per-minor talosctl entrypoints, `version
 * --insecure` in maintenance mode, etcd leave / remove-member / forfeit-leadership, reset's
 * wipe set, certificate expiry against HOMEOPS_NOW, `get machineconfig` and the schematic.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { X509Certificate } from "crypto";
import YAML from "yaml";
import { at, failsWith, N1, N2, N3, ok, World } from "./fakes/testkit";

const img = (v: string, schematic = "abc") => `factory.talos.dev/installer/${schematic}:${v}`;

describe("fake talosctl per minor: entrypoints, maintenance, etcd, reset, certificates, reads", function () {
  this.timeout(120000);
  let w: World;
  afterEach(() => w && w.done());

  it("talosctl-v1.NN is that minor's talosctl (CLI reference, version, calls.log)", async () => {
    w = new World();
    for (const [bin, v] of [
      ["talosctl-v1.10", "v1.10.5"],
      ["talosctl-v1.12", "v1.12.6"],
      ["talosctl-v1.13", "v1.13.9"],
      ["talosctl-v1.14", "v1.14.1"],
    ]) {
      const r = ok(await w.exec(bin, ["version", "--client", "--short"]), bin);
      assert.equal(r.stdout, `Client:\nTalos ${v}\n`);
    }
    // --insecure exists on reset up to 1.13 and is gone in 1.14 (cli.md per tag).
    w.expectedUsageErrors = 1;
    const r = await w.exec("talosctl-v1.14", ["reset", "--insecure", ...at(N1)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown flag: --insecure/);
    assert.deepEqual(
      w
        .calls()
        .slice(0, 4)
        .map((c) => c.client),
      ["v1.10.5", "v1.12.6", "v1.13.9", "v1.14.1"],
    );
  });

  it("version --insecure in maintenance mode: Unimplemented up to 1.12, the version from 1.13", async () => {
    w = new World({
      nodes: [
        { address: N1, hostname: "mini01", talosVersion: "v1.12.6" },
        { address: N2, hostname: "mini02", talosVersion: "v1.13.9" },
        { address: N3, hostname: "mini03", talosVersion: "v1.14.1" },
      ],
    });
    failsWith(
      await w.exec("talosctl-v1.12", ["version", "--insecure", ...at(N1)]),
      /rpc error: code = Unimplemented desc = API is not implemented in maintenance mode/,
      "1.12 maintenance",
    );
    for (const [bin, a, v] of [
      ["talosctl-v1.13", N2, "v1.13.9"],
      ["talosctl-v1.14", N3, "v1.14.1"],
    ]) {
      const r = ok(await w.exec(bin, ["version", "--insecure", ...at(a), "--json"]), `${bin} maintenance`);
      assert.equal(JSON.parse(r.stdout).version.tag, v);
    }
  });

  it("an install boots the installer image's version and schematic; version --json reads it back", async () => {
    w = new World({ talosVersion: "v1.12.6" });
    await w.configured([N1], { installImage: img("v1.12.6", "def") });
    const r = ok(await w.exec("talosctl-v1.12", ["version", "--json", ...at(N1), ...w.tc()]), "version");
    const msg = JSON.parse(r.stdout);
    assert.equal(msg.version.tag, "v1.12.6");
    assert.equal(msg.metadata.hostname, N1, "<= 1.13: proxied one-to-many, metadata present");
    const ext = ok(
      await w.exec("talosctl-v1.12", [
        "get",
        "extensions",
        ...at(N1),
        ...w.tc(),
        "-o",
        "jsonpath={.spec.metadata.version}",
      ]),
      "schematic",
    );
    assert.equal(ext.stdout, "def\n");
    const r14 = ok(await w.exec("talosctl-v1.14", ["version", "--json", ...at(N1), ...w.tc()]), "1.14 version");
    assert.equal(JSON.parse(r14.stdout).metadata, undefined, "1.14: one-to-one, no metadata");
  });

  it("get machineconfig -o jsonpath={.spec}: the running config; os:admin only", async () => {
    w = new World();
    await w.configured([N1]);
    const r = ok(
      await w.talosctl("get", "machineconfig", "v1alpha1", ...at(N1), ...w.tc(), "-o", "jsonpath={.spec}"),
      "get machineconfig",
    );
    assert.equal(r.stdout, w.node(N1).config!.text + "\n");
    const docs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
    assert.equal(docs[0].machine.network.hostname, "mini01");
    ok(
      await w.talosctl("config", "new", w.file("reader"), "--roles", "os:reader", ...at(N1), ...w.tc()),
      "reader talosconfig",
    );
    failsWith(
      await w.talosctl("get", "machineconfig", ...at(N1), "--talosconfig", w.file("reader")),
      /code = PermissionDenied desc = not authorized/,
      "reader",
    );
  });

  it("etcd leave / remove-member / forfeit-leadership", async () => {
    w = new World({ talosVersion: "v1.12.6" });
    await w.bootstrapped({ installImage: img("v1.12.6") });
    const members = async (a: string) =>
      ok(await w.talosctl("etcd", "members", ...at(a), ...w.tc()), "members")
        .stdout.trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/));
    failsWith(
      await w.talosctl("etcd", "leave", "--nodes", `${N2},${N3}`, "--endpoints", N1, ...w.tc()),
      /^command "etcd leave" is not supported with multiple nodes\n$/,
      "1.12 leave with two nodes",
    );
    failsWith(
      await w.exec("talosctl-v1.14", ["etcd", "leave", "--nodes", `${N2},${N3}`, "--endpoints", N1, ...w.tc()]),
      /^command "etcd leave" requires exactly one node \(got 2\)\n$/,
      "1.14 leave with two nodes",
    );
    // leave: the node removes its own member, stops etcd; the others see two members.
    const r = ok(await w.talosctl("etcd", "leave", ...at(N3), ...w.tc()), "leave");
    assert.equal(r.stdout, "");
    assert.deepEqual((await members(N1)).map((m) => m[2]).sort(), ["mini01", "mini02"]);
    assert.equal(w.node(N3).etcdState, "down");
    // remove-member: hexadecimal IDs only, parsed before any node is contacted.
    failsWith(
      await w.talosctl("etcd", "remove-member", "mini02", ...at(N1), ...w.tc()),
      /^error parsing member ID: error parsing etcd member id: strconv\.ParseUint: parsing "mini02": invalid syntax\n$/,
      "hostname",
    );
    failsWith(
      await w.talosctl("etcd", "remove-member", "00000000000000ff", ...at(N1), ...w.tc()),
      /code = NotFound desc = failed to remove member 255: etcdserver: member not found/,
      "unknown id",
    );
    // forfeit-leadership: the leader hands over; a no-op elsewhere.
    // etcd status on mini01: MEMBER then LEADER, both %016x.
    const leader = async () =>
      ok(await w.talosctl("etcd", "status", ...at(N1), ...w.tc()), "status").stdout.match(/\b[0-9a-f]{16}\b/g)![1];
    const before = await leader();
    const leaderNode = (await members(N1)).find((m) => m[1] === before)![3].replace(/^https:\/\/|:2380$/g, "");
    const follower = [N1, N2].find((a) => a !== leaderNode)!;
    ok(await w.talosctl("etcd", "forfeit-leadership", ...at(follower), ...w.tc()), "forfeit on a follower");
    assert.equal(await leader(), before, "a follower's forfeit changes nothing");
    ok(await w.talosctl("etcd", "forfeit-leadership", ...at(leaderNode), ...w.tc()), "forfeit");
    assert.notEqual(await leader(), before, "leadership moved");
    // remove-member of mini02 through mini01 (a healthy member): one member left.
    const id2 = (await members(N1)).find((m) => m[2] === "mini02")![1];
    ok(await w.talosctl("etcd", "remove-member", id2, ...at(N1), ...w.tc()), "remove-member");
    assert.deepEqual(
      (await members(N1)).map((m) => m[2]),
      ["mini01"],
    );
    failsWith(
      await w.talosctl("etcd", "forfeit-leadership", ...at(N1), ...w.tc()),
      /cannot forfeit leadership, only one member/,
      "single member",
    );
  });

  it("reset: ETCD is not located up to 1.13; 1.14 keeps a dedicated ETCD volume unless it is listed", async () => {
    const reset = (bin: string, a: string, labels: string[]) =>
      w.exec(bin, [
        "reset",
        ...at(a),
        ...w.tc(),
        ...labels.flatMap((l) => ["--system-labels-to-wipe", l]),
        "--reboot",
        "--graceful=false",
        "--wait=false",
      ]);
    w = new World({ talosVersion: "v1.13.9" });
    await w.bootstrapped({ installImage: img("v1.13.9") });
    failsWith(
      await reset("talosctl-v1.13", N3, ["ETCD"]),
      /failed to reset: volume "ETCD" is not located/,
      "1.13 ETCD",
    );
    w.done();
    const etcdVolume =
      "---\napiVersion: v1alpha1\nkind: VolumeConfig\nname: ETCD\nprovisioning:\n  diskSelector:\n    match: system_disk\n  minSize: 2GiB\n";
    w = new World({ talosVersion: "v1.14.1" });
    await w.configured([N1], { installImage: img("v1.14.1") });
    ok(await w.talosctl("bootstrap", ...at(N1), ...w.tc()), "bootstrap");
    await w.until(() => w.node(N1).etcdState === "serving", "etcd");
    failsWith(
      await reset("talosctl-v1.14", N1, ["ETCD"]),
      /failed to reset: volume "ETCD" resides on volume "EPHEMERAL", and therefore "ETCD" cannot be wiped without wiping "EPHEMERAL"/,
      "1.14 ETCD directory",
    );
    w.done();
    w = new World({ talosVersion: "v1.14.1" });
    await w.configured([N1], { installImage: img("v1.14.1"), patch: etcdVolume });
    ok(await w.talosctl("bootstrap", ...at(N1), ...w.tc()), "bootstrap");
    await w.until(() => w.node(N1).etcdState === "serving", "etcd");
    ok(await reset("talosctl-v1.14", N1, ["STATE", "EPHEMERAL"]), "reset STATE+EPHEMERAL");
    await w.until(() => w.node(N1).state === "maintenance", "maintenance after the STATE wipe");
    assert.notEqual(w.node(N1).etcd, null, "the dedicated ETCD partition survives");
    ok(await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")), "reinstall");
    await w.until(() => w.node(N1).state === "configured", "configured again");
    failsWith(await w.talosctl("bootstrap", ...at(N1), ...w.tc()), /code = AlreadyExists/, "old etcd data");
    ok(await reset("talosctl-v1.14", N1, ["STATE", "EPHEMERAL", "ETCD"]), "reset with ETCD");
    assert.equal(w.node(N1).etcd, null, "listed: wiped");
  });

  it("certificates: minted and checked on HOMEOPS_NOW, never past their expiry", async () => {
    w = new World();
    await w.genSecrets();
    const minted = "2026-01-10T00:00:00Z";
    ok(
      await w.exec(
        "talosctl",
        [...w.gen(), "--output-types", "talosconfig", "--output", w.file("talosconfig"), "--force"],
        { HOMEOPS_NOW: minted },
      ),
      "gen talosconfig",
    );
    const tc = YAML.parse(fs.readFileSync(w.file("talosconfig"), "utf8"));
    const crt = new X509Certificate(Buffer.from(tc.contexts["home-ops"].crt, "base64"));
    // NotBefore a minute early (the fake's skew), NotAfter a year after the injected now.
    assert.equal(new Date(crt.validFrom).toISOString(), "2026-01-09T23:59:00.000Z");
    assert.equal(new Date(crt.validTo).toISOString(), "2027-01-10T00:00:00.000Z");
    await w.genConfig("mini01");
    ok(await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")), "install");
    await w.until(() => w.node(N1).state === "configured", "up");
    const v = (now: string) => w.exec("talosctl", ["version", ...at(N1), ...w.tc()], { HOMEOPS_NOW: now });
    ok(await v("2027-01-09T23:00:00Z"), "an hour before expiry");
    failsWith(await v("2027-01-10T01:00:00Z"), /remote error: tls: expired certificate/, "an hour after");
    failsWith(await v("2026-01-09T00:00:00Z"), /remote error: tls: expired certificate/, "not yet valid");
    const kc = ok(
      await w.exec("talosctl", ["kubeconfig", "-", "--merge=false", ...at(N1), ...w.tc()], {
        HOMEOPS_NOW: "2026-06-01T00:00:00Z",
      }),
      "kubeconfig",
    );
    const user = YAML.parse(kc.stdout).users[0].user;
    const kcrt = new X509Certificate(Buffer.from(user["client-certificate-data"], "base64"));
    assert.equal(new Date(kcrt.validTo).toISOString(), "2027-06-01T00:00:00.000Z");
  });
  it("apply-config of a change that needs a reboot: 1.13 reboots, 1.14 never reboots", async () => {
    const udev = '  udev:\n    rules:\n      - SUBSYSTEM=="drm", GROUP="video"\n';
    for (const [v, bin] of [
      ["v1.13.9", "talosctl-v1.13"],
      ["v1.14.1", "talosctl-v1.14"],
    ]) {
      w = new World({ talosVersion: v, delaysMs: { reboot: 60000 } });
      await w.configured([N1], { installImage: img(v) });
      await w.genConfig("mini01", { out: "changed.yaml", patch: udev });
      const apply = () => w.exec(bin, ["apply-config", ...at(N1), ...w.tc(), "--file", w.file("changed.yaml")]);
      const r = ok(await apply(), `${v} apply`);
      if (v === "v1.13.9") {
        assert.match(r.stderr, /^Applied configuration with a reboot/);
        assert.equal(w.node(N1).state, "rebooting");
      } else {
        assert.equal(r.stderr, "Applied configuration without a reboot\n");
        assert.equal(w.node(N1).state, "configured");
        assert.equal(w.node(N1).reboots, 0);
        assert.match(w.node(N1).config!.text, /SUBSYSTEM==/);
      }
      w.done();
    }
    w = new World({ talosVersion: "v1.14.1" });
    await w.configured([N1], { installImage: img("v1.14.1") });
    failsWith(
      await w.exec("talosctl-v1.13", [
        "apply-config",
        ...at(N1),
        ...w.tc(),
        "--file",
        w.file("mini01.yaml"),
        "--mode",
        "reboot",
      ]),
      /code = Unimplemented desc = the REBOOT mode is not supported, please use AUTO or NO_REBOOT modes instead/,
      "REBOOT to a 1.14 node",
    );
  });
});
