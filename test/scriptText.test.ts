/**
 * A script's text is not a resource input: a command runs `steps/<name>.sh` by path, so a fixed
 * script reaches every step on its next run without any input changing (no re-run because of it,
 * and nothing frozen by ignoreChanges). Shown by evaluating the program (Pulumi mocks) with every
 * script's text changed and comparing every resource's inputs with an evaluation of the real ones.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../components/stack";
import { writeStepFiles } from "../components/runtimeFiles";
import { StackConfig } from "../config/types";
import { SCRIPTS } from "../talos/scripts";
import { differences } from "./helpers/faultMatrix";
import { recorded, resetMocks, settle } from "./helpers/mocks";
import { CANARY, CANARY_WORLD } from "./helpers/program";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { withSysctl } from "./helpers/simWorld";

/** Every resource's registration (inputs and options) by URN, from one evaluation in `projectDir`. */
async function registrations(cfg: StackConfig, projectDir: string): Promise<Record<string, unknown>> {
  await resetMocks(CANARY_WORLD, false, cfg.stack);
  deployStack(cfg, { onePasswordServiceAccountToken: pulumi.secret(CANARY.opToken) }, { projectDir });
  await settle();
  return Object.fromEntries(
    recorded.resources.map((r) => [
      r.urn,
      {
        type: r.type,
        inputs: r.inputs,
        ignoreChanges: r.ignoreChanges,
        secretPaths: r.secretPaths,
        dependencies: r.dependencies,
      },
    ]),
  );
}

describe("script text is not a resource input (Pulumi mocks)", () => {
  const dirs: string[] = [];
  const project = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-scripts-"));
    dirs.push(dir);
    writeStepFiles(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("changing every script's text changes no input or option of any resource", async () => {
    const cfg = homeOpsConfig();
    const before = await registrations(cfg, project());
    const commands = Object.values(before).filter((r) => (r as { type: string }).type === "command:local:Command");
    assert.equal(commands.length, 14, "every command step is compared");
    const scripts = SCRIPTS as Record<string, string>;
    const original = { ...scripts };
    let after: Record<string, unknown>;
    const changed = project();
    try {
      for (const name of Object.keys(scripts)) scripts[name] = `${original[name]}# changed: ${name}\n`;
      fs.rmSync(path.join(changed, "steps"), { recursive: true });
      writeStepFiles(changed);
      assert.match(fs.readFileSync(path.join(changed, "steps/apply-node.sh"), "utf8"), /# changed: apply-node\n$/);
      after = await registrations(cfg, changed);
    } finally {
      Object.assign(scripts, original);
    }
    assert.deepEqual(differences(after, before), []);
  });

  it("the comparison sees a change of configuration (it can fail)", async () => {
    const cfg = homeOpsConfig();
    const a = await registrations(cfg, project());
    const b = await registrations(withSysctl(cfg, "mini02", "vm.swappiness", "10"), project());
    const changed = differences(b, a).map((d) => d.split(".inputs.")[0].split("::").pop());
    assert.deepEqual([...new Set(changed)], ["talos-apply-mini02"]);
  });
});
