/**
 * listTree walks directories that other processes remove while it walks (the watchdog test lists a
 * TMPDIR whose scratch directory the prelude's watchdog removes at any moment): a directory gone
 * between its parent's listing and its own is listed as it was seen, never an ENOENT.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import fsModule from "fs";
import * as os from "os";
import * as path from "path";
import { listTree } from "./helpers/simWorld";

describe("listTree (test helper)", () => {
  it("a directory removed between its parent's listing and its own is listed, not an ENOENT", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-listtree-"));
    fs.mkdirSync(path.join(root, "a", "run.x"), { recursive: true });
    fs.writeFileSync(path.join(root, "a", "run.x", "secrets.yaml"), "");
    fs.writeFileSync(path.join(root, "a", "kept"), "");
    const real = fsModule.readdirSync;
    const gone = path.join(root, "a", "run.x");
    // The removal lands exactly in the window: after a/ was read, before a/run.x/ is.
    // The module object itself (a namespace import is read-only); simWorld reads through it.
    (fsModule as { readdirSync: unknown }).readdirSync = function (p: fs.PathLike, ...rest: unknown[]) {
      if (String(p) === gone) fs.rmSync(gone, { recursive: true, force: true });
      return (real as (...a: unknown[]) => unknown).call(fsModule, p, ...rest);
    };
    try {
      assert.deepEqual(listTree(root).sort(), ["a/", "a/kept", "a/run.x/"]);
    } finally {
      (fsModule as { readdirSync: unknown }).readdirSync = real;
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("a root that does not exist lists nothing", () => {
    assert.deepEqual(listTree(path.join(os.tmpdir(), "homeops-listtree-none-" + process.pid)), []);
  });
});
