import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { talosctlPreflight } from "../components/headStart";
import { StackConfig } from "../config/types";
import { recorded, resetMocks } from "./helpers/mocks";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const valueOrError = (o: pulumi.Output<string>): Promise<string> =>
  (o as unknown as { promise(): Promise<string> }).promise();

describe("talosctl preflight of an upgrade path (components/stack.ts)", () => {
  const base = homeOpsConfig();
  const cfg: StackConfig = {
    ...base,
    talos: {
      ...base.talos,
      version: "v1.14.1",
      minor: "v1.14",
      talosctl: "talosctl-1.14",
      talosctls: { "v1.12": "talosctl-1.12" },
    },
  };
  afterEach(() => resetMocks());

  it("checks the talosctl of every minor the path runs, each against its own minor", async () => {
    await resetMocks({ talosctlVersions: { "talosctl-1.14": "v1.14.1", "talosctl-1.12": "v1.12.6" } });
    assert.equal(await valueOrError(talosctlPreflight(cfg, ["v1.12", "v1.14"])), "v1.14");
    const asked = recorded.calls
      .filter((c) => c.token === "command:local:run")
      .map((c) => (c.args.environment as Record<string, string>).TALOSCTL);
    assert.deepEqual(asked.sort(), ["talosctl-1.12", "talosctl-1.14"]);
  });

  it("a configured talosctl of another minor fails the update before any step, naming it", async () => {
    await resetMocks({ talosctlVersions: { "talosctl-1.14": "v1.14.1", "talosctl-1.12": "v1.11.5" } });
    await assert.rejects(valueOrError(talosctlPreflight(cfg, ["v1.12", "v1.14"])), /talosctl-1\.12.*v1\.11|v1\.12/);
  });
});
