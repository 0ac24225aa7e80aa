/**
 * The idempotent POSIX sh scripts the command resources run, one file each under `steps/`
 * (generated from this module: `npm run gen:steps`; a test keeps the files current and the
 * program refuses to run with stale ones). A resource's `create` is just the file's path, so a
 * fixed script reaches every existing step on the next run without being a diffed input.
 * Parameters arrive in the environment (config values: they decide whether a step re-runs) or
 * in the runtime settings file (tools, waits, node inventory: read fresh on every run); secrets
 * arrive on stdin. Every script can be killed at any line and run again: it reads state from the
 * nodes, the cluster and 1Password, never from a local file, and every wait polls a real
 * condition until a deadline.
 */
import { applyNode } from "./apply";
import { bootstrap, kubeconfig } from "./bootstrap";
import { driftNode } from "./drift";
import { apiReady, kubeWait, talosHealth } from "./gates";
import { nodeReset } from "./reset";
import { registerSchematic } from "./schematic";
import { secretsBundle, talosconfig } from "./secrets";
import { talosUpgrade } from "./upgrade";
import { kubernetesUpgrade } from "./upgradeKubernetes";

/** Every script by name; the file `steps/<name>.sh` holds exactly this text. */
export const SCRIPTS = {
  "secrets-bundle": secretsBundle,
  "register-schematic": registerSchematic,
  talosconfig,
  "apply-node": applyNode,
  "node-reset": nodeReset,
  bootstrap,
  kubeconfig,
  "api-ready": apiReady,
  "kube-wait": kubeWait,
  "talos-health": talosHealth,
  "talos-upgrade": talosUpgrade,
  "kubernetes-upgrade": kubernetesUpgrade,
  "drift-node": driftNode,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** The directory of the script files, relative to the project directory. */
export const STEPS_DIR = "steps";

/** Path of a script file relative to the project directory (the command a resource runs). */
export function scriptPath(name: ScriptName): string {
  return `${STEPS_DIR}/${name}.sh`;
}

/** The text of a script file: a header, then the script. */
export function scriptFileText(name: ScriptName): string {
  return `#!/bin/sh\n# Generated from talos/scripts/ by \`npm run gen:steps\`: edit that file, not this one.\n${SCRIPTS[name]}`;
}
