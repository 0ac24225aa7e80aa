/**
 * No reset without an explicit node list, and never of user data: a command that can run
 * `talosctl reset` wipes nothing but STATE and EPHEMERAL (no user disk, no user volume), targets
 * exactly one node address, that address is the node the command says it is, the reset runs
 * only for nodes homeops:operations.resetOnDestroy names, and that list names only the stack's
 * nodes. Without `--nodes`, talosctl resets every node of its talosconfig context.
 */
import * as fs from "fs";
import { isIP } from "net";
import * as path from "path";
import { CONFIG, ENV, TYPES } from "../names";
import { plainObject, plainString, Props } from "../values";
import type { StackResource, StackViolation } from "./talos";

export interface ResetSettings {
  /** Hostnames the stack may reset (homeops:operations.resetOnDestroy); empty = none. */
  readonly resetOnDestroy: readonly string[];
  /** The stack's nodes, to tell which node an address is (undefined when not configured). */
  readonly nodes?: readonly { readonly hostname: string; readonly address: string }[];
}

/** The text of a script a command names by path (`steps/node-reset.sh`), or undefined. */
export type ScriptReader = (scriptPath: string) => string | undefined;

export interface ResetCapability {
  /**
   * Each `talosctl reset` in the command's scripts, with its `--nodes` value resolved (undefined:
   * none) and what it would wipe beyond STATE and EPHEMERAL (see userDataWipes).
   */
  readonly resets: readonly {
    readonly script: string;
    readonly nodes: string | undefined;
    readonly wipes: readonly string[];
  }[];
  /** Scripts named by a path that could not be read (so not checked). */
  readonly unreadable: readonly string[];
  /**
   * When a reset runs: "always" (on create/update, or on delete without consulting the reset
   * list), "listed" (only for a hostname in operations.resetOnDestroy), "never" (no reset).
   */
  readonly armed: "always" | "listed" | "never";
  /** The node's hostname as the command states it (what the reset list is matched against). */
  readonly hostname?: string;
}

const SCRIPTS = ["create", "update", "delete"] as const;
/**
 * `"$TALOSCTL" "reset"` anywhere, or a bare `talosctl reset` where a command starts (not inside
 * a message telling the operator what to run), and the rest of that command line.
 */
const RESET_INVOCATION = new RegExp(
  `(?:(?:^|[;&|(]\\s*|\\b(?:run|exec|then|do|else)\\s+)talosctl|\\$\\{?${ENV.talosctl}\\}?["']?)` +
    `\\s+["']?reset["']?(?=\\s|$)([^\\n|;&>]*)`,
  "gm",
);
/** A command input that is a script's path rather than its text. */
const SCRIPT_PATH = /^[\w./-]+\.sh$/;

