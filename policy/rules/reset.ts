/**
 * No reset without an explicit node list: a command that can run `talosctl reset` targets
 * exactly one node address, and is armed only for a node that homeops:operations.resetOnDestroy
 * names. Without `--nodes`, talosctl resets every node of its talosconfig context.
 */
import { isIP } from "net";
import { CONFIG, ENV, TYPES } from "../names";
import { plainObject, plainString, Props } from "../values";

export interface ResetSettings {
  /** Hostnames the stack may reset (homeops:operations.resetOnDestroy); empty = none. */
  readonly resetOnDestroy: readonly string[];
  /** The stack's nodes, to tell which node an address is (undefined when not configured). */
  readonly nodes?: readonly { readonly hostname: string; readonly address: string }[];
}

export interface ResetCapability {
  /** Each `talosctl reset` in the command's scripts, with its `--nodes` value resolved (undefined: none). */
  readonly resets: readonly { readonly script: string; readonly nodes: string | undefined }[];
  /** Whether a reset would really run (on create/update, or on delete when armed). */
  readonly armed: boolean;
  /** The node's hostname as the command states it. */
  readonly hostname?: string;
}

const SCRIPTS = ["create", "update", "delete"] as const;
/** `talosctl reset` or `"$TALOSCTL" "reset"`, and the rest of that command line. */
const RESET_INVOCATION = new RegExp(
  `(?:\\btalosctl|\\$\\{?${ENV.talosctl}\\}?)["']?\\s+["']?reset["']?(?=\\s|$)([^\\n|;&>]*)`,
  "g",
);

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

/**
 * Where the current mechanism lives (the one function to adapt when it changes): a node's apply
 * step carries the safe reset in its delete script and arms it with RESET_ON_DESTROY=yes, set
 * from homeops:operations.resetOnDestroy. A reset in a create or update script is always armed.
 */
export function resetCapability(props: Props): ResetCapability {
  const env = plainObject(props.environment);
  const resets = SCRIPTS.flatMap((script) => {
    const text = (plainString(props[script]) ?? "").replace(/\\\n/g, " "); // join continued lines
    return [...text.matchAll(RESET_INVOCATION)].map((m) => ({ script, nodes: nodesArgument(m[1], env) }));
  });
  const flag = env[ENV.resetArmed];
  // A flag that is secret or unknown cannot be shown to be off.
  const flagOn = flag !== undefined && (plainString(flag) === undefined || plainString(flag) === "yes");
  const armed = resets.some((r) => r.script !== "delete") || (resets.length > 0 && flagOn);
  return { resets, armed, hostname: plainString(env[ENV.nodeHostname]) };
}

export function validateReset(type: string, props: Props, settings: ResetSettings): string[] {
  if (type !== TYPES.command) return [];
  const { resets, armed, hostname } = resetCapability(props);
  const problems: string[] = [];
  const targets = new Set<string>();
  for (const r of resets) {
    if (r.nodes === undefined) {
      problems.push(`talosctl reset in ${r.script} has no --nodes: it would reset every node of the talosconfig`);
    } else if (isIP(r.nodes) === 0) {
      problems.push(
        `talosctl reset in ${r.script} targets '${r.nodes.slice(0, 80)}': it must resolve to exactly one node address`,
      );
    } else {
      targets.add(r.nodes);
    }
  }
  if (!armed) return problems;
  const allowed = new Set(settings.resetOnDestroy);
  const list = `[${settings.resetOnDestroy.join(", ")}]`;
  for (const address of targets) {
    const node = settings.nodes ? settings.nodes.find((n) => n.address === address)?.hostname : hostname;
    if (node === undefined || !allowed.has(node)) {
      problems.push(
        `reset of ${node ?? "an unknown node"} (${address}) is armed, but ${CONFIG.operations}.resetOnDestroy ${list} does not name it`,
      );
    }
  }
  return problems;
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
