/** Loading the stack config inside the Pulumi program (the only Pulumi-aware part of config/). */
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "./index";
import { rawConfigFromPulumiConfig } from "./load";
import { ConfigError, StackConfig } from "./types";
import type { PreviousDeployment } from "./previousDeployment";

export const PROJECT = "homeops";

/** Secret stack settings (never part of StackConfig). */
export interface StackSecrets {
  /** 1Password service-account token, for `onepassword.auth: service-account`. */
  readonly onePasswordServiceAccountToken?: pulumi.Output<string>;
}

/**
 * Validated config of the current stack; invalid config stops the program before any resource.
 * `previous` (the stack's last outputs) lets validation refuse a target no upgrade path reaches.
 */
export function loadStackConfig(previous?: PreviousDeployment): StackConfig {
  try {
    const { config, warnings } = parseStackConfig(
      rawConfigFromPulumiConfig(pulumi.runtime.allConfig(), PROJECT),
      pulumi.getStack(),
      previous,
    );
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
