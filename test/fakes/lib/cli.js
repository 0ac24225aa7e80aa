"use strict";
/**
 * Argument validation of the fake talosctl against the talosctl CLI reference
 * (shared/contracts/talos/talosctl-cli.json), cobra style: the longest command path wins, then
 * every flag must be one of that command's flags or inheritedFlags (plus root flags).
 */
const fs = require("fs");
const path = require("path");
const { parseDuration } = require("./runtime");

function cliReferencePath() {
  return (
    process.env.FAKE_TALOSCTL_CLI_JSON ||
    path.resolve(__dirname, "..", "..", "..", "..", "shared", "contracts", "talos", "talosctl-cli.json")
  );
}

function minorOf(v) {
  const m = /^v?(\d+)\.(\d+)/.exec(v || "");
  return m ? `${m[1]}.${m[2]}` : null;
}

/**
 * Flags talosctl accepts but cli.md (and so the CLI reference) leaves out: hidden or deprecated
 * ones (cobra prints neither), per minor (contracts/NOTES.md §7.0; checked with the real
 * talosctl v1.10.5 ... v1.14.1 built by test/e2e/tools/build.sh: `<flag> --help` exits 0).
 * - version --json: hidden in every minor (cmd/talosctl/cmd/talos/version.go MarkHidden("json")).
 * - upgrade --preserve/-p: hidden up to 1.12 (upgrade.go @ v1.12.6 MarkHidden("preserve")).
 * - upgrade --force/-f, --stage/-s, --preserve/-p (1.13, 1.14) and --insecure (1.13 only):
 *   deprecated legacy flags (upgrade.go @ v1.13.9 / v1.14.1 helpers.MarkFlagDeprecated).
 * - apply-config --mode interactive: hidden in 1.12 (helpers/mode.go @ v1.12.6), gone in 1.13.
 */
function hiddenFlags(minor) {
  const bool = (long, short) => ({ long, short: short || null, type: "bool", takesValue: false, hidden: true });
  const out = { version: [bool("json")] };
  if (minor <= 12) out.upgrade = [bool("preserve", "p")];
  else {
    out.upgrade = [bool("force", "f"), bool("stage", "s"), bool("preserve", "p")];
    if (minor === 13) out.upgrade.push(bool("insecure"));
  }
  return out;
}

/**
 * Values checked when the flag is parsed although the reference types them as plain strings:
 * 1.13/1.14 use an enum flag (pkg/flags ProtoEnum: "must be one of [...]") for upgrade
 * --reboot-mode, reboot --mode and --progress (reporter.NewOutputModeFlag); checked with the real
 * talosctl v1.13.9 and v1.14.1.
 */
function enumFlags(minor) {
  if (minor < 13) return {};
  const modes = ["default", "force", "powercycle"];
  return {
    upgrade: { "reboot-mode": modes, progress: ["auto", "plain"] },
    reboot: { mode: modes, progress: ["auto", "plain"] },
  };
}

/** The reference block plus the hidden flags and parse-time enums of that minor. */
function augment(spec, version) {
  const m = /^v?\d+\.(\d+)/.exec(version);
  const minor = m ? +m[1] : 0;
  const commands = Object.assign({}, spec.commands);
  for (const [path, flags] of Object.entries(hiddenFlags(minor))) {
    if (!commands[path]) continue;
    const known = new Set(commands[path].flags.map((f) => f.long));
    commands[path] = Object.assign({}, commands[path], {
      flags: commands[path].flags.concat(flags.filter((f) => !known.has(f.long))),
    });
  }
  if (minor === 12 && commands["apply-config"]) {
    commands["apply-config"] = Object.assign({}, commands["apply-config"], {
      flags: commands["apply-config"].flags.map((f) =>
        f.long === "mode" ? Object.assign({}, f, { hiddenValues: ["interactive"] }) : f,
      ),
    });
  }
  for (const [path, enums] of Object.entries(enumFlags(minor))) {
    if (!commands[path]) continue;
    commands[path] = Object.assign({}, commands[path], {
      flags: commands[path].flags.map((f) => (enums[f.long] ? Object.assign({}, f, { oneOf: enums[f.long] }) : f)),
    });
  }
  return Object.assign({}, spec, { commands, version, minor });
}