/** The `--nodes`/`-n` value of a talosctl command line, with `$VAR`/`${VAR}` taken from env. */
function nodesArgument(args: string, env: Props): string | undefined {
  const tokens = args
    .trim()
    .split(/\s+/)
    .map((t) => t.replace(/^["']|["']$/g, ""));
  let value: string | undefined;
  tokens.forEach((t, i) => {
    if (t === "--nodes" || t === "-n") value = tokens[i + 1];
    else if (t.startsWith("--nodes=")) value = t.slice("--nodes=".length);
  });
  if (value === undefined) return undefined;
  return value.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_, braced: string | undefined, bare: string | undefined) =>
      plainString(env[braced ?? bare ?? ""]) ?? `<${braced ?? bare}: not a known plain value>`,
  );
}

/** The system volumes a safe reset wipes: the machine config and the node's ephemeral data (etcd). */
export const SAFE_RESET_LABELS = ["STATE", "EPHEMERAL"] as const;

/**
 * What a `talosctl reset` command line would wipe beyond STATE and EPHEMERAL, each as a short
 * reason (empty: nothing). A reset wipes the disks named by `--user-disks-to-wipe` (with wipe mode
 * all or user-disks) and every volume named by `--system-labels-to-wipe`, user volumes `u-<name>`
 * included (v1alpha1_server.go Reset @ v1.10.5; NOTES §7.6): the USB SSD holding Longhorn's data
 * is such a disk and volume. `--wipe-mode user-disks` exists only to wipe user disks; an explicit
 * `--wipe-mode all` is the whole-disk mode the program never uses.
 */
export function userDataWipes(args: string, env: Props = {}): string[] {
  const tokens = args
    .trim()
    .split(/\s+/)
    .map((t) => t.replace(/^["']|["']$/g, ""))
    .map((t) =>
      t.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, braced: string | undefined, bare: string | undefined) => {
        const v = plainString(env[braced ?? bare ?? ""]);
        return v ?? m;
      }),
    );
  const values = (flag: string): string[] =>
    tokens.flatMap((t, i) =>
      t === flag ? [tokens[i + 1] ?? ""] : t.startsWith(`${flag}=`) ? [t.slice(flag.length + 1)] : [],
    );
  const problems: string[] = [];
  for (const disks of values("--user-disks-to-wipe")) problems.push(`--user-disks-to-wipe ${disks} (a user disk)`);
  for (const mode of values("--wipe-mode")) {
    if (mode !== "system-disk") problems.push(`--wipe-mode ${mode}`);
  }
  for (const label of values("--system-labels-to-wipe").flatMap((v) => v.split(","))) {
    if (!(SAFE_RESET_LABELS as readonly string[]).includes(label)) {
      problems.push(`--system-labels-to-wipe ${label}${label.startsWith("u-") ? " (a user volume)" : ""}`);
    }
  }
  return problems;
}

/**
 * The current mechanism, in one place (adapt it here when it changes): a node's apply step names
 * `steps/node-reset.sh` as its delete; that script resets only when the node's NODE_HOSTNAME is
 * in RESET_ON_DESTROY, a run-time setting the program writes from
 * homeops:operations.resetOnDestroy (plan/settings.ts), so the list arms it, not the resource.
 * A reset in a create/update script, or in a script that never reads that list, always runs.
 */
export function resetCapability(props: Props, readScript: ScriptReader): ResetCapability {
  const env = plainObject(props.environment);
  const unreadable: string[] = [];
  const texts = SCRIPTS.flatMap((script) => {
    const value = plainString(props[script]);
    if (value === undefined) return [];
    const text = SCRIPT_PATH.test(value) ? readScript(value) : value;
    if (text === undefined) unreadable.push(value);
    return text === undefined ? [] : [{ script, text: text.replace(/\\\n/g, " ") }]; // join continued lines
  });
  const found = texts.map((t) => ({ ...t, invocations: [...t.text.matchAll(RESET_INVOCATION)] }));
  const resets = found.flatMap((t) =>
    t.invocations.map((m) => ({ script: t.script, nodes: nodesArgument(m[1], env), wipes: userDataWipes(m[1], env) })),
  );
  const readsList = new RegExp(`\\$\\{?${ENV.resetList}\\b`);
  // A list carried in the resource's own env is the one stored at the last apply, which is
  // what a delete runs with: not the stack's current list.
  const unconditional =
    ENV.resetList in env ||
    found.some((t) => t.invocations.length > 0 && (t.script !== "delete" || !readsList.test(t.text)));
  return {
    resets,
    unreadable,
    armed: resets.length === 0 ? "never" : unconditional ? "always" : "listed",
    hostname: plainString(env[ENV.nodeHostname]),
  };
}

/** One command: every reset scoped to one address of the node it names, and armed only by the list. */
export function validateReset(
  type: string,
  props: Props,
  settings: ResetSettings,
  readScript: ScriptReader = () => undefined,
): string[] {
  if (type !== TYPES.command) return [];
  const { resets, unreadable, armed, hostname } = resetCapability(props, readScript);
  const problems = unreadable.map((p) => `cannot read ${p} to check it for talosctl reset`);
  const listed = `${CONFIG.operations}.resetOnDestroy [${settings.resetOnDestroy.join(", ")}]`;
  for (const r of resets) {
    if (r.wipes.length > 0) {
      problems.push(
        `talosctl reset in ${r.script} would wipe more than STATE and EPHEMERAL: ${r.wipes.join(", ")}; a safe reset never wipes a user disk or user volume (the USB SSD holds Longhorn's data)`,
      );
    }
    if (r.nodes === undefined) {
      problems.push(`talosctl reset in ${r.script} has no --nodes: it would reset every node of the talosconfig`);
      continue;
    }
    if (isIP(r.nodes) === 0) {
      problems.push(
        `talosctl reset in ${r.script} targets '${r.nodes.slice(0, 80)}': it must resolve to exactly one node address`,
      );
      continue;
    }
    const node = settings.nodes ? settings.nodes.find((n) => n.address === r.nodes)?.hostname : hostname;
    if (node === undefined) {
      problems.push(`talosctl reset in ${r.script} targets ${r.nodes}, which is not a node of the stack`);
    } else if (hostname !== undefined && hostname !== node) {
      problems.push(
        `${ENV.nodeHostname} ${hostname} is not the node at ${r.nodes} (${node}): the reset list is matched by hostname`,
      );
    } else if (armed === "always" && !settings.resetOnDestroy.includes(node)) {
      problems.push(`reset of ${node} (${r.nodes}) runs whatever ${listed} says, and it does not name ${node}`);
    }
  }
  return problems;
}

/** The list itself: every entry is a node of the stack (never a pattern or a stale name). */
export function validateResetList(settings: ResetSettings): string[] {
  const hostnames = settings.nodes?.map((n) => n.hostname);
  if (!hostnames) return [];
  return settings.resetOnDestroy
    .filter((h) => !hostnames.includes(h))
    .map((h) => `${CONFIG.operations}.resetOnDestroy names '${h.slice(0, 60)}', which is not a node of the stack`);
}

/** Every command of the stack and the list (the pack's stack policy). */
export function validateResets(
  resources: readonly StackResource[],
  settings: ResetSettings,
  readScript: ScriptReader,
): StackViolation[] {
  return [
    ...validateResetList(settings).map((message) => ({ message })),
    ...resources.flatMap((r) =>
      validateReset(r.type, r.props, settings, readScript).map((m) => ({ urn: r.urn, message: `${r.name}: ${m}` })),
    ),
  ];
}

/** Reads scripts named by a path relative to the project directory, and nothing outside it. */
export function scriptFileReader(projectDir: string): ScriptReader {
  const root = path.resolve(projectDir);
  return (scriptPath) => {
    const file = path.resolve(root, scriptPath);
    if (!file.startsWith(root + path.sep)) return undefined;
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  };
}

function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The reset settings from the stack config the engine gives a policy pack (PULUMI_CONFIG: a JSON
 * map of `namespace:key` to the value, objects as JSON text). Anything unreadable means "reset
 * nothing". Only these two keys are read; the map also holds decrypted secrets.
 */
export function resetSettingsFromConfig(pulumiConfig: string | undefined): ResetSettings {
  const config = plainObject(parsed(pulumiConfig));
  const operations = plainObject(parsed(plainString(config[CONFIG.operations])));
  const list = operations.resetOnDestroy;
  const nodes = parsed(plainString(config[CONFIG.nodes]));
  return {
    resetOnDestroy: Array.isArray(list) ? list.filter((h): h is string => typeof h === "string") : [],
    nodes: Array.isArray(nodes)
      ? nodes.map((n) => plainObject(n)).map((n) => ({ hostname: String(n.hostname), address: String(n.address) }))
      : undefined,
  };
}
