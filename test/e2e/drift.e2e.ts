/**
 * `npm run drift` after a real `up` (issue 18): the stack's talosconfig from its outputs, each
 * node read with authenticated calls (steps/drift-node.sh), compared with what the stack renders
 * (render/drift.ts). Equal: exit 0 and each node named as running what the stack says. A change
 * made by hand on one node (`talosctl apply-config` of its own config with one sysctl changed, as
 * an operator would) is reported for that node alone, as a unified diff with no secret in it,
 * exit 2; `pulumi preview` still sees nothing (local commands have no read-back). Then
 * operations.reapply brings the node back and drift is clean again.
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { assertSucceeded, E2E_DELAYS, E2EStack, REPO } from "./harness";

describe("real engine: drift", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  });
  after(() => s?.cleanup());

  const drift = () =>
    spawnSync(
      process.execPath,
      ["--require", require.resolve("tsx/cjs"), path.join(REPO, "scripts/drift.ts"), "--stack-file", s.stackFile],
      { cwd: s.project, env: { ...s.env(), PULUMI: path.join(s.tools, "pulumi") }, encoding: "utf8" },
    );

  it("reports a hand-made change on one node (exit 2, redacted diff) and nothing for the others; reapply brings it back", async () => {
    assertSucceeded(await s.up(), "first up");
    const clean = drift();
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.equal(
      clean.stdout,
      "mini01: runs what the stack says\nmini02: runs what the stack says\nmini03: runs what the stack says\n",
    );

    // By hand: mini02's own config with vm.dirty_ratio changed, applied with the stack's talosconfig.
    const outputs = JSON.parse(s.run(["stack", "output", "--json", "--show-secrets", "--stack", "e2e"], {}));
    const talosconfig = path.join(s.project, "operator-talosconfig");
    fs.writeFileSync(talosconfig, outputs.talosconfig as string, { mode: 0o600 });
    const target = ["--nodes", "127.0.0.12", "--endpoints", "127.0.0.12", "--talosconfig", talosconfig];
    const running = execFileSync(
      "talosctl",
      ["get", "machineconfig", "v1alpha1", ...target, "-o", "jsonpath={.spec}"],
      {
        env: s.env(),
        encoding: "utf8",
      },
    );
    const docs = parseAllDocuments(running);
    assert.equal(docs[0].getIn(["machine", "sysctls", "vm.dirty_ratio"]), "5");
    docs[0].setIn(["machine", "sysctls", "vm.dirty_ratio"], "20");
    const edited = path.join(s.project, "mini02-by-hand.yaml");
    fs.writeFileSync(edited, docs.map((d) => d.toString()).join("---\n"), { mode: 0o600 });
    execFileSync("talosctl", ["apply-config", "--file", edited, "--mode", "no-reboot", ...target], {
      env: s.env(),
      encoding: "utf8",
      stdio: "pipe",
    });

    const drifted = drift();
    assert.equal(drifted.status, 2, drifted.stdout + drifted.stderr);
    assert.match(drifted.stdout, /^mini01: runs what the stack says$/m);
    assert.match(drifted.stdout, /^mini03: runs what the stack says$/m);
    assert.match(drifted.stdout, /^mini02: v1alpha1 differs$/m);
    assert.match(drifted.stdout, /^-\s+vm\.dirty_ratio: "5"$/m);
    assert.match(drifted.stdout, /^\+\s+vm\.dirty_ratio: "20"$/m);
    assert.doesNotMatch(drifted.stdout, /^mini0[13]: .* differs$/m);
    // No secret of the node in the report: every key and token is the render's marker.
    const secrets = [/key: [A-Za-z0-9+/=]{40,}/, /token: [a-z0-9]{6}\.[a-z0-9]{16}/];
    for (const re of secrets) assert.doesNotMatch(drifted.stdout, re);
    assertSucceeded(await s.preview(["--expect-no-changes"]), "the engine sees no drift by itself");

    s.setConfig({ "homeops:operations": { reapply: ["mini02"] } });
    assertSucceeded(await s.up(), "up with operations.reapply: [mini02]");
    const back = drift();
    assert.equal(back.status, 0, back.stdout + back.stderr);
  });
});
