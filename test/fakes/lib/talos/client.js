"use strict";
/**
 * What differs between the talosctl minors on the client side: which talosctl this process is,
 * how it wraps a node's error, which checks it makes before a call, and the deprecation warnings
 * of the legacy upgrade flags. The node side (what the server answers) dispatches on the node's
 * own version (nodes.js, versions.js).
 *
 * Up to 1.13, node-addressed commands go through global.WithClient: one connection to the
 * endpoint, the node list in the "nodes" metadata, so apid proxies one-to-many even for one node
 * and a node's error comes back inside the reply (pkg/machinery/client/reply.go FilterMessages:
 * "1 error occurred:\n\t* <node>: <err>\n\n"). In 1.14 every command builds a client per node
 * (cmd/talosctl/pkg/talos/global/factory.go BuildClient: client.WithNode, one-to-one) and joins
 * per-node errors itself (pkg/machinery/client/multiplex), so a node's error is the plain status.
 */
const versions = require("./versions");

let current = null;
let spec = null;

/** Called once per process by bin/talosctl. */
function init(cfg) {
  const version = versions.clientVersion(cfg);
  current = { version, minor: versions.minor(version) };
  return current;
}

/** The CLI reference block of this talosctl (set by bin/talosctl once parsed). */
function setSpec(s) {
  spec = s;
}

/** A flag's default as this talosctl's reference prints it (quotes removed), or undefined. */
function flagDefault(command, long) {
  const cmd = spec && spec.commands[command];
  const f = cmd && cmd.flags.find((x) => x.long === long);
  if (!f || f.default == null) return undefined;
  return String(f.default).replace(/^"(.*)"$/, "$1");
}

const client = () => current || { version: "v1.11.5", minor: 11 };

/**
 * The wrapper each command puts around an error, per minor (cmd/talosctl/cmd/talos/*.go RunE at
 * v1.10.5 ... v1.13.9, and @ v1.14.1 where every command has its own per-node text).
 */
const PREFIX = {
  version: "error getting version: ",
  "apply-config": "error applying new configuration: ",
  bootstrap: "error executing bootstrap: ",
  "etcd members": "error getting members: ",
  "etcd status": "error getting status: ",
  kubeconfig: "error copying: ",
  reset: "error executing reset: ",
  reboot: "error executing reboot: ",
  upgrade: "error performing upgrade: ",
};
const PREFIX_1_14 = {
  version: (n) => `error getting version from node ${n}: `,
  "apply-config": (n) => `${n}: error applying configuration: `,
  bootstrap: () => "error executing bootstrap: ",
  "etcd members": (n) => `error from node ${n}: `,
  "etcd status": (n) => `error from node ${n}: `,
  "etcd remove-member": (n) => `error from node ${n}: `,
  "etcd forfeit-leadership": (n) => `error from node ${n}: `,
  kubeconfig: () => "error copying: ",
  reset: (n) => `error executing reset on node ${n}: `,
  reboot: (n) => `error executing reboot on node ${n}: `,
  upgrade: (n) => `error from node ${n}: error performing upgrade: `,
};

function prefix(command, node) {
  if (client().minor >= 14) return PREFIX_1_14[command] ? PREFIX_1_14[command](node) : "";
  return PREFIX[command] || "";
}

/** A node's own error as this client reports it (direct: COSI calls and maintenance clients). */
const nodeError = (node, err, direct) =>
  client().minor >= 14 || direct ? err : `1 error occurred:\n\t* ${node}: ${err}\n\n`;

/** `cli.Warning` (pkg/cli/output.go): "WARNING: " + message, a newline added when missing. */
const warning = (message) => `WARNING: ${message}${message.endsWith("\n") ? "" : "\n"}`;

/**
 * A command that refuses several nodes: 1.10-1.13 helpers.FailIfMultiNodes ("is not supported
 * with multiple nodes"), 1.14 ClientFactory.BuildClientEnforceSingleNode ("requires exactly one
 * node (got N)"). Both texts name the command path.
 */
function singleNodeError(command, count) {
  return client().minor >= 14
    ? `command "${command}" requires exactly one node (got ${count})`
    : `command "${command}" is not supported with multiple nodes`;
}

/**
 * The warnings talosctl 1.13/1.14 print for the legacy upgrade flags: pflag's own deprecation
 * text in 1.13, in argv order as pflag parses (MarkDeprecated); in 1.14 after parsing, in the
 * order the flags were marked (helpers/deprecated.go warnOnDeprecatedFlags @ v1.14.1: force,
 * preserve, stage; "insecure" no longer exists there). Same wording.
 */
function deprecationWarnings(command, argv) {
  const c = client();
  if (command !== "upgrade" || c.minor < 13) return "";
  const names = c.minor === 13 ? ["force", "insecure", "preserve", "stage"] : ["force", "preserve", "stage"];
  const short = { f: "force", p: "preserve", s: "stage" };
  const seen = [];
  for (const tok of argv) {
    let name = null;
    if (tok.startsWith("--")) name = tok.slice(2).split("=")[0];
    else if (/^-[a-z]+$/.test(tok)) {
      for (const ch of tok.slice(1)) if (short[ch] && !seen.includes(short[ch])) seen.push(short[ch]);
      continue;
    }
    if (name && names.includes(name) && !seen.includes(name)) seen.push(name);
  }
  const used = c.minor === 13 ? seen.filter((n) => names.includes(n)) : names.filter((n) => seen.includes(n));
  return used
    .map(
      (n) =>
        `Flag --${n} has been deprecated, legacy flag for MachineService.Upgrade fallback, to be removed in Talos 1.18\n`,
    )
    .join("");
}

module.exports = {
  init,
  setSpec,
  flagDefault,
  client,
  PREFIX,
  PREFIX_1_14,
  prefix,
  nodeError,
  warning,
  singleNodeError,
  deprecationWarnings,
};
