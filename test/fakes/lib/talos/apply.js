"use strict";
/**
 * talosctl apply-config (cmd/talosctl/cmd/talos/apply-config.go @ v1.10.5) against a node in
 * maintenance mode (internal/app/maintenance/server.go ApplyConfiguration) or a configured one
 * (internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go ApplyConfiguration). The
 * node's answer depends on the Talos version it runs: 1.14 never reboots (auto = no-reboot; REBOOT Unimplemented; what needs a reboot
 * stays inactive until the next one: n.inactiveUntilReboot). The
 * node's answer (ModeDetails) is printed on stderr (cmd/talosctl/pkg/talos/helpers/mode.go
 * PrintApplyResults).
 *
 * A node keeps `config` (the running config, ConfigContainer) and `pending` (persisted, running
 * after the next boot): a reboot-mode apply changes the running config only when the reboot is
 * over, so a dry run meanwhile still diffs against the old one.
 */
const { Fail } = require("../runtime");
const nodes = require("./nodes");
const E = require("./errors");
const cfgs = require("./config");
const { applyPatches } = require("./gen");
const images = require("./images");
const versions = require("./versions");
const { readFileOr } = require("./local");
const { target, onNode, nodeFail } = require("./remote");

const NO_REBOOT = "Applied configuration without a reboot";
const WITH_REBOOT = "Applied configuration with a reboot";
const STAGED = "Staged configuration to be applied after the next reboot";

/** Parse and validate the config as the node does; `fail(code, message)` builds the node's error. */
function loadOnNode(text, fail, { parseCode, requireV1alpha1 }) {
  let mc;
  try {
    mc = cfgs.parseMachineConfig(text);
  } catch (e) {
    if (!(e instanceof cfgs.ConfigError)) throw e;
    throw fail(parseCode, parseCode === "Unknown" ? `failed to parse config: ${e.message}` : e.message);
  }
  if (requireV1alpha1 && !mc.v1alpha1)
    throw fail(
      "InvalidArgument",
      "the applied machine configuration doesn't contain v1alpha1 config, did you mean to patch the machine config instead?",
    );
  const problems = cfgs.validationProblems(mc.v1alpha1, "metal");
  if (problems.length)
    throw fail(
      "InvalidArgument",
      `${parseCode === "Unknown" ? "configuration validation failed: " : ""}${cfgs.multiError(problems)}`,
    );
  return mc;
}

/**
 * Maintenance mode: modes auto, reboot and try only; a dry run says there is no config yet; the
 * reply comes first, then the node installs (down) and boots with the config. A first install
 * partitions the disk, so EPHEMERAL (and any etcd data) starts empty.
 */
function maintenanceApply(ctx, t, s, n, now, text, mode, dry) {
  const fail = (code, msg) => new Fail(t.prefix + E.rpc(code, msg));
  if (!["auto", "reboot", "try"].includes(mode))
    throw fail("Unimplemented", `apply configuration --mode='${mode}' is not supported in maintenance mode`);
  loadOnNode(text, fail, { parseCode: "Unknown", requireV1alpha1: false });
  if (dry) return "Dry run summary:\nNode is running in maintenance mode and does not have a config yet.";
  n.insecureApplies++;
  if (!n.installed) n.etcd = null;
  n.pending = cfgs.configRecord(text);
  // The install runs the config's installer image (.machine.install.image; 1.14
  // UnattendedInstallConfig installer.image: v1alpha1_sequencer.go Install @ v1.12.6,
  // unattended_install.go @ v1.14.1): the node boots the version and schematic of that image.
  // An image without a version tag leaves the ISO's version.
  const image = images.configInstallImage(cfgs.parseMachineConfig(text).docs);
  const p = images.parseInstaller(image);
  if (image && p.version) n.nextTalos = { version: p.version, schematic: p.schematic, image };
  nodes.takeDown(s, n, now, "installing", ctx.cfg.delaysMs.install, "configured", "install");
  return "";
}

/**
 * A configured node: --mode auto applies live when CanApplyImmediate allows it, else persists the
 * config and reboots just after replying; no-reboot refuses what needs a reboot; reboot always
 * reboots; staged only persists. A dry run reports the mode and the diff against the running config.
 */
