"use strict";
// FAKE curl (test fixture) standing in for Image Factory: `POST <factory>/schematics` answers 201
// {"id", "schematic"} with the ID the real factory computes (../factory.js: SHA-256 of its
// canonical re-marshal of the posted YAML) and records each schematic in state.json
// (state.factory.schematics[id] = canonical text). An invalid schematic answers 400, which -f
// turns into curl's exit 22. Supports: curl [-f] [-s] [-S] -X POST --data-binary @FILE [-H H] URL
const fs = require("fs");
const { run, Fail, UsageFail } = require("../runtime");
const store = require("../store");
const { canonicalSchematic, SchematicError } = require("../factory");

run("curl", (ctx) => {
  const argv = ctx.argv;
  const flags = {};
  let method = "GET";
  let body = null;
  let url = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^-[fsS]+$/.test(a)) for (const c of a.slice(1)) flags[c] = true;
    else if (a === "-X" || a === "--request") method = argv[++i];
    else if (a === "--data-binary") {
      const v = argv[++i] || "";
      if (!v.startsWith("@")) throw new Fail("fake curl: --data-binary must be @file", 3);
      try {
        body = fs.readFileSync(v.slice(1), "utf8");
      } catch (e) {
        throw new Fail(`Warning: Couldn't read data from file "${v.slice(1)}", this makes an empty POST.`, 26);
      }
    } else if (a === "-H" || a === "--header") i++;
    else if (a.startsWith("-"))
      throw new UsageFail(
        `curl: option ${a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information`,
        2,
      );
    else url = a;
  }
  const u = url ? new URL(url) : null;
  ctx.setCall({ command: `${method} ${u ? u.pathname : ""}`, flags, args: url ? [url] : [] });
  ctx.applyFaults({
    unreachable: () =>
      `curl: (7) Failed to connect to ${u ? u.hostname : "?"} port 443 after 0 ms: Couldn't connect to server`,
    timeout: "curl: (28) Operation timed out",
    drop: "curl: (52) Empty reply from server",
  });
  if (method !== "POST" || !u || !u.pathname.endsWith("/schematics") || body === null)
    throw new Fail(`fake curl: not simulated: ${argv.join(" ")}`, 3);
  let result;
  try {
    result = canonicalSchematic(body);
  } catch (e) {
    if (!(e instanceof SchematicError)) throw e;
    if (flags.f) throw new Fail("curl: (22) The requested URL returned error: 400", 22);
    return ctx.out(`${e.message}\n`);
  }
  store.updateState(ctx.dir, (s) => {
    s.factory.schematics[result.id] = result.text;
  });
  ctx.out(JSON.stringify({ id: result.id, schematic: result.text }) + "\n");
});
