/**
 * Credential renewal under the real engine (issue 18, plan/renewal.ts): the time the program judges
 * renewal at is injected (HOMEOPS_NOW, into the program and the fakes' certificate clock), never a
 * resource input. Moved just inside `operations.renewBefore` (default 30 days) of the later of the
 * two expiries the first `up` recorded, `up` mints the talosconfig and the admin kubeconfig anew,
 * once each: their renewal counts go 0 → 1 and the outputs show the new, later expiries. A second
 * `up` at the same time runs nothing: the new certificates are outside the window.
 *
 * The talosconfig is signed by the real talosctl (`gen config --output-types talosconfig`), on the
 * machine's clock: its new expiry is a year after the renewal's real time, which is later than the
 * old expiry by the seconds between the two runs. The kubeconfig is signed by the fake node on the
 * injected clock (test/fakes/lib/store.js wallNow): a year after HOMEOPS_NOW.
 */
import { strict as assert } from "assert";
import { assertSucceeded, changeSummary, E2E_DELAYS, E2EStack, RunResult, stepOps } from "./harness";

const DAY_MS = 86_400_000;

interface Outputs {
  talosconfigExpiry: string;
  kubeconfigExpiry: string;
  credentialRenewals: { talosconfig: number; kubeconfig: number };
}

const warnings = (r: RunResult) =>
  r.events
    .filter((e) => e.diagnosticEvent?.severity === "warning")
    .map((e) => e.diagnosticEvent.message as string)
    .join("\n");

describe("real engine: credential renewal", function () {
  let s: E2EStack;
  before(() => {
    s = new E2EStack({ world: { delaysMs: E2E_DELAYS } });
  });
  after(() => s?.cleanup());

  const outputs = (): Outputs => JSON.parse(s.run(["stack", "output", "--json", "--stack", "e2e"], {})) as Outputs;

  it("inside renewBefore of the expiry, up re-mints the talosconfig and kubeconfig once; at the same time a second up runs nothing", async () => {
    assertSucceeded(await s.up(), "first up");
    const first = outputs();
    assert.deepEqual(first.credentialRenewals, { talosconfig: 0, kubeconfig: 0 });
    const t0 = Date.parse(first.talosconfigExpiry);
    const k0 = Date.parse(first.kubeconfigExpiry);
    assert.ok(t0 > Date.now() + 364 * DAY_MS && k0 > Date.now() + 364 * DAY_MS, JSON.stringify(first));
    // One second inside the default 30-day window of the later expiry: both are due.
    const now = new Date(Math.max(t0, k0) - 30 * DAY_MS + 1000).toISOString();
    const env = { extraEnv: { HOMEOPS_NOW: now } };

    const outside = await s.preview(["--expect-no-changes"], {
      extraEnv: { HOMEOPS_NOW: new Date(Math.min(t0, k0) - 30 * DAY_MS - 1000).toISOString() },
    });
    assertSucceeded(outside, "a second before the window: nothing to do");

    const r = await s.up([], env);
    assertSucceeded(r, `up at ${now}`);
    const ops = stepOps(r.events);
    assert.deepEqual(ops["talos-talosconfig"], ["update"]);
    assert.deepEqual(ops["cluster-kubeconfig"], ["update"]);
    assert.ok(!Object.values(ops).some((o) => o.includes("create") || o.includes("delete") || o.includes("replace")));
    for (const name of ["talos-apply-mini01", "talos-apply-mini02", "talos-apply-mini03", "cluster-bootstrap"])
      assert.deepEqual(ops[name], ["same"], name);
    assert.match(warnings(r), /the talosconfig client certificate expires .* this update mints it anew/);
    assert.match(warnings(r), /the kubeconfig client certificate expires .* this update mints it anew/);
    const renewed = outputs();
    assert.deepEqual(renewed.credentialRenewals, { talosconfig: 1, kubeconfig: 1 });
    assert.ok(
      Date.parse(renewed.talosconfigExpiry) > t0,
      `${renewed.talosconfigExpiry} after ${first.talosconfigExpiry}`,
    );
    assert.ok(
      Date.parse(renewed.kubeconfigExpiry) >= Date.parse(now) + 364 * DAY_MS,
      `${renewed.kubeconfigExpiry}: a year after ${now}`,
    );
    assert.equal(s.world().cluster.bootstrapCount, 1);

    assertSucceeded(await s.preview(["--expect-no-changes"], env), "preview at the same time");
    const again = await s.up([], env);
    assertSucceeded(again, "second up at the same time");
    const changes = changeSummary(again.events) ?? {};
    // (the one "read" is the stack's reference to its own previous outputs)
    assert.deepEqual(
      Object.keys(changes).filter((op) => op !== "same" && op !== "read"),
      [],
      JSON.stringify(changes),
    );
    assert.deepEqual(outputs().credentialRenewals, { talosconfig: 1, kubeconfig: 1 });
  });
});
