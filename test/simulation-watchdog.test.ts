/**
 * A script killed mid-call leaves no secret behind. The provider cancels a step by killing
 * /bin/sh alone with SIGKILL (pulumi-command v1.2.1 commandOutputs.go, exec.CommandContext), so no
 * trap runs: the watchdog of the prelude (talos/shell.ts) must end the tool calls and remove the
 * scratch directory, which holds the secrets bundle, within about a second. A scratch directory
 * whose watchdog was killed too is removed when the next script starts. While they exist, scratch
 * directories are 0700 and their files 0600.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { callsOf, fastConfig, listTree, SimWorld, withTimeouts, perTest } from "./helpers/simWorld";
import { scaledMs } from "./helpers/calibration";

const N2 = "172.29.51.12";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T = scaledMs;

/** The scratch directories (run.*) under a TMPDIR, absolute. */
function scratchDirs(tmpDir: string): string[] {
  return listTree(tmpDir)
    .filter((p) => /^homeops-work-\d+\/run\.[^/]+\/$/.test(p))
    .map((p) => path.join(tmpDir, p));
}

describe("simulated execution: a killed script leaves no secret behind", function () {
  this.timeout(60000);
  const worlds = perTest();

  /**
   * A world whose mini02 install hangs (a call bounded only after 10 s on an idle machine: the
   * engine's kill at T(4000) comes first), the bundle in 1Password. Every time here is scaled
   * (helpers/calibration.ts): the stack's timeouts by withTimeouts, the others by T.
   */
  function hangingInstall(): SimWorld {
    const s = worlds.open(withTimeouts(fastConfig({ stopAfter: "talos" }), { nodeReady: 30 }));
    s.seedBundle();
    s.faults([{ tool: "talosctl", command: "apply-config", node: N2, flags: { insecure: true }, kind: "timeout" }]);
    return s;
  }

  it("killed (SIGKILL to /bin/sh only): the watchdog ends the hung call and removes the scratch directory within about a second; 0700/0600 meanwhile", async () => {
    const w = hangingInstall();
    let returnedAt = 0;
    const run = w.up({ options: { stepTimeoutMs: T(4000) } }).finally(() => (returnedAt = Date.now()));
    // Watch the scratch directory of the hanging step: its modes while it exists, when it goes.
    let modes: string[] = [];
    let goneAt = 0;
    for (const until = Date.now() + T(10000); Date.now() < until && !goneAt;) {
      await sleep(10);
      const dir = scratchDirs(w.tmpDir).find((d) => fs.existsSync(path.join(d, "machineconfig.yaml")));
      if (dir && modes.length === 0 && callsOf(w.calls(), "talosctl", "apply-config", { node: N2 }).length === 0) {
        // The watchdog may remove the directory mid-read: then this look saw nothing.
        try {
          const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
          modes = [path.dirname(dir), dir, ...files].map(
            (p) => `${path.relative(w.tmpDir, p)} ${(fs.statSync(p).mode & 0o777).toString(8)}`,
          );
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
      }
      if (modes.length > 0 && scratchDirs(w.tmpDir).length === 0) goneAt = Date.now();
    }
    assert.ok(modes.length > 0, "saw the scratch directory of the hanging step");
    for (const m of modes) assert.match(m, /^homeops-work-\d+(\/run\.[^/]+)? 700$|\/[^/]+ 600$/, m);
    assert.ok(
      modes.some((m) => /\/secrets\.yaml 600$/.test(m)),
      `the bundle is there: ${modes.join(", ")}`,
    );

    const r = await run;
    assert.equal(r.failed?.id, "apply-mini02");
    const killedAt = r.output["apply-mini02"].killedAt!;
    assert.ok(killedAt, "the engine killed the step");
    assert.ok(
      goneAt > killedAt && goneAt - killedAt < T(2500),
      `scratch directory removed ${goneAt - killedAt} ms after the kill`,
    );
    // The fake logs its call as it exits (on the watchdog's SIGTERM): wait for the record.
    const ended = () => callsOf(w.calls(), "talosctl", "apply-config", { node: N2 });
    for (const until = Date.now() + T(5000); Date.now() < until && ended().length === 0;) await sleep(20);
    const [hung] = ended();
    assert.ok(hung, "the hung call ended");
    assert.equal(hung.killed, "SIGTERM", "the hung call was ended by a signal");
    assert.ok(
      hung.t + hung.ms - killedAt < T(2500),
      `the hung call ended ${hung.t + hung.ms - killedAt} ms after the kill`,
    );
    // Nothing of the script keeps the step's output pipes open (the provider waits for them).
    assert.ok(returnedAt - killedAt < T(2500), `the step ended ${returnedAt - killedAt} ms after the kill`);
  });

  it("killed together with its watchdog: the next script's start removes the scratch directory it left", async () => {
    const w = hangingInstall();
    const r1 = await w.up({ options: { stepTimeoutMs: T(4000), killProcessGroup: true } });
    assert.equal(r1.failed?.id, "apply-mini02");
    await sleep(T(1500));
    const left = scratchDirs(w.tmpDir);
    assert.equal(left.length, 1, "the killed script's directory is still there");
    assert.ok(fs.existsSync(path.join(left[0], "secrets.yaml")), "with the bundle in it");
    w.faults([]);
    const r2 = await w.up();
    assert.equal(r2.failed, undefined, JSON.stringify(r2.failed));
    assert.deepEqual(r2.ran, ["apply-mini02"]);
    assert.equal(fs.existsSync(left[0]), false, "removed by the next script");
  });
});
