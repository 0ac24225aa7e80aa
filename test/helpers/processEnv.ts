// Imported first by test/setup.ts, and required first by test/e2e/.mocharc.json: the environment of
// every process a test starts (fakes, the Pulumi CLI, the program, scripts), set before the first
// of them (the calibration probe).
import * as fs from "fs";

// NODE_EXTRA_CA_CERTS (set on this project's machines, for the npm registry) makes every Node.js
// process read and parse that certificate bundle when it starts: `node -e 0` took 0.11 s with it
// and 0.05 s without (2026-12-07, idle, 2 cores). A test reaches nothing but loopback, with its own
// CAs, so its processes start without it.
delete process.env.NODE_EXTRA_CA_CERTS;

// The fakes run from their one-file bundle (test/fakes/lib/bundle.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports
process.env.FAKE_BUNDLE_DIR = require("../fakes/lib/state.js").bundleEnv().FAKE_BUNDLE_DIR;

// The fakes' calls run in the fake server (test/fakes/lib/server.js: long-lived Node.js processes
// behind a native client), not one Node.js process per call; HOMEOPS_FAKE_SERVER=0 runs them as
// processes (test/fakes/bin). Started once per test process, before anything runs a fake; a
// process started by one that runs it (mocha's parallel workers) uses that one while it listens.
const inherited = process.env.FAKE_SERVER_SOCKET;
if (process.env.HOMEOPS_FAKE_SERVER !== "0" && !(inherited && fs.existsSync(inherited))) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = require("../fakes/lib/server.js").start();
  if (server) {
    process.env.FAKE_SERVER_SOCKET = server.socket;
    process.env.FAKE_CLIENT_BIN = server.bin;
  }
}
