/**
 * Talos pins: every node's installer image comes from the stack's own Image Factory schematic at
 * a full Talos version, TALOS_MINOR is that version's minor, and the machine-config contract
 * (TALOS_CONTRACT, `talosctl gen config --talos-version`) is pinned on its own: a supported minor
 * never newer than the installed one (it must not follow the version: siderolabs/talos #13885).
 * The old repository once upgraded with `ghcr.io/siderolabs/talos:<v>`, which silently dropped
 * every extension.
 */
import { SUPPORTED_TALOS_MINORS, TalosMinor, talosMinorAtLeast } from "../../config/types";
import { installerRepository } from "../../talos/schematic";
import { ENV, TYPES } from "../names";
import { plainObject, plainString, plainStrings, Props } from "../values";

export interface StackResource {
  readonly type: string;
  readonly name: string;
  readonly urn?: string;
  readonly props: Props;
}

export interface StackViolation {
  readonly message: string;
  /** The resource to blame, when there is one. */
  readonly urn?: string;
}

const PINNED_TALOS_VERSION = /^v(\d+)\.(\d+)\.(\d+)$/;
const SCHEMATIC_ID = /^[0-9a-f]{64}$/;
/** Anything that names a Talos installer or OS image, with its tag or digest. */
const INSTALLER_REFERENCE =
  /(?:factory\.talos\.dev\/[\w.-]*installer[\w.-]*(?:\/[\w.-]*)?|ghcr\.io\/siderolabs\/(?:installer|talos|imager))(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?/g;

/** The tag of an image reference (undefined for none or a digest-only reference). */
function tagOf(image: string): string | undefined {
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return undefined;
  return image.slice(colon + 1).split("@")[0] || undefined;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function environmentOf(type: string, props: Props): Props | undefined {
  return type === TYPES.command ? plainObject(props.environment) : undefined;
}

function supportedMinor(text: string): TalosMinor | undefined {
  return (SUPPORTED_TALOS_MINORS as readonly string[]).includes(text) ? (text as TalosMinor) : undefined;
}

/**
 * A node-configuring command (one carrying INSTALL_IMAGE, TALOS_MINOR or TALOS_CONTRACT) pins a
 * full Talos version in its installer image, TALOS_MINOR is that version's minor, and
 * TALOS_CONTRACT is a supported minor not newer than it.
 */
export function validateTalosPin(type: string, props: Props): string[] {
  const env = environmentOf(type, props);
  if (!env || ![ENV.installImage, ENV.talosMinor, ENV.talosContract].some((key) => key in env)) return [];
  const problems: string[] = [];
  const image = plainString(env[ENV.installImage]);
  const tag = image === undefined ? undefined : tagOf(image);
  const version = tag === undefined ? undefined : PINNED_TALOS_VERSION.exec(tag);
  if (image === undefined) {
    problems.push(`environment.${ENV.installImage} must be a plain, known installer image (the Talos version it pins)`);
  } else if (!version) {
    problems.push(
      `environment.${ENV.installImage} '${clip(image)}' does not pin a Talos version: its tag must be a full vX.Y.Z`,
    );
  }
  const installedMinor = version ? `v${version[1]}.${version[2]}` : undefined;
  const minor = plainString(env[ENV.talosMinor]);
  if (!minor) {
    problems.push(`environment.${ENV.talosMinor} must be set to the minor of the installed Talos version`);
  } else if (installedMinor !== undefined && minor !== installedMinor) {
    problems.push(
      `environment.${ENV.talosMinor} '${clip(minor)}' is not the minor of the Talos version ${version?.[0] ?? ""} (${installedMinor})`,
    );
  }
  const contractText = plainString(env[ENV.talosContract]);
  const contract = contractText === undefined ? undefined : supportedMinor(contractText);
  const installed = installedMinor === undefined ? undefined : supportedMinor(installedMinor);
  if (!contractText) {
    problems.push(
      `environment.${ENV.talosContract} (the config contract, talosctl gen config --talos-version) must be set: the minor the cluster was created with`,
    );
  } else if (contract === undefined) {
    problems.push(
      `environment.${ENV.talosContract} '${clip(contractText)}' is not a supported contract (${SUPPORTED_TALOS_MINORS.join(", ")})`,
    );
  } else if (installed !== undefined && !talosMinorAtLeast(installed, contract)) {
    problems.push(
      `environment.${ENV.talosContract} '${contract}' is newer than the installed Talos ${installed}: a node does not know a newer contract's documents`,
    );
  }
  return problems;
}

/** The factory repository of the installer for a pinned Talos tag (talos/schematic.ts installerRepository). */
function expectedRepository(tag: string): string | undefined {
  const pinned = PINNED_TALOS_VERSION.exec(tag);
  const minor = pinned ? supportedMinor(`v${pinned[1]}.${pinned[2]}`) : undefined;
  return minor === undefined ? undefined : installerRepository(minor);
}

/**
 * Across the stack: exactly one schematic step (SCHEMATIC_ID), and every installer image any
 * command names, INSTALL_IMAGE or inside a patch or script, is
 * `factory.talos.dev/installer/<that id>:<vX.Y.Z>` up to Talos v1.13 and
 * `factory.talos.dev/metal-installer/<that id>:<vX.Y.Z>` from v1.14.
 */
export function validateInstallerImages(resources: readonly StackResource[]): StackViolation[] {
  const commands = resources.filter((r) => r.type === TYPES.command);
  const schematics = commands.flatMap((r) => {
    const id = plainObject(r.props.environment)[ENV.schematicId];
    return id === undefined ? [] : [{ resource: r, id: plainString(id) }];
  });
  const ids = [...new Set(schematics.map((s) => s.id))];
  const violations: StackViolation[] = [];
  for (const s of schematics) {
    if (s.id === undefined || !SCHEMATIC_ID.test(s.id)) {
      violations.push({
        urn: s.resource.urn,
        message: `${s.resource.name}: environment.${ENV.schematicId} must be a plain 64-hex schematic ID`,
      });
    }
  }
  if (ids.length > 1) {
    violations.push({
      message: `${ids.length} different schematic IDs in the stack: the installer image must have one`,
    });
  }
  const schematicId = ids.length === 1 ? ids[0] : undefined;
  const expected = `factory.talos.dev/installer/${schematicId ?? "<schematic id>"}:<vX.Y.Z> (metal-installer from v1.14)`;
  for (const r of commands) {
    const env = plainObject(r.props.environment);
    const references = plainStrings(r.props).flatMap(({ path, text }) =>
      [...text.matchAll(INSTALLER_REFERENCE)].map((m) => ({ path, image: m[0] })),
    );
    const declared = plainString(env[ENV.installImage]);
    if (declared !== undefined && !references.some((ref) => ref.image === declared)) {
      references.push({ path: `environment.${ENV.installImage}`, image: declared });
    }
    for (const { path, image } of references) {
      const tag = tagOf(image);
      const repository = tag === undefined ? undefined : expectedRepository(tag);
      const derived =
        schematicId !== undefined && repository !== undefined && image === `${repository}/${schematicId}:${tag}`;
      if (derived) continue;
      const why =
        schematics.length === 0 ? "; the stack has no schematic step to derive it from" : `; expected ${expected}`;
      violations.push({ urn: r.urn, message: `${r.name}: ${path} names installer image '${clip(image)}'${why}` });
    }
  }
  return violations;
}