/**
 * The versions of one minor from the default CLI reference, as lib/bundle.js split it (a test run:
 * FAKE_BUNDLE_DIR), or null (then the whole reference is read).
 */
function readSlice(minor) {
  const dir = process.env.FAKE_BUNDLE_DIR;
  if (!dir || process.env.FAKE_TALOSCTL_CLI_JSON) return null;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "cli", `${minor}.json`), "utf8"));
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw e;
  }
}

/** The CLI reference for the talosctl version (matched by minor), with its hidden flags. */
function loadSpec(talosVersion) {
  const want = minorOf(talosVersion);
  let ref = want && readSlice(want);
  if (!ref) {
    const file = cliReferencePath();
    try {
      ref = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(
        `fake talosctl: cannot read the CLI reference ${file} (set FAKE_TALOSCTL_CLI_JSON): ${e.message}`,
      );
    }
  }
  const key =
    Object.keys(ref.versions).find((k) => k === talosVersion) ||
    Object.keys(ref.versions).find((k) => minorOf(k) === want);
  if (!key)
    throw new Error(
      `fake talosctl: the CLI reference has no version matching ${talosVersion} (has ${Object.keys(ref.versions).join(", ")})`,
    );
  return augment(ref.versions[key], talosVersion);
}

/** A rejected argv; `path` is the command path when it was resolved (for the usage text). */
class UsageError extends Error {}

function isFlagToken(tok) {
  return tok.length > 1 && tok[0] === "-";
}

/** Every flag definition with that long name or shorthand anywhere in this version (for pass 1). */
function anyFlag(spec, tok) {
  const long = tok.startsWith("--");
  const name = long ? tok.slice(2).split("=")[0] : tok.slice(1, 2);
  const defs = [];
  for (const c of Object.values(spec.commands)) {
    for (const f of c.flags.concat(c.inheritedFlags)) if ((long ? f.long : f.short) === name) defs.push(f);
  }
  return defs;
}

function flagSet(spec, cmd) {
  return cmd.flags.concat(cmd.inheritedFlags, spec.rootFlags || []);
}

function positionalBounds(positional) {
  let min = 0;
  let max = 0;
  let unbounded = false;
  for (const p of positional || []) {
    if (p.includes("...") || p.startsWith("-") || p.startsWith("[-")) unbounded = true;
    if (p.startsWith("[")) max++;
    else if (p !== "..." && !p.startsWith("-")) {
      min++;
      max++;
    }
  }
  return { min, max: unbounded ? Infinity : max };
}

const BOOL_VALUES = {
  true: true,
  false: false,
  1: true,
  0: false,
  t: true,
  f: false,
  T: true,
  F: false,
  TRUE: true,
  FALSE: false,
  True: true,
  False: false,
};

function checkValue(def, value) {
  const flagName = `--${def.long}`;
  const bad = (why) =>
    new UsageError(
      `invalid argument ${JSON.stringify(value)} for "${def.short ? `-${def.short}, ` : ""}${flagName}" flag: ${why}`,
    );
  if (def.type === "bool") {
    if (!(value in BOOL_VALUES)) throw bad(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
  } else if (def.type === "duration") {
    if (Number.isNaN(parseDuration(value))) throw bad(`time: invalid duration ${JSON.stringify(value)}`);
  } else if (/^u?int(32|64)?$/.test(def.type)) {
    if (!/^-?\d+$/.test(value)) throw bad(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  } else if (def.type === "float") {
    if (Number.isNaN(Number(value))) throw bad("invalid float");
  } else if (def.type.includes(", ")) {
    const allowed = def.type.split(", ");
    if (!allowed.includes(value) && !(def.hiddenValues || []).includes(value))
      throw bad(`possible options are: ${allowed.join(", ")}`);
  } else if (def.oneOf && !def.oneOf.includes(value)) {
    throw bad(`must be one of [${def.oneOf.join(" ")}]`);
  }
}

/**
 * Parse argv against the reference. Returns { path: "gen config", cmd, flags: {long: [values]},
 * positional: [...] }. Throws UsageError with cobra-like messages.
 */
function parseArgs(spec, argv) {
  const cmds = spec.commands;
  // Pass 1: find the command path (flags may come before or between the command words).
  const words = [];
  const wordIdx = new Set();
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === "--") break;
    if (isFlagToken(tok)) {
      if (tok.includes("=") || (!tok.startsWith("--") && tok.length > 2)) continue;
      const cur = words.length ? cmds[words.join(" ")] : null;
      const local = cur
        ? flagSet(spec, cur).filter((f) => (tok.startsWith("--") ? f.long === tok.slice(2) : f.short === tok.slice(1)))
        : [];
      const defs = local.length ? local : anyFlag(spec, tok);
      if (defs.length && defs.every((f) => f.takesValue === true)) i++;
      continue;
    }
    const cand = words.concat(tok).join(" ");
    if (cmds[cand]) {
      words.push(tok);
      wordIdx.add(i);
      continue;
    }
    break;
  }
  if (!words.length) {
    const first = argv.find((t) => !isFlagToken(t));
    if (first === undefined) throw new UsageError("fake talosctl: no command given");
    throw new UsageError(`unknown command ${JSON.stringify(first)} for "talosctl"`);
  }
  const cmdPath = words.join(" ");
  try {
    return parseCommand(spec, argv, cmdPath, wordIdx);
  } catch (e) {
    if (e instanceof UsageError) e.path = cmdPath;
    throw e;
  }
}

