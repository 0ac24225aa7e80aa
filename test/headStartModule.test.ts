/**
 * index.ts sends the engine's head start (components/headStart.ts) before it loads the phases, so
 * the plugins it asks for start while the phases load: the head start's module must not load them,
 * nor the Kubernetes SDK.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { REPO_ROOT } from "./helpers/paths";

describe("the head start's module loads neither the phases nor the Kubernetes SDK", () => {
  it("requiring components/headStart leaves @pulumi/kubernetes and every phase module unloaded", () => {
    const script =
      'require("./components/headStart"); process.stdout.write(JSON.stringify(Object.keys(require.cache)))';
    const r = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", script], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const loaded = JSON.parse(r.stdout) as string[];
    assert.ok(
      loaded.some((f) => f.endsWith("/components/headStart.ts")),
      "the module itself was loaded",
    );
    const heavy = loaded.filter(
      (f) =>
        /\/node_modules\/@pulumi\/kubernetes\//.test(f) ||
        /\/components\/(stack|steps|talosPhase|clusterPhase|cniPhase|secretsPhase|gitopsPhase)\.ts$/.test(f) ||
        /\/plan\/index\.ts$/.test(f),
    );
    assert.deepEqual(heavy, []);
  });
});
