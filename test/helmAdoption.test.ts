/**
 * The Helm release hooks' decision tables (k8s/helmAdoption.ts), every branch, on records decoded
 * from Helm's own storage format: create (adopt, unlock, refuse) and update (unlock only).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "yaml";
import {
  Adoption,
  AdoptionInput,
  adoptCommand,
  decideAdoption,
  decideUpdate,
  fluxClaims,
  HANDED_OFF_COMMAND,
  helmMarker,
  PULUMI_PROJECT,
  STALE_MARGIN_SECONDS,
  staleAfterSeconds,
} from "../k8s/helmAdoption";
import { HelmRecord, helmRecords } from "../k8s/helmStorage";
import { buildPlan, HelmStep } from "../plan";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { REPO_ROOT } from "./helpers/paths";

const MARK = helmMarker("home-ops", "external-secrets");
const fixture = helmRecords(
  JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "helm-storage", "secrets.json"), "utf8")),
  "demo",
);
const NOW = new Date("2026-12-01T12:00:00Z");

/** A revision like the fixture's, with the given status, description and start. */
function rev(revision: number, status: string, description = MARK, startedAt = new Date("2026-12-01T10:00:00Z")) {
  const base = fixture[revision % 2];
  return { ...base, revision, status, description, startedAt, hookCount: 0 } as HelmRecord;
}

function decide(records: HelmRecord[], extra: Partial<AdoptionInput> = {}): Adoption {
  return decideAdoption({
    release: { name: "external-secrets", namespace: "external-secrets-system" },
    stepId: "external-secrets",
    marker: MARK,
    records,
    timeoutSeconds: 300,
    now: NOW,
    adoptList: [],
    fluxClaims: [],
    ...extra,
  });
}