/** Pass 2: the flags and positional arguments of the resolved command. */
function parseCommand(spec, argv, cmdPath, wordIdx) {
  const cmd = spec.commands[cmdPath];
  const defs = flagSet(spec, cmd);
  const flags = {};
  const positional = [];
  const put = (def, value) => {
    checkValue(def, value);
    const vals = def.type === "strings" ? value.split(",").filter((v) => v !== "") : [value];
    flags[def.long] = (flags[def.long] || []).concat(vals);
  };
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    if (wordIdx.has(i)) continue;
    const tok = argv[i];
    if (rest || !isFlagToken(tok)) {
      positional.push(tok);
      continue;
    }
    if (tok === "--") {
      rest = true;
      continue;
    }
    if (tok.startsWith("--")) {
      const eq = tok.indexOf("=");
      const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      const def = defs.find((f) => f.long === name);
      if (!def) throw new UsageError(`unknown flag: --${name}`);
      if (def.takesValue === true) {
        if (eq >= 0) put(def, tok.slice(eq + 1));
        else if (i + 1 < argv.length) put(def, argv[++i]);
        else throw new UsageError(`flag needs an argument: --${name}`);
      } else {
        put(def, eq >= 0 ? tok.slice(eq + 1) : "true");
      }
      continue;
    }
    // shorthand(s): -n value, -nvalue, -n=value, -if
    const chars = tok.slice(1);
    for (let j = 0; j < chars.length; j++) {
      const c = chars[j];
      const def = defs.find((f) => f.short === c);
      if (!def) throw new UsageError(`unknown shorthand flag: '${c}' in ${tok}`);
      const after = chars.slice(j + 1);
      if (def.takesValue === true) {
        if (after.length) put(def, after.startsWith("=") ? after.slice(1) : after);
        else if (i + 1 < argv.length) put(def, argv[++i]);
        else throw new UsageError(`flag needs an argument: '${c}' in ${tok}`);
        break;
      }
      if (after.startsWith("=")) {
        put(def, after.slice(1));
        break;
      }
      put(def, "true");
    }
  }
  if (flags.help) return { path: cmdPath, cmd, flags, positional, help: true };
  if (cmd.runnable === false) {
    if (positional.length)
      throw new UsageError(`unknown command ${JSON.stringify(positional[0])} for "talosctl ${cmdPath}"`);
    throw new UsageError(`fake talosctl: "talosctl ${cmdPath}" is not runnable (it only prints help)`);
  }
  const { min, max } = positionalBounds(cmd.positional);
  if (positional.length < min)
    throw new UsageError(`requires at least ${min} arg(s), only received ${positional.length}`);
  if (positional.length > max) {
    throw new UsageError(
      max === 0
        ? `unknown command ${JSON.stringify(positional[0])} for "talosctl ${cmdPath}"`
        : `accepts at most ${max} arg(s), received ${positional.length}`,
    );
  }
  return { path: cmdPath, cmd, flags, positional, help: false };
}

module.exports = { loadSpec, augment, parseArgs, UsageError, cliReferencePath, minorOf, BOOL_VALUES };
