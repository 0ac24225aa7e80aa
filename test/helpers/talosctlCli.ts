/**
 * The talosctl CLI reference (../shared/contracts/talos/talosctl-cli.json) as a checker: does an
 * argv use only commands and flags that exist in a given talosctl version?
 */
import * as fs from "fs";
import * as path from "path";
import { MINOR_SPECIFIC_TALOSCTL } from "../../talos/talosctl";

interface Flag {
  long: string;
  short: string | null;
  takesValue: boolean | "optional";
}
interface Command {
  flags: Flag[];
  inheritedFlags: Flag[];
  positional: string[];
  runnable?: boolean;
}
interface Version {
  commands: Record<string, Command>;
  globalClientFlags: { commandsAcceptingNodesFlag: string[]; flags: Flag[] };
}

const CLI_JSON = path.resolve(__dirname, "../../../shared/contracts/talos/talosctl-cli.json");
const cli = JSON.parse(fs.readFileSync(CLI_JSON, "utf8")) as { versions: Record<string, Version> };

export const CLI_VERSIONS = Object.keys(cli.versions);
export const CLI_VERSION_OF_MINOR: Record<string, string> = Object.fromEntries(
  CLI_VERSIONS.map((v) => [v.split(".").slice(0, 2).join("."), v]),
);

/**
 * Flags talosctl accepts but cli.md (so talosctl-cli.json) leaves out because cobra hides them:
 * `version --json` in every minor v1.10–v1.14 (contracts/NOTES.md §7.0, §7.7: talos @ v1.14.1
 * cmd/talosctl/cmd/talos/version.go, a hidden flag printing protojson per node).
 */
const HIDDEN_FLAGS: Readonly<Record<string, readonly Flag[]>> = {
  version: [{ long: "json", short: null, takesValue: false }],
};

/** Problems of one argv (without the program name) against a version; empty = valid. */
export function checkTalosctlArgv(version: string, argv: readonly string[]): string[] {
  const v = cli.versions[version];
  if (!v) return [`no CLI reference for ${version}`];
  const problems: string[] = [];
  // The command path: the longest run of leading non-flag words naming a command. Leading flags
  // (e.g. --talosconfig before `config endpoint`) are root/persistent flags.
  const words: string[] = [];
  const rest: string[] = [];
  let i = 0;
  const leading: string[] = [];
  while (i < argv.length && argv[i].startsWith("-")) {
    leading.push(argv[i]);
    if (!argv[i].includes("=")) leading.push(argv[i + 1] ?? "");
    i += 2 - (argv[i].includes("=") ? 1 : 0);
  }
  for (; i < argv.length; i++) {
    const candidate = [...words, argv[i]].join(" ");
    if (
      !argv[i].startsWith("-") &&
      Object.keys(v.commands).some((c) => c === candidate || c.startsWith(candidate + " "))
    )
      words.push(argv[i]);
    else break;
  }
  rest.push(...argv.slice(i));
  const name = words.join(" ");
  const cmd = v.commands[name];
  if (!cmd || cmd.runnable === false)
    return [`unknown command "${[name, ...rest.filter((r) => !r.startsWith("-")).slice(0, 1)].join(" ")}"`];
  const known = [...cmd.flags, ...cmd.inheritedFlags, ...(HIDDEN_FLAGS[name] ?? [])];
  const all = [...leading.filter((_, k) => k % 2 === 0), ...rest];
  let positional = 0;
  for (let k = 0; k < all.length; k++) {
    const a = all[k];
    if (a === "-") {
      positional++;
      continue;
    }
    if (!a.startsWith("-")) {
      positional++;
      continue;
    }
    const [flagPart, inlineValue] = a.split(/=(.*)/s);
    const flag = flagPart.startsWith("--")
      ? known.find((f) => f.long === flagPart.slice(2))
      : known.find((f) => f.short === flagPart.slice(1));
    if (!flag) {
      problems.push(`${name}: unknown flag ${flagPart}`);
      continue;
    }
    if (flag.takesValue === true && inlineValue === undefined && all === rest) k++;
    else if (flag.takesValue === true && inlineValue === undefined) k++;
  }
  const maxPositional = cmd.positional.some((p) => p.includes("...")) ? Infinity : cmd.positional.length;
  if (positional > maxPositional)
    problems.push(`${name}: ${positional} positional arguments, at most ${maxPositional}`);
  const nodeFlags = ["--nodes", "--endpoints", "--talosconfig", "-n", "-e"];
  if (
    !v.globalClientFlags.commandsAcceptingNodesFlag.includes(name) &&
    all.some((a) => nodeFlags.includes(a.split("=")[0]))
  ) {
    problems.push(`${name}: node flags on a local command`);
  }
  return problems;
}

/**
 * Every talosctl invocation written in a script: the words after `"$TALOSCTL"` up to a
 * redirection, a pipe, a list operator or the end of the line, unquoted, with `$VAR` kept as a
 * placeholder value. A word that is neither a double-quoted string nor a `$VAR` (an unquoted flag,
 * say) is an error, never silently the end of the argv.
 */
export function talosctlInvocationsIn(script: string): string[][] {
  const out: string[][] = [];
  const TOOL = '"$TALOSCTL"';
  for (const line of script.split("\n")) {
    for (let at = line.indexOf(TOOL); at >= 0; at = line.indexOf(TOOL, at + 1)) {
      let rest = line.slice(at + TOOL.length);
      const args: string[] = [];
      for (;;) {
        rest = rest.replace(/^[ \t]+/, "");
        if (rest === "" || /^(\d?>|<|\||&&|;|\)|#)/.test(rest)) break;
        const word = /^"((?:[^"\\]|\\.)*)"|^\$([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_{])/.exec(rest);
        if (!word) throw new Error(`cannot read a talosctl argument at «${rest.slice(0, 40)}» in: ${line.trim()}`);
        args.push(word[1] !== undefined ? word[1].replace(/\\(.)/g, "$1") : "10.0.0.1");
        rest = rest.slice(word[0].length);
      }
      out.push(args);
    }
  }
  return out;
}

/**
 * Is this argv one the scripts run only with talosctl of a newer minor than `version` (vX.Y or
 * X.Y.Z)? MINOR_SPECIFIC_TALOSCTL (talos/talosctl.ts) names each such builder and its oldest minor.
 */
export function onlyForNewer(argv: readonly string[], version: string): boolean {
  const minor = (v: string) => Number(v.split(".")[1]);
  return Object.values(MINOR_SPECIFIC_TALOSCTL).some(
    (m) =>
      minor(version) < minor(m.oldest) &&
      ["${NODE_ADDRESS}", "${CONTROL_PLANE_ADDRESS}"].some((a) => JSON.stringify(m.argv(a)) === JSON.stringify(argv)),
  );
}
