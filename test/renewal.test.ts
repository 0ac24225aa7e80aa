/**
 * Certificate renewal (plan/renewal.ts): the re-mint input of the talosconfig and kubeconfig
 * steps changes exactly once when the recorded expiry enters homeops:operations.renewBefore, and
 * the time never reaches an input otherwise. Time is injected (HOMEOPS_NOW), never the clock.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { durationMs, checkRenewBefore } from "../config/duration";
import { buildPlan, CommandStep, issuedCredentials, NO_RENEWALS, renewalsDue, renewalTime } from "../plan";
import { deployStack } from "../components/stack";
import { resetMocks, settle } from "./helpers/mocks";
import { scratchProject } from "./helpers/simWorld";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const DAY = 86_400_000;
const WINDOW = 30 * DAY;
const EXPIRY = "2027-12-01T10:00:00.000Z";
const issued = (renewals = 0, expiry = EXPIRY) => ({
  talosconfig: { expiry, renewals },
  kubeconfig: { expiry, renewals },
});
const envOf = (steps: readonly unknown[], id: string) => (steps as CommandStep[]).find((s) => s.id === id)!.env;

describe("credential renewal", function () {
  this.timeout(120000);

  it("renewBefore: durations with days, bounded by the certificates' lifetime", () => {
    assert.equal(durationMs("30d"), 30 * DAY);
    assert.equal(durationMs("720h"), 30 * DAY);
    assert.equal(durationMs("45d12h"), 45.5 * DAY);
    assert.equal(durationMs("0s"), 0);
    for (const bad of ["30", "d", "30 d", "-1d", "1w", ""]) assert.equal(durationMs(bad), undefined, bad);
    assert.equal(checkRenewBefore("335d"), undefined);
    assert.match(String(checkRenewBefore("336d")), /between 0s and 335d/);
  });

  it("the count goes up once when the expiry enters the window (or passed), and not before", () => {
    const at = (iso: string) => renewalsDue(issued(), new Date(iso), WINDOW);
    assert.deepEqual(at("2027-10-31T10:00:00Z"), { renewals: NO_RENEWALS, due: [] }, "31 days before");
    assert.deepEqual(at("2027-11-01T09:59:59Z").due, [], "a second before the window");
    assert.deepEqual(at("2027-11-01T10:00:00Z"), {
      renewals: { talosconfig: 1, kubeconfig: 1 },
      due: ["talosconfig", "kubeconfig"],
    });
    assert.deepEqual(at("2028-03-01T00:00:00Z").due, ["talosconfig", "kubeconfig"], "already expired");
    // After the renewal the outputs record the new expiry a year out and the count 1: it stays.
    const renewed = issued(1, "2028-11-01T10:00:00.000Z");
    assert.deepEqual(renewalsDue(renewed, new Date("2027-11-01T10:00:00Z"), WINDOW), {
      renewals: { talosconfig: 1, kubeconfig: 1 },
      due: [],
    });
    assert.deepEqual(renewalsDue(renewed, new Date("2028-06-01T00:00:00Z"), WINDOW).due, []);
  });

  it("an unknown expiry (no certificate yet, unreadable) renews nothing; counts come from the outputs", () => {
    const none = issuedCredentials({});
    assert.deepEqual(none, { talosconfig: { renewals: 0 }, kubeconfig: { renewals: 0 } });
    assert.deepEqual(renewalsDue(none, new Date("2099-01-01"), WINDOW).due, []);
    const odd = issuedCredentials({
      talosconfigExpiry: "unknown",
      kubeconfigExpiry: null,
      credentialRenewals: { talosconfig: 2, kubeconfig: -1 },
    });
    assert.deepEqual(odd, { talosconfig: { expiry: "unknown", renewals: 2 }, kubeconfig: { renewals: 0 } });
    assert.deepEqual(renewalsDue(odd, new Date("2099-01-01"), WINDOW).renewals, { talosconfig: 2, kubeconfig: 0 });
  });

  it("HOMEOPS_NOW sets the time renewal is judged at; a bad one is refused", () => {
    assert.equal(renewalTime({ HOMEOPS_NOW: "2027-11-20" }).toISOString(), "2027-11-20T00:00:00.000Z");
    assert.throws(() => renewalTime({ HOMEOPS_NOW: "soon" }), /HOMEOPS_NOW=soon is not an ISO date/);
  });

  it("the count is an input of the talosconfig and kubeconfig steps only, absent at 0 (no change for existing stacks)", () => {
    const cfg = homeOpsConfig();
    const before = buildPlan(cfg);
    assert.equal(envOf(before.steps, "talosconfig").RENEWAL, undefined);
    assert.equal(envOf(before.steps, "kubeconfig").RENEWAL, undefined);
    const after = buildPlan(cfg, undefined, undefined, { renewals: { talosconfig: 1, kubeconfig: 2 } });
    assert.equal(envOf(after.steps, "talosconfig").RENEWAL, "1");
    assert.equal(envOf(after.steps, "kubeconfig").RENEWAL, "2");
    const changed = after.steps
      .filter((s, i) => JSON.stringify(s) !== JSON.stringify(before.steps[i]))
      .map((s) => s.id);
    assert.deepEqual(changed, ["talosconfig", "kubeconfig"]);
  });

  it("deployStack: inside the window (HOMEOPS_NOW) the outputs carry the new count; outside it the plan is the same whatever the date", async () => {
    const saved = process.env.HOMEOPS_NOW;
    const projectDir = scratchProject("homeops-renewal-");
    try {
      const run = async (now: string) => {
        process.env.HOMEOPS_NOW = now;
        await resetMocks({});
        const r = deployStack(
          homeOpsConfig(),
          { onePasswordServiceAccountToken: pulumi.secret("ops_fake") },
          { projectDir, credentialsBefore: issued() },
        );
        await settle();
        return r;
      };
      const early = await run("2027-06-01");
      const later = await run("2027-10-30");
      assert.deepEqual(early.outputs.credentialRenewals, NO_RENEWALS);
      assert.deepEqual(later.plan.steps, early.plan.steps, "the date alone changes no step");
      const inside = await run("2027-11-15");
      assert.deepEqual(inside.outputs.credentialRenewals, { talosconfig: 1, kubeconfig: 1 });
      assert.equal(envOf(inside.plan.steps, "talosconfig").RENEWAL, "1");
    } finally {
      if (saved === undefined) delete process.env.HOMEOPS_NOW;
      else process.env.HOMEOPS_NOW = saved;
      fs.rmSync(projectDir, { recursive: true, force: true });
    }
  });

  it("operations.reapply adds a re-apply input to the named node's apply only (the way back from drift)", () => {
    const cfg = homeOpsConfig();
    const before = buildPlan(cfg);
    const after = buildPlan({ ...cfg, operations: { ...cfg.operations, reapply: ["mini02"] } });
    const changed = after.steps
      .filter((s, i) => JSON.stringify(s) !== JSON.stringify(before.steps[i]))
      .map((s) => s.id);
    assert.deepEqual(changed, ["apply-mini02"]);
    assert.equal(envOf(after.steps, "apply-mini02").REAPPLY, "requested");
  });
});
