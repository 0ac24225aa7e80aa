/**
 * Tests of the fake talosctl/kubectl/op executables (test/fakes). They run the fakes as real
 * processes, the way the generated scripts do, against a throwaway state directory.
 */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as fake from "./fakes/lib/state";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let dir = "";
let work = "";

function exec(tool: string, args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<Result> {
  const env = fake.fakeEnv(dir, { OP_SERVICE_ACCOUNT_TOKEN: "fake-token" });
  for (const [k, v] of Object.entries(extraEnv)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(tool, args, { env, cwd: work }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - start });
    });
  });
}
const talosctl = (...args: string[]) => exec("talosctl", args);
const kubectl = (...args: string[]) => exec("kubectl", args);
const op = (...args: string[]) => exec("op", args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const N1 = "172.29.51.11";
const N2 = "172.29.51.12";
const N3 = "172.29.51.13";
const NODES = [N1, N2, N3];
const ENDPOINT = "https://172.29.51.10:6443";
const at = (a: string) => ["--nodes", a, "--endpoints", a];
const TC = () => ["--talosconfig", path.join(work, "talosconfig")];

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}): ${r.stderr}`);
  return r;
}
function failsWith(r: Result, re: RegExp, what: string): Result {
  assert.notEqual(r.code, 0, `${what} unexpectedly succeeded: ${r.stdout}`);
  assert.match(r.stderr, re, `${what}: unexpected stderr`);
  return r;
}
const node = (a: string) => fake.readState(dir).nodes[a];

function newWorld(config: fake.FakeConfigInput = {}): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fakes-state-"));
  work = fs.mkdtempSync(path.join(os.tmpdir(), "fakes-work-"));
  fake.initFakeWorld(dir, { talosVersion: "v1.11.6", ...config });
}

async function genSecrets(file = "secrets.yaml"): Promise<void> {
  ok(await talosctl("gen", "secrets", "--output-file", path.join(work, file)), "gen secrets");
}

async function genMachineConfig(
  hostname: string,
  out = "mc.yaml",
  secrets = "secrets.yaml",
  extra: string[] = [],
): Promise<string> {
  fs.writeFileSync(path.join(work, `patch-${hostname}.yaml`), `machine:\n  network:\n    hostname: ${hostname}\n`);
  ok(
    await talosctl(
      "gen",
      "config",
      "home-ops",
      ENDPOINT,
      "--with-secrets",
      path.join(work, secrets),
      "--config-patch",
      `@${path.join(work, `patch-${hostname}.yaml`)}`,
      "--output-types",
      "controlplane",
      "--output",
      path.join(work, out),
      "--kubernetes-version",
      "1.34.1",
      "--talos-version",
      "v1.11",
      "--install-image",
      "factory.talos.dev/metal-installer/abc:v1.11.6",
      "--additional-sans",
      "172.29.51.10",
      "--dns-domain",
      "cluster.local",
      "--with-docs=false",
      "--with-examples=false",
      "--force",
      ...extra,
    ),
    "gen config",
  );
  return fs.readFileSync(path.join(work, out), "utf8");
}

async function genTalosconfig(out = "talosconfig", secrets = "secrets.yaml"): Promise<void> {
  const file = path.join(work, out);
  ok(
    await talosctl(
      "gen",
      "config",
      "home-ops",
      ENDPOINT,
      "--with-secrets",
      path.join(work, secrets),
      "--output-types",
      "talosconfig",
      "--output",
      file,
      "--force",
    ),
    "gen talosconfig",
  );
  ok(await talosctl("--talosconfig", file, "config", "endpoint", ...NODES), "config endpoint");
  ok(await talosctl("--talosconfig", file, "config", "node", N1), "config node");
}

/** Secrets, talosconfig and all three nodes configured (insecure apply, no install delay). */
async function configuredCluster(): Promise<void> {
  await genSecrets();
  await genTalosconfig();
  for (const [i, a] of NODES.entries()) {
    await genMachineConfig(`mini0${i + 1}`, `mc-${i}.yaml`);
    ok(
      await talosctl("apply-config", ...at(a), "--insecure", "--file", path.join(work, `mc-${i}.yaml`)),
      "apply insecure",
    );
  }
}

async function bootstrapped(): Promise<void> {
  await configuredCluster();
  ok(await talosctl("bootstrap", ...at(N1), ...TC()), "bootstrap");
  const kc = ok(await talosctl("kubeconfig", "-", "--merge=false", ...at(N1), ...TC()), "kubeconfig");
  fs.writeFileSync(path.join(work, "kubeconfig"), kc.stdout);
}
const KC = () => ["--kubeconfig", path.join(work, "kubeconfig")];

describe("fake executables (test/fakes)", function () {
  this.timeout(30000);
  beforeEach(() => newWorld());
  afterEach(() => {
    for (const d of [dir, work]) fs.rmSync(d, { recursive: true, force: true });
  });

  describe("talosctl argv validation against the CLI reference", () => {
    it("rejects an unknown flag like cobra", async () => {
      failsWith(await talosctl("version", ...at(N1), "--insecure", "--bogus"), /unknown flag: --bogus/, "unknown flag");
      failsWith(await talosctl("version", "-z"), /unknown shorthand flag: 'z'/, "unknown shorthand");
      failsWith(await talosctl("frobnicate"), /unknown command "frobnicate" for "talosctl"/, "unknown command");
      assert.equal(fake.readCalls(dir).length, 3);
      assert.ok(fake.readCalls(dir).every((c) => c.exit === 1 && c.tool === "talosctl"));
    });

    it("v1.11 rejects node flags on local commands (gen config, validate); v1.10 accepts them", async () => {
      await genSecrets();
      const gen = [
        "gen",
        "config",
        "home-ops",
        ENDPOINT,
        "--with-secrets",
        path.join(work, "secrets.yaml"),
        "--output-types",
        "controlplane",
        "--output",
        path.join(work, "x.yaml"),
      ];
      failsWith(await talosctl(...gen, "--nodes", N1), /unknown flag: --nodes/, "v1.11 gen config --nodes");
      failsWith(await talosctl(...gen, "-n", N1), /unknown shorthand flag: 'n'/, "v1.11 gen config -n");
      assert.equal(fs.existsSync(path.join(work, "x.yaml")), false, "a rejected invocation has no effect");
      ok(await talosctl(...gen), "v1.11 gen config without node flags");
      failsWith(
        await talosctl("validate", "--config", path.join(work, "x.yaml"), "--mode", "metal", "--endpoints", N1),
        /unknown flag: --endpoints/,
        "v1.11 validate -e",
      );

      fake.writeConfig(dir, { ...fake.readConfig(dir), talosVersion: "v1.10.9" });
      ok(await talosctl(...gen, "--nodes", N1, "--force"), "v1.10 gen config --nodes");
      ok(
        await talosctl("validate", "--config", path.join(work, "x.yaml"), "--mode", "metal", "--nodes", N1),
        "v1.10 validate --nodes",
      );
    });

    it("checks bool, enum, duration values, missing values and positional counts", async () => {
      ok(await talosctl("version", "--client", "--short=false"), "bool =false");
      failsWith(await talosctl("version", "--client=maybe"), /invalid argument "maybe".*ParseBool/, "bad bool");
      failsWith(
        await talosctl("apply-config", ...at(N1), "--insecure", "--file", "x", "--mode", "sometimes"),
        /invalid argument "sometimes"/,
        "bad enum",
      );
      failsWith(await talosctl("health", ...at(N1), "--wait-timeout", "soon"), /invalid duration/, "bad duration");
      failsWith(await talosctl("apply-config", "--file"), /flag needs an argument: --file/, "missing value");
      failsWith(await talosctl("gen", "config", "only-a-name"), /requires at least 2 arg\(s\)/, "too few positionals");
      failsWith(
        await talosctl("bootstrap", "extra"),
        /unknown command "extra" for "talosctl bootstrap"/,
        "unexpected positional",
      );
      failsWith(
        await talosctl("upgrade", ...at(N1), "--image", "x"),
        /fake talosctl: not simulated: upgrade/,
        "valid but not simulated",
      );
    });

    it("reads the CLI reference relative to the fake, overridable by FAKE_TALOSCTL_CLI_JSON", async () => {
      const r = await exec("talosctl", ["version", "--client"], {
        FAKE_TALOSCTL_CLI_JSON: path.join(work, "missing.json"),
      });
      failsWith(r, /cannot read the CLI reference/, "missing reference");
    });
  });

  describe("talosctl local commands", () => {
    it("gen secrets refuses to overwrite without --force; each generation is a new identity", async () => {
      await genSecrets();
      const file = path.join(work, "secrets.yaml");
      const first = fs.readFileSync(file, "utf8");
      assert.match(first, /^cluster:\n {4}id: \S+\n {4}secret: \S+\n/);
      for (const k of ["bootstraptoken", "trustdinfo", "etcd", "k8s", "os"]) assert.match(first, new RegExp(`${k}:`));
      failsWith(await talosctl("gen", "secrets", "--output-file", file), /already exists, use --force/, "overwrite");
      assert.equal(fs.readFileSync(file, "utf8"), first);
      ok(await talosctl("gen", "secrets", "-o", file, "--force"), "gen secrets --force");
      assert.notEqual(/id: (\S+)/.exec(fs.readFileSync(file, "utf8"))![1], /id: (\S+)/.exec(first)![1]);
    });

    it("gen config embeds identity and patch, is deterministic, and needs a readable bundle", async () => {
      await genSecrets();
      const id = /id: (\S+)/.exec(fs.readFileSync(path.join(work, "secrets.yaml"), "utf8"))![1];
      const a = await genMachineConfig("mini01", "a.yaml");
      const again = await genMachineConfig("mini01", "a.yaml");
      const b = await genMachineConfig("mini02", "b.yaml");
      assert.ok(a.includes(`# identity: ${id}`));
      assert.ok(a.includes("hostname: mini01"));
      assert.ok(a.includes("image: factory.talos.dev/metal-installer/abc:v1.11.6"));
      assert.ok(a.includes("kube-apiserver:v1.34.1"));
      assert.equal(again, a, "same inputs, same bytes");
      assert.notEqual(b, a, "another patch, another file");
      failsWith(
        await talosctl(
          "gen",
          "config",
          "home-ops",
          ENDPOINT,
          "--with-secrets",
          path.join(work, "nope.yaml"),
          "--output-types",
          "controlplane",
          "--output",
          path.join(work, "c.yaml"),
        ),
        /failed to load secrets bundle/,
        "missing bundle",
      );
      fs.writeFileSync(path.join(work, "junk.yaml"), "hello: world\n");
      failsWith(
        await talosctl(
          "gen",
          "config",
          "home-ops",
          ENDPOINT,
          "--with-secrets",
          path.join(work, "junk.yaml"),
          "--output-types",
          "controlplane",
          "--output",
          path.join(work, "c.yaml"),
        ),
        /not a Talos secrets bundle/,
        "garbage bundle",
      );
      failsWith(
        await talosctl(
          "gen",
          "config",
          "home-ops",
          ENDPOINT,
          "--with-secrets",
          path.join(work, "secrets.yaml"),
          "--output-types",
          "controlplane",
          "--output",
          path.join(work, "a.yaml"),
        ),
        /already exists, use --force/,
        "overwrite without --force",
      );
      assert.deepEqual(fake.readState(dir).clusters[id], { name: "home-ops", endpoint: ENDPOINT });
    });

    it("gen config talosconfig carries identity, a fresh client cert and notAfter one year out; config endpoint/node rewrite it", async () => {
      await genSecrets();
      await genTalosconfig();
      const tc = fs.readFileSync(path.join(work, "talosconfig"), "utf8");
      const id = /id: (\S+)/.exec(fs.readFileSync(path.join(work, "secrets.yaml"), "utf8"))![1];
      assert.ok(tc.includes(`# identity: ${id}`));
      assert.match(tc, /^context: home-ops$/m);
      assert.match(tc, /endpoints:\n {12}- 172\.29\.51\.11\n {12}- 172\.29\.51\.12\n {12}- 172\.29\.51\.13\n/);
      assert.match(tc, /nodes:\n {12}- 172\.29\.51\.11\n/);
      const notAfter = Date.parse(/# notAfter: (\S+)/.exec(tc)![1]);
      assert.ok(Math.abs(notAfter - (Date.now() + 365 * 86400000)) < 120000, "notAfter ~ one year");
      const cert1 = /# clientCertId: (\S+)/.exec(tc)![1];
      await genTalosconfig("talosconfig2");
      assert.notEqual(
        /# clientCertId: (\S+)/.exec(fs.readFileSync(path.join(work, "talosconfig2"), "utf8"))![1],
        cert1,
      );
    });

    it("validate accepts a generated config and rejects a missing or foreign file", async () => {
      await genSecrets();
      await genMachineConfig("mini01");
      ok(await talosctl("validate", "--config", path.join(work, "mc.yaml"), "--mode", "metal", "--strict"), "validate");
      fs.writeFileSync(path.join(work, "bad.yaml"), "machine: {}\n");
      failsWith(
        await talosctl("validate", "--config", path.join(work, "bad.yaml"), "--mode", "metal"),
        /not a machine config/,
        "foreign file",
      );
      failsWith(
        await talosctl("validate", "--config", path.join(work, "none.yaml"), "--mode", "metal"),
        /no such file/,
        "missing file",
      );
    });
  });

  describe("talosctl node lifecycle", () => {
    it("maintenance -> apply --insecure -> installing (refused) -> configured", async () => {
      fake.writeConfig(dir, { ...fake.readConfig(dir), delaysMs: { install: 700 } });
      await genSecrets();
      await genTalosconfig();
      await genMachineConfig("mini01");
      const v = ok(await talosctl("version", ...at(N1), "--insecure"), "version --insecure in maintenance");
      assert.match(v.stdout, /Tag:\s+v1\.11\.6/);
      failsWith(await talosctl("version", ...at(N1), ...TC()), /tls: /, "authenticated call in maintenance");
      failsWith(await talosctl("version", ...at("172.29.51.99"), "--insecure"), /connection refused/, "unknown node");

      ok(
        await talosctl("apply-config", ...at(N1), "--insecure", "--file", path.join(work, "mc.yaml")),
        "apply insecure",
      );
      assert.equal(node(N1).phase, "installing");
      assert.equal(node(N1).appliedHostname, "mini01");
      failsWith(await talosctl("version", ...at(N1), "--insecure"), /connection refused/, "installing");
      failsWith(await talosctl("version", ...at(N1), ...TC()), /connection refused/, "installing (auth)");
      await sleep(750);
      ok(await talosctl("version", ...at(N1), ...TC()), "configured, authenticated");
      failsWith(
        await talosctl("version", ...at(N1), "--insecure"),
        /tls: certificate required/,
        "configured, insecure",
      );
      failsWith(
        await talosctl("apply-config", ...at(N1), "--insecure", "--file", path.join(work, "mc.yaml")),
        /certificate required/,
        "second insecure apply",
      );
      const st = ok(
        await talosctl("get", "machinestatus", ...at(N1), ...TC(), "--output", "jsonpath={.spec.stage}"),
        "machinestatus",
      );
      assert.equal(st.stdout, "running\n");
      const js = JSON.parse(
        ok(await talosctl("get", "machinestatus", ...at(N1), ...TC(), "-o", "json"), "machinestatus json").stdout,
      );
      assert.equal(js.spec.stage, "running");
      assert.equal(node(N1).phase, "configured");
      assert.equal(node(N1).insecureApplies, 1);
    });

    it("authenticated apply: same config is not a change, a new patch is, another cluster's config is refused", async () => {
      await configuredCluster();
      const mc = path.join(work, "mc-0.yaml");
      const r = ok(await talosctl("apply-config", ...at(N1), ...TC(), "--file", mc, "--mode", "auto"), "same config");
      assert.match(r.stdout, /Applied configuration without a reboot/);
      assert.deepEqual([node(N1).authApplies, node(N1).changedApplies, node(N1).unchangedApplies], [1, 0, 1]);
      const hash = node(N1).configHash;

      await genMachineConfig("mini01", "mc-0.yaml", "secrets.yaml", [
        "--config-patch",
        "machine:\n  sysctls:\n    a: b\n",
      ]);
      ok(await talosctl("apply-config", ...at(N1), ...TC(), "--file", mc, "--mode", "auto"), "changed config");
      assert.deepEqual([node(N1).authApplies, node(N1).changedApplies], [2, 1]);
      assert.notEqual(node(N1).configHash, hash);

      await genSecrets("other.yaml");
      await genMachineConfig("mini01", "foreign.yaml", "other.yaml");
      failsWith(
        await talosctl("apply-config", ...at(N1), ...TC(), "--file", path.join(work, "foreign.yaml")),
        /different cluster/,
        "foreign config",
      );
      await genTalosconfig("other-tc", "other.yaml");
      failsWith(
        await talosctl("version", ...at(N1), "--talosconfig", path.join(work, "other-tc")),
        /x509: certificate signed by unknown authority/,
        "other identity",
      );
      assert.equal(node(N1).changedApplies, 1);
    });

    it("etcd members, bootstrap exactly once, kubeconfig only after bootstrap", async () => {
      await configuredCluster();
      failsWith(
        await talosctl("etcd", "members", ...at(N1), ...TC()),
        /etcd is not running/,
        "members before bootstrap",
      );
      failsWith(
        await talosctl("kubeconfig", "-", "--merge=false", ...at(N1), ...TC()),
        /not bootstrapped/,
        "kubeconfig before bootstrap",
      );
      ok(await talosctl("bootstrap", ...at(N1), ...TC()), "bootstrap");
      failsWith(
        await talosctl("bootstrap", ...at(N1), ...TC()),
        /code = AlreadyExists desc = etcd data directory is not empty/,
        "second bootstrap",
      );
      const c = fake.readState(dir).cluster;
      assert.equal(c.bootstrapCount, 1);
      assert.equal(c.bootstrapAlreadyExists, 1);
      assert.equal(c.endpoint, ENDPOINT);
      const m = ok(await talosctl("etcd", "members", ...at(N2), ...TC()), "members");
      for (const h of ["mini01", "mini02", "mini03"]) assert.match(m.stdout, new RegExp(h));
      failsWith(await talosctl("kubeconfig", "-", ...at(N1), ...TC()), /merge/, "stdout needs --merge=false");
      const kc = ok(await talosctl("kubeconfig", "-", "--merge=false", ...at(N1), ...TC()), "kubeconfig").stdout;
      assert.ok(kc.includes(`server: ${ENDPOINT}`));
      assert.ok(kc.includes(`# identity: ${c.identity}`));
      assert.match(kc, /^kind: Config$/m);
    });

    it("health passes only once the cluster is bootstrapped and every node is Ready (Cilium)", async () => {
      fake.writeConfig(dir, { ...fake.readConfig(dir), delaysMs: { ciliumRollout: 400 } });
      const health = () =>
        talosctl("health", ...at(N1), ...TC(), "--control-plane-nodes", NODES.join(","), "--wait-timeout", "5s");
      await configuredCluster();
      failsWith(await health(), /etcd/, "before bootstrap");
      ok(await talosctl("bootstrap", ...at(N1), ...TC()), "bootstrap");
      failsWith(await health(), /some nodes are not ready: \[mini01 mini02 mini03\]/, "no CNI");
      fake.createK8sObject(dir, {
        kind: "HelmRelease(pulumi)",
        metadata: { name: "cilium", namespace: "kube-system" },
      });
      failsWith(await health(), /not ready/, "Cilium rolling out");
      await sleep(450);
      ok(await health(), "healthy");
      failsWith(
        await talosctl("health", ...at(N1), ...TC(), "--control-plane-nodes", `${NODES.join(",")},172.29.51.14`),
        /172\.29\.51\.14/,
        "unknown member",
      );
    });

    it("reset wipes only STATE/EPHEMERAL with --reboot and refuses a full wipe (test oracle)", async () => {
      fake.writeConfig(dir, { ...fake.readConfig(dir), delaysMs: { reboot: 300 } });
      await configuredCluster();
      failsWith(await talosctl("reset", ...at(N2), ...TC(), "--reboot"), /REFUSED/, "label-less reset");
      failsWith(
        await talosctl(
          "reset",
          ...at(N2),
          ...TC(),
          "--system-labels-to-wipe",
          "STATE",
          "--wipe-mode",
          "all",
          "--reboot",
        ),
        /REFUSED/,
        "wipe-mode all",
      );
      assert.equal(node(N2).resets, 0);
      ok(
        await talosctl(
          "reset",
          ...at(N2),
          ...TC(),
          "--system-labels-to-wipe",
          "STATE",
          "--system-labels-to-wipe",
          "EPHEMERAL",
          "--reboot",
          "--graceful=false",
          "--wait=false",
        ),
        "safe reset",
      );
      assert.equal(node(N2).resets, 1);
      assert.deepEqual(node(N2).lastReset!.labels, ["STATE", "EPHEMERAL"]);
      failsWith(await talosctl("version", ...at(N2), "--insecure"), /connection refused/, "rebooting");
      await sleep(350);
      ok(await talosctl("version", ...at(N2), "--insecure"), "back in maintenance");
    });
  });

  describe("faults", () => {
    it("fire exactly `times` times, optionally only for one node, and are logged", async () => {
      await configuredCluster();
      fake.setFaults(dir, [{ tool: "talosctl", match: "version", node: N2, kind: "exit", times: 2 }]);
      ok(await talosctl("version", ...at(N1), ...TC()), "other node unaffected");
      failsWith(await talosctl("version", ...at(N2), ...TC()), /injected/, "fault 1");
      failsWith(await talosctl("version", ...at(N2), ...TC()), /injected/, "fault 2");
      ok(await talosctl("version", ...at(N2), ...TC()), "fault used up");
      assert.equal(fake.readConfig(dir).faults[0].times, 0);
      assert.equal(fake.readCalls(dir).filter((c) => c.faults && c.faults.includes("exit")).length, 2);
    });

    it("unreachable and timeout have no effect; timeout hangs for hangMs", async () => {
      await genSecrets();
      await genMachineConfig("mini01");
      fake.setFaults(dir, [
        { tool: "talosctl", match: "apply-config", kind: "unreachable", times: 1 },
        { tool: "talosctl", match: "apply-config", kind: "timeout", hangMs: 300, times: 1 },
      ]);
      const apply = () => talosctl("apply-config", ...at(N1), "--insecure", "--file", path.join(work, "mc.yaml"));
      failsWith(await apply(), /connection refused/, "unreachable");
      const t = failsWith(await apply(), /context deadline exceeded/, "timeout");
      assert.ok(t.ms >= 300, `timeout should hang >= 300 ms, took ${t.ms}`);
      assert.equal(node(N1).phase, "maintenance");
      ok(await apply(), "after the faults");
      assert.equal(node(N1).insecureApplies, 1);
    });

    it("drop applies the config but the client fails with EOF", async () => {
      await genSecrets();
      await genMachineConfig("mini01");
      fake.setFaults(dir, [{ tool: "talosctl", match: "apply-config", kind: "drop", times: 1 }]);
      const r = failsWith(
        await talosctl("apply-config", ...at(N1), "--insecure", "--file", path.join(work, "mc.yaml")),
        /error reading from server: EOF/,
        "drop",
      );
      assert.equal(r.stdout, "");
      assert.equal(node(N1).insecureApplies, 1);
      assert.equal(node(N1).phase === "installing" || node(N1).phase === "configured", true);
    });
  });

  describe("kubectl", () => {
    it("needs a kubeconfig of this cluster and an API server that is up", async () => {
      fake.writeConfig(dir, { ...fake.readConfig(dir), delaysMs: { apiServer: 400 } });
      await bootstrapped();
      failsWith(await kubectl(...KC(), "get", "--raw", "/readyz"), /connection refused/, "API not up yet");
      await sleep(450);
      assert.equal(ok(await kubectl(...KC(), "get", "--raw", "/readyz"), "readyz").stdout, "ok");
      failsWith(
        await exec("kubectl", ["get", "nodes"], { KUBECONFIG: undefined }),
        /--kubeconfig is required/,
        "no kubeconfig",
      );
      const foreign = fs
        .readFileSync(path.join(work, "kubeconfig"), "utf8")
        .replace(/# identity: \S+/, "# identity: someone-else");
      fs.writeFileSync(path.join(work, "foreign-kc"), foreign);
      failsWith(
        await kubectl("--kubeconfig", path.join(work, "foreign-kc"), "get", "nodes"),
        /Unauthorized/,
        "other cluster",
      );
      failsWith(await kubectl(...KC(), "get", "nodes", "--watch-only"), /unknown flag: --watch-only/, "unknown flag");
      failsWith(await kubectl(...KC(), "delete", "node/mini01"), /not simulated: delete/, "unsupported verb");
    });

    it("lists nodes and evaluates JSONPath (filters, range)", async () => {
      await bootstrapped();
      assert.equal(
        ok(await kubectl(...KC(), "get", "nodes", "-o", "name"), "nodes").stdout,
        "node/mini01\nnode/mini02\nnode/mini03\n",
      );
      const ready = ok(
        await kubectl(
          ...KC(),
          "get",
          "nodes",
          "-o",
          'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ),
        "jsonpath",
      );
      assert.equal(ready.stdout, "mini01=False\nmini02=False\nmini03=False\n");
      const msg = ok(
        await kubectl(
          ...KC(),
          "get",
          "node/mini01",
          "--namespace",
          "",
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].message}',
        ),
        "message",
      );
      assert.match(msg.stdout, /cni plugin not initialized/);
      failsWith(await kubectl(...KC(), "get", "deployment", "nope", "-n", "x"), /NotFound/, "missing object");
      failsWith(await kubectl(...KC(), "get", "widgets"), /doesn't have a resource type "widgets"/, "unknown type");
    });

    it("wait: no object fails at once, a false condition times out boundedly, a later-true one succeeds", async () => {
      fake.writeConfig(dir, { ...fake.readConfig(dir), delaysMs: { ciliumRollout: 600 } });
      await bootstrapped();
      const missing = failsWith(
        await kubectl(
          ...KC(),
          "wait",
          "--for=condition=Available",
          "deployment/onepassword-connect",
          "-n",
          "onepassword-connect",
          "--timeout=5s",
        ),
        /no matching resources found/,
        "missing",
      );
      assert.ok(missing.ms < 2000, "fails at once");
      const t = failsWith(
        await kubectl(...KC(), "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=1s"),
        /timed out waiting for the condition on node\/mini0\d/,
        "no CNI",
      );
      assert.ok(t.ms >= 1000 && t.ms < 3000, `bounded by --timeout (${t.ms} ms)`);
      fake.createK8sObject(dir, {
        kind: "HelmRelease(pulumi)",
        metadata: { name: "cilium", namespace: "kube-system" },
      });
      const w = ok(
        await kubectl(...KC(), "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=5s"),
        "nodes Ready",
      );
      assert.equal(w.stdout, "node/mini01 condition met\nnode/mini02 condition met\nnode/mini03 condition met\n");
      assert.ok(w.ms >= 400 && w.ms < 3000, `waited for the rollout (${w.ms} ms)`);
    });

    it("simulates ESO, 1Password Connect, the store and Flux, with a `never` fault", async () => {
      fake.writeConfig(dir, {
        ...fake.readConfig(dir),
        delaysMs: { esoReady: 200, connectReady: 200, storeReady: 200, fluxReady: 200 },
      });
      await bootstrapped();
      const create = (kind: string, name: string, namespace = "") =>
        fake.createK8sObject(dir, { kind, metadata: { name, namespace } });
      const wait = (cond: string, obj: string, ns: string, timeout = "3s") =>
        kubectl(...KC(), "wait", `--for=condition=${cond}`, obj, "--namespace", ns, `--timeout=${timeout}`);
      create("HelmRelease(pulumi)", "external-secrets", "external-secrets-system");
      ok(await wait("Established", "customresourcedefinition/clustersecretstores.external-secrets.io", ""), "CRD");
      ok(await wait("Available", "deployment/external-secrets-webhook", "external-secrets-system"), "webhook");

      create("Deployment", "onepassword-connect", "onepassword-connect");
      create("ClusterSecretStore", "onepassword-connect");
      failsWith(
        await wait("Available", "deployment/onepassword-connect", "onepassword-connect", "500ms"),
        /timed out/,
        "Connect without its secrets",
      );
      const why = ok(
        await kubectl(
          ...KC(),
          "get",
          "clustersecretstore/onepassword-connect",
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].message}',
        ),
        "store message",
      );
      assert.match(why.stdout, /could not reach 1Password Connect/);
      create("Secret", "onepassword-connect-credentials", "onepassword-connect");
      create("Secret", "onepassword-connect-token", "onepassword-connect");
      ok(await wait("Available", "deployment.apps/onepassword-connect", "onepassword-connect"), "Connect");
      ok(await wait("Ready", "clustersecretstore.external-secrets.io/onepassword-connect", ""), "store");

      fake.setFaults(dir, [{ tool: "kubectl", match: "kustomization", kind: "never" }]);
      failsWith(
        await wait("Ready", "kustomization/flux-system", "flux-system", "300ms"),
        /no matching resources/,
        "no Flux yet",
      );
      create("HelmRelease(pulumi)", "flux-operator", "flux-system");
      create("FluxInstance", "flux", "flux-system");
      failsWith(
        await wait("Ready", "kustomization/flux-system", "flux-system", "600ms"),
        /timed out waiting for the condition on kustomization.kustomize.toolkit.fluxcd.io\/flux-system/,
        "never",
      );
      fake.setFaults(dir, []);
      ok(await wait("Ready", "kustomization.kustomize.toolkit.fluxcd.io/flux-system", "flux-system"), "Flux Ready");
    });
  });

  describe("op", () => {
    it("requires a sign-in, gets fields, creates items once", async () => {
      failsWith(
        await exec("op", ["item", "get", "talos", "--vault", "Automation", "--fields", "label=bundle", "--reveal"], {
          OP_SERVICE_ACCOUNT_TOKEN: undefined,
          OP_ACCOUNT: undefined,
        }),
        /not currently signed in/,
        "no token",
      );
      failsWith(
        await op("item", "get", "talos", "--vault", "Automation", "--fields", "label=bundle", "--reveal"),
        /"talos" isn't an item in the "Automation" vault/,
        "missing item",
      );
      const tpl = path.join(work, "item.json");
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
      assert.equal(
        ok(await op("item", "get", "talos", "--vault", "Automation", "--fields", "label=bundle", "--reveal"), "get")
          .stdout,
        "cluster:\n    id: abc\n\n",
      );
      failsWith(
        await op("item", "get", "talos", "--vault", "Automation", "--fields", "label=nope", "--reveal"),
        /isn't a field/,
        "missing field",
      );
      assert.equal(ok(await op("read", "op://Automation/talos/bundle"), "read").stdout, "cluster:\n    id: abc\n\n");
      assert.equal(Object.keys(fake.readState(dir).op.items.Automation).length, 1);
    });
  });

  describe("state.js helpers", () => {
    it("recovers a stale lock and keeps createK8sObject idempotent", async () => {
      const lock = path.join(dir, "state.lock");
      fs.mkdirSync(lock);
      const old = new Date(Date.now() - 60000);
      fs.utimesSync(lock, old, old);
      const first = fake.createK8sObject(dir, { kind: "Namespace", metadata: { name: "flux-system" } });
      await sleep(20);
      const again = fake.createK8sObject(dir, { kind: "Namespace", metadata: { name: "flux-system" } });
      assert.equal(again.createdAt, first.createdAt, "an update keeps the creation time");
      assert.equal(fake.readState(dir).k8s.objects.length, 1);
      assert.equal(fake.deleteK8sObject(dir, { kind: "Namespace", metadata: { name: "flux-system" } }), true);
      assert.equal(fake.deleteK8sObject(dir, { kind: "Namespace", metadata: { name: "flux-system" } }), false);
      assert.equal(fs.existsSync(lock), false);
    });
  });

  describe("concurrency", () => {
    it("12 parallel invocations keep state and fault counters consistent", async () => {
      await genSecrets();
      for (const [i] of NODES.entries()) await genMachineConfig(`mini0${i + 1}`, `mc-${i}.yaml`);
      fake.setFaults(dir, [{ tool: "op", match: "create", kind: "exit", times: 3 }]);
      const jobs: Promise<Result>[] = [];
      for (let i = 0; i < 12; i++) {
        const tpl = path.join(work, `item-${i}.json`);
        fs.writeFileSync(
          tpl,
          JSON.stringify({ title: `item-${i}`, fields: [{ label: "v", type: "STRING", value: String(i) }] }),
        );
        jobs.push(op("item", "create", "--vault", "Automation", "--template", tpl));
      }
      for (const [i, a] of NODES.entries()) {
        jobs.push(talosctl("apply-config", ...at(a), "--insecure", "--file", path.join(work, `mc-${i}.yaml`)));
        jobs.push(talosctl("version", ...at(a), "--insecure"));
      }
      const results = await Promise.all(jobs);
      const opResults = results.slice(0, 12);
      assert.equal(opResults.filter((r) => r.code !== 0).length, 3, "the fault fired exactly 3 times");
      assert.equal(Object.keys(fake.readState(dir).op.items.Automation).length, 9);
      for (const a of NODES) assert.equal(node(a).insecureApplies, 1);
      assert.equal(fake.readConfig(dir).faults[0].times, 0);
      assert.equal(fake.readCalls(dir).length, 1 + 3 + 12 + 6, "one calls.log line per invocation");
      assert.equal(fs.existsSync(path.join(dir, "state.lock")), false, "lock released");
    });
  });
});
