/**
 * Shell building blocks for the scripts the command resources run. Parameters never get
 * interpolated into script text: an argument refers to a parameter as `${NAME}` (one word,
 * double-quoted) or `@{NAME}` (a space-separated list, split into words), and the value travels
 * in the command's `environment` or in the runtime settings file. That keeps every script a
 * constant file, keeps values out of the command text that lands in logs and state, and lets the
 * same argv render for humans.
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

/**
 * A tool call in a script: `run "$TOOL" args...` (bounded by the CALL_TIMEOUT setting), or
 * `run_for <seconds> "$TOOL" args...` with its own bound (a shell word, e.g. "$PROBE_TIMEOUT").
 * Either way the watchdog can end the call if the script itself is killed (see PRELUDE).
 */
export function shellCommand(program: string, args: readonly Arg[], timeout?: string): string {
  return [...(timeout ? ["run_for", timeout] : ["run"]), program, ...args.map(shellWord)].join(" ");
}

/**
 * The argv a human reads (plan.json, docs): parameter references replaced by their values;
 * names missing from `env` (secrets, scratch paths, run-time settings) stay as `$NAME`.
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
 * Variables of the operator's shell that the tools would honour instead of what a script passes:
 * the command provider hands its whole environment to every script (pulumi-command v1.2.1
 * provider/pkg/provider/local/commandOutputs.go: `cmd.Env = os.Environ()` plus `environment`).
 * Every talosctl/kubectl call names its talosconfig/kubeconfig explicitly; these are removed so a
 * stray one can never redirect a call. 1Password variables other than the ones a step declares
 * (OP_SERVICE_ACCOUNT_TOKEN or OP_ACCOUNT) are removed too: `op` would prefer a Connect server
 * named by OP_CONNECT_HOST over the service account.
 */
export const AMBIENT_VARIABLES_REMOVED = [
  "TALOSCONFIG",
  "KUBECONFIG",
  "OP_CONNECT_HOST",
  "OP_CONNECT_TOKEN",
  "OP_SESSION",
  "OP_CONFIG_DIR",
  "OP_BIOMETRIC_UNLOCK_ENABLED",
] as const;

/**
 * Common prelude of every script. In order:
 * - strict mode, no globbing (lists are split on spaces only), files private to the user;
 * - the runtime settings of the current stack config (tools, waits, node inventory, reset list),
 *   read at run time and never resource inputs: the engine copies the stored value of an ignored
 *   input into every later run (pulumi v3.248.0 pkg/resource/deploy/step_generator.go,
 *   processIgnoreChanges), so a tuning input would either re-run the step or stay frozen;
 * - the ambient variables above removed;
 * - a private scratch directory (0700, files 0600) under a per-user root; directories left by a
 *   script that was killed (its pid is gone) are removed at the start of the next one;
 * - a watchdog: the provider cancels a step by killing /bin/sh alone with SIGKILL
 *   (exec.CommandContext in commandOutputs.go), so no trap runs and the tool calls keep going.
 *   The watchdog notices the script is gone within a second, ends every tool call started
 *   through `run` (and its timer) and removes the scratch directory. After a normal end it sees
 *   the scratch directory gone and exits by itself: nothing signals it, so no shell prints a job
 *   notice for it, and it holds none of the step's output (its own redirections are exec'd);
 * - POSIX sh only, correct under dash, bash (--posix, and as sh: bash 3.2 is macOS's /bin/sh),
 *   busybox ash, mksh, yash and posh (test/prelude-shells.test.ts);
 * - logging to stderr, and the bounded poll helpers every wait uses (a real condition, a
 *   deadline, an interval: never a fixed sleep).
 */
