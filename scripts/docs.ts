/**
 * npm run docs -- --from <outputs.json> [--out docs/cluster.md] [--now YYYY-MM-DD]
 *
 * <outputs.json> is `pulumi stack output --json --show-secrets=false`. `--now` is the date the
 * certificate warnings are computed against (default: today, UTC). Refused input writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { OutputsRefused, renderClusterDocs } from "../docs/generate";

function main(): number {
  const { values } = parseArgs({
    options: {
      from: { type: "string" },
      out: { type: "string", default: path.join("docs", "cluster.md") },
      now: { type: "string", default: new Date().toISOString().slice(0, 10) },
    },
  });
  if (!values.from) {
    console.error("usage: npm run docs -- --from <outputs.json> [--out docs/cluster.md] [--now YYYY-MM-DD]");
    return 2;
  }
  let outputs: unknown;
  try {
    outputs = JSON.parse(fs.readFileSync(values.from, "utf8"));
  } catch (e) {
    // The parser's message may quote the input; say only where it failed.
    console.error(
      `${values.from} is not readable JSON (${e instanceof SyntaxError ? "syntax error" : (e as Error).name})`,
    );
    return 1;
  }
  try {
    const markdown = renderClusterDocs(outputs as Parameters<typeof renderClusterDocs>[0], values.now!);
    fs.mkdirSync(path.dirname(values.out!), { recursive: true });
    fs.writeFileSync(values.out!, markdown);
    console.log(`wrote ${values.out} (warnings computed against ${values.now})`);
    return 0;
  } catch (e) {
    if (!(e instanceof OutputsRefused) && !(e instanceof Error && e.message.startsWith("--now"))) throw e;
    console.error(e.message);
    return 1;
  }
}

process.exitCode = main();