describe("Helm release create hook: the decision", () => {
  it("the mark names project, stack and step; the project is Pulumi.yaml's", () => {
    assert.equal(helmMarker("home-ops", "cilium"), "homeops: homeops/home-ops cilium");
    const project = yaml.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")).name;
    assert.equal(PULUMI_PROJECT, project);
    const plan = buildPlan(homeOpsConfig());
    const marks = plan.steps.filter((s): s is HelmStep => s.kind === "helm").map((s) => s.marker);
    assert.deepEqual(marks, [
      "homeops: homeops/home-ops cilium",
      "homeops: homeops/home-ops external-secrets",
      "homeops: homeops/home-ops flux-operator",
    ]);
  });

  it("no release: install", () => {
    const d = decide([]);
    assert.equal(d.action, "install");
    assert.match((d as { reason: string }).reason, /is new/);
  });

  for (const status of ["failed", "uninstalled"]) {
    it(`latest revision ${status}: install over it (replace), nothing written first, even without the mark`, () => {
      for (const description of [MARK, "Install complete"]) {
        const d = decide([rev(1, "deployed"), rev(2, status, description)]);
        assert.equal(d.action, "install", description);
      }
    });
  }

  it("latest deployed or superseded with this stack's mark: adopt (mark it failed, then replace supersedes it)", () => {
    for (const status of ["deployed", "superseded"]) {
      const d = decide([rev(1, "superseded", "Install complete"), rev(2, status)]);
      assert.equal(d.action, "mark-failed", status);
      if (d.action !== "mark-failed") return;
      assert.equal(d.record.revision, 2);
      assert.match(
        d.description,
        /^Superseded in place by homeops: homeops\/home-ops external-secrets: its own release/,
      );
      assert.notEqual(d.description, MARK, "the failed revision no longer looks like a live one of ours");
      assert.match(d.reason, /this stack's own.*revision 3; nothing deleted or reinstalled/);
    }
  });

  it("the latest revision decides, in whatever order the records come", () => {
    assert.equal(decide([rev(3, "failed", "x"), rev(1, "superseded"), rev(2, "superseded")]).action, "install");
    assert.equal(decide([rev(2, "deployed"), rev(1, "failed", "x")]).action, "mark-failed");
  });

  it("deployed with another mark (another stack, another tool, or from before marks): refused with the one command", () => {
    for (const description of ["Install complete", "Upgrade complete", helmMarker("staging", "external-secrets"), ""]) {
      const d = decide([rev(1, "deployed", description)], { adoptList: ["cilium"] });
      assert.equal(d.action, "refuse", description);
      if (d.action !== "refuse") return;
      assert.ok(
        d.message.endsWith(
          "pulumi config set --path 'homeops:operations.adoptHelmReleases[1]' external-secrets && pulumi up",
        ),
        d.message,
      );
      assert.match(d.message, /already exists \(revision 1, deployed/);
    }
    assert.equal(
      adoptCommand("cilium", []),
      "pulumi config set --path 'homeops:operations.adoptHelmReleases[0]' cilium && pulumi up",
    );
  });

  it("without the mark but listed in operations.adoptHelmReleases: adopted the same way", () => {
    const d = decide([rev(1, "deployed", "Install complete")], { adoptList: ["external-secrets"] });
    assert.equal(d.action, "mark-failed");
    if (d.action === "mark-failed") assert.match(d.description, /adopted \(operations.adoptHelmReleases\)/);
  });

  describe("an interrupted operation (pending-install, pending-upgrade, pending-rollback)", () => {
    for (const status of ["pending-install", "pending-upgrade", "pending-rollback"]) {
      it(`${status}: unlocked once older than every wait Helm could still be in; refused before, with when to retry`, () => {
        const bound = staleAfterSeconds(300, 0);
        assert.equal(bound, 300 + STALE_MARGIN_SECONDS);
        const at = (ageSeconds: number) => new Date(NOW.getTime() - ageSeconds * 1000);
        const stale = decide([rev(1, status, "Initial install underway", at(bound))]);
        assert.equal(stale.action, "mark-failed");
        if (stale.action === "mark-failed") {
          assert.equal(stale.description.startsWith(`Release unlocked from stale '${status}' state by ${MARK}`), true);
          assert.equal(stale.record.revision, 1);
        }
        const young = decide([rev(1, status, "Initial install underway", at(bound - 1))]);
        assert.equal(young.action, "refuse");
        if (young.action === "refuse") {
          const retry = new Date(NOW.getTime() + 1000).toISOString();
          assert.ok(young.message.endsWith(`Run pulumi up again after ${retry}.`), young.message);
          assert.match(young.message, /a Helm operation may still be running/);
        }
      });
    }

    it("each hook may wait the timeout twice (its delete before creation, then itself): the bound grows with them", () => {
      assert.equal(staleAfterSeconds(100, 2), 100 * 5 + STALE_MARGIN_SECONDS);
      const withHooks = { ...rev(1, "pending-upgrade", "Preparing upgrade"), hookCount: 2 };
      const age = (s: number) => decide([{ ...withHooks, startedAt: new Date(NOW.getTime() - s * 1000) }]).action;
      assert.equal(age(300 + STALE_MARGIN_SECONDS), "refuse", "stale without hooks, not with two");
      assert.equal(age(1500 + STALE_MARGIN_SECONDS), "mark-failed");
      // The fixture's pending revision, as Helm wrote it: one pre-upgrade hook.
      assert.equal(fixture[1].hookCount, 1);
    });

    it("the release's own timeout sets the bound", () => {
      const r = rev(1, "pending-install", "x", new Date(NOW.getTime() - 200 * 1000));
      assert.equal(decide([r], { timeoutSeconds: 100 }).action, "mark-failed");
      assert.equal(decide([r], { timeoutSeconds: 300 }).action, "refuse");
    });
  });

  it("uninstalling or an unknown status: refused, pointing at helm history", () => {
    for (const status of ["uninstalling", "unknown", "bogus"]) {
      const d = decide([rev(1, status)]);
      assert.equal(d.action, "refuse", status);
      if (d.action === "refuse") assert.match(d.message, /helm history external-secrets -n external-secrets-system/);
    }
  });

  it("claimed by a Flux HelmRelease: always refused; a handed-off release names the hand-off recovery", () => {
    const handOff = { changeIn: "the GitOps repository: the HelmRelease external-secrets-system/external-secrets" };
    for (const status of ["deployed", "failed", "pending-install"]) {
      const d = decide([rev(1, status)], { fluxClaims: ["external-secrets-system/external-secrets"], handOff });
      assert.equal(d.action, "refuse", status);
      if (d.action !== "refuse") return;
      assert.ok(d.message.endsWith(HANDED_OFF_COMMAND), d.message);
      assert.match(d.message, /HelmRelease external-secrets-system\/external-secrets manages it/);
      assert.match(d.message, /Change it in the GitOps repository/);
    }
    const owned = decide([rev(1, "deployed")], { fluxClaims: ["flux-system/cilium"], adoptList: ["external-secrets"] });
    assert.equal(owned.action, "refuse");
    if (owned.action === "refuse") {
      assert.match(owned.message, /this stack is its only owner/);
      assert.match(owned.message, /Remove HelmRelease flux-system\/cilium from the GitOps repository/);
    }
  });

  it("Flux's claims: release name and storage namespace as helm-controller derives them", () => {
    const hr = (namespace: string, name: string, spec?: Record<string, string>) => ({
      metadata: { namespace, name },
      spec,
    });
    const list = {
      items: [
        hr("external-secrets-system", "external-secrets"),
        hr("flux-system", "eso", { releaseName: "external-secrets", storageNamespace: "external-secrets-system" }),
        hr("flux-system", "secrets", { targetNamespace: "external", storageNamespace: "external-secrets-system" }),
        hr("flux-system", "external-secrets"), // stored in flux-system: another release
        hr("external-secrets-system", "other"),
        hr("flux-system", "x", { targetNamespace: "external-secrets-system" }),
      ],
    };
    assert.deepEqual(fluxClaims(list, "external-secrets", "external-secrets-system"), [
      "external-secrets-system/external-secrets",
      "flux-system/eso",
      "flux-system/secrets",
    ]);
    assert.deepEqual(fluxClaims(list, "external-secrets-system-x", "flux-system"), ["flux-system/x"]);
    assert.deepEqual(fluxClaims(list, "external-secrets", "flux-system"), ["flux-system/external-secrets"]);
    assert.deepEqual(fluxClaims({}, "a", "b"), []);
  });
});

describe("Helm release update hook: the decision (a release the state holds)", () => {
  const update = (records: HelmRecord[], timeoutSeconds = 300) =>
    decideUpdate({
      release: { name: "external-secrets", namespace: "external-secrets-system" },
      marker: MARK,
      records,
      timeoutSeconds,
      now: NOW,
    });

  it("never refuses over ownership: any mark, any settled status, even no record, goes on untouched", () => {
    for (const description of [MARK, "Install complete", helmMarker("staging", "cilium"), ""])
      for (const status of ["deployed", "superseded", "failed", "uninstalled", "uninstalling", "unknown"]) {
        const d = update([rev(1, "superseded"), rev(2, status, description)]);
        assert.equal(d.action, "proceed", `${status} ${description}`);
      }
    assert.equal(update([]).action, "proceed");
  });

  for (const status of ["pending-upgrade", "pending-install", "pending-rollback"]) {
    it(`${status} (a killed up's upgrade): unlocked once stale, so Helm's upgrade goes on; before, when to retry`, () => {
      const bound = staleAfterSeconds(120, 0);
      const at = (ageSeconds: number) => new Date(NOW.getTime() - ageSeconds * 1000);
      const stale = update([rev(1, "deployed"), rev(2, status, "Preparing upgrade", at(bound))], 120);
      assert.equal(stale.action, "mark-failed");
      if (stale.action === "mark-failed") {
        assert.equal(stale.record.revision, 2, "the pending revision, not the deployed one");
        assert.ok(stale.description.startsWith(`Release unlocked from stale '${status}' state by ${MARK}`));
      }
      const young = update([rev(1, "deployed"), rev(2, status, "Preparing upgrade", at(bound - 1))], 120);
      assert.equal(young.action, "refuse");
      if (young.action === "refuse")
        assert.ok(young.message.endsWith(`Run pulumi up again after ${new Date(NOW.getTime() + 1000).toISOString()}.`));
    });
  }

  it("only the latest revision counts: an old pending one under a newer deployed one is history", () => {
    const old = new Date(NOW.getTime() - 10_000_000);
    assert.equal(update([rev(2, "deployed"), rev(1, "pending-upgrade", "x", old)]).action, "proceed");
  });
});
