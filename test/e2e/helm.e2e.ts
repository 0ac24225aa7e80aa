/**
 * Helm releases under the real engine (Pulumi CLI v3.248.0), the real Kubernetes provider
 * (v4.25.0, which runs Helm v3.18.6 in-process) and a real API server (test/e2e/k8s), with a small
 * local chart: the release is created exactly as the stack creates its releases
 * (test/e2e/fixtures/helm-release.ts over components/steps.ts createHelmStep). Proven here from the
 * engine's events and Helm's own records in the cluster:
 * (a) a first up installs, a second is a no-op;
 * (b) lost state: up adopts the stack's own release through its create hook (same release,
 *     revision + 1, the chart's objects keep their UIDs), then a no-op;
 * (f) a release the state holds is never refused: a moved endpoint leaves it alone, a replaced
 *     provider (new cluster identity) creates it again and its hook supersedes it in place;
 * (c) a killed up leaving `pending-install`: after pulumi cancel, up refuses until no Helm can
 *     still be running, then unlocks and converges;
 * (g) a killed up leaving `pending-upgrade` on a release the state holds: the update hook refuses
 *     until no Helm can still run, then unlocks it and the upgrade goes on in place;
 * (d) a release without this stack's mark is refused with one command, which then adopts it;
 * (e) the hand-off: once Flux owns the release, a version bump changes nothing and warns; after a
 *     lost state the hook refuses Flux's release with the recovery, which then converges.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { parse } from "yaml";
import { ControlPlane, startControlPlane } from "./k8s/controlPlane";
import { selfSignedCa } from "./k8s/x509";
import { assertSucceeded, changeSummary, EngineEvent, killProcessesIn, RunResult, stepOps, toolsDir } from "./harness";
import { HELMRELEASE_CRD, HelmProject, historyOf, recordsOf, relay, uidsOf, upgradeByAnotherTool } from "./helmWorld";
import { HANDED_OFF_COMMAND, staleAfterSeconds } from "../../k8s/helmAdoption";

const NODES = [
  { name: "mini01", address: "127.0.0.11" },
  { name: "mini02", address: "127.0.0.12" },
  { name: "mini03", address: "127.0.0.13" },
];
const RELEASE = "helm-demo";

/** The diagnostic messages of a run (warnings, errors, the hooks' info lines; no debug lines). */
function diagnostics(r: RunResult, severity?: string): string {
  return r.events
    .filter((e: EngineEvent) => e.diagnosticEvent && e.diagnosticEvent.severity !== "debug")
    .filter((e: EngineEvent) => !severity || e.diagnosticEvent.severity === severity)
    .map((e: EngineEvent) => String(e.diagnosticEvent.message))
    .join("");
}

function releaseOps(r: RunResult): string[] {
  return stepOps(r.events)[RELEASE] ?? [];
}

/** The engine's events about the release (for a failure message). */
function releaseEvents(r: RunResult): string {
  return JSON.stringify(
    r.events
      .map((e) => e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata ?? e.resourcePreEvent?.metadata)
      .filter((md) => md && String(md.urn).endsWith(`::${RELEASE}`))
      .map((md) => ({ op: md.op, diffs: md.diffs, detailedDiff: md.detailedDiff, keys: md.keys })),
  );
}

