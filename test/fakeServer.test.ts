/**
 * The fake server (test/fakes/lib/server.js, worker.js, and the native client
 * test/e2e/tools/fake-client): a call through it answers exactly as the fake's own process
 * (test/fakes/bin/<tool>) does, with the caller's argv, name, environment and working directory
 * and nothing of the call before; signals reach the call as they reach a process; calls made at
 * once run at once; the server ends with the test process that started it.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import fsModule from "fs";
import * as os from "os";
import * as path from "path";
import { at, fake, failsWith, N1, ok, Result, sleep, T, World } from "./fakes/testkit";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { announce } = require("./fakes/lib/server.js") as { announce: (dir: string, bin: string) => void };

const PROCESS = fake.BIN_DIR;
const server = (): string => fake.binDir();

/** A call whose end we watch: its exit code or the signal it died of. */
function startCall(w: World, bin: string, tool: string, args: string[]) {
  const child = spawn(path.join(bin, tool), args, { env: fake.fakeEnv(w.dir), cwd: w.work });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, ended };
}

/** Waits until call `pid` of world `w` is in its real hang (its handler installed: lib/runtime.js). */
async function hanging(w: World, pid: number): Promise<void> {
  while (!fake.isHanging(w.dir, pid)) await sleep(10);
}

/** op's log lines carry the time to the second ("[ERROR] 2026/12/07 18:02:51 ..."): two calls may straddle one. */
const stamp = (s: string): string => s.replace(/^\[(\w+)\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /gm, "[$1] <time> ");
const same = (a: Result, b: Result, what: string): void =>
  assert.deepEqual(
    { code: b.code, stdout: b.stdout, stderr: stamp(b.stderr) },
    { code: a.code, stdout: a.stdout, stderr: stamp(a.stderr) },
    what,
  );

describe("the fake server: the fakes' calls in long-lived processes behind a native client", function () {
  this.timeout(60000);
  let w: World;
  beforeEach(function () {
    if (process.env.HOMEOPS_FAKE_SERVER === "0") this.skip();
    w = new World();
  });
  afterEach(() => w?.done());

  it("runs this test process's fakes: its native client is first on the PATH of what a test runs", () => {
    assert.ok(process.env.FAKE_SERVER_SOCKET, "FAKE_SERVER_SOCKET is set (test/helpers/processEnv.ts)");
    assert.notEqual(server(), PROCESS);
    for (const tool of ["talosctl", "talosctl-v1.10", "talosctl-v1.14", "kubectl", "op", "curl"]) {
      const link = fs.realpathSync(path.join(server(), tool));
      assert.equal(path.basename(link), "fake-client", `${tool} is the native client`);
    }
    assert.equal(fake.fakeEnv(w.dir).PATH!.split(path.delimiter)[0], server());
  });

  it("answers every tool's call as the fake's own process does: output, status and the call log", async () => {
    await w.genSecrets();
    fs.writeFileSync(w.file("item.json"), JSON.stringify({ title: "t", fields: [{ label: "f", value: "v" }] }));
    fs.writeFileSync(w.file("schematic.yaml"), "customization:\n  extraKernelArgs: [net.ifnames=0]\n");
    const calls: [string, string[]][] = [
      ["talosctl", ["version", "--client"]],
      ["talosctl-v1.13", ["version", "--client"]],
      ["talosctl", ["version", "--frob"]],
      ["talosctl", ["get", "members", ...at(N1), "--insecure"]],
      ["talosctl", ["gen", "config", "c", "https://172.29.51.10:6443", "--with-secrets", "secrets.yaml", "-o", "-"]],
      ["kubectl", ["get", "nodes", "-o", "name", "--kubeconfig", "missing-kubeconfig"]],
      ["op", ["item", "get", "nope", "--vault", "Automation"]],
      ["op", ["read", "op://Automation/missing/field"]],
      [
        "curl",
        ["-fsS", "-X", "POST", "--data-binary", `@${w.file("schematic.yaml")}`, "https://factory.talos.dev/schematics"],
      ],
      ["curl", ["-fsS", "-X", "POST", "--data-binary", "@/nonexistent", "https://factory.talos.dev/schematics"]],
    ];
    for (const [tool, args] of calls) {
      const before = w.calls().length;
      const asProcess = await w.exec(path.join(PROCESS, tool), args);
      const viaServer = await w.exec(path.join(server(), tool), args);
      same(asProcess, viaServer, `${tool} ${args.join(" ")}`);
      const [a, b] = w
        .calls()
        .slice(before)
        .map(({ t: _t, ms: _ms, ...rest }) => rest);
      assert.deepEqual(b, a, `${tool} ${args.join(" ")}: the call log`);
    }
    w.expectedUsageErrors = 2;
  });

  it("gives each call its caller's name, environment and working directory, and nothing of the call before", async () => {
    const version = async (tool: string) =>
      ok(await w.exec(path.join(server(), tool), ["version", "--client"]), tool).stdout;
    const v12 = await version("talosctl-v1.12");
    const v10 = await version("talosctl-v1.10");
    assert.match(v12, /Tag:\s+v1\.12\./);
    assert.match(v10, /Tag:\s+v1\.10\./);
    assert.equal(await version("talosctl-v1.12"), v12);
    // The environment: OP_FORMAT=json changes op's output; the next call, without it, does not have it.
    fake.putOpItem(w.dir, "Automation", { title: "t", fields: [{ label: "f", value: "v" }] });
    const list = (env: Record<string, string | undefined>) =>
      w
        .exec(path.join(server(), "op"), ["item", "get", "t", "--vault", "Automation"], env)
        .then((r) => ok(r, "op item get").stdout);
    const plain = await list({});
    const json = await list({ OP_FORMAT: "json" });
    assert.notEqual(json, plain);
    assert.doesNotThrow(() => JSON.parse(json));
    assert.equal(await list({}), plain);
    // The working directory: a relative output path lands in the caller's.
    ok(await w.exec(path.join(server(), "talosctl"), ["gen", "secrets", "-o", "relative.yaml"]), "gen secrets");
    assert.ok(fs.existsSync(w.file("relative.yaml")));
    // A variable the caller removes is gone for the call (no token: op refuses).
    failsWith(
      await w.exec(path.join(server(), "op"), ["vault", "list"], {
        OP_SERVICE_ACCOUNT_TOKEN: undefined,
        OP_ACCOUNT: undefined,
      }),
      /not currently signed in/,
      "op without a token",
    );
  });

  it("gives each call its caller's umask: what it creates gets the modes it would as a process", async () => {
    const modes: Record<string, string> = {};
    for (const [name, bin] of [
      ["process", PROCESS],
      ["server", server()],
    ])
      for (const umask of ["077", "022"]) {
        const dir = `${name}-${umask}`;
        const r = spawnSync(
          "/bin/sh",
          [
            "-c",
            `umask ${umask} && exec "$0" "$@"`,
            path.join(bin, "talosctl"),
            "gen",
            "secrets",
            "-o",
            `${dir}/s.yaml`,
          ],
          { cwd: w.work, env: fake.fakeEnv(w.dir), encoding: "utf8" },
        );
        assert.equal(r.status, 0, r.stderr);
        modes[dir] = (fs.statSync(w.file(dir)).mode & 0o777).toString(8);
      }
    assert.deepEqual(modes, { "process-077": "700", "process-022": "755", "server-077": "700", "server-022": "755" });
  });

  it("SIGTERM reaches a call in a real hang (its handler's message, under the client's pid); another signal kills the call and its client", async () => {
    await w.genSecrets();
    await w.genConfig("mini01");
    const args = ["apply-config", ...at(N1), "--insecure", "--file", w.file("mini01.yaml")];
    fake.setFaults(w.dir, [{ tool: "talosctl", command: "apply-config", kind: "timeout", times: 2 }]);
    for (const bin of [PROCESS, server()]) {
      const call = startCall(w, bin, "talosctl", args);
      await hanging(w, call.child.pid!);
      call.child.kill("SIGTERM");
      const r = await call.ended;
      assert.deepEqual(
        { code: r.code, signal: r.signal, stderr: r.stderr },
        {
          code: 1,
          signal: null,
          stderr:
            "Signal received, aborting, press Ctrl+C once again to abort immediately...\nerror applying new configuration: rpc error: code = Canceled desc = context canceled\n",
        },
        bin,
      );
    }
    // SIGINT: no handler (a fake handles SIGTERM only), so the call dies of it, and so does its
    // client; the call never finished, so it left no record.
    fake.setFaults(w.dir, [{ tool: "talosctl", command: "apply-config", kind: "timeout", times: 2 }]);
    for (const bin of [PROCESS, server()]) {
      const before = w.calls().length;
      const call = startCall(w, bin, "talosctl", args);
      await hanging(w, call.child.pid!);
      call.child.kill("SIGINT");
      const r = await call.ended;
      assert.deepEqual({ code: r.code, signal: r.signal }, { code: null, signal: "SIGINT" }, bin);
      assert.equal(w.calls().length, before, `${bin}: no record of a killed call`);
    }
    assert.equal(w.node(N1).state, "maintenance");
  });

  it("a client killed (SIGKILL) mid-call ends its call: the call never finishes, as a killed process's would not", async () => {
    await w.genSecrets();
    await w.genConfig("mini01");
    const hangMs = T(1500);
    fake.setFaults(w.dir, [{ tool: "talosctl", command: "apply-config", kind: "timeout", hangMs, times: 1 }]);
    const before = w.calls().length;
    const started = Date.now();
    const call = startCall(w, server(), "talosctl", [
      "apply-config",
      ...at(N1),
      "--insecure",
      "--file",
      w.file("mini01.yaml"),
    ]);
    await hanging(w, call.child.pid!);
    call.child.kill("SIGKILL");
    assert.equal((await call.ended).signal, "SIGKILL");
    // Had the call lived on, it would have ended by now (its hang over) and logged itself.
    while (Date.now() < started + hangMs + T(1000)) await sleep(50);
    ok(await w.talosctl("version", "--client"), "the server serves on");
    const after = w.calls().slice(before);
    assert.deepEqual(
      after.map((c) => c.command),
      ["version"],
      "only the later call is logged",
    );
  });

  it("runs calls made at once at once, as the fakes' processes ran (none waits for another)", async () => {
    const delay = T(1500);
    fake.setDelays(w.dir, { command: delay });
    const n = 6;
    const results = await Promise.all(
      Array.from({ length: n }, () => w.exec(path.join(server(), "talosctl"), ["version", "--client"])),
    );
    results.forEach((r) => ok(r, "version"));
    const calls = w.calls();
    assert.equal(calls.length, n);
    const lastStart = Math.max(...calls.map((c) => c.t));
    const firstEnd = Math.min(...calls.map((c) => c.t + c.ms));
    assert.ok(lastStart < firstEnd, `every call started before the first ended (${lastStart} < ${firstEnd})`);
    assert.ok(Math.min(...calls.map((c) => c.ms)) >= delay, "each call took its modelled delay");
  });

  it("ends with the process that started it, and removes its socket and links", async () => {
    const script = `const s = require(${JSON.stringify(path.resolve(__dirname, "fakes/lib/server.js"))}).start();
      process.stdout.write(JSON.stringify(s));`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env } });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { socket: string; bin: string };
    const dir = path.dirname(s.socket);
    const deadline = Date.now() + T(10000);
    while (fs.existsSync(dir) && Date.now() < deadline) await sleep(20);
    assert.ok(!fs.existsSync(dir), `${dir} removed once its starter ended`);
  });

  it("says it listens with a ready file that appears whole: written beside it, then renamed", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-announce-"));
    const written: string[] = [];
    const real = fsModule.writeFileSync;
    // The module object itself (server.js writes through it): every file written in place.
    (fsModule as { writeFileSync: unknown }).writeFileSync = (file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      written.push(path.basename(String(file)));
      return (real as (...a: unknown[]) => unknown).call(fsModule, file, ...rest);
    };
    try {
      announce(dir, "/the/client/bin");
    } finally {
      (fsModule as { writeFileSync: unknown }).writeFileSync = real;
    }
    assert.ok(!written.includes("ready"), `ready was never written in place: ${written.join(", ")}`);
    assert.deepEqual(fs.readdirSync(dir), ["ready"]);
    assert.equal(fs.readFileSync(path.join(dir, "ready"), "utf8"), "/the/client/bin");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
