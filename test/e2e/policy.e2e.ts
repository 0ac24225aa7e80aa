/**
 * The policy pack (policy/) under the real CLI's preview: the stack passes every mandatory rule;
 * a program that breaks them is refused with each rule named.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { assertSucceeded, E2E_DELAYS, E2EStack, REPO } from "./harness";

describe("real engine: the policy pack", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  });
  after(() => s?.cleanup());

  it("passes the stack's preview and its up", async () => {
    const p = await s.pulumi(["preview", "--policy-pack", path.join(REPO, "policy")], { program: true });
    assertSucceeded(p, "preview with the policy pack");
    assert.match(p.stdout, /Policies:\n\s+✅ home-ops@v0\.1\.0/);
    const r = await s.up(["--policy-pack", path.join(REPO, "policy")]);
    assertSucceeded(r, "up with the policy pack");
  });

  it("refuses a program that breaks the rules, naming each mandatory violation", async () => {
    const p = await s.pulumi(["preview", "--policy-pack", path.join(REPO, "policy")], {
      program: true,
      entry: path.join(REPO, "test/e2e/fixtures/policy-violations.ts"),
    });
    assert.notEqual(p.code, 0);
    const out = p.stdout + p.stderr;
    for (const rule of ["installer-image-from-schematic", "no-secret-material-in-command-inputs"])
      assert.match(out, new RegExp(`\\[mandatory\\]\\s+${rule}`), out.slice(-3000));
    assert.ok(!out.includes("MIIBnotreal"), "the violation names the input, never the value");
  });
});
