/**
 * Cross-field rules of the Talos settings: the pinned machine-config contract against the installed
 * minor, Kubernetes within what that minor runs, and what the v1.14 contract cannot express. Same
 * shape as config/rules.ts (a rule judges only values that passed their own checks).
 */
import * as semver from "semver";
import { TALOS_VERSION } from "./fields";
import { keyPath, Loose, Report } from "./problems";
import type { ConfigView } from "./rules";
import type { ParsedNode } from "./schema";
import { SUPPORTED_TALOS_MINORS, TalosMinor, talosMinorAtLeast } from "./types";
import { parseDiskSize } from "./diskSize";

/**
 * Kubernetes minors each Talos minor runs. The enforced bounds are
 * pkg/machinery/compatibility/talos1NN Minimum/MaximumKubernetesVersion at talos @ v1.10.5, v1.11.5,
 * v1.12.6, v1.13.9 and v1.14.1 (contracts/NOTES.md §7.4). For v1.14 the code accepts 1.32, but the
 * support matrix (siderolabs/docs public/talos/v1.14/getting-started/support-matrix.mdx) lists
 * 1.33–1.37 only and nothing we read says why: the stricter range is used.
 */
export const KUBERNETES_RANGE_OF_TALOS: Readonly<Record<TalosMinor, { readonly min: string; readonly max: string }>> = {
  "v1.10": { min: "1.28", max: "1.33" },
  "v1.11": { min: "1.29", max: "1.34" },
  "v1.12": { min: "1.30", max: "1.35" },
  "v1.13": { min: "1.31", max: "1.36" },
  "v1.14": { min: "1.33", max: "1.37" },
};

function talosMinorOfVersion(version: string | undefined): TalosMinor | undefined {
  const match = version === undefined ? null : TALOS_VERSION.exec(version);
  const minor = match === null ? undefined : `v${match[1]}.${match[2]}`;
  return (SUPPORTED_TALOS_MINORS as readonly (string | undefined)[]).includes(minor)
    ? (minor as TalosMinor)
    : undefined;
}

function supportedContract(contract: string | undefined): TalosMinor | undefined {
  return (SUPPORTED_TALOS_MINORS as readonly (string | undefined)[]).includes(contract)
    ? (contract as TalosMinor)
    : undefined;
}

/**
 * The contract is at most the installed minor: a talosctl knows only the contracts up to its own
 * minor (pkg/machinery/config/contract.go @ v1.13.9 has no gate beyond TalosVersion1_13, so it
 * would quietly render a v1.13 shape), and a node decodes only the document kinds of its own
 * minor (the v1.14 contract's Kube* and UnattendedInstallConfig kinds do not exist in v1.13).
 */
function checkContractNotNewer(view: ConfigView, report: Report): void {
  const minor = talosMinorOfVersion(view.talos?.version);
  const contract = supportedContract(view.talos?.contract);
  if (minor === undefined || contract === undefined || talosMinorAtLeast(minor, contract)) return;
  report.invalid(
    keyPath(["talos", "contract"]),
    contract,
    `is newer than Talos ${minor} (talos.version ${view.talos?.version ?? "?"}): talosctl ${minor} knows no newer contract ` +
      `(pkg/machinery/config/contract.go) and a ${minor} node refuses the document kinds a newer contract generates; ` +
      `set the minor the cluster was created with, at most ${minor}`,
  );
}

function checkKubernetesRange(view: ConfigView, report: Report): void {
  const minor = talosMinorOfVersion(view.talos?.version);
  const version = view.kubernetes?.version;
  const parsed = version === undefined ? null : semver.parse(version.replace(/^v/, ""));
  if (minor === undefined || parsed === null || version === undefined) return;
  const { min, max } = KUBERNETES_RANGE_OF_TALOS[minor];
  const kubernetesMinor = `${parsed.major}.${parsed.minor}`;
  const inRange = semver.satisfies(`${kubernetesMinor}.0`, `>=${min}.0 <=${max}.0`);
  if (inRange) return;
  report.invalid(
    keyPath(["kubernetes", "version"]),
    version,
    `Talos ${minor} (talos.version ${view.talos?.version ?? "?"}) runs Kubernetes ${min} to ${max} only; ` +
      `set a Kubernetes release in that range, or a Talos version that runs ${kubernetesMinor}`,
  );
}

type NodeView = Loose<ParsedNode>;

/**
 * The v1.14 contract installs through an UnattendedInstallConfig, which has no kernel arguments
 * (runtime.UnattendedInstallConfigV1Alpha1 @ v1.14.1: reboot, installer.image, provisioning only):
 * an argument only some nodes have could not reach any node. Arguments every node has go into the
 * Image Factory schematic, which is where the installer takes its command line from anyway.
 */
function checkKernelArgsUnderV114(view: ConfigView, nodes: readonly (NodeView | undefined)[], report: Report): void {
  const common = view.machine?.extraKernelArgs ?? [];
  nodes.forEach((node, index) => {
    (node?.extraKernelArgs ?? []).forEach((arg, argIndex) => {
      if (arg === undefined || common.includes(arg)) return;
      if (nodes.every((other) => other?.extraKernelArgs?.includes(arg) === true)) return;
      report.invalid(
        keyPath(["nodes", index, "extraKernelArgs", argIndex]),
        arg,
        "the v1.14 contract installs with an UnattendedInstallConfig, which carries no kernel arguments, so an argument " +
          "only some nodes have reaches none; put it in machine.extraKernelArgs (every node, via the Image Factory " +
          "schematic) or keep talos.contract at v1.13 or older",
      );
    });
  });
}

/** The v1.14 contract turns the install disk selector into CEL (disk.size >= <bytes>): the size must parse. */
function checkInstallDiskSizeUnderV114(
  view: ConfigView,
  nodes: readonly (NodeView | undefined)[],
  report: Report,
): void {
  const selectors = [
    { path: keyPath(["machine", "installDisk", "size"]), size: view.machine?.installDisk?.size },
    ...nodes.map((node, index) => ({
      path: keyPath(["nodes", index, "installDisk", "size"]),
      size: node?.installDisk?.size,
    })),
  ];
  for (const { path, size } of selectors) {
    if (size === undefined || parseDiskSize(size) !== undefined) continue;
    report.invalid(
      path,
      size,
      'must be an optional comparison and a size with a unit, e.g. ">= 100GB" or "500GiB" (the v1.14 contract ' +
        "writes it as a CEL disk selector)",
    );
  }
}

/** Every Talos rule; called once from checkCrossFieldRules. */
export function checkTalosRules(view: ConfigView, report: Report): void {
  checkContractNotNewer(view, report);
  checkKubernetesRange(view, report);
  if (supportedContract(view.talos?.contract) !== "v1.14") return;
  const nodes = view.nodes ?? [];
  checkKernelArgsUnderV114(view, nodes, report);
  checkInstallDiskSizeUnderV114(view, nodes, report);
}