function configuredApply(ctx, t, s, n, now, text, mode, dry) {
  const fail = (code, msg) => nodeFail(t, E.rpc(code, msg));
  const minor = versions.minor(n.talos.version);
  // 1.14 never reboots on apply (v1alpha1_server.go ApplyConfiguration @ v1.14.1): REBOOT from an
  // older talosctl is Unimplemented; auto is no-reboot whatever changed; what cannot take effect
  // live waits, unreported, for the next reboot (n.inactiveUntilReboot here).
  if (minor >= 14 && mode === "reboot")
    throw fail("Unimplemented", "the REBOOT mode is not supported, please use AUTO or NO_REBOOT modes instead");
  loadOnNode(text, fail, { parseCode: "InvalidArgument", requireV1alpha1: true });
  if (minor >= 14 && mode !== "staged") {
    if (dry) {
      const diff = cfgs.configDiff(cfgs.parseMachineConfig(n.config.text).docs, cfgs.parseMachineConfig(text).docs);
      return `Dry run summary:\n${NO_REBOOT} (skipped in dry-run).\nConfig diff:\n\n${diff || "No changes."}`;
    }
    const rec = cfgs.configRecord(text);
    n.authApplies++;
    if (rec.hash === n.config.hash) n.unchangedApplies++;
    else n.changedApplies++;
    if (n.config.text && cfgs.canApplyImmediate(n.config.text, text)) n.inactiveUntilReboot = true;
    Object.assign(n, { config: rec, pending: null });
    nodes.liveConfigChanged(s, ctx.cfg, n, now);
    return NO_REBOOT;
  }
  const liveError = cfgs.canApplyImmediate(n.config.text, text);
  let details;
  let effect = mode;
  let modeErr = "";
  if (mode === "no-reboot") {
    if (liveError) throw fail("InvalidArgument", liveError);
    details = NO_REBOOT;
  } else if (mode === "staged") details = STAGED;
  else if (mode === "reboot") details = WITH_REBOOT;
  else if (liveError) {
    effect = "reboot";
    details = WITH_REBOOT;
    modeErr = `: ${liveError}`;
  } else {
    effect = "no-reboot";
    details = NO_REBOOT;
  }
  if (dry) {
    const diff = cfgs.configDiff(cfgs.parseMachineConfig(n.config.text).docs, cfgs.parseMachineConfig(text).docs);
    return `Dry run summary:\n${details} (skipped in dry-run).\nConfig diff:\n\n${diff || "No changes."}`;
  }
  const rec = cfgs.configRecord(text);
  n.authApplies++;
  if (rec.hash === n.config.hash) n.unchangedApplies++;
  else n.changedApplies++;
  if (effect === "no-reboot") {
    // The reply goes out after SetConfig; what the change restarts follows (nodes.js).
    Object.assign(n, { config: rec, pending: null });
    nodes.liveConfigChanged(s, ctx.cfg, n, now);
  } else {
    n.pending = rec;
    if (effect === "reboot") {
      n.reboots++;
      nodes.takeDown(s, n, now, "rebooting", ctx.cfg.delaysMs.reboot, "configured", "apply-config");
    }
  }
  return details + modeErr;
}

function applyConfig(ctx, o) {
  const file = o.get("file");
  if (!file) throw new Fail("no filename supplied for configuration");
  let text = readFileOr(file, `failed to read configuration from ${JSON.stringify(file)}: `);
  if (!text.length) throw new Fail("no configuration data read");
  const patches = o.all("config-patch");
  if (patches.length) {
    try {
      text = cfgs.encodeDocuments(
        applyPatches(
          cfgs.parseMachineConfig(text).docs,
          patches.map((p) => (p.startsWith("@") ? readFileOr(p.slice(1), "") : p)),
        ),
      );
    } catch (e) {
      if (e instanceof cfgs.ConfigError) throw new Fail(e.message);
      throw e;
    }
  }
  const mode = o.get("mode") || "auto";
  if (mode === "interactive" || mode === "try")
    throw new Fail(`fake talosctl: apply-config --mode ${mode} is not simulated`, 3);
  const t = target(o, "apply-config");
  const details = onNode(ctx, t, (s, n, now) =>
    (t.insecure ? maintenanceApply : configuredApply)(ctx, t, s, n, now, text, mode, o.bool("dry-run")),
  );
  if (details) ctx.err(details + "\n");
}

module.exports = { applyConfig, NO_REBOOT, WITH_REBOOT, STAGED };
