/** Loading the stack config inside the Pulumi program (the only Pulumi-aware part of config/). */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { missingLocalCharts } from "./chartSource";
import { parseStackConfig } from "./index";
import { rawConfigFromPulumiConfig } from "./load";
import type { StackHistory } from "./rules";
import { ConfigError, StackConfig } from "./types";

export const PROJECT = "homeops";

/** Secret stack settings (never part of StackConfig). */
export interface StackSecrets {
  /** 1Password service-account token, for `onepassword.auth: service-account`. */
  readonly onePasswordServiceAccountToken?: pulumi.Output<string>;
}

/**
 * Validated config of the current stack, judged against its `history` (what its earlier updates
 * left: nodes leaving it, the upgrade path from what the cluster runs); invalid config stops the
 * program before any resource.
 */
export function loadStackConfig(history: StackHistory = {}): StackConfig {
  try {
    const { config, warnings } = parseStackConfig(
      rawConfigFromPulumiConfig(pulumi.runtime.allConfig(), PROJECT),
      pulumi.getStack(),
      history,
    );
    // A local chart is found (or not) now, not after a Helm timeout.
    const missing = missingLocalCharts(config.charts, (p) => fs.existsSync(path.resolve(p)));
    if (missing.length > 0) throw new ConfigError(missing);
    for (const w of warnings) void pulumi.log.warn(w);
    return config;
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

export function loadStackSecrets(): StackSecrets {
  const c = new pulumi.Config(PROJECT);
  return { onePasswordServiceAccountToken: c.getSecret("onepasswordServiceAccountToken") };
}
