/**
 * test/e2e/run.sh splits the end-to-end files over three mocha processes by name: the control-plane
 * files, a named half of the fake-node files, and every other file. A name that matches no file
 * would silently move that file's tests to another process (or run none of them twice): each must
 * name a file, and the two lists must not overlap.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const RUN = fs.readFileSync(path.join(__dirname, "e2e", "run.sh"), "utf8");

function list(name: string): string[] {
  const m = new RegExp(`^${name}='([^']*)'$`, "m").exec(RUN);
  assert.ok(m, `run.sh sets ${name}`);
  return m[1].split("|");
}

describe("e2e runner: the three processes' files", () => {
  const files = fs
    .readdirSync(path.join(__dirname, "e2e"))
    .filter((f) => f.endsWith(".e2e.ts"))
    .map((f) => f.replace(/\.e2e\.ts$/, ""));

  it("each name of the control-plane files and of the first fake-node half is an e2e file", () => {
    for (const n of [...list("k8s"), ...list("nodes_a")]) assert.ok(files.includes(n), `test/e2e/${n}.e2e.ts exists`);
  });

  it("no file is in both lists, and the second half keeps some files", () => {
    const k8s = list("k8s");
    const a = list("nodes_a");
    assert.deepEqual(
      k8s.filter((n) => a.includes(n)),
      [],
    );
    assert.ok(files.filter((f) => !k8s.includes(f) && !a.includes(f)).length > 0);
  });
});
