/**
 * Runs the real prelude of the step scripts (talos/shell.ts PRELUDE, the generated text) under a
 * chosen /bin/sh with stub tools, and measures what issue 15 §4 is about:
 * - every call's elapsed time (a timestamp after each call, `date +%s%N`);
 * - "timed out" lines on stderr, and every other stderr line (job notices such as bash's
 *   "Killed ( trap '' INT TERM; ... )" or mksh's "Terminated");
 * - every signal the script's processes send: a `kill` function defined before the prelude shadows
 *   the builtin (a function is found before a regular builtin, POSIX XCU 2.9.1.1), calls
 *   `command kill` and logs its status and arguments. A signal that fails (ESRCH) went to a PID no
 *   process of ours holds any more: one that was already reaped. (`kill -0` probes are not
 *   signals and are counted apart.)
 * - processes left behind (by an environment marker, /proc/<pid>/environ; Linux only) and how long
 *   the step's stdout/stderr stayed open after the shell exited (the provider waits for them).
 * Linux only (GNU date, /proc): the tests run on Debian.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** One shell as the step scripts would meet it as /bin/sh. */
export interface Shell {
  readonly name: string;
  /** argv before the script file; empty when the shell is not installed. */
  readonly argv: readonly string[];
  /** The Debian package that provides it (.ci/run installs each). */
  readonly pkg: string;
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = path.join(dir || ".", cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A symlink named `sh` to `target` in a private directory: the shell then runs in its sh mode. */
function asSh(target: string, linkDir: string, name: string): string {
  const dir = path.join(linkDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, "sh");
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
  return link;
}

/**
 * The shells the tests run the prelude under: Debian's /bin/sh (dash), bash in POSIX mode both
 * ways an operator meets it (`bash --posix`; named `sh`, as macOS's /bin/sh is), and the other
 * POSIX shells Debian bookworm packages (busybox ash, mksh, yash, posh).
 */
export function shellsUnderTest(linkDir: string): Shell[] {
  const shells: Array<{ name: string; pkg: string; bin: string; argv: (p: string) => string[] }> = [
    { name: "dash", pkg: "dash", bin: "dash", argv: (p) => [p] },
    { name: "bash --posix", pkg: "bash", bin: "bash", argv: (p) => [p, "--posix"] },
    { name: "bash as sh", pkg: "bash", bin: "bash", argv: (p) => [asSh(p, linkDir, "bash")] },
    { name: "busybox sh (ash)", pkg: "busybox", bin: "busybox", argv: (p) => [p, "sh"] },
    { name: "mksh as sh", pkg: "mksh", bin: "mksh", argv: (p) => [asSh(p, linkDir, "mksh")] },
    { name: "yash as sh", pkg: "yash", bin: "yash", argv: (p) => [asSh(p, linkDir, "yash")] },
    { name: "posh", pkg: "posh", bin: "posh", argv: (p) => [p] },
  ];
  const found: Shell[] = shells.map((s) => {
    const p = which(s.bin);
    return { name: s.name, pkg: s.pkg, argv: p ? s.argv(p) : [] };
  });
  // Any other shell, started as sh: HOMEOPS_TEST_SH=/path/to/shell (e.g. a bash 3.2 built locally).
  const extra = process.env.HOMEOPS_TEST_SH;
  if (extra) {
    const ok = fs.existsSync(extra);
    found.push({ name: `${extra} as sh`, pkg: "HOMEOPS_TEST_SH", argv: ok ? [asSh(extra, linkDir, "extra")] : [] });
  }
  return found;
}

/**
 * The `kill` that logs every use (see the file comment); defined before the prelude. errexit is
 * off around `command kill`: bash 3.2 exits on a failing `command kill` under set -e even in a
 * condition.
 */
const KILL_LOGGER = `kill() {
  harness_flags=$-
  set +e
  command kill "$@" 2>/dev/null
  harness_rc=$?
  case $harness_flags in *e*) set -e ;; esac
  echo "$harness_rc $*" >>"$HARNESS_KILL_LOG"
  return "$harness_rc"
}
`;

export interface Kill {
  readonly rc: number;
  readonly args: string;
}

export interface ScriptRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every use of kill, in order. */
  readonly kills: Kill[];
  /** Signals (not `kill -0` probes) that failed: sent to a PID no longer ours. */
  readonly strayKills: Kill[];
  /** The script was ended by the harness: past its wall-time budget. */
  readonly overBudget: boolean;
  /** Wall time from spawn to the shell's exit. */
  readonly wallMs: number;
  /** From the shell's exit to the end of its stdout/stderr (the last writer closing them). */
  readonly pipesOpenMs: number;
  /** Processes of the script that held its stdout/stderr when the shell exited (pid argv). */
  readonly pipeHoldersAtExit: string[];
  /** Processes of the script still there after it ended (and after `settleMs`), with their argv. */
  readonly leftovers: string[];
  /** The scratch root's entries left (TMPDIR/homeops-work-<uid>/run.*). */
  readonly scratchLeft: string[];
}

export interface ScriptOptions {
  readonly shell: Shell;
  readonly prelude: string;
  /** Shell text after the prelude. */
  readonly body: string;
  /** CALL_TIMEOUT of the settings file, seconds. */
  readonly callTimeout: number;
  /** The harness ends the script (SIGKILL to its process group) after this long. */
  readonly budgetMs: number;
  /**
   * A signal to the shell alone (SIGKILL: the provider's cancel) once `killWhen` holds, polled with the
   * script's live processes ("pid argv").
   */
  readonly killWhen?: (processes: string[]) => boolean;
  /** The signal `killWhen` sends (default SIGKILL). */
  readonly killSignal?: NodeJS.Signals;
  /** How long processes of the script may outlive it (the watchdog's period) before they count. */
  readonly settleMs?: number;
  readonly env?: Record<string, string>;
}

/** The pipe behind one of our fds, as /proc/<pid>/fd shows it ("pipe:[inode]"). */
function pipeOf(stream: unknown): string | undefined {
  const fd = (stream as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Live processes whose environment carries `mark` and that hold one of `pipes` open. */
function pipeHolders(mark: string, pipes: string[]): string[] {
  return markedProcesses(mark).filter((p) => {
    const pid = p.split(" ")[0];
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return pipes.includes(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** PIDs (and argv) of live processes whose environment carries `mark`. */
export function markedProcesses(mark: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, "latin1");
      if (!env.includes(mark)) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "latin1");
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // a zombie is already gone but for its parent's wait
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").join(" ").trim();
      found.push(`${entry} ${argv}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let serial = 0;

/** Runs prelude + body under the shell in a fresh directory; see ScriptRun. */
export async function runScriptUnder(opts: ScriptOptions): Promise<ScriptRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-prelude-"));
  const tmp = path.join(dir, "tmp");
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(dir, "settings.sh"), `CALL_TIMEOUT=${opts.callTimeout}\n`);
  const script = path.join(dir, "script.sh");
  fs.writeFileSync(script, `${KILL_LOGGER}${opts.prelude}${opts.body}`);
  const killLog = path.join(dir, "kills.log");
  fs.writeFileSync(killLog, "");
  const mark = `HOMEOPS_HARNESS_MARK=${process.pid}.${++serial}.${Date.now()}`;
  const [cmd, ...args] = opts.shell.argv;
  const started = Date.now();
  const child = spawn(cmd, [...args, script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      TMPDIR: tmp,
      HOMEOPS_SETTINGS: "settings.sh",
      HARNESS_KILL_LOG: killLog,
      HARNESS_DIR: dir,
      [mark.split("=")[0]]: mark.split("=")[1],
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pipes = [pipeOf(child.stdout), pipeOf(child.stderr)].filter((p): p is string => p !== undefined);
  let pipeHoldersAtExit: string[] = [];
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let overBudget = false;
  let exitedAt = 0;
  let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  const exited = new Promise<void>((resolve) =>
    child.on("exit", (code, signal) => {
      exitedAt = Date.now();
      exit = { code, signal };
      pipeHoldersAtExit = pipes.length === 2 ? pipeHolders(mark, pipes) : ["(the step's pipes were not found)"];
      resolve();
    }),
  );
  const closed = new Promise<number>((resolve) => child.on("close", () => resolve(Date.now())));
  const budget = setTimeout(() => {
    overBudget = true;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, opts.budgetMs);
  let killer: NodeJS.Timeout | undefined;
  if (opts.killWhen) {
    const poll = (): void => {
      if (exitedAt) return;
      if (opts.killWhen!(markedProcesses(mark))) child.kill(opts.killSignal ?? "SIGKILL");
      else killer = setTimeout(poll, 10);
    };
    killer = setTimeout(poll, 10);
  }
  await exited;
  const closedAt = await closed;
  clearTimeout(budget);
  if (killer) clearTimeout(killer);
  // Processes of the script may outlive it by the watchdog's period; then none may be left.
  const settleBy = Date.now() + (opts.settleMs ?? 0);
  let leftovers = markedProcesses(mark);
  while (leftovers.length > 0 && Date.now() < settleBy) {
    await sleep(20);
    leftovers = markedProcesses(mark);
  }
  for (const l of leftovers) {
    try {
      process.kill(Number(l.split(" ")[0]), "SIGKILL");
    } catch {
      // gone
    }
  }
  const kills = fs
    .readFileSync(killLog, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => ({ rc: Number(l.split(" ")[0]), args: l.slice(l.indexOf(" ") + 1) }));
  const rootDirs = fs.readdirSync(tmp).filter((d) => d.startsWith("homeops-work-"));
  const scratchLeft = rootDirs.flatMap((r) => fs.readdirSync(path.join(tmp, r)).map((e) => `${r}/${e}`));
  // Everything is read: the run's directory goes (hundreds of runs per suite, nothing to keep).
  // (A leftover killed just above may still be exiting: a late file there is no test failure.)
  fs.rm(dir, { recursive: true, force: true, maxRetries: 5 }, () => undefined);
  return {
    ...exit,
    stdout,
    stderr,
    kills,
    strayKills: kills.filter((k) => k.rc !== 0 && !/^-0 /.test(k.args)),
    overBudget,
    wallMs: exitedAt - started,
    pipesOpenMs: closedAt - exitedAt,
    pipeHoldersAtExit,
    leftovers,
    scratchLeft,
  };
}

/** Milliseconds per fork+exec of a trivial command in this shell, now (median of 40). */
export function forkCostMs(shell: Shell): number {
  const [cmd, ...args] = shell.argv;
  const r = spawnSync(cmd, [...args, "-c", 'i=0; while [ "$i" -lt 41 ]; do date +%s%N; i=$((i + 1)); done'], {
    encoding: "utf8",
  });
  const t = r.stdout
    .trim()
    .split("\n")
    .map((l) => Number(BigInt(l) / 1000n) / 1000);
  const d = t
    .slice(1)
    .map((v, i) => v - t[i])
    .sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)];
}

/** The many-fast-calls statistic of one run. */
export interface CallStats {
  readonly run: ScriptRun;
  readonly calls: number;
  /** Each call's elapsed ms (from the timestamp before it to the one after it). */
  readonly elapsedMs: number[];
  readonly timedOutLines: string[];
  /** stderr lines that are neither ours ("homeops...") nor empty: job notices and the like. */
  readonly otherStderr: string[];
  /** Calls that took at least the call timeout (a false timeout or a stall). */
  readonly slowCalls: number;
  readonly medianMs: number;
}

/**
 * `n` calls of a tool that exits 0 at once (`true`), each through `run`, timestamped. The call
 * timeout (seconds) should be large next to a call so a call that waits it out is unmistakable.
 */
export async function fastCalls(
  shell: Shell,
  prelude: string,
  n: number,
  callTimeout: number,
  budgetMs: number,
): Promise<CallStats> {
  const stub = which("true") ?? "/bin/true";
  const body = `date +%s%N
i=0
while [ "$i" -lt ${n} ]; do
  run "${stub}" call
  date +%s%N
  i=$((i + 1))
done
`;
  const run = await runScriptUnder({ shell, prelude, body, callTimeout, budgetMs, settleMs: 3000 });
  const stamps = run.stdout
    .split("\n")
    .filter((l) => /^\d+$/.test(l))
    .map((l) => Number(BigInt(l) / 1000n) / 1000);
  const elapsedMs = stamps.slice(1).map((v, i) => v - stamps[i]);
  const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
  const sorted = [...elapsedMs].sort((a, b) => a - b);
  return {
    run,
    calls: elapsedMs.length,
    elapsedMs,
    timedOutLines: lines.filter((l) => /timed out/.test(l)),
    otherStderr: lines.filter((l) => !/^homeops/.test(l)),
    slowCalls: elapsedMs.filter((ms) => ms >= callTimeout * 1000).length,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
  };
}
