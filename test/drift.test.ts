/** Drift comparison (render/drift.ts): by value, secrets masked, upgrade-k8s image tags settled. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { documentsByKey, driftExitCode, driftReport, nodeDrift, NodeState } from "../render/drift";
import { SECRET_MARKER } from "../k8s/manifests";
import { main, runningOf, schematicOf } from "../scripts/drift";

const RENDERED_CONFIG = `version: v1alpha1
machine:
  token: abcdef.0123456789abcdef
  ca:
    crt: LS0tQ1JU
    key: LS0tU0VDUkVULUtFWQ==
  kubelet:
    image: ghcr.io/siderolabs/kubelet:v1.31.1
  sysctls:
    net.core.somaxconn: "65535"
cluster:
  secret: c2VjcmV0LXZhbHVl
  apiServer:
    image: registry.k8s.io/kube-apiserver:v1.31.1
---
apiVersion: v1alpha1
kind: ExtensionServiceConfig
name: lldpd
configFiles:
  - content: "configure lldp portidsubtype ifname"
    mountPath: /usr/local/etc/lldpd/lldpd.conf
`;

const state = (machineConfig: string, over: Partial<NodeState> = {}): NodeState => ({
  version: "v1.10.5",
  schematic: "a".repeat(64),
  machineConfig,
  ...over,
});

describe("drift: a node against the stack's render", () => {
  it("equal by value: key order, comments and quoting are no drift", () => {
    const reordered =
      "# written by talosctl\n" +
      RENDERED_CONFIG.replace('net.core.somaxconn: "65535"', "net.core.somaxconn: '65535'").replace(
        "version: v1alpha1\nmachine:",
        "machine:",
      ) +
      "";
    const withVersionLast = reordered.replace("---\n", "version: v1alpha1\n---\n");
    const r = nodeDrift("mini01", state(RENDERED_CONFIG), state(withVersionLast), "v1.31.1");
    assert.deepEqual(r, { hostname: "mini01", findings: [], diffs: [] });
    assert.equal(driftExitCode([r], []), 0);
  });

  it("a hand-made change is a unified diff of that document, with no secret in it", () => {
    const edited = RENDERED_CONFIG.replace('"65535"', '"1024"').replace("c2VjcmV0LXZhbHVl", "b3RoZXItc2VjcmV0");
    const r = nodeDrift("mini02", state(RENDERED_CONFIG), state(edited), "v1.31.1");
    assert.deepEqual(
      r.diffs.map((d) => d.document),
      ["v1alpha1"],
    );
    const p = r.diffs[0].patch;
    assert.match(p, /^--- stack\/mini02\/v1alpha1/m);
    assert.match(p, /^-\s+net\.core\.somaxconn: "65535"$/m);
    assert.match(p, /^\+\s+net\.core\.somaxconn: "1024"$/m);
    for (const secret of ["abcdef.0123456789abcdef", "LS0tU0VDUkVULUtFWQ==", "c2VjcmV0LXZhbHVl", "b3RoZXItc2VjcmV0"])
      assert.ok(!driftReport([r], []).includes(secret), `no ${secret} in the report`);
    assert.ok(p.includes(SECRET_MARKER));
    assert.equal(driftExitCode([r], []), 2);
  });

  it("a document added or removed by hand is drift too", () => {
    const extra = RENDERED_CONFIG + "---\napiVersion: v1alpha1\nkind: UserVolumeConfig\nname: extra\n";
    const r = nodeDrift("mini03", state(RENDERED_CONFIG), state(extra), "v1.31.1");
    assert.deepEqual(
      r.diffs.map((d) => d.document),
      ["UserVolumeConfig/extra"],
    );
    const gone = nodeDrift("mini03", state(RENDERED_CONFIG), state(RENDERED_CONFIG.split("---")[0]), "v1.31.1");
    assert.deepEqual(
      gone.diffs.map((d) => d.document),
      ["ExtensionServiceConfig/lldpd"],
    );
  });

  it("images upgrade-k8s moved to the stack's Kubernetes version are no drift; another tag is", () => {
    // The render (an older template) spells the images at another tag; the node runs the stack's version.
    const rendered = RENDERED_CONFIG.replace(/v1\.31\.1/g, "v1.31.0");
    assert.deepEqual(nodeDrift("mini01", state(rendered), state(RENDERED_CONFIG), "1.31.1").diffs, []);
    const older = RENDERED_CONFIG.replace("kube-apiserver:v1.31.1", "kube-apiserver:v1.30.9");
    const r = nodeDrift("mini01", state(RENDERED_CONFIG), state(older), "v1.31.1");
    assert.equal(r.diffs.length, 1);
    assert.match(r.diffs[0].patch, /^\+\s+image: registry\.k8s\.io\/kube-apiserver:v1\.30\.9$/m);
  });

  it("another Talos version or schematic is named", () => {
    const r = nodeDrift(
      "mini01",
      state(RENDERED_CONFIG),
      state(RENDERED_CONFIG, { version: "v1.11.5", schematic: "b".repeat(64) }),
      "v1.31.1",
    );
    assert.deepEqual(r.findings, [
      "mini01 runs Talos v1.11.5; the stack says v1.10.5",
      `mini01 runs schematic ${"b".repeat(64)}; the stack says ${"a".repeat(64)}`,
    ]);
    assert.equal(driftExitCode([r], []), 2);
    assert.equal(driftExitCode([r], ["mini02: unreachable"]), 1, "an error wins");
  });

  it("refuses what it cannot compare: a stream that does not parse, two documents with one key", () => {
    assert.throws(() => documentsByKey("a: [\n"), /does not parse/);
    assert.throws(() => documentsByKey("kind: A\nname: x\n---\nkind: A\nname: x\n"), /two documents A\/x/);
  });
});

describe("npm run drift: reading what a node runs (scripts/drift.ts)", () => {
  it("the schematic from talosctl's jsonpath output: one result per line, the literal '=' too", () => {
    const id = "a".repeat(64);
    assert.equal(schematicOf(`iscsi-tools\n=\nv0.1.6\nschematic\n=\n${id}\n`), id);
    assert.equal(schematicOf("iscsi-tools\n=\nv0.1.6\n"), "none");
    assert.equal(schematicOf(""), "none");
  });

  it("version, schematic and machine config from the files steps/drift-node.sh writes; no tag is an error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-drift-test-"));
    try {
      fs.writeFileSync(path.join(dir, "version.json"), '{\n  "version": {\n    "tag": "v1.10.5"\n  }\n}\n');
      fs.writeFileSync(path.join(dir, "extensions"), "schematic\n=\nabc\n");
      fs.writeFileSync(path.join(dir, "running.yaml"), "version: v1alpha1\n");
      assert.deepEqual(runningOf(dir), { version: "v1.10.5", schematic: "abc", machineConfig: "version: v1alpha1\n" });
      fs.writeFileSync(path.join(dir, "version.json"), "{}");
      assert.throws(() => runningOf(dir), /no version tag/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exit 1 with the reason when the stack has no outputs to read (no node is called)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-drift-test-"));
    try {
      const stackFile = path.join(dir, "Pulumi.home-ops.yaml");
      fs.copyFileSync(path.join(__dirname, "..", "Pulumi.home-ops.yaml"), stackFile);
      const fakePulumi = path.join(dir, "pulumi");
      fs.writeFileSync(fakePulumi, "#!/bin/sh\necho '{}'\n", { mode: 0o755 });
      const errors: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
      let code: number;
      try {
        code = main(["--stack-file", stackFile], { PATH: process.env.PATH, PULUMI: fakePulumi });
      } finally {
        process.stderr.write = write;
      }
      assert.equal(code, 1);
      assert.match(errors.join(""), /stack home-ops has no talosconfig output: run pulumi up first/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
