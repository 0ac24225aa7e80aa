"use strict";
/**
 * Installer images in the fake world: what an image reference names (version, schematic), and
 * whether a node can pull it. There is no registry: an image is published when the test says so
 * (config.installerImages) or when the real registries would serve it:
 * - factory.talos.dev/installer/<schematic>:<version>, and from v1.11
 *   factory.talos.dev/<platform>-installer/<schematic>:<version> (siderolabs/docs v1.12/v1.13
 *   learn-more/image-factory.mdx, boot-assets.mdx; talos @ v1.14.1 pkg/images/images.go
 *   NewInstallerImageRepository): Image Factory builds any released version for any schematic it
 *   knows (registered through the fake's POST /schematics, the empty schematic, or a schematic a
 *   node was booted from); config.factoryServes: false turns this off.
 * - ghcr.io/siderolabs/installer:<version> up to v1.13 (1.14 no longer publishes it: talos @
 *   v1.14.1 CHANGELOG.md 1.14.0 "Default Installer Image").
 * A released version is one of versions.isRelease.
 */
const versions = require("./versions");

/** Image Factory's empty schematic (siderolabs/image-factory README "Well-known schematic IDs"). */
const EMPTY_SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/** {ref, kind: factory|ghcr|other, schematic, version} of an installer reference. */
function parseInstaller(ref) {
  const s = String(ref || "");
  let m = /^factory\.talos\.dev\/(installer|[a-z0-9]+-installer)\/([0-9a-z]+):(v[^@\s]+)$/.exec(s);
  if (m) return { ref: s, kind: "factory", flavor: m[1], schematic: m[2], version: m[3] };
  m = /^ghcr\.io\/siderolabs\/installer:(v[^@\s]+)$/.exec(s);
  if (m) return { ref: s, kind: "ghcr", flavor: "installer", schematic: null, version: m[1] };
  m = /:(v\d+\.\d+\.\d+[^@\s]*)$/.exec(s);
  return { ref: s, kind: "other", flavor: null, schematic: null, version: m ? m[1] : null };
}

/** Schematic IDs Image Factory knows in this world. */
function knownSchematics(state, cfg) {
  const ids = new Set([EMPTY_SCHEMATIC, ...Object.keys((state.factory && state.factory.schematics) || {})]);
  for (const n of cfg.nodes) if (n.schematic) ids.add(n.schematic);
  for (const n of Object.values(state.nodes)) if (n.talos && n.talos.schematic) ids.add(n.talos.schematic);
  return ids;
}

/** Can a node pull `ref` now? */
function published(state, cfg, ref) {
  if ((cfg.installerImages || []).includes(ref)) return true;
  const p = parseInstaller(ref);
  if (!p.version || !versions.isRelease(p.version)) return false;
  if (p.kind === "ghcr") return versions.minor(p.version) < 14;
  if (p.kind !== "factory" || !cfg.factoryServes) return false;
  if (p.flavor !== "installer" && versions.minor(p.version) < 11) return false;
  return knownSchematics(state, cfg).has(p.schematic);
}

/**
 * containerd's answer for an image that is not there, as Talos wraps it (internal/pkg/containers/
 * image/image.go Pull @ v1.12.6: `failed to pull image %q: %w`; containerd client pull.go:
 * `failed to resolve reference %q: %w`, remotes/docker resolver: `<ref>: not found`).
 */
const pullError = (ref) => `failed to pull image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;

/** The installer a node's config names (v1alpha1 .machine.install.image; 1.14 UnattendedInstallConfig installer.image). */
function configInstallImage(docs) {
  const unattended = docs.find((d) => d && d.kind === "UnattendedInstallConfig");
  if (unattended && unattended.installer && unattended.installer.image) return unattended.installer.image;
  const v = docs.find((d) => d && d.version === "v1alpha1");
  return (v && v.machine && v.machine.install && v.machine.install.image) || null;
}

module.exports = { EMPTY_SCHEMATIC, parseInstaller, knownSchematics, published, pullError, configInstallImage };
