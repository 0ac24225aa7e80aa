/**
 * Shell building blocks for the scripts the command resources run. Parameters never get
 * interpolated into script text: an argument refers to a parameter as `${NAME}` (one word,
 * double-quoted) or `@{NAME}` (a space-separated list, split into words), and the value travels
 * in the command's `environment`. That keeps every script a constant string, keeps values out of
 * the command text that lands in logs and state, and lets the same argv render for humans.
 */

/** One talosctl/kubectl argument: literal text with `${NAME}` / `@{NAME}` parameter references. */
export type Arg = string;

const PARAM = /(\$\{[A-Z_][A-Z0-9_]*\}|@\{[A-Z_][A-Z0-9_]*\})/;

/** Quote one argument for POSIX sh, keeping parameter references live. */
export function shellWord(arg: Arg): string {
  const parts = arg.split(PARAM).filter((p) => p !== "");
  if (parts.length === 1 && parts[0].startsWith("@{")) return `$${parts[0].slice(2, -1)}`;
  if (parts.some((p) => p.startsWith("@{"))) {
    throw new Error(`list parameter must be a whole argument: ${arg}`);
  }
  return '"' + parts.map((p) => (p.startsWith("${") ? p : p.replace(/(["\\$`])/g, "\\$1"))).join("") + '"';
}

/** A command line for a script: program + quoted args. */
export function shellCommand(program: string, args: readonly Arg[]): string {
  return [program, ...args.map(shellWord)].join(" ");
}

/**
 * The argv a human reads (plan.json, docs): parameter references replaced by their values;
 * names missing from `env` (secrets, scratch paths) stay as `$NAME`.
 */
export function displayArgv(args: readonly Arg[], env: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const list = /^@\{([A-Z_][A-Z0-9_]*)\}$/.exec(arg);
    if (list) {
      const value = env[list[1]];
      if (value === undefined) out.push(`$${list[1]}`);
      else out.push(...value.split(/\s+/).filter((w) => w !== ""));
      continue;
    }
    out.push(arg.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => env[name] ?? `$${name}`));
  }
  return out;
}

/** Parameter names an argv refers to. */
export function paramsOf(args: readonly Arg[]): string[] {
  const names = new Set<string>();
  for (const arg of args) {
    for (const m of arg.matchAll(/[$@]\{([A-Z_][A-Z0-9_]*)\}/g)) names.add(m[1]);
  }
  return [...names].sort();
}

/**
 * Common prelude of every script: strict mode, no globbing (lists are split on spaces only),
 * a private scratch directory removed on any exit, logging to stderr, and the bounded poll
 * helper every wait uses (a real condition, a deadline, an interval: never a fixed sleep).
 */
export const PRELUDE = `set -eu
set -f
umask 077
WORK=$(mktemp -d "\${TMPDIR:-/tmp}/homeops.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
log() { printf 'homeops[%s]: %s\\n' "$STEP_ID" "$*" >&2; }
fail() { printf 'homeops[%s]: ERROR: %s\\n' "$STEP_ID" "$*" >&2; exit 1; }
now() { date +%s; }
# deadline_in SECONDS -> prints the epoch second at which a wait gives up
deadline_in() { echo $(( $(now) + $1 )); }
# past DEADLINE -> true once the deadline has passed
past() { [ "$(now)" -ge "$1" ]; }
# last_line FILE -> the last non-empty line of a captured stderr, for error messages
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1; }
`;
