/**
 * The fake talosctl against one node: maintenance mode, TLS answers, install, boot stages,
 * MachineStatus, and apply-config in every mode (talos-node-behaviour.md; each behaviour is cited
 * in test/fakes/lib/talos/*.js).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { at, failsWith, fake, N1, N2, ok, sleep, T, World } from "./fakes/testkit";

const REFUSED =
  /rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 172\.29\.51\.11:50000: connect: connection refused"/;
const UNKNOWN_CA =
  'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"';

describe("fake talosctl: a node", function () {
  this.timeout(30000);
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.done());

  describe("maintenance mode", () => {
    it("answers like the maintenance service (reference table)", async () => {
      await w.genSecrets();
      await w.genTalosconfig();
      const v = failsWith(await w.talosctl("version", ...at(N1), "--insecure"), /./, "version --insecure");
      assert.equal(
        v.stderr,
        "error getting version: rpc error: code = Unimplemented desc = API is not implemented in maintenance mode\n",
      );
      assert.match(v.stdout, /^Client:\n[\s\S]*Server:\n$/);
      const stage = ok(
        await w.talosctl("get", "machinestatus", ...at(N1), "--insecure", "-o", "jsonpath={.spec.stage}"),
        "stage",
      );
      assert.equal(stage.stdout, "maintenance\n");
      const disks = ok(await w.talosctl("get", "disks", ...at(N1), "--insecure"), "disks").stdout.split("\n");
      assert.match(
        disks[0],
        /^NODE {3}NAMESPACE {3}TYPE {3}ID {8}VERSION {3}SIZE {5}READ ONLY {3}TRANSPORT {3}ROTATIONAL {3}WWID {3}MODEL {15}SERIAL$/,
      );
      assert.match(disks[1], /^ {7}runtime {5}Disk {3}nvme0n1 .* 251 GB .* nvme .* APPLE SSD AP0256M/);
      assert.match(disks[2], /sda .* 1\.0 TB .* usb .* Portable SSD T5/);
      const auth = failsWith(
        await w.talosctl("get", "machinestatus", ...at(N1), ...w.tc()),
        /x509/,
        "talosconfig against maintenance",
      );
      assert.equal(auth.stderr, `${UNKNOWN_CA}\n`);
      failsWith(
        await w.talosctl("version", ...at(N1), ...w.tc()),
        /^error getting version: rpc error: code = Unavailable .*x509: certificate signed by unknown authority"\n$/,
        "version",
      );
      failsWith(
        await w.talosctl("version", ...at("172.29.51.99"), "--insecure"),
        /dial tcp 172\.29\.51\.99:50000: connect: connection refused/,
        "no such node",
      );
    });

    it("apply-config --insecure: exit 0 with nothing printed, installing (refused), then booted with the config", async () => {
      fake.setDelays(w.dir, { install: T(600) });
      await w.genSecrets();
      await w.genTalosconfig();
      await w.genConfig("mini01");
      const dry = ok(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml"), "--dry-run"),
        "dry run",
      );
      assert.equal(
        dry.stderr,
        "Dry run summary:\nNode is running in maintenance mode and does not have a config yet.\n",
      );
      failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml"), "--mode", "staged"),
        /^error applying new configuration: rpc error: code = Unimplemented desc = apply configuration --mode='staged' is not supported in maintenance mode\n$/,
        "staged in maintenance",
      );
      const r = ok(await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")), "apply");
      assert.deepEqual([r.stdout, r.stderr], ["", ""]);
      assert.equal(w.node(N1).stage, "installing");
      failsWith(await w.talosctl("version", ...at(N1), "--insecure"), REFUSED, "installing");
      await sleep(T(650));
      assert.equal(w.node(N1).appliedHostname, "mini01");
      const v = ok(await w.talosctl("version", ...at(N1), ...w.tc()), "authenticated version");
      assert.match(v.stdout, /\tNODE: {8}172\.29\.51\.11\n\tTag: {9}v1\.11\.6\n/);
      const ins = failsWith(
        await w.talosctl("get", "machinestatus", ...at(N1), "--insecure"),
        /certificate required/,
        "insecure to a configured node",
      );
      assert.equal(
        ins.stderr,
        'rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: tls: certificate required"\n',
      );
      await w.genSecrets("other.yaml");
      await w.genTalosconfig("other-talosconfig", "other.yaml");
      const foreign = await w.talosctl("get", "machinestatus", ...at(N1), "--talosconfig", w.file("other-talosconfig"));
      assert.equal(foreign.stderr, `${UNKNOWN_CA}\n`, "another cluster's talosconfig");
    });

    it("rejects a config the node cannot load, with the maintenance service's codes", async () => {
      fs.writeFileSync(w.file("junk.yaml"), "machine: [unclosed\n");
      failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("junk.yaml")),
        /^error applying new configuration: rpc error: code = Unknown desc = failed to parse config: /,
        "junk",
      );
      fs.writeFileSync(w.file("empty-machine.yaml"), "version: v1alpha1\nmachine:\n  type: controlplane\n");
      failsWith(
        await w.talosctl("apply-config", ...at(N1), "--insecure", "--file", w.file("empty-machine.yaml")),
        /code = InvalidArgument desc = configuration validation failed: 3 errors occurred:\n\t\* cluster instructions are required/,
        "invalid",
      );
      assert.equal(w.node(N1).state, "maintenance");
    });
  });

  describe("a configured node", () => {
    it("boots (booting), runs once etcd serves; MachineStatus stage/ready, jsonpath printed one result per line", async () => {
      await w.configured();
      const status = (a: string) =>
        w.talosctl("get", "machinestatus", ...at(a), ...w.tc(), "-o", "jsonpath={.spec.stage} {.spec.status.ready}");
      // talosctl prints every FindResults group on its own line, the " " text node too
      // (cmd/talosctl/cmd/talos/output/jsonpath.go @ v1.10.5).
      assert.equal(ok(await status(N1), "status").stdout, "booting\n \nfalse\n");
      const y = ok(await w.talosctl("get", "machinestatus", ...at(N1), ...w.tc(), "-o", "yaml"), "yaml").stdout;
      assert.match(
        y,
        /^node: 172\.29\.51\.11\nmetadata:\n {4}namespace: runtime\n {4}type: MachineStatuses\.runtime\.talos\.dev\n/,
      );
      assert.match(y, /unmetConditions:\n {12}- name: services\n {14}reason: etcd not running\n/);
      const j = JSON.parse(
        ok(await w.talosctl("get", "machinestatus", ...at(N1), ...w.tc(), "-o", "json"), "json").stdout,
      );
      assert.deepEqual([j.node, j.spec.stage, j.spec.status.ready], [N1, "booting", false]);
      const table = ok(await w.talosctl("get", "machinestatus", ...at(N1), ...w.tc()), "table").stdout;
      assert.equal(
        table,
        "NODE           NAMESPACE   TYPE            ID        VERSION   STAGE     READY\n" +
          "172.29.51.11   runtime     MachineStatus   machine   1         booting   false\n",
      );
      ok(await w.talosctl("bootstrap", ...at(N1), ...w.tc()), "bootstrap");
      // BootstrapEtcd marks etcd Finished, which ends the boot wait at once on that node only.
      assert.equal(ok(await status(N1), "bootstrap node").stdout, "running\n \nfalse\n");
      await w.until(() => w.node(N2).stage === "running", "mini02 joined and booted");
      failsWith(
        await w.talosctl("get", "machinestatus", ...at(N1), ...w.tc(), "-o", "jsonpath={.spec.nope}"),
        /^error finding result for jsonpath: nope is not found\n$/,
        "missing key",
      );
      failsWith(
        await w.talosctl("get", "frobs", ...at(N1), ...w.tc()),
        /^rpc error: code = NotFound desc = resource "frobs" is not registered\n$/,
        "unknown type",
      );
    });

    it("is ready only when running and its Kubernetes node is Ready (Cilium rolled out)", async () => {
      await w.bootstrapped();
      const ready = async () =>
        ok(
          await w.talosctl("get", "machinestatus", ...at(N2), ...w.tc(), "-o", "jsonpath={.spec.status.ready}"),
          "ready",
        ).stdout;
      assert.equal(await ready(), "false\n");
      const j = JSON.parse(
        ok(await w.talosctl("get", "machinestatus", ...at(N2), ...w.tc(), "-o", "json"), "json").stdout,
      );
      assert.deepEqual(j.spec.status.unmetConditions, [{ name: "nodeReady", reason: 'node "mini02" is not ready' }]);
      fake.createK8sObject(w.dir, {
        kind: "HelmRelease(pulumi)",
        metadata: { name: "cilium", namespace: "kube-system" },
      });
      assert.equal(await ready(), "true\n");
    });
  });

  describe("apply-config on a configured node", () => {
    const apply = (file: string, ...extra: string[]) =>
      w.talosctl("apply-config", ...at(N1), ...w.tc(), "--file", w.file(file), ...extra);

    beforeEach(async () => {
      fake.setDelays(w.dir, { reboot: T(1000) });
      await w.configured();
    });

    it("same config, or a live-applicable change: without a reboot, on stderr", async () => {
      const same = ok(await apply("mini01.yaml", "--mode", "auto"), "same");
      assert.deepEqual([same.stdout, same.stderr], ["", "Applied configuration without a reboot\n"]);
      await w.genConfig("mini01", { out: "live.yaml", patch: '  sysctls:\n    vm.dirty_ratio: "5"\n' });
      const dry = ok(await apply("live.yaml", "--dry-run"), "dry run");
      assert.match(
        dry.stderr,
        /^Dry run summary:\nApplied configuration without a reboot \(skipped in dry-run\)\.\nConfig diff:\n\n--- a\n\+\+\+ b\n@@ .* @@\n[\s\S]*\+ {8}vm\.dirty_ratio: "5"\n/,
      );
      assert.equal(ok(await apply("live.yaml"), "live").stderr, "Applied configuration without a reboot\n");
      assert.equal(w.node(N1).state, "configured");
      assert.equal(
        ok(await apply("live.yaml", "--dry-run"), "dry").stderr,
        "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\nConfig diff:\n\nNo changes.\n",
      );
    });

    it("a change that needs a reboot: auto reboots after replying; the running config changes when the reboot is over", async () => {
      await w.genConfig("mini01", {
        out: "udev.yaml",
        patch: '  udev:\n    rules:\n      - SUBSYSTEM=="block", ATTR{queue/rotational}="0"\n',
      });
      const dry = ok(await apply("udev.yaml", "--dry-run"), "dry run").stderr;
      assert.match(
        dry,
        /^Dry run summary:\nApplied configuration with a reboot \(skipped in dry-run\)\.\nConfig diff:\n\n--- a\n\+\+\+ b\n/,
      );
      failsWith(
        await apply("udev.yaml", "--mode", "no-reboot"),
        /^error applying new configuration: 1 error occurred:\n\t\* 172\.29\.51\.11: rpc error: code = InvalidArgument desc = this config change can't be applied in immediate mode\ndiff:\n--- a\n\+\+\+ b\n[\s\S]*\+ {4}udev:/,
        "no-reboot",
      );
      const r = ok(await apply("udev.yaml"), "auto");
      assert.match(
        r.stderr,
        /^Applied configuration with a reboot: this config change can't be applied in immediate mode\ndiff:\n--- a\n\+\+\+ b\n@@/,
      );
      assert.equal(w.node(N1).stage, "rebooting");
      failsWith(await apply("udev.yaml", "--dry-run"), REFUSED, "rebooting");
      await sleep(T(1050));
      assert.equal(
        ok(await apply("udev.yaml", "--dry-run"), "after the reboot")
          .stderr.split("\n")
          .pop(),
        "",
      );
      assert.match(ok(await apply("udev.yaml", "--dry-run"), "after").stderr, /Config diff:\n\nNo changes\.\n$/);
      assert.equal(w.node(N1).reboots, 1);
    });

    it("staged waits for the next reboot; reboot always reboots; the diff compares with the running config", async () => {
      await w.genConfig("mini01", {
        out: "files.yaml",
        patch: "  files:\n    - path: /var/etc/x\n      content: x\n      op: create\n      permissions: 0o644\n",
      });
      assert.equal(
        ok(await apply("files.yaml", "--mode", "staged"), "staged").stderr,
        "Staged configuration to be applied after the next reboot\n",
      );
      assert.equal(w.node(N1).state, "configured");
      assert.match(
        ok(await apply("files.yaml", "--dry-run"), "still old").stderr,
        /with a reboot \(skipped in dry-run\)[\s\S]*\+ {4}files:/,
      );
      assert.equal(
        ok(await apply("mini01.yaml", "--mode", "reboot"), "reboot").stderr,
        "Applied configuration with a reboot\n",
      );
      assert.equal(w.node(N1).stage, "rebooting");
      await sleep(T(1050));
      assert.match(ok(await apply("mini01.yaml", "--dry-run"), "after").stderr, /No changes\.\n$/);
    });

    it("a change of another document (not v1alpha1) applies live", async () => {
      const lldp =
        "---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: lldpd\nconfigFiles:\n  - content: configure lldpd portidsubtype ifname\n    mountPath: /usr/local/etc/lldpd/lldpd.conf\n";
      await w.genConfig("mini01", { out: "lldp.yaml", patch: lldp });
      const r = ok(await apply("lldp.yaml", "--dry-run"), "dry");
      assert.match(r.stderr, /without a reboot[\s\S]*\+kind: ExtensionServiceConfig/);
    });
  });
});
