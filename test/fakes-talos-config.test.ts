/**
 * The fake talosctl's local commands and config model: real-shaped gen output, cluster identity,
 * config patches, validate, config endpoint/node, CanApplyImmediate and the diff format.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as YAML from "yaml";
import { X509Certificate } from "crypto";
import { ENDPOINT, failsWith, N1, ok, World } from "./fakes/testkit";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cfgs = require("./fakes/lib/talos/config.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unifiedDiff } = require("./fakes/lib/diff.js");

describe("fake talosctl: local commands and the config model", function () {
  this.timeout(30000);
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.done());

  it("gen secrets: the real keys, parseable certificates, refuses to overwrite without --force", async () => {
    await w.genSecrets();
    const file = w.file("secrets.yaml");
    const text = fs.readFileSync(file, "utf8");
    const b = YAML.parse(text);
    assert.deepEqual(Object.keys(b), ["cluster", "secrets", "trustdinfo", "certs"]);
    assert.deepEqual(Object.keys(b.certs), ["etcd", "k8s", "k8saggregator", "k8sserviceaccount", "os"]);
    assert.deepEqual(
      [Object.keys(b.cluster), Object.keys(b.secrets), Object.keys(b.trustdinfo)],
      [["id", "secret"], ["bootstraptoken", "secretboxencryptionsecret"], ["token"]],
    );
    assert.match(b.secrets.bootstraptoken, /^[0-9a-f]{6}\.[0-9a-f]{16}$/);
    new X509Certificate(Buffer.from(b.certs.os.crt, "base64"));
    assert.match(text, /^cluster:\n {4}id: /);
    const f = failsWith(await w.talosctl("gen", "secrets", "--output-file", file), /already exists/, "overwrite");
    assert.equal(f.stderr, `file "${file}" already exists, use --force to overwrite\n`);
    ok(await w.talosctl("gen", "secrets", "-o", file, "--force"), "--force");
    assert.notEqual(
      YAML.parse(fs.readFileSync(file, "utf8")).cluster.id,
      b.cluster.id,
      "each generation is a new identity",
    );
  });

  it("gen config: one identity (the Talos CA) in bundle, machine config and talosconfig; patches merged; deterministic", async () => {
    await w.genSecrets();
    await w.genTalosconfig();
    const extra =
      '  install:\n    disk: /dev/nvme0n1\n---\napiVersion: v1alpha1\nkind: UserVolumeConfig\nname: longhorn-ssd\nprovisioning:\n  diskSelector:\n    match: disk.model == "Portable SSD T5"\n';
    const a = await w.genConfig("mini01", { patch: extra });
    assert.equal(await w.genConfig("mini01", { patch: extra }), a, "same inputs, same bytes");
    const mc = cfgs.parseMachineConfig(a);
    const bundle = YAML.parse(fs.readFileSync(w.file("secrets.yaml"), "utf8"));
    const tc = cfgs.parseTalosconfig(fs.readFileSync(w.file("talosconfig"), "utf8"));
    assert.equal(mc.identity, cfgs.certIdentity(bundle.certs.os.crt));
    assert.equal(tc.identity, mc.identity);
    assert.deepEqual(
      [mc.type, mc.hostname, mc.clusterName, mc.endpoint],
      ["controlplane", "mini01", "home-ops", ENDPOINT],
    );
    assert.equal(mc.v1alpha1.machine.install.disk, "/dev/nvme0n1");
    assert.equal(mc.v1alpha1.machine.install.image, "factory.talos.dev/installer/abc:v1.11.6");
    assert.deepEqual(mc.v1alpha1.cluster.apiServer.certSANs, ["172.29.51.10"]);
    assert.deepEqual(
      mc.docs.map((d: { kind?: string; version?: string }) => d.kind ?? d.version),
      ["v1alpha1", "UserVolumeConfig"],
    );
    const crt = new X509Certificate(Buffer.from(tc.ctx.crt, "base64"));
    assert.ok(
      Math.abs(Date.parse(crt.validTo) - (Date.now() + 365 * 86400000)) < 86400000,
      "a one-year client certificate",
    );
    assert.ok(
      crt.verify(new X509Certificate(Buffer.from(bundle.certs.os.crt, "base64")).publicKey),
      "signed by the Talos CA",
    );
    const g = await w.talosctl(
      ...w.gen("home-ops", "secrets.yaml"),
      "--output-types",
      "controlplane",
      "--output",
      w.file("mini01.yaml"),
    );
    assert.equal(
      failsWith(g, /already exists/, "no --force").stderr,
      `generating PKI and tokens\nfile "${w.file("mini01.yaml")}" already exists, use --force to overwrite\n`,
    );
    failsWith(
      await w.talosctl("gen", "config", "c", "1.2.3.4", "--with-secrets", w.file("secrets.yaml")),
      /^no scheme and port specified for the cluster endpoint URL\ntry: "https:\/\/1\.2\.3\.4:6443"\n$/,
      "endpoint",
    );
    failsWith(
      await w.talosctl(...w.gen("c", "nope.yaml")),
      /^failed to load secrets bundle: open .*nope\.yaml: no such file or directory\n$/,
      "missing bundle",
    );
    failsWith(
      await w.talosctl(...w.gen("c", "secrets.yaml"), "--output-types", "controlplane,worker", "-o", "-"),
      /^can't use multiple output types with stdout\n$/,
      "stdout",
    );
    ok(
      await w.talosctl(
        ...w.gen("c", "secrets.yaml"),
        "--talos-version",
        "v1.12",
        "--output-types",
        "talosconfig",
        "-o",
        "-",
      ),
      "a newer contract is accepted (as talosctl v1.10.5 does)",
    );
  });

  it("validate, config endpoint / node", async () => {
    await w.genSecrets();
    await w.genConfig("mini01");
    assert.equal(
      ok(await w.talosctl("validate", "--config", w.file("mini01.yaml"), "--mode", "metal"), "validate").stdout,
      `${w.file("mini01.yaml")} is valid for metal mode\n`,
    );
    fs.writeFileSync(w.file("bad.yaml"), "version: v1alpha1\nmachine: {}\n");
    const bad = failsWith(
      await w.talosctl("validate", "--config", w.file("bad.yaml"), "--mode", "metal"),
      /3 errors occurred/,
      "invalid",
    );
    assert.equal(
      bad.stderr,
      'WARNING: use "worker" instead of "" for machine type\n3 errors occurred:\n\t* cluster instructions are required\n\t* install instructions are required in "metal" mode\n\t* issuing CA or some accepted CAs are required (.machine.ca, machine.acceptedCAs)\n\n\n',
    );
    failsWith(
      await w.talosctl("validate", "--config", w.file("none.yaml"), "--mode", "metal"),
      /^open .*none\.yaml: no such file or directory\n$/,
      "missing",
    );
    await w.genTalosconfig();
    ok(await w.talosctl(...w.tc(), "config", "endpoint", N1, "172.29.51.12"), "endpoint");
    ok(await w.talosctl(...w.tc(), "config", "node", N1), "node");
    const tc = YAML.parse(fs.readFileSync(w.file("talosconfig"), "utf8"));
    assert.deepEqual([tc.contexts["home-ops"].endpoints, tc.contexts["home-ops"].nodes], [[N1, "172.29.51.12"], [N1]]);
  });

  describe("CanApplyImmediate (v1alpha1_runtime.go @ v1.10.5, same @ v1.11.5)", () => {
    const base = {
      version: "v1alpha1",
      debug: false,
      machine: {
        type: "controlplane",
        ca: { crt: "QQ==" },
        network: { hostname: "a" },
        features: { rbac: true, kubePrism: { enabled: true } },
      },
      cluster: { clusterName: "c" },
    };
    const withChange = (path: string, value: unknown) => {
      const doc = JSON.parse(JSON.stringify(base));
      const keys = path.split(".");
      let o = doc;
      for (const k of keys.slice(0, -1)) o = o[k] ??= {};
      o[keys[keys.length - 1]] = value;
      return YAML.stringify(doc);
    };
    const live = [
      "debug",
      "cluster.clusterName",
      "machine.network.hostname",
      "machine.install",
      "machine.sysctls",
      "machine.kubelet",
      "machine.certSANs",
      "machine.nodeLabels",
      "machine.registries",
      "machine.features.kubePrism.port",
      "machine.features.hostDNS",
      "machine.time",
      "machine.ca.crt",
    ];
    const reboot = [
      "machine.udev",
      "machine.systemDiskEncryption",
      "machine.features.rbac",
      "machine.features.stableHostname",
      "machine.features.diskQuotaSupport",
      "machine.files",
      "machine.type",
      "machine.env",
      "persist",
    ];
    for (const p of live)
      it(`live: ${p}`, () =>
        assert.equal(cfgs.canApplyImmediate(YAML.stringify(base), withChange(p, { changed: 1 })), null));
    for (const p of reboot)
      it(`needs a reboot: ${p}`, () =>
        assert.match(
          cfgs.canApplyImmediate(YAML.stringify(base), withChange(p, { changed: 1 })),
          /^this config change can't be applied in immediate mode\ndiff:\n--- a\n\+\+\+ b\n@@/,
        ));
    it("features are copied only when both configs have a features section", () => {
      const noFeatures = JSON.parse(JSON.stringify(base));
      delete noFeatures.machine.features;
      assert.notEqual(cfgs.canApplyImmediate(YAML.stringify(noFeatures), YAML.stringify(base)), null);
    });
  });

  it("the diff format of configdiff (gotextdiff unified, 3 lines of context, counts of 1 left out)", () => {
    const old = "a\nb\nc\nd\ne\nf\ng\nh\n";
    assert.equal(unifiedDiff(old, old), "");
    assert.equal(
      unifiedDiff(old, old.replace("d\n", "D\n")),
      "--- a\n+++ b\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n",
    );
    assert.equal(unifiedDiff("x\n", "y\n"), "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n");
  });
});
