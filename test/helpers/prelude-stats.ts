/**
 * The many-fast-calls statistic of test/prelude-shells.test.ts, printed for every shell here, for
 * any version of the prelude:
 *   npx tsx test/helpers/prelude-stats.ts [CALLS] [CALL_TIMEOUT] [SHELL_PREFIX] [SHELL_TS]
 * SHELL_TS is a talos/shell.ts to take PRELUDE from (default: this checkout's), e.g. an old one
 * from `git show <rev>:talos/shell.ts > /tmp/shell-old.ts`.
 */
import * as os from "os";
import * as path from "path";
import { PRELUDE } from "../../talos/shell";
import { fastCalls, forkCostMs, shellsUnderTest } from "./preludeHarness";

async function main(): Promise<void> {
  const [n = "200", timeout = "3", only = "", shellTs] = process.argv.slice(2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const prelude: string = shellTs ? require(path.resolve(shellTs)).PRELUDE : PRELUDE;
  for (const sh of shellsUnderTest(path.join(os.tmpdir(), "homeops-prelude-stats"))) {
    if (!sh.name.startsWith(only)) continue;
    if (sh.argv.length === 0) {
      console.log(`${sh.name}: not installed`);
      continue;
    }
    const fork = forkCostMs(sh);
    const s = await fastCalls(sh, prelude, Number(n), Number(timeout), 3600_000);
    const r = s.run;
    const signals = r.kills.filter((k) => !/^-0 /.test(k.args)).length;
    console.log(
      `${sh.name}: ${s.calls} calls, median ${s.medianMs.toFixed(1)} ms (fork ${fork.toFixed(1)} ms); ` +
        `waited out the ${timeout} s timeout: ${s.slowCalls}; "timed out" lines: ${s.timedOutLines.length}; ` +
        `signals: ${signals}, to PIDs no longer ours: ${r.strayKills.length}; other stderr lines: ${s.otherStderr.length}` +
        `${s.otherStderr.length ? ` (${JSON.stringify(s.otherStderr[0])})` : ""}; ` +
        `processes left: ${r.leftovers.length}; exit ${r.code}; wall ${r.wallMs} ms`,
    );
  }
}
void main();
