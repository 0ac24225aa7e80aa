/**
 * Image Factory schematic, its content-addressed ID and the installer image built from it.
 *
 * Image Factory's schematic ID is the SHA-256 (hex) of the schematic marshalled by Go's
 * gopkg.in/yaml.v3 (siderolabs/image-factory, pkg/schematic). That canonical form is reproduced
 * here byte for byte, so the ID is computed offline with no call to the factory:
 * - struct field order: `overlay` (omitted when empty), `customization` (always present);
 *   inside customization: `extraKernelArgs`, `meta`, `systemExtensions`, `secureboot`, each
 *   omitted when empty; an empty customization is written `customization: {}`;
 * - 4-space indentation, block sequences indented under their key, one trailing newline;
 * - lists kept in the given order: the factory neither sorts nor de-duplicates, so order is part
 *   of the ID.
 */
import { createHash } from "crypto";
import { talosMinorAtLeast } from "../config/types";
import type { StackConfig, TalosMinor } from "../config/types";

/** The subset of Image Factory's schematic this program produces. */
export interface ImageFactorySchematic {
  readonly customization: {
    readonly extraKernelArgs?: readonly string[];
    readonly systemExtensions?: {
      readonly officialExtensions?: readonly string[];
    };
  };
}

// Official extension names look like `siderolabs/lldpd` (whether one exists only the factory knows).
const OFFICIAL_EXTENSION_NAME = /^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9._-]*$/;

// Scalars yaml.v3 writes unquoted. Restricting values to these keeps the hand-written canonical
// form exact without re-implementing yaml.v3's quoting rules. A ':' is plain unless a space
// follows it or it ends the value (`udp://172.29.51.1:514/` stays plain).
const PLAIN_SCALAR = /^[A-Za-z0-9](?:[A-Za-z0-9._/=,+-]|:(?=[^\s]))*$/;
// Plain-looking words that YAML would resolve to a non-string, which yaml.v3 therefore quotes.
const NON_STRING_WORD =
  /^(?:[-+]?[0-9][0-9._]*(?:[eE][-+]?[0-9]+)?|0[xXoObB][0-9a-fA-F_]+|y|yes|n|no|true|false|on|off|null)$/i;

function assertPlainScalar(field: string, value: string): void {
  if (!PLAIN_SCALAR.test(value) || NON_STRING_WORD.test(value)) {
    throw new Error(
      `schematic ${field}: ${JSON.stringify(value)} would need YAML quoting, which the offline schematic ID does not ` +
        `reproduce; use a value of letters, digits and . _ / = , + - that is not a number, boolean or null word`,
    );
  }
}

function assertNoDuplicates(field: string, values: readonly string[]): void {
  const duplicates = values.filter((v, i) => values.indexOf(v) !== i);
  if (duplicates.length > 0) {
    throw new Error(
      `schematic ${field}: duplicate entries ${JSON.stringify([...new Set(duplicates)])}; list each once`,
    );
  }
}

/**
 * Kernel args every node has. They go into the schematic too: on UEFI machines Talos boots with
 * systemd-boot, which ignores `machine.install.extraKernelArgs`; the installer's UKI takes its
 * command line from the schematic. (Args only some nodes have can live in the machine config only.)
 */
export function commonKernelArgs(cfg: StackConfig): string[] {
  const [first, ...rest] = cfg.nodes;
  if (!first) return [];
  return first.extraKernelArgs.filter((arg) => rest.every((n) => n.extraKernelArgs.includes(arg)));
}

/** The Image Factory schematic for the stack: official system extensions and the common kernel args. */
export function renderSchematic(cfg: StackConfig): ImageFactorySchematic {
  const extensions = [...cfg.schematic.extensions];
  for (const name of extensions) {
    if (!OFFICIAL_EXTENSION_NAME.test(name)) {
      throw new Error(
        `schematic.extensions: ${JSON.stringify(name)} is not an official extension name; use the form "siderolabs/<name>"`,
      );
    }
  }
  assertNoDuplicates("extensions", extensions);
  const kernelArgs = commonKernelArgs(cfg);
  return {
    customization: {
      ...(kernelArgs.length > 0 ? { extraKernelArgs: kernelArgs } : {}),
      systemExtensions: { officialExtensions: extensions },
    },
  };
}

function blockSequence(indent: string, items: readonly string[]): string {
  return items.map((item) => `${indent}- ${item}\n`).join("");
}

/** The schematic serialised exactly as Image Factory (Go yaml.v3) marshals it before hashing. */
export function canonicalSchematicYaml(schematic: ImageFactorySchematic): string {
  const kernelArgs = schematic.customization.extraKernelArgs ?? [];
  const extensions = schematic.customization.systemExtensions?.officialExtensions ?? [];
  kernelArgs.forEach((arg) => assertPlainScalar("extraKernelArgs", arg));
  extensions.forEach((ext) => assertPlainScalar("officialExtensions", ext));

  let body = "";
  if (kernelArgs.length > 0) body += `    extraKernelArgs:\n${blockSequence("        ", kernelArgs)}`;
  if (extensions.length > 0) {
    body += `    systemExtensions:\n        officialExtensions:\n${blockSequence("            ", extensions)}`;
  }
  // yaml.v3 writes an all-omitted struct as an empty flow mapping.
  return body === "" ? "customization: {}\n" : `customization:\n${body}`;
}

/** SHA-256 hex of a canonical schematic: the ID Image Factory assigns to it. */
export function schematicIdOf(schematic: ImageFactorySchematic): string {
  return createHash("sha256").update(canonicalSchematicYaml(schematic), "utf8").digest("hex");
}

/** The stack's schematic in Image Factory's canonical YAML (what is hashed, and what to POST). */
export function schematicYaml(cfg: StackConfig): string {
  return canonicalSchematicYaml(renderSchematic(cfg));
}

/** The stack's schematic ID, computed offline; equal to what `POST /schematics` returns. */
export function schematicId(cfg: StackConfig): string {
  return schematicIdOf(renderSchematic(cfg));
}

/**
 * Image Factory's installer repository for a Talos minor. Up to v1.13 the documented form is
 * `factory.talos.dev/installer/<id>:<version>` (docs v1.12/v1.13 learn-more/image-factory.mdx);
 * v1.14 no longer publishes a generic installer and defaults to the platform's own,
 * `factory.talos.dev/metal-installer/<id>:<version>` (CHANGELOG 1.14.0 "Default Installer Image";
 * talos @ v1.14.1 : pkg/images/images.go NewInstallerImageRepository). contracts/NOTES.md §7.8.
 */
export function installerRepository(minor: TalosMinor): string {
  return talosMinorAtLeast(minor, "v1.14") ? "factory.talos.dev/metal-installer" : "factory.talos.dev/installer";
}

/**
 * The installer image for install and upgrade: the factory installer of the stack's schematic at
 * the stack's Talos version (`ghcr.io/siderolabs/installer`/`talos` would silently drop every
 * extension), in the repository form of that version's minor.
 */
export function installerImage(cfg: StackConfig): string {
  return `${installerRepository(cfg.talos.minor)}/${schematicId(cfg)}:${cfg.talos.version}`;
}
