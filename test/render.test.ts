import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";

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

  it("refuses a file that is not Pulumi.<stack>.yaml", () => {
    const r = render(["--stack-file", path.join(ROOT, "package.json")]);
    assert.notEqual(r.code, 0);
  });
});
