/**
 * The generated step scripts are POSIX sh that shellcheck accepts (as sh), and every script parses
 * with /bin/sh -n. SC1090 (a sourced path given at run time), SC2086 (list variables split on
 * purpose; globbing is off in every script) and SC2317 (functions called from traps) are excluded.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./helpers/paths";

const STEPS = fs
  .readdirSync(path.join(REPO_ROOT, "steps"))
  .filter((f) => f.endsWith(".sh"))
  .map((f) => path.join(REPO_ROOT, "steps", f));

describe("the step scripts are clean POSIX sh", () => {
  it("every script parses with /bin/sh -n", () => {
    assert.ok(STEPS.length >= 10);
    for (const file of STEPS) {
      const r = spawnSync("/bin/sh", ["-n", file], { encoding: "utf8" });
      assert.equal(r.status, 0, `${path.basename(file)}: ${r.stderr}`);
    }
  });

  const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  (shellcheck ? it : it.skip)("shellcheck finds nothing (CI installs shellcheck)", () => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC1090,SC2086,SC2317", ...STEPS], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout);
  });
});
