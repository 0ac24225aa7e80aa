/**
 * Pure builders of the Talos machine-config documents for one node: the patch handed to
 * `talosctl gen config --config-patch`, with every document each apply must carry (a full
 * apply-config replaces what it does not carry). The output is a pure function of the config, the
 * node, the Talos minor the node runs and the cluster's machine-config contract; fields come in a
 * fixed order, so the same input is byte-identical YAML (its hash triggers the node apply).
 *
 * The shape is fixed by the contract alone (v1alpha1.ts: v1.10–v1.13, v114.ts: v1.14), never by the
 * minor: a Talos upgrade with the contract pinned renders the same bytes, so it re-applies nothing
 * and switches no representation. The minor must be at least the contract (a node does not know
 * the document kinds of a newer contract). Every setting keeps its meaning on every minor the
 * contract allows: test/machineconfig-contracts.test.ts maps each one to where it is rendered.
 */
import { Document, isScalar, stringify, visit } from "yaml";
import type { NodeConfig, StackConfig } from "../../config/types";
import { talosMinorAtLeast } from "../../config/types";
import {
  renderLldpdDocument,
  renderUsbSsdVolume,
  systemVolumeEncryptionDocuments,
  talosDocument,
  type RenderTarget,
  type TalosDocument,
} from "./common";
import { renderNodePatch } from "./v1alpha1";
import { renderV114Documents, renderV114NodePatch } from "./v114";

export { LLDPD_CONFIG_MOUNT_PATH, renderLldpdDocument, renderUsbSsdVolume } from "./common";
export type { RenderTarget, TalosDocument } from "./common";
export { renderClusterPatch, renderNodePatch } from "./v1alpha1";
export { installDiskCel } from "./installDisk";

/** What the stack renders for today: every node on the stack's Talos minor, the pinned contract. */
export function stackTarget(cfg: StackConfig): RenderTarget {
  return { minor: cfg.talos.minor, contract: cfg.talos.contract };
}

function assertContractFits(target: RenderTarget): void {
  if (!talosMinorAtLeast(target.minor, target.contract)) {
    throw new Error(
      `machine-config contract ${target.contract} is newer than Talos ${target.minor} on the node: ` +
        "a node does not know the documents of a newer contract",
    );
  }
}

/** STATE/EPHEMERAL encryption as VolumeConfigs: contracts from v1.11 (empty for v1.10 or when off). */
export function renderSystemVolumeDocuments(cfg: StackConfig, contract = cfg.talos.contract): TalosDocument[] {
  return talosMinorAtLeast(contract, "v1.11") ? systemVolumeEncryptionDocuments(cfg) : [];
}

/**
 * From contract v1.12 the hostname is a HostnameConfig. gen config emits `auto: stable`, and Talos
 * refuses `auto` together with `hostname` (network/hostname.go), so the patch turns it off.
 */
function hostnameDocuments(node: NodeConfig, target: RenderTarget): TalosDocument[] {
  if (!talosMinorAtLeast(target.contract, "v1.12")) return [];
  return [talosDocument("HostnameConfig", { auto: "off", hostname: node.hostname })];
}

/**
 * Every document of one node, in apply order: the v1alpha1 patch, the documents the contract
 * moves settings into, the LLDPD ExtensionServiceConfig and the USB SSD UserVolumeConfig.
 * Without `target`, for the stack's own Talos minor and contract.
 */
export function renderNodeDocuments(
  cfg: StackConfig,
  node: NodeConfig,
  target: RenderTarget = stackTarget(cfg),
): TalosDocument[] {
  assertContractFits(target);
  const typedKubernetes = talosMinorAtLeast(target.contract, "v1.14");
  return [
    typedKubernetes ? renderV114NodePatch(cfg, node) : renderNodePatch(cfg, node, target.contract),
    ...hostnameDocuments(node, target),
    ...renderSystemVolumeDocuments(cfg, target.contract),
    ...(typedKubernetes ? renderV114Documents(cfg, node) : []),
    renderLldpdDocument(cfg),
    renderUsbSsdVolume(cfg),
  ];
}

/** Plain words YAML 1.1 reads as booleans: Go's YAML decoders may too, so they are always quoted. */
const YAML_11_BOOLEAN_WORD = /^(?:y|n|yes|no|on|off)$/i;

/** Documents as one multi-document YAML (`---` between documents), the node's config patch file. */
export function documentsToYaml(documents: readonly TalosDocument[]): string {
  return documents
    .map((doc) => {
      const yamlDoc = new Document(doc);
      visit(yamlDoc, {
        Scalar(_key, node) {
          if (isScalar(node) && typeof node.value === "string" && YAML_11_BOOLEAN_WORD.test(node.value)) {
            node.type = "QUOTE_DOUBLE";
          }
        },
      });
      // lineWidth 0: never fold long strings (udev rules), so the bytes do not depend on line length.
      return stringify(yamlDoc, { lineWidth: 0 });
    })
    .join("---\n");
}

/** The node's multi-document patch YAML: deterministic, what `talosctl gen config --config-patch @file` gets. */
export function renderNodePatchYaml(
  cfg: StackConfig,
  node: NodeConfig,
  target: RenderTarget = stackTarget(cfg),
): string {
  return documentsToYaml(renderNodeDocuments(cfg, node, target));
}
