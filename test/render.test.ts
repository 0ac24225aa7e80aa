import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { SECRET_MARKER } from "../k8s/manifests";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");

function render(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(TSX, [path.join(ROOT, "scripts/render.ts"), ...args], { encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe("npm run render (offline)", function () {
  this.timeout(60000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-render-"))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("writes node patches, plan.json, Cilium values and every Kubernetes object for the home-ops stack", () => {
    const r = render(["--stack", "home-ops", "--out", tmp]);
    assert.equal(r.code, 0, r.stderr);
    const out = path.join(tmp, "home-ops");
    const files = listFiles(out);
    for (const f of ["nodes/mini01.yaml", "nodes/mini02.yaml", "nodes/mini03.yaml", "plan.json", "cilium-values.yaml"])
      assert.ok(files.includes(f), f);
    assert.equal(files.filter((f) => f.startsWith("kubernetes/")).length, 13);
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    assert.match(plan.schematicId, /^[0-9a-f]{64}$/);
    assert.equal(plan.installerImage, `factory.talos.dev/installer/${plan.schematicId}:v1.10.5`);
    const ids = plan.steps.map((s: { id: string }) => s.id);
    for (const s of plan.steps)
      for (const d of s.dependsOn) assert.ok(ids.indexOf(d) < ids.indexOf(s.id), `${d} before ${s.id}`);
    const apply = plan.steps.find((s: { id: string }) => s.id === "apply-mini02");
    assert.deepEqual(apply.node, "mini02");
    assert.ok(apply.argv.includes("172.29.51.12"));
    // Everything a command step runs: its script file, its environment, where its stdin comes from.
    assert.equal(apply.script, "steps/apply-node.sh");
    assert.equal(apply.deleteScript, "steps/node-reset.sh");
    assert.equal(apply.stdinFrom, "talos-secrets");
    assert.equal(apply.env.NODE_ADDRESS, "172.29.51.12");
    assert.equal(apply.env.HOMEOPS_SETTINGS, ".homeops/home-ops/settings.env");
    // A Helm release: its mark and its create hook; what Flux takes over says where to change it.
    const eso = plan.steps.find((s: { id: string }) => s.id === "external-secrets");
    assert.equal(eso.marker, "homeops: homeops/home-ops external-secrets");
    assert.match(eso.beforeCreate, /components\/helmGuard.ts/);
    assert.deepEqual(eso.handOff.setting, { key: "homeops:externalSecrets.version", value: "0.17.0" });
    assert.match(eso.handOff.changeIn, /HelmRelease external-secrets-system\/external-secrets$/);
    assert.equal(plan.steps.find((s: { id: string }) => s.id === "cilium").handOff, undefined);
    assert.deepEqual(
      plan.steps.filter((s: { handOff?: unknown }) => s.handOff).map((s: { id: string }) => s.id),
      ["connect-deployment", "service-onepassword-connect", "service-onepassword-connect-sync", "external-secrets"],
    );
    const bundle = plan.steps.find((s: { id: string }) => s.id === "talos-secrets");
    assert.equal(bundle.env.OP_SERVICE_ACCOUNT_TOKEN, SECRET_MARKER, "a secret value shows as the marker");
    assert.equal(bundle.env.TALOSCTL_MINOR, "v1.10");
    for (const s of plan.steps.filter((x: { kind: string }) => x.kind === "command")) {
      assert.equal(
        fs.readFileSync(path.join(out, "scripts", `${s.id}.sh`), "utf8"),
        fs.readFileSync(path.join(ROOT, s.script), "utf8"),
        `scripts/${s.id}.sh is the exact text ${s.id} runs`,
      );
    }
    assert.equal(
      fs.readFileSync(path.join(out, "scripts/apply-mini01.delete.sh"), "utf8"),
      fs.readFileSync(path.join(ROOT, "steps/node-reset.sh"), "utf8"),
    );
    assert.match(
      fs.readFileSync(path.join(out, "settings.env"), "utf8"),
      /^CONTROL_PLANE_ADDRESSES='172\.29\.51\.11 172\.29\.51\.12 172\.29\.51\.13'$/m,
    );
    const docs = parseAllDocuments(fs.readFileSync(path.join(out, "nodes/mini01.yaml"), "utf8")).map((d) => d.toJS());
    assert.deepEqual(
      docs.map((d) => d.kind ?? "v1alpha1"),
      ["v1alpha1", "ExtensionServiceConfig", "UserVolumeConfig"],
    );
  });

  it("is byte-identical across runs", () => {
    assert.equal(render(["--stack", "home-ops", "--out", path.join(tmp, "a")]).code, 0);
    assert.equal(render(["--stack", "home-ops", "--out", path.join(tmp, "b")]).code, 0);
    const a = path.join(tmp, "a/home-ops");
    const b = path.join(tmp, "b/home-ops");
    assert.deepEqual(listFiles(a), listFiles(b));
    for (const f of listFiles(a))
      assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
  });

  it("takes any Pulumi.<stack>.yaml via --stack-file and names the output after it", () => {
    const file = path.join(tmp, "Pulumi.lab.yaml");
    fs.copyFileSync(path.join(ROOT, "Pulumi.home-ops.yaml"), file);
    const r = render(["--stack-file", file, "--out", path.join(tmp, "out")]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(tmp, "out/lab/plan.json")));
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, "out/lab/plan.json"), "utf8")).stack, "lab");
  });

  it("invalid config: exit 1, every error on stderr, nothing written (not even over an earlier render)", () => {
    const good = render(["--stack", "home-ops", "--out", tmp]);
    assert.equal(good.code, 0);
    const before = listFiles(path.join(tmp, "home-ops"));
    const text = fs
      .readFileSync(path.join(ROOT, "Pulumi.home-ops.yaml"), "utf8")
      .replace("address: 172.29.51.12", "address: 172.29.51.11")
      .replace("homeops:stopAfter: gitops", "homeops:stopAfter: everything");
    const bad = path.join(tmp, "Pulumi.home-ops.yaml");
    fs.writeFileSync(bad, text);
    const r = render(["--stack-file", bad, "--out", tmp]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /homeops:nodes\[1\]\.address/);
    assert.match(r.stderr, /homeops:stopAfter/);
    assert.deepEqual(listFiles(path.join(tmp, "home-ops")), before);
    assert.ok(!fs.readdirSync(tmp).some((f) => f.includes(".tmp-")));
  });

  it("stopAfter limits what is rendered", () => {
    const file = path.join(tmp, "Pulumi.early.yaml");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(ROOT, "Pulumi.home-ops.yaml"), "utf8")
        .replace("homeops:stopAfter: gitops", "homeops:stopAfter: cluster"),
    );
    assert.equal(render(["--stack-file", file, "--out", tmp]).code, 0);
    const files = listFiles(path.join(tmp, "early"));
    assert.ok(!files.includes("cilium-values.yaml"));
    assert.equal(files.filter((f) => f.startsWith("kubernetes/")).length, 0);
  });

  it("--diff: exit 0 and no output against an identical render; exit 2 with unified diffs of what changed", () => {
    assert.equal(render(["--stack", "home-ops", "--out", tmp]).code, 0);
    const same = render(["--stack", "home-ops", "--diff", tmp]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout, "");
    const file = path.join(tmp, "Pulumi.home-ops.yaml");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(ROOT, "Pulumi.home-ops.yaml"), "utf8")
        .replace(
          "      role: controlplane\n    - hostname: mini03",
          '      role: controlplane\n      sysctls:\n        vm.swappiness: "10"\n    - hostname: mini03',
        ),
    );
    const changed = render(["--stack-file", file, "--diff", path.join(tmp, "home-ops")]);
    assert.equal(changed.code, 2, changed.stderr);
    const headers = changed.stdout.split("\n").filter((l) => l.startsWith("+++ "));
    assert.deepEqual(headers, ["+++ b/nodes/mini02.yaml", "+++ b/plan.json#apply-mini02"], changed.stdout);
    assert.ok(changed.stdout.includes('+    vm.swappiness: "10"'), changed.stdout);
    // the step's patch diffs line by line, not as one escaped string
    assert.ok(changed.stdout.split("\n").some((l) => /^\+\s+vm\.swappiness: "10"$/.test(l) && !l.includes("\\n")));
    assert.ok(/^[-+]\s+CONFIG_SHA256: /m.test(changed.stdout));
    assert.equal(
      fs.readdirSync(tmp).filter((f) => f !== "home-ops" && f !== "Pulumi.home-ops.yaml").length,
      0,
      "writes nothing",
    );
  });

  it("--diff names added and removed files and refuses a directory without a render", () => {
    assert.equal(render(["--stack", "home-ops", "--out", tmp]).code, 0);
    fs.rmSync(path.join(tmp, "home-ops/scripts/bootstrap.sh"));
    fs.writeFileSync(path.join(tmp, "home-ops/kubernetes/99-stale.yaml"), "kind: Stale\n");
    const r = render(["--stack", "home-ops", "--diff", tmp]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /^--- \/dev\/null\n\+\+\+ b\/scripts\/bootstrap\.sh$/m);
    assert.match(r.stdout, /^--- a\/kubernetes\/99-stale\.yaml\n\+\+\+ \/dev\/null$/m);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-empty-"));
    const refused = render(["--stack", "home-ops", "--diff", empty]);
    assert.equal(refused.code, 64, "a usage error is not 'differs' (2)");
    assert.match(refused.stderr, /holds no earlier render/);
    fs.rmSync(empty, { recursive: true });
  });

  it("refuses a file that is not Pulumi.<stack>.yaml", () => {
    const r = render(["--stack-file", path.join(ROOT, "package.json")]);
    assert.notEqual(r.code, 0);
  });
});