export const PRELUDE = `set -eu
umask 077
log() { printf 'homeops[%s]: %s\\n' "\${STEP_ID:-?}" "$*" >&2; }
fail() { printf 'homeops[%s]: ERROR: %s\\n' "\${STEP_ID:-?}" "$*" >&2; exit 1; }
case "\${HOMEOPS_SETTINGS:-}" in
  "" | /* | *..*) fail "HOMEOPS_SETTINGS must name the stack's settings file relative to the project directory" ;;
esac
[ -r "./$HOMEOPS_SETTINGS" ] || fail "no runtime settings at ./$HOMEOPS_SETTINGS: run pulumi preview or up from the project directory first"
. "./$HOMEOPS_SETTINGS"
unset ${AMBIENT_VARIABLES_REMOVED.join(" ")}
WORK_ROOT="\${TMPDIR:-/tmp}/homeops-work-$(id -u)"
mkdir -p "$WORK_ROOT"
chmod 700 "$WORK_ROOT"
for stale in "$WORK_ROOT"/run.*; do
  [ -d "$stale" ] || continue
  owner=\${stale##*/run.}
  owner=\${owner%%.*}
  kill -0 "$owner" 2>/dev/null || rm -rf "$stale"
done
WORK=$(mktemp -d "$WORK_ROOT/run.$$.XXXXXX")
# claim FILE: succeeds for the one caller that creates FILE (with noclobber the shell creates it with
# O_EXCL: atomic, and a builtin, so no process per claim).
claim() {
  set -C
  if { true >"$1"; } 2>/dev/null; then
    set +C
    return 0
  fi
  set +C
  return 1
}
# stop_timer TOOL: end an armed timer (see run_for) by ending its sleep, whose pid it wrote before it
# armed: the timer then finds the call claimed and exits. SIGKILL, because a sleep just forked may
# not have exec'd yet and would lose a SIGTERM to the shell code it still runs.
stop_timer() {
  if read -r sleeper 2>/dev/null <"$WORK/sleep.$1"; then kill -KILL "$sleeper" 2>/dev/null || :; fi
}
# stop_call TOOL: end a call from outside (the script is ending). It claims the call first, so its
# timer can no longer fire; it ends the timer if armed (if not, the timer sees the claim on armed
# and exits), and the tool only if the claim was its own: a call that its timer or its run_for
# claimed first is theirs to end.
stop_call() {
  claim "$WORK/claim.$1" || return 0
  # (a run_for that has just finished removes call.<pid> before its claim: then this claim is late)
  [ -e "$WORK/call.$1" ] || return 0
  claim "$WORK/armed.$1" || stop_timer "$1"
  kill -TERM "$1" 2>/dev/null || :
}
# stop_calls: every call in flight ($WORK/call.<tool pid>)
stop_calls() {
  set +f
  for call in "$WORK"/call.*; do
    if [ -e "$call" ]; then stop_call "\${call##*/call.}"; fi
  done
}
# drop_work: remove the scratch directory. A call that stop_calls ended is still winding down: its
# run_for (in a background subshell) and its timer may claim or write in $WORK a moment later, and
# a plain rm -rf then meets a file created after it emptied the directory ("Directory not empty",
# and set -e made that the script's status). The directory is renamed first: from then on such a
# write fails on the missing path (a claim fails, so they exit). Only a create whose lookup of the
# old path was already done can still land in the renamed directory, at most one per process of
# the script: it either comes before rm's final rmdir (which fails, and rm is run again) or fails
# on the removed directory. A directory still left is swept by the next script (its owner is gone;
# the sweep above matches run.<pid>.*), and never changes the script's status.
drop_work() {
  mv -f "$WORK" "$WORK.end" 2>/dev/null || return 0
  drop_tries=0
  until rm -rf "$WORK.end" 2>/dev/null; do
    drop_tries=$((drop_tries + 1))
    if [ "$drop_tries" -ge 20 ]; then
      rm -rf "$WORK.end" || :
      return 0
    fi
  done
}
(
  exec </dev/null >/dev/null 2>&1
  trap '' INT TERM
  while [ -d "$WORK" ] && kill -0 $$ 2>/dev/null; do sleep 1; done
  [ -d "$WORK" ] || exit 0
  stop_calls
  drop_work
) &
# finish: the EXIT trap. It exits with the status it was called with: mksh would otherwise exit
# with the trap's own status when a signal's trap called exit (exit 130 became 0).
finish() {
  finish_status=$?
  stop_calls
  drop_work
  exit "$finish_status"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP PIPE
set -f
# run_for SECONDS TOOL ARGS...: one tool call, ended (SIGTERM) after SECONDS, since a node may
# never answer (a control plane's etcd calls block while its etcd is down), and ended by the
# watchdog if this script is killed. Its stdin is /dev/null: no tool reads it. The redirection is
# inside the subshell that execs the tool: yash forks twice for an asynchronous command with a
# redirection in a subshell (a command substitution), and $! is then not the tool's pid.
# The timer is a subshell that waits for a sleep of SECONDS. Who ends the call is decided once, by
# whoever first claims $WORK/claim.<tool pid>: the timer when its sleep is over (it then ends the
# tool, running a moment before), run_for once the tool exited, stop_call when the script ends.
# Whoever claims first then claims $WORK/armed.<tool pid>, which the timer claims after starting
# its sleep and writing its pid: if the timer got there first, the claimer ends that sleep and the
# timer exits; if not, the timer sees the claim and exits at once. Nothing signals a shell: a
# subshell keeps the script's traps until it sets its own and dash drops a signal that arrives
# meanwhile (the timer slept on, then cut the next call short), and some shells miss a signal
# that comes just before \`wait\`. Nothing signals a process that may have been reaped: the tool
# is signalled only by whoever claimed the call while it ran, a timer's sleep only by whoever
# claimed the call before the sleep was over (a call that ends in the very instant of its limit
# is the exception: the signal may then reach a PID freed a moment before; so is the watchdog's
# signal to a tool of a killed script, which nothing reaps for it). And nothing ends by a signal
# its shell would report as a job notice.
run_for() {
  limit=$1
  shift
  (exec "$@" </dev/null) &
  child=$!
  echo "$child" >"$WORK/call.$child"
  (
    exec </dev/null >/dev/null 2>&1
    sleeper=
    trap '[ -z "$sleeper" ] || kill -KILL "$sleeper" 2>/dev/null; exit 0' HUP TERM
    sleep "$limit" &
    sleeper=$!
    if ! echo "$sleeper" >"$WORK/sleep.$child" || ! claim "$WORK/armed.$child"; then
      kill -KILL "$sleeper" 2>/dev/null
      exit 0
    fi
    wait "$sleeper" || :
    sleeper=
    claim "$WORK/claim.$child" || exit 0
    kill -TERM "$child" 2>/dev/null || :
    : >"$WORK/timed-out.$child"
  ) &
  timer=$!
  status=0
  wait "$child" 2>/dev/null || status=$?
  if claim "$WORK/claim.$child"; then
    claim "$WORK/armed.$child" || stop_timer "$child"
  fi
  # The timer holds the shell's saved copy of the step's stdout/stderr if it was forked while the
  # caller's output was redirected, and the provider's Wait waits for every writer of those pipes
  # (os/exec: Stdout is not a file): it must be gone before the script is.
  wait "$timer" 2>/dev/null || :
  if [ -e "$WORK/timed-out.$child" ]; then
    printf 'homeops: %s %s timed out after %s s\\n' "\${1##*/}" "\${2:-}" "$limit" >&2
  fi
  # call.<pid> goes first (see stop_call)
  rm -f "$WORK/call.$child" "$WORK/sleep.$child" "$WORK/claim.$child" "$WORK/armed.$child" "$WORK/timed-out.$child"
  return "$status"
}
run() { run_for "$CALL_TIMEOUT" "$@"; }
now() { date +%s; }
# deadline_in SECONDS -> the epoch second at which a wait gives up
deadline_in() { echo $(( $(now) + $1 )); }
# past DEADLINE -> true once the deadline has passed
past() { [ "$(now)" -ge "$1" ]; }
# last_line FILE -> the last non-empty line of a captured stderr, for error messages
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1; }
`;