describe("Helm releases: real engine, real provider v4.25.0, real API server", function () {
  this.timeout(1_800_000);
  const tools = toolsDir();
  let cp: ControlPlane;
  let project: HelmProject;

  before(async () => {
    cp = await startControlPlane({ tools, host: "127.0.0.10", port: 6443, ca: selfSignedCa("ecdsa"), nodes: NODES });
    project = new HelmProject(tools, cp);
  });
  after(async () => {
    if (project) {
      killProcessesIn(project.dir);
      project.remove();
    }
    await cp?.stop();
  });

  /** A new stack of the project whose release lives in its own namespace. */
  async function stack(name: string, demo: Record<string, unknown>): Promise<void> {
    await cp.kubectlRun(["create", "namespace", String(demo.namespace)]);
    assertSucceeded(await project.cli(["stack", "init"], name), `stack init ${name}`);
    project.setConfig(name, { demo });
  }

  /** Helm is mid-operation in namespace `ns`: its latest revision is `status` and its objects exist. */
  async function midway(ns: string, status: string): Promise<boolean> {
    const last = (await recordsOf(cp, "demo", ns)).pop();
    if (last?.status !== status) return false;
    await uidsOf(cp, "demo", ns); // throws until both objects exist
    return true;
  }

  /** The state is gone (all the file backend kept of the stack); the stack file's config stays. */
  async function loseState(name: string): Promise<void> {
    const [state] = project.statePaths(name);
    assert.ok(fs.existsSync(state), `${state} exists before`);
    for (const p of project.statePaths(name)) fs.rmSync(p, { recursive: true, force: true });
    assertSucceeded(await project.cli(["stack", "init"], name), `stack init ${name} again`);
  }

  it("(a) installs with this stack's mark; preview --expect-no-changes and a second up change nothing", async () => {
    await stack("adopt", { version: "0.1.0", namespace: "a" });
    const first = await project.up("adopt");
    assertSucceeded(first, "first up");
    assert.deepEqual(releaseOps(first), ["create"]);
    assert.deepEqual(await historyOf(cp, "demo", "a"), ["1 deployed homeops: homeops/adopt demo"]);
    assert.match(diagnostics(first), /Helm release a\/demo is new/);
    assertSucceeded(await project.program(["preview", "--expect-no-changes"], "adopt"), "preview");
    const second = await project.up("adopt");
    assertSucceeded(second, "second up");
    assert.deepEqual(releaseOps(second), ["same"], releaseEvents(second));
    // "read" is the StackReference to the stack's own outputs (components/previousDeployment.ts).
    assert.deepEqual(Object.keys(changeSummary(second.events) ?? {}).sort(), ["read", "same"]);
  });

  it("(b) lost state: up adopts its own release in place (revision 2, same objects), then a no-op", async () => {
    const uids = await uidsOf(cp, "demo", "a");
    await loseState("adopt");
    const up = await project.up("adopt");
    assertSucceeded(up, "up after lost state");
    assert.deepEqual(releaseOps(up), ["create"]);
    assert.match(
      diagnostics(up),
      /Helm release a\/demo \(revision 1, deployed\) is this stack's own: the install supersedes it in place \(revision 2; nothing deleted or reinstalled\)/,
    );
    const history = await historyOf(cp, "demo", "a");
    assert.equal(history.length, 2, history.join("\n"));
    assert.match(history[0], /^1 failed Superseded in place by homeops: homeops\/adopt demo: its own release/);
    assert.equal(history[1], "2 deployed homeops: homeops/adopt demo");
    assert.deepEqual(await uidsOf(cp, "demo", "a"), uids, "never deleted");
    assertSucceeded(await project.program(["preview", "--expect-no-changes"], "adopt"), "preview after adoption");
    const again = await project.up("adopt");
    assertSucceeded(again, "up after adoption");
    assert.deepEqual(releaseOps(again), ["same"]);
    assert.equal((await historyOf(cp, "demo", "a")).length, 2, "no new revision");
  });

  it("(f) a release the state holds is never refused: endpoint moved (provider updated), then cluster identity changed (provider and release replaced)", async () => {
    await stack("endpoint", { version: "0.1.0", namespace: "f" });
    assertSucceeded(await project.up("endpoint"), "install");
    const installed = ["1 deployed homeops: homeops/endpoint demo"];
    assert.deepEqual(await historyOf(cp, "demo", "f"), installed);
    const uids = await uidsOf(cp, "demo", "f");
    const [host, port] = ["127.0.0.20", 6443];
    const stop = await relay(host, port, { host: "127.0.0.10", port: 6443 });
    try {
      // The endpoint the kubeconfig names changes, the cluster does not: the provider is updated in
      // place (its identifier unchanged), the release is the same and its hook does not run.
      project.setConfig("endpoint", { endpoint: `https://${host}:${port}` });
      const moved = await project.up("endpoint");
      assertSucceeded(moved, "up after the endpoint moved");
      assert.deepEqual(stepOps(moved.events)["e2e"], ["update"], "the provider updated, not replaced");
      assert.deepEqual(releaseOps(moved), ["same"]);
      assert.doesNotMatch(diagnostics(moved), /Helm release f\/demo/, "the create hook did not run");
      assert.deepEqual(await historyOf(cp, "demo", "f"), installed);

      // A new cluster identity replaces the provider and every resource it manages: the release is
      // created again (create before delete) while the state still holds it. Its hook runs and
      // supersedes it in place; the replaced one's delete is retained (never uninstalled).
      project.setConfig("endpoint", { clusterIdentifier: "e2e-renamed" });
      const replaced = await project.up("endpoint");
      assertSucceeded(replaced, "up after the provider's replacement");
      assert.deepEqual(releaseOps(replaced), ["create-replacement", "replace", "delete-replaced"]);
      assert.match(diagnostics(replaced), /Helm release f\/demo \(revision 1, deployed\) is this stack's own/);
      const history = await historyOf(cp, "demo", "f");
      assert.match(
        history[0] ?? "",
        /^1 failed Superseded in place by homeops: homeops\/endpoint demo: its own release/,
      );
      assert.deepEqual(history.slice(1), ["2 deployed homeops: homeops/endpoint demo"], history.join("\n"));
      assert.deepEqual(await uidsOf(cp, "demo", "f"), uids, "never deleted");
      assertSucceeded(await project.program(["preview", "--expect-no-changes"], "endpoint"), "no-op after");
    } finally {
      await stop();
    }
  });

  it("(c) a killed up leaving pending-install: refused while Helm could still run, then unlocked and converged", async () => {
    const timeout = 20;
    // One replica no Node can run (no Node matches the selector): Helm waits until its timeout.
    await stack("killed", {
      version: "0.1.0",
      namespace: "c",
      timeout,
      values: { replicas: 1, nodeSelector: { "e2e.homeops/schedulable": "yes" } },
    });
    const killed = await project.up("killed", {
      killWhenPolled: { everyMs: 250, check: () => midway("c", "pending-install") },
    });
    assert.equal(killed.signal, "SIGKILL", `the CLI was killed mid-install: ${killed.stderr.slice(-500)}`);
    // The whole machine went down: its provider too, so nothing ends Helm's pending revision.
    killProcessesIn(project.dir);
    const [pending] = await recordsOf(cp, "demo", "c");
    assert.equal(pending.status, "pending-install");
    const uids = await uidsOf(cp, "demo", "c");
    // The program's fix for the next run: a workload that can become ready (none).
    project.setConfig("killed", { demo: { version: "0.1.0", namespace: "c", timeout } });

    const locked = await project.up("killed");
    assert.notEqual(locked.code, 0);
    assert.match(locked.stderr + locked.stdout, /currently locked/);
    assertSucceeded(await project.cli(["cancel", "--yes"], "killed"), "pulumi cancel");

    const early = await project.up("killed");
    assert.notEqual(early.code, 0, "refused while a live Helm could still be working");
    const retry = /Run pulumi up again after (\S+)\./.exec(diagnostics(early));
    assert.ok(retry, diagnostics(early).slice(-2000));
    assert.match(diagnostics(early), /Helm release c\/demo is pending-install \(revision 1, started /);
    assert.deepEqual(
      await historyOf(cp, "demo", "c"),
      ["1 pending-install Initial install underway"],
      "nothing written",
    );
    const retryAt = new Date(retry[1]).getTime();
    assert.ok(
      Math.abs(retryAt - (pending.startedAt!.getTime() + staleAfterSeconds(timeout, 0) * 1000)) < 1000,
      `retry time ${retry[1]} = start + ${staleAfterSeconds(timeout, 0)} s`,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, retryAt - Date.now()) + 1000));

    const up = await project.up("killed");
    assertSucceeded(up, "up after the stale window");
    const history = await historyOf(cp, "demo", "c");
    assert.match(
      history[0],
      /^1 failed Release unlocked from stale 'pending-install' state by homeops: homeops\/killed demo/,
    );
    assert.equal(history[1], "2 deployed homeops: homeops/killed demo");
    assert.deepEqual(await uidsOf(cp, "demo", "c"), uids, "the objects the killed install created, updated in place");
    const again = await project.up("killed");
    assertSucceeded(again, "no-op");
    assert.deepEqual(releaseOps(again), ["same"]);
  });

  it("(g) a killed up leaving pending-upgrade on a release the state holds: the update hook unlocks it once stale, the upgrade goes on", async () => {
    const timeout = 20;
    await stack("upgrading", { version: "0.1.0", namespace: "g", timeout });
    assertSucceeded(await project.up("upgrading"), "install");
    const uids = await uidsOf(cp, "demo", "g");
    project.setConfig("upgrading", {
      demo: {
        version: "0.2.0",
        namespace: "g",
        timeout,
        values: { replicas: 1, nodeSelector: { "e2e.homeops/x": "y" } },
      },
    });
    const killed = await project.up("upgrading", {
      killWhenPolled: { everyMs: 250, check: () => midway("g", "pending-upgrade") },
    });
    assert.equal(killed.signal, "SIGKILL", `the CLI was killed mid-upgrade: ${killed.stderr.slice(-500)}`);
    killProcessesIn(project.dir);
    const pending = (await recordsOf(cp, "demo", "g")).pop()!;
    assert.equal(pending.status, "pending-upgrade");
    project.setConfig("upgrading", { demo: { version: "0.2.0", namespace: "g", timeout } });
    assertSucceeded(await project.cli(["cancel", "--yes"], "upgrading"), "pulumi cancel");

    const early = await project.up("upgrading");
    assert.notEqual(early.code, 0, "refused while a live Helm could still be working");
    assert.match(diagnostics(early), /Helm release g\/demo is pending-upgrade \(revision 2, started /);
    const retry = /Run pulumi up again after (\S+)\./.exec(diagnostics(early));
    assert.ok(retry, diagnostics(early).slice(-2000));
    const before = await historyOf(cp, "demo", "g");
    assert.deepEqual(before, ["1 deployed homeops: homeops/upgrading demo", "2 pending-upgrade Preparing upgrade"]);
    await new Promise((r) => setTimeout(r, Math.max(0, new Date(retry[1]).getTime() - Date.now()) + 1000));

    const up = await project.up("upgrading");
    assertSucceeded(up, "up after the stale window");
    assert.deepEqual(releaseOps(up), ["update"], releaseEvents(up));
    const history = await historyOf(cp, "demo", "g");
    assert.equal(history[0], "1 superseded homeops: homeops/upgrading demo");
    assert.match(
      history[1],
      /^2 failed Release unlocked from stale 'pending-upgrade' state by homeops: homeops\/upgrading demo/,
    );
    assert.equal(history[2], "3 deployed homeops: homeops/upgrading demo");
    assert.equal(history.length, 3, history.join("\n"));
    assert.deepEqual(await uidsOf(cp, "demo", "g"), uids, "upgraded in place");
    const cm = JSON.parse(await cp.kubectlRun(["get", "configmap", "demo-config", "-n", "g", "-o", "json"]));
    assert.equal(cm.data.chartVersion, "0.2.0");
    assertSucceeded(await project.program(["preview", "--expect-no-changes"], "upgrading"), "no-op after");
  });

  it("(d) a release without this stack's mark: refused with the one command, which then adopts it", async () => {
    await stack("unmarked", { version: "0.1.0", namespace: "d", unmarked: true });
    assertSucceeded(await project.up("unmarked"), "install without the mark");
    assert.deepEqual(await historyOf(cp, "demo", "d"), ["1 deployed Install complete"]);
    const uids = await uidsOf(cp, "demo", "d");
    await loseState("unmarked");
    project.setConfig("unmarked", { demo: { version: "0.1.0", namespace: "d" } });

    const refused = await project.up("unmarked");
    assert.notEqual(refused.code, 0);
    const command = "pulumi config set --path 'homeops:operations.adoptHelmReleases[0]' demo && pulumi up";
    assert.ok(
      diagnostics(refused).includes(`without this stack's mark ("homeops: homeops/unmarked demo")`),
      diagnostics(refused),
    );
    assert.ok(diagnostics(refused).includes(command), diagnostics(refused));
    assert.deepEqual(await historyOf(cp, "demo", "d"), ["1 deployed Install complete"], "nothing written");

    // The command, as printed.
    assertSucceeded(
      await project.cli(["config", "set", "--path", "homeops:operations.adoptHelmReleases[0]", "demo"], "unmarked"),
      "the adopt command's config set",
    );
    const adopted = await project.up("unmarked");
    assertSucceeded(adopted, "up after the command");
    const history = await historyOf(cp, "demo", "d");
    assert.match(
      history[0],
      /^1 failed Superseded in place by homeops: homeops\/unmarked demo: adopted \(operations.adoptHelmReleases\)/,
    );
    assert.equal(history[1], "2 deployed homeops: homeops/unmarked demo");
    assert.deepEqual(await uidsOf(cp, "demo", "d"), uids);
    assert.deepEqual(releaseOps(await project.up("unmarked")), ["same"]);
  });

  it("(e) hand-off: once Flux owns it, a version bump changes nothing and warns; after a lost state the recovery converges", async () => {
    await stack("handoff", { version: "0.1.0", namespace: "e" });
    assertSucceeded(await project.up("handoff"), "install");
    // The gitops phase completes in this update (its phasesCompleted output).
    project.setConfig("handoff", { completed: ["gitops"] });
    assertSucceeded(await project.up("handoff"), "gitops completed");

    // Flux takes over: its HelmRelease claims the release and its helm-controller upgrades it.
    await cp.kubectlRun(["apply", "-f", "-"], JSON.stringify(HELMRELEASE_CRD));
    await cp.kubectlRun([
      "wait",
      "--for=condition=Established",
      "crd/helmreleases.helm.toolkit.fluxcd.io",
      "--timeout=60s",
    ]);
    await cp.kubectlRun(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "demo", namespace: "e" },
        spec: { chart: { spec: { chart: "homeops-e2e", version: "0.1.0" } } },
      }),
    );
    await upgradeByAnotherTool(cp, "demo", "e");
    const flux = ["1 superseded homeops: homeops/handoff demo", "2 deployed Upgrade complete"];
    assert.deepEqual(await historyOf(cp, "demo", "e"), flux);

    project.setConfig("handoff", { demo: { version: "0.2.0", namespace: "e" } });
    const preview = await project.program(["preview", "--expect-no-changes"], "handoff");
    assertSucceeded(preview, "preview after the bump");
    const bumped = await project.up("handoff");
    assertSucceeded(bumped, "up after the bump");
    assert.deepEqual(releaseOps(bumped), ["same"]);
    assert.match(
      diagnostics(bumped, "warning"),
      /homeops:demo.version is 0.2.0, but Flux owns demo since the gitops phase completed, and this stack last applied 0.1.0: the stack no longer changes it. Make the change in the GitOps repository: the HelmRelease e\/demo./,
    );
    assert.deepEqual(await historyOf(cp, "demo", "e"), flux, "the release untouched");
    const cm = JSON.parse(await cp.kubectlRun(["get", "configmap", "demo-config", "-n", "e", "-o", "json"]));
    assert.equal(cm.data.chartVersion, "0.1.0");

    // Lost state after the hand-off: the hook refuses Flux's release and names the recovery.
    await loseState("handoff");
    const refused = await project.up("handoff");
    assert.notEqual(refused.code, 0);
    assert.match(
      diagnostics(refused),
      /Helm release e\/demo \(revision 2, deployed\) is Flux's: HelmRelease e\/demo manages it/,
    );
    assert.ok(diagnostics(refused).includes(HANDED_OFF_COMMAND), diagnostics(refused));
    assert.deepEqual(await historyOf(cp, "demo", "e"), flux);
    assertSucceeded(
      await project.cli(["config", "set", "--path", "homeops:operations.handedOffToFlux", "true"], "handoff"),
      "the recovery's config set",
    );
    // As the stack's schema wants it: a boolean, not the string "true" (config/fields.ts flag).
    const stackFile = parse(fs.readFileSync(`${project.dir}/Pulumi.handoff.yaml`, "utf8"));
    assert.equal(stackFile.config["homeops:operations"].handedOffToFlux, true);
    const recovered = await project.up("handoff");
    assertSucceeded(recovered, "up after the recovery");
    assert.deepEqual(releaseOps(recovered), []);
    assert.deepEqual(await historyOf(cp, "demo", "e"), flux);
    assertSucceeded(await project.program(["preview", "--expect-no-changes"], "handoff"), "no-op after recovery");
  });
});
