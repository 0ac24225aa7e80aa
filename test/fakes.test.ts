/**
 * Tests of the fake op and curl (Image Factory) executables and of the world's helpers
 * (test/fakes/lib/state.js). The talosctl and kubectl fakes have their own files:
 * fakes-talos-*.test.ts, fakes-etcd.test.ts, fakes-kube.test.ts, fakes-cli.test.ts, fakes-e2e.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { at, failsWith, fake, NODES, ok, sleep, World, Result } from "./fakes/testkit";

describe("fake executables: op, curl, the world's helpers", function () {
  this.timeout(30000);
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.done());
  const op = (...args: string[]) => w.exec("op", args);

  describe("op", () => {
    it("requires a sign-in, gets fields, creates items once", async () => {
      const get = ["item", "get", "talos", "--vault", "Automation", "--fields", "label=bundle", "--reveal"];
      failsWith(
        await w.exec("op", get, { OP_SERVICE_ACCOUNT_TOKEN: undefined, OP_ACCOUNT: undefined }),
        /not currently signed in/,
        "no token",
      );
      failsWith(await op(...get), /"talos" isn't an item in the "Automation" vault/, "missing item");
      const tpl = w.file("item.json");
      fs.writeFileSync(
        tpl,
        JSON.stringify({
          title: "talos",
          category: "SECURE_NOTE",
          fields: [{ label: "bundle", type: "CONCEALED", value: "cluster:\n    id: abc\n" }],
        }),
      );
      ok(await op("item", "create", "--vault", "Automation", "--template", tpl), "create");
      failsWith(await op("item", "create", "--vault", "Automation", "--template", tpl), /already exists/, "duplicate");
      assert.equal(ok(await op(...get), "get").stdout, "cluster:\n    id: abc\n\n");
      failsWith(
        await op("item", "get", "talos", "--vault", "Automation", "--fields", "label=nope", "--reveal"),
        /isn't a field/,
        "missing field",
      );
      assert.equal(ok(await op("read", "op://Automation/talos/bundle"), "read").stdout, "cluster:\n    id: abc\n\n");
      assert.equal(Object.keys(w.state().op.items.Automation).length, 1);
      failsWith(
        await op("item", "get", "talos", "--vault", "Automation", "--frob"),
        /unknown flag: --frob/,
        "unknown flag",
      );
      w.expectedUsageErrors = 1;
    });
  });

  describe("curl as Image Factory", () => {
    const post = (body: string) => {
      fs.writeFileSync(w.file("schematic.yaml"), body);
      return w.exec("curl", [
        "-fsS",
        "-X",
        "POST",
        "--data-binary",
        `@${w.file("schematic.yaml")}`,
        "-H",
        "Content-Type: application/yaml",
        "https://factory.talos.dev/schematics",
      ]);
    };

    it("IDs are SHA-256 of the factory's canonical re-marshal, not of the body (image-factory pkg/schematic vectors)", async () => {
      const id = async (body: string) => JSON.parse(ok(await post(body), "post").stdout).id;
      assert.equal(await id("{}"), "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
      assert.equal(
        await id('customization: {"extraKernelArgs": []}'),
        "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
      );
      assert.equal(
        await id('{"customization": {"extraKernelArgs": ["noapic", "nolapic"], "systemExtensions": {}}}'),
        "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
      );
      assert.equal(
        await id("customization:\n  meta:\n    - key: 0x0a\n      value: foo\n"),
        "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f",
      );
      assert.equal(
        await id("customization:\n  diskImage:\n    sectorSize: 4096\n"),
        "92833e9ddd9bb9e11b2464fa5525429f01866306d52ebd882ee08d7918f6d1ea",
      );
    });

    it("the home-ops schematic: extraKernelArgs with officialExtensions, in any input layout", async () => {
      // The canonical form (struct field order: extraKernelArgs before systemExtensions; 4-space
      // indentation; lists in the given order). Its SHA-256, computed by hand with
      // `printf '<this text>' | sha256sum`:
      const canonical =
        "customization:\n" +
        "    extraKernelArgs:\n" +
        "        - talos.logging.kernel=udp://172.29.51.1:514/\n" +
        "    systemExtensions:\n" +
        "        officialExtensions:\n" +
        "            - siderolabs/iscsi-tools\n" +
        "            - siderolabs/lldpd\n" +
        "            - siderolabs/usb-modem-drivers\n" +
        "            - siderolabs/thunderbolt\n";
      const expected = "c4d52f2ca447870ce4f3555f9f72d6dd04239293a6e541f7943748569d17396b";
      const flow =
        'customization:\n  systemExtensions: {officialExtensions: [siderolabs/iscsi-tools, siderolabs/lldpd, siderolabs/usb-modem-drivers, siderolabs/thunderbolt]}\n  extraKernelArgs: ["talos.logging.kernel=udp://172.29.51.1:514/"]\n';
      for (const body of [canonical, flow]) {
        const r = JSON.parse(ok(await post(body), "post").stdout);
        assert.deepEqual(r, { id: expected, schematic: canonical });
      }
      assert.deepEqual(w.state().factory.schematics, { [expected]: canonical });
    });

    it("rejects unknown fields (400, curl -f exits 22)", async () => {
      const r = await post("customization:\n  extensions: [siderolabs/lldpd]\n");
      assert.deepEqual([r.code, r.stderr], [22, "curl: (22) The requested URL returned error: 400\n"]);
      failsWith(
        await w.exec("curl", ["--frob", "https://factory.talos.dev/schematics"]),
        /option --frob: is unknown/,
        "unknown option",
      );
      w.expectedUsageErrors = 1;
    });
  });

  describe("state.js helpers", () => {
    it("recovers a stale lock and keeps createK8sObject idempotent", async () => {
      const lock = path.join(w.dir, "state.lock");
      fs.mkdirSync(lock);
      const old = new Date(Date.now() - 60000);
      fs.utimesSync(lock, old, old);
      const first = fake.createK8sObject(w.dir, { kind: "Namespace", metadata: { name: "flux-system" } });
      await sleep(20);
      const again = fake.createK8sObject(w.dir, { kind: "Namespace", metadata: { name: "flux-system" } });
      assert.equal(again.createdAt, first.createdAt, "an update keeps the creation time");
      assert.equal(w.state().k8s.objects.length, 1);
      assert.equal(fake.deleteK8sObject(w.dir, { kind: "Namespace", metadata: { name: "flux-system" } }), true);
      assert.equal(fake.deleteK8sObject(w.dir, { kind: "Namespace", metadata: { name: "flux-system" } }), false);
      assert.equal(fs.existsSync(lock), false);
    });

    it("powerOff/powerOn: down meanwhile, then boots with its config", async () => {
      await w.configured();
      fake.powerOff(w.dir, NODES[1]);
      assert.equal(w.node(NODES[1]).stage, "off");
      failsWith(await w.talosctl("version", ...at(NODES[1]), ...w.tc()), /connection refused/, "off");
      fake.powerOn(w.dir, NODES[1]);
      assert.equal(w.node(NODES[1]).stage, "booting");
      ok(await w.talosctl("version", ...at(NODES[1]), ...w.tc()), "on");
    });
  });

  describe("concurrency", () => {
    it("parallel invocations keep state and fault counters consistent", async () => {
      await w.genSecrets();
      for (const [i] of NODES.entries()) await w.genConfig(`mini0${i + 1}`);
      fake.setFaults(w.dir, [{ tool: "op", command: "item create", kind: "exit", times: 3 }]);
      const jobs: Promise<Result>[] = [];
      for (let i = 0; i < 12; i++) {
        const tpl = w.file(`item-${i}.json`);
        fs.writeFileSync(
          tpl,
          JSON.stringify({ title: `item-${i}`, fields: [{ label: "v", type: "STRING", value: String(i) }] }),
        );
        jobs.push(op("item", "create", "--vault", "Automation", "--template", tpl));
      }
      for (const [i, a] of NODES.entries()) {
        jobs.push(w.talosctl("apply-config", ...at(a), "--insecure", "--file", w.file(`mini0${i + 1}.yaml`)));
        jobs.push(w.talosctl("get", "machinestatus", ...at(a), "--insecure"));
      }
      const results = await Promise.all(jobs);
      assert.equal(results.slice(0, 12).filter((r) => r.code !== 0).length, 3, "the fault fired exactly 3 times");
      assert.equal(Object.keys(w.state().op.items.Automation).length, 9);
      for (const a of NODES) assert.equal(w.node(a).insecureApplies, 1);
      assert.deepEqual([fake.readConfig(w.dir).faults[0].times, fake.readConfig(w.dir).faults[0].fired], [0, 3]);
      assert.equal(w.calls().length, 1 + 3 + 12 + 6, "one calls.log line per invocation");
      assert.equal(fs.existsSync(path.join(w.dir, "state.lock")), false, "lock released");
    });
  });
});
