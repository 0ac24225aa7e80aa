/**
 * Scaled stack configurations for the evaluation benchmark: the home-ops fixture with N nodes.
 *
 * Addresses 172.29.51.11 … 172.29.51.(10+N) (N ≤ 100; the VIP stays .10), hostnames node001 …,
 * IPv6 fd47:25e1:2f96:51::<octet> (unique), exactly one bootstrap node (node001). Roles: the first
 * three nodes are control planes, every further node is a worker (for N = 3 all three are control
 * planes, which is the real home-ops layout).
 */
import * as fs from "fs";
import * as path from "path";
import { NodeConfig, StackConfig } from "../config/types";
import { parseStackConfig } from "../config/index";
import { rawConfigFromStackFile } from "../config/load";
import { homeOpsConfig } from "../test/helpers/stackConfigFixture";

export const MAX_NODES = 100;
export const CONTROL_PLANES = 3;

export function scaledNodes(n: number): NodeConfig[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES)
    throw new Error(`bench: node count must be 1..${MAX_NODES}, got ${n}`);
  const template = homeOpsConfig().nodes[0];
  return Array.from({ length: n }, (_, i) => {
    const octet = 11 + i;
    return {
      ...template,
      hostname: `node${String(i + 1).padStart(3, "0")}`,
      address: `172.29.51.${octet}`,
      ipv6: `fd47:25e1:2f96:51::${octet}`,
      role: i < CONTROL_PLANES ? "controlplane" : "worker",
      bootstrap: i === 0,
      installDisk: { ...template.installDisk },
      extraKernelArgs: [...template.extraKernelArgs],
      sysctls: { ...template.sysctls },
    } satisfies NodeConfig;
  });
}

/** homeOpsConfig() with N nodes (everything else unchanged). */
export function scaledConfig(n: number): StackConfig {
  return homeOpsConfig({ nodes: scaledNodes(n) });
}

/**
 * Proof that the generated node lists are valid: the real stack file with its `nodes` replaced by
 * the generated ones goes through the program's own validation (parseStackConfig), which must
 * accept it and produce the same hostnames/addresses/roles/bootstrap flags.
 */
export function validateScaled(n: number): void {
  const file = path.resolve(__dirname, "..", "Pulumi.home-ops.yaml");
  const raw = rawConfigFromStackFile(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const nodes = scaledNodes(n);
  raw.nodes = nodes.map((x) => ({
    hostname: x.hostname,
    address: x.address,
    ipv6: x.ipv6,
    role: x.role,
    ...(x.bootstrap ? { bootstrap: true } : {}),
  }));
  const { config } = parseStackConfig(raw as Parameters<typeof parseStackConfig>[0], "home-ops");
  const got = config.nodes.map((x) => `${x.hostname} ${x.address} ${x.role} ${x.bootstrap}`).join("\n");
  const want = nodes.map((x) => `${x.hostname} ${x.address} ${x.role} ${x.bootstrap}`).join("\n");
  if (got !== want) throw new Error(`bench: validated ${n}-node config differs from the generated one`);
}
