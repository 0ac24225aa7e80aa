/**
 * The engine's head start (components/headStart.ts engineHeadStart): the talosctl preflight and the
 * 1Password provider are not only made but sent before the program builds its plan, so the engine
 * starts their plugins meanwhile; a stale step script still stops the program before either.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { engineHeadStart } from "../components/headStart";
import { recorded, resetMocks, settle } from "./helpers/mocks";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { scratchProject } from "./helpers/simWorld";
import { writeStepFiles } from "../components/runtimeFiles";

const SECRETS = { onePasswordServiceAccountToken: pulumi.secret("ops_not_checked_here") };

describe("the engine's head start", () => {
  it("the preflight invoke and the 1Password provider have reached the engine when it returns", async () => {
    await resetMocks({ talosctlVersion: "v1.10.5" });
    const dir = scratchProject("homeops-head-");
    try {
      const head = await engineHeadStart(homeOpsConfig(), SECRETS, { projectDir: dir });
      // Nothing waited for since: what the (in-process) engine has seen was sent by then.
      assert.deepEqual(
        recorded.calls.map((c) => c.token),
        ["command:local:run"],
      );
      assert.deepEqual(
        recorded.resources.map((r) => r.type),
        ["pulumi:providers:onepassword"],
      );
      assert.ok(head.onePassword, "the 1Password provider of the secrets phase");
      assert.deepEqual(head.phases, ["talos", "cluster", "cni", "secrets", "gitops"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without the secrets phase there is no 1Password provider to start", async () => {
    await resetMocks({ talosctlVersion: "v1.10.5" });
    const dir = scratchProject("homeops-head-");
    try {
      const head = await engineHeadStart(homeOpsConfig({ stopAfter: "cni" }), SECRETS, { projectDir: dir });
      await settle();
      assert.equal(head.onePassword, undefined);
      assert.deepEqual(recorded.resources, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a stale step script is refused before anything is asked of the engine", async () => {
    await resetMocks({ talosctlVersion: "v1.10.5" });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-head-stale-"));
    try {
      writeStepFiles(dir);
      fs.appendFileSync(path.join(dir, "steps/apply-node.sh"), "\n# edited by hand\n");
      await assert.rejects(
        engineHeadStart(homeOpsConfig(), SECRETS, { projectDir: dir }),
        /steps\/apply-node\.sh are missing or differ/,
      );
      await settle();
      assert.deepEqual(recorded.calls, []);
      assert.deepEqual(recorded.resources, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
