/**
 * Every name the policy rules read from the program's resources, in one place: the environment
 * variables the command steps carry (talos/plan.ts) and the resource types. When the program
 * renames an env variable, change it here and nowhere else.
 */
export const ENV = {
  /**
   * Per-node apply: the installer image, `factory.talos.dev/installer/<schematic id>:<talos version>`
   * (`metal-installer` from Talos v1.14: talos/schematic.ts installerRepository).
   */
  installImage: "INSTALL_IMAGE",
  /** Per-node apply: the Talos minor of the installed version (the installer image's tag). */
  talosMinor: "TALOS_MINOR",
  /** Per-node apply: the pinned config contract given to `talosctl gen config --talos-version`. */
  talosContract: "TALOS_CONTRACT",
  /** Schematic registration: the schematic ID computed offline. */
  schematicId: "SCHEMATIC_ID",
  /**
   * The reset list the delete script reads at run time (hostnames, from
   * homeops:operations.resetOnDestroy via the settings file; never a resource input).
   */
  resetList: "RESET_ON_DESTROY",
  /** Per-node apply: the node's hostname, which the reset list is matched against. */
  nodeHostname: "NODE_HOSTNAME",
  /** The talosctl executable the scripts run (`"$TALOSCTL" reset ...`). */
  talosctl: "TALOSCTL",
  /** 1Password service-account token for `op`: must only ever be a secret. */
  onePasswordToken: "OP_SERVICE_ACCOUNT_TOKEN",
} as const;

/** The stack config keys the pack reads (from the engine's PULUMI_CONFIG). */
export const CONFIG = {
  operations: "homeops:operations",
  nodes: "homeops:nodes",
} as const;

export const TYPES = {
  command: "command:local:Command",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  kubernetesProvider: "pulumi:providers:kubernetes",
} as const;
