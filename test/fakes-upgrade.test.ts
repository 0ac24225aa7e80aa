/**
 * The fake nodes' Talos and Kubernetes upgrades per minor: the legacy MachineService.Upgrade
 * (etcd checks, the upgrade mutex), the 1.13+ LifecycleService (no checks, drain, several nodes
 * at once), the installer's host-version rule, the A/B fallback, reboot, and upgrade-k8s.
 */
import { strict as assert } from "assert";
import YAML from "yaml";
import { at, dur, failsWith, fake, N1, N2, N3, NODES, ok, T, World } from "./fakes/testkit";

const img = (v: string, schematic = "abc") => `factory.talos.dev/installer/${schematic}:${v}`;

describe("fake talosctl: upgrade, reboot, upgrade-k8s per minor", function () {
  this.timeout(180000);
  let w: World;
  afterEach(() => w && w.done());

  const version = async (bin: string, a: string): Promise<string> =>
    JSON.parse(ok(await w.exec(bin, ["version", "--json", ...at(a), ...w.tc()]), "version").stdout).version.tag;
  const upgrade = (bin: string, a: string, image: string, ...extra: string[]) =>
    w.exec(bin, ["upgrade", ...at(a), ...w.tc(), "--image", image, "--timeout", dur(20000), ...extra]);
  const leave = async (a: string) => ok(await w.talosctl("etcd", "leave", ...at(a), ...w.tc()), `leave ${a}`);

  it("legacy (talosctl 1.12): etcd checks on the node, then install, reboot, new version and boot ID", async () => {
    w = new World({ talosVersion: "v1.12.6", delaysMs: { reboot: T(200) } });
    await w.bootstrapped({ installImage: img("v1.11.6") });
    w.cni();
    assert.equal(await version("talosctl-v1.12", N1), "v1.11.6");
    const boot = w.node(N1).bootId;
    const r = ok(await upgrade("talosctl-v1.12", N1, img("v1.12.6")), "upgrade");
    assert.match(r.stderr, /"172\.29\.51\.11": post check passed/);
    assert.equal(await version("talosctl-v1.12", N1), "v1.12.6");
    assert.notEqual(w.node(N1).bootId, boot);
    assert.equal(w.node(N1).upgradeLog![0].path, "legacy");
    // Two members left: the legacy server refuses (ValidateForUpgrade); --force skips it.
    await leave(N3);
    failsWith(
      await upgrade("talosctl-v1.12", N2, img("v1.12.6")),
      /etcd member count\(2\) is insufficient to maintain quorum if upgrade commences/,
      "two members",
    );
    assert.equal(await version("talosctl-v1.12", N2), "v1.11.6", "nothing happened");
    ok(await upgrade("talosctl-v1.12", N2, img("v1.12.6"), "--force"), "forced");
    assert.equal(await version("talosctl-v1.12", N2), "v1.12.6");
  });

  it("legacy: the upgrade mutex refuses a second control plane while the first one's checks hold it", async () => {
    w = new World({ talosVersion: "v1.12.6", delaysMs: { reboot: T(60000), upgradeCheck: T(60000) } });
    await w.bootstrapped({ installImage: img("v1.11.6") });
    w.cni();
    ok(await upgrade("talosctl-v1.12", N1, img("v1.12.6"), "--wait=false"), "first");
    failsWith(
      await upgrade("talosctl-v1.12", N2, img("v1.12.6"), "--wait=false"),
      /failed to acquire upgrade mutex/,
      "second",
    );
  });

  it("1.13+ LifecycleService: no etcd check, drain, reboot, uncordon; a 1.12 node falls back to legacy", async () => {
    w = new World({ talosVersion: "v1.13.9", delaysMs: { reboot: T(200) } });
    await w.bootstrapped({ installImage: img("v1.13.9") });
    w.cni();
    await leave(N3);
    const r = ok(await upgrade("talosctl-v1.14", N1, img("v1.14.1")), "upgrade two-member cluster");
    assert.match(r.stderr, /172\.29\.51\.11: upgrade completed/);
    assert.match(r.stderr, /mini01: cordoned[\s\S]*mini01: uncordoned/);
    assert.equal(await version("talosctl-v1.14", N1), "v1.14.1");
    assert.equal(w.node(N1).cordon, null);
    assert.equal(w.node(N1).upgradeLog![0].path, "lifecycle");
    w.done();
    w = new World({ talosVersion: "v1.12.6" });
    await w.bootstrapped({ installImage: img("v1.12.6") });
    w.cni();
    await leave(N3);
    const f = failsWith(
      await upgrade("talosctl-v1.13", N1, img("v1.13.9")),
      /etcd member count\(2\) is insufficient/,
      "legacy on a 1.12 node",
    );
    assert.match(f.stderr, /New upgrade API is not available, falling back to legacy/);
  });

  it("1.13+: several -n install and reboot together (etcd quorum lost); --no-reboot installs only", async () => {
    w = new World({ talosVersion: "v1.13.9", delaysMs: { reboot: T(300) } });
    await w.bootstrapped({ installImage: img("v1.13.9") });
    w.cni();
    const two = ok(
      await w.exec("talosctl-v1.13", [
        "upgrade",
        "--nodes",
        `${N1},${N2}`,
        "--endpoints",
        N3,
        ...w.tc(),
        "--image",
        img("v1.13.9"),
        "--timeout",
        dur(20000),
      ]),
      "two nodes",
    );
    assert.match(two.stderr, /172\.29\.51\.11: upgrade completed\n172\.29\.51\.12: upgrade completed/);
    assert.deepEqual([w.node(N1).upgrades, w.node(N2).upgrades], [1, 1]);
    assert.ok(fake.quorumViolations(w.state()).length > 0, "two of three members were down together");
    ok(await upgrade("talosctl-v1.13", N3, img("v1.14.1"), "--no-reboot"), "no-reboot");
    assert.equal(await version("talosctl-v1.13", N3), "v1.13.9", "installed, not booted");
    assert.equal(w.node(N3).nextTalos!.version, "v1.14.1");
    ok(await w.exec("talosctl-v1.13", ["reboot", ...at(N3), ...w.tc(), "--timeout", dur(20000)]), "reboot");
    assert.equal(await version("talosctl-v1.14", N3), "v1.14.1", "the next boot runs it");
  });

  it("the installer refuses an unsupported host version (per minor), nothing reboots", async () => {
    w = new World({ talosVersion: "v1.13.9" });
    await w.bootstrapped({ installImage: img("v1.13.9") });
    w.cni();
    const f = failsWith(
      await upgrade("talosctl-v1.14", N1, "ghcr.io/siderolabs/installer:v1.10.9", "--drain=false"),
      /^error during upgrade: node 172\.29\.51\.11: upgrade failed with exit code 4 \(environment error\)\nhost version 1\.13\.9 is too new to downgrade to Talos 1\.10\.9\n$/m,
      "1.14 downgrade",
    );
    assert.match(f.stderr, /172\.29\.51\.11: upgrade failed with exit code 4/);
    assert.equal(w.node(N1).reboots, 0);
    assert.equal(await version("talosctl-v1.14", N1), "v1.13.9");
    // The image must exist: 1.14 no longer publishes ghcr.io/siderolabs/installer.
    failsWith(
      await upgrade("talosctl-v1.14", N1, "ghcr.io/siderolabs/installer:v1.14.1"),
      /error pulling upgrade image: .*failed to pull image "ghcr\.io\/siderolabs\/installer:v1\.14\.1"/,
      "no ghcr 1.14 installer",
    );
    w.done();
    // Legacy: the call is accepted, the upgrade sequence fails inside the node.
    w = new World({ talosVersion: "v1.10.5" });
    await w.bootstrapped({ installImage: img("v1.10.9") });
    w.cni();
    const g = failsWith(
      await upgrade("talosctl-v1.13", N1, img("v1.13.9"), "--drain=false", "--timeout", dur(5000)),
      /sequence error: .*host version 1\.10\.9 is too old to upgrade to Talos 1\.13\.9/,
      "1.10 -> 1.13",
    );
    assert.match(g.stderr, /falling back to legacy/);
    assert.equal(w.node(N1).talos.version, "v1.10.9");
  });

  it("A/B fallback: the new version fails to boot, the node comes back on the old one; talosctl says ok", async () => {
    w = new World({ talosVersion: "v1.12.6", delaysMs: { reboot: T(200) } });
    await w.bootstrapped({ installImage: img("v1.11.6") });
    w.cni();
    fake.updateState(w.dir, (s) => {
      s.nodes[N1].failBoot = ["v1.12.6"];
    });
    ok(await upgrade("talosctl-v1.12", N1, img("v1.12.6")), "talosctl reports success");
    assert.equal(await version("talosctl-v1.12", N1), "v1.11.6", "the old version runs");
    assert.deepEqual(
      w.node(N1).fallbacks.map((f) => [f.version, f.kept]),
      [["v1.12.6", "v1.11.6"]],
    );
  });

  it("upgrade-k8s: X->X+1 only, refused before contacting a node; rewrites every node's images", async () => {
    w = new World({ talosVersion: "v1.12.6" });
    await w.bootstrapped({ installImage: img("v1.12.6") });
    const k8s = (bin: string, ...args: string[]) => w.exec(bin, ["upgrade-k8s", ...at(N1), ...w.tc(), ...args]);
    const spec = async (a: string) =>
      YAML.parseAllDocuments(
        ok(await w.talosctl("get", "machineconfig", ...at(a), ...w.tc(), "-o", "jsonpath={.spec}"), "mc").stdout,
      ).map((d) => d.toJS())[0];
    fake.powerOff(w.dir, N1);
    failsWith(
      await k8s("talosctl-v1.12", "--from", "1.33.4", "--to", "1.35.2"),
      /^unsupported upgrade path 1\.33->1\.35 \(from "1\.33\.4" to "1\.35\.2"\)\n$/,
      "two minors (both known to talosctl 1.12), node off",
    );
    failsWith(
      await k8s("talosctl-v1.12", "--from", "1.35.0", "--to", "1.36.0"),
      /^unsupported upgrade path 1\.35->1\.36/,
      "beyond talosctl 1.12's newest path",
    );
    fake.powerOn(w.dir, N1);
    await w.until(() => w.node(N1).etcdState === "serving", "N1 back");
    ok(await k8s("talosctl-v1.12", "--from", "1.34.1", "--to", "1.35.2"), "1.34 -> 1.35");
    for (const a of NODES) {
      const v = await spec(a);
      assert.equal(v.machine.kubelet.image, "ghcr.io/siderolabs/kubelet:v1.35.2", a);
      assert.equal(v.cluster.apiServer.image, "registry.k8s.io/kube-apiserver:v1.35.2", a);
      assert.equal(v.cluster.proxy.image, "registry.k8s.io/kube-proxy:v1.35.2", a);
    }
    // What the kubelets and the API servers then report (kubelet NodeInfo.KubeletVersion, GET /version)
    await w.until(() => NODES.every((a) => w.node(a).etcdState === "serving"), "static pods back");
    const kubelets = ok(
      await w.kubectl(
        ...w.kc(),
        "get",
        "nodes",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}",
      ),
      "kubelet versions",
    ).stdout;
    assert.equal(kubelets, "mini01=v1.35.2 mini02=v1.35.2 mini03=v1.35.2 ");
    const own = async () => {
      const r = await w.kubectl(...w.kc(), "--server", `https://${N2}:6443`, "get", "--raw", "/version");
      return r.code === 0 ? (JSON.parse(r.stdout).gitVersion as string) : null;
    };
    let served: string | null = null;
    for (let i = 0; i < 200 && served === null; i++) served = await own();
    assert.equal(served, "v1.35.2", "N2's own kube-apiserver");
    const hashes = NODES.map((a) => w.node(a).configHash);
    const again = ok(await k8s("talosctl-v1.12", "--to", "1.35.2"), "again");
    assert.match(again.stdout, /automatically detected the lowest Kubernetes version 1\.35\.2/);
    assert.doesNotMatch(again.stdout, /starting update/);
    assert.deepEqual(
      NODES.map((a) => w.node(a).configHash),
      hashes,
      "idempotent",
    );
    // Talos 1.12 runs Kubernetes up to 1.35: 1.36 is refused by talosctl 1.13 for these nodes.
    failsWith(
      await k8s("talosctl-v1.13", "--from", "1.35.2", "--to", "1.36.3"),
      /too new to be used with Talos 1\.12\.6/,
      "1.36 on Talos 1.12",
    );
    assert.equal((await spec(N2)).machine.kubelet.image, "ghcr.io/siderolabs/kubelet:v1.35.2");
    failsWith(
      await w.exec("talosctl-v1.14", [
        "upgrade-k8s",
        "--nodes",
        `${N1},${N2}`,
        "--endpoints",
        N1,
        ...w.tc(),
        "--to",
        "1.35.2",
      ]),
      /^command "upgrade-k8s" requires exactly one node \(got 2\)\n$/,
      "1.14 one node",
    );
  });
});
