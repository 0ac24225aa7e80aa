/**
 * Helpers for the tests of the fake executables (test/fakes*.test.ts): a throwaway world, the
 * fakes run as real processes (as the generated scripts run them), and the usual staging steps.
 */
import { strict as assert } from "assert";
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as fake from "./lib/state";
import { scaledMs } from "../helpers/calibration";

export { fake };

/**
 * A time on a test's timeline (a fake's delay, a sleep, a wait's bound, a margin), in ms on an
 * idle machine, scaled by how slow the machine is now (helpers/calibration.ts). Every time a test
 * weighs against another is scaled alike, so their relation holds and the margin for process
 * start-up grows with the load.
 */
export const T = (ms: number): number => scaledMs(ms);
/** T(ms) as a Go duration, for a fake's --timeout / --wait-timeout. */
export const dur = (ms: number): string => `${T(ms)}ms`;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export const N1 = "172.29.51.11";
export const N2 = "172.29.51.12";
export const N3 = "172.29.51.13";
export const NODES = [N1, N2, N3];
export const ENDPOINT = "https://172.29.51.10:6443";
/** Target one node directly, as the scripts do. */
/** The installer image the test configs name by default (the nodes then run v1.11.6, schematic "abc"). */
export const INSTALL_IMAGE = "factory.talos.dev/installer/abc:v1.11.6";
export const at = (a: string): string[] => ["--nodes", a, "--endpoints", a];
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}): ${r.stderr}`);
  return r;
}

export function failsWith(r: Result, re: RegExp, what: string): Result {
  assert.notEqual(r.code, 0, `${what} unexpectedly succeeded: ${r.stdout}`);
  assert.match(r.stderr, re, `${what}: unexpected stderr`);
  return r;
}

export class World {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "fakes-state-"));
  readonly work = fs.mkdtempSync(path.join(os.tmpdir(), "fakes-work-"));
  /** Usage errors a test provokes on purpose (checked in done()). */
  expectedUsageErrors = 0;

  constructor(config: fake.FakeConfigInput = {}) {
    fake.initFakeWorld(this.dir, { talosVersion: "v1.11.6", ...config });
  }

  file = (name: string): string => path.join(this.work, name);

  exec(tool: string, args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<Result> {
    const env = fake.fakeEnv(this.dir, { OP_SERVICE_ACCOUNT_TOKEN: "fake-token" });
    for (const [k, v] of Object.entries(extraEnv)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const start = Date.now();
    return new Promise((resolve) => {
      execFile(tool, args, { env, cwd: this.work, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - start });
      });
    });
  }

  /**
   * Start a fake that hangs and end it with SIGTERM, as a script's watchdog would: once the fake
   * says it is hanging (its handler installed: lib/runtime.js), never on a guess of how long a
   * process start takes. Fails if the call ends, or never hangs, by itself.
   */
  execThenTerm(tool: string, args: string[]): Promise<Result> {
    const start = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(tool, args, { env: fake.fakeEnv(this.dir), cwd: this.work });
      let stdout = "";
      let stderr = "";
      let signalled = false;
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const poll = setInterval(() => {
        if (child.pid !== undefined && fake.isHanging(this.dir, child.pid)) {
          clearInterval(poll);
          signalled = true;
          child.kill("SIGTERM");
        }
      }, 10);
      child.on("close", (code, signal) => {
        clearInterval(poll);
        const r = { code: code ?? (signal ? 128 + 15 : -1), stdout, stderr, ms: Date.now() - start };
        if (!signalled) reject(new Error(`${tool} ${args.join(" ")} ended before it hung: ${JSON.stringify(r)}`));
        else resolve(r);
      });
    });
  }

  talosctl = (...args: string[]): Promise<Result> => this.exec("talosctl", args);
  kubectl = (...args: string[]): Promise<Result> => this.exec("kubectl", args);
  tc = (): string[] => ["--talosconfig", this.file("talosconfig")];
  /** `gen config <name> <endpoint> --with-secrets <work>/<secrets>`: what each gen config starts with. */
  gen = (name = "home-ops", secrets = "secrets.yaml"): string[] => [
    "gen",
    "config",
    name,
    ENDPOINT,
    "--with-secrets",
    this.file(secrets),
  ];
  kc = (): string[] => ["--kubeconfig", this.file("kubeconfig")];
  node = (a: string): fake.FakeNode => fake.readState(this.dir).nodes[a];
  state = (): fake.FakeState => fake.readState(this.dir);
  calls = (): fake.FakeCall[] => fake.readCalls(this.dir);

  async genSecrets(file = "secrets.yaml"): Promise<void> {
    ok(await this.talosctl("gen", "secrets", "--output-file", this.file(file)), "gen secrets");
  }

  /** A machine config for `hostname` with the given patch (YAML, may hold several documents). */
  async genConfig(
    hostname: string,
    opts: { out?: string; type?: string; patch?: string; secrets?: string; installImage?: string; k8s?: string } = {},
  ): Promise<string> {
    const out = opts.out ?? `${hostname}.yaml`;
    const patch = `machine:\n  network:\n    hostname: ${hostname}\n${opts.patch ?? ""}`;
    fs.writeFileSync(this.file(`patch-${out}`), patch);
    const args = this.gen("home-ops", opts.secrets ?? "secrets.yaml");
    args.push("--config-patch", `@${this.file(`patch-${out}`)}`, "--output-types", opts.type ?? "controlplane");
    args.push("--output", this.file(out), "--kubernetes-version", opts.k8s ?? "1.34.1", "--talos-version", "v1.11");
    args.push("--install-image", opts.installImage ?? INSTALL_IMAGE, "--additional-sans", "172.29.51.10");
    args.push("--with-docs=false", "--with-examples=false", "--force");
    ok(await this.talosctl(...args), `gen config ${hostname}`);
    return fs.readFileSync(this.file(out), "utf8");
  }

  async genTalosconfig(out = "talosconfig", secrets = "secrets.yaml"): Promise<void> {
    const file = this.file(out);
    const args = [
      "gen",
      "config",
      "home-ops",
      ENDPOINT,
      "--with-secrets",
      this.file(secrets),
      "--output-types",
      "talosconfig",
    ];
    ok(await this.talosctl(...args, "--output", file, "--force"), "gen talosconfig");
  }

  /**
   * Install every node (insecure apply of mini0N.yaml) and wait until all are up. opts: the
   * installer image (the version and schematic the nodes then run), Kubernetes version, a patch.
   */
  async configured(
    addresses = NODES,
    opts: { installImage?: string; k8s?: string; patch?: string } = {},
  ): Promise<void> {
    await this.genSecrets();
    await this.genTalosconfig();
    for (const [i, a] of addresses.entries()) {
      await this.genConfig(`mini0${i + 1}`, opts);
      ok(
        await this.talosctl("apply-config", ...at(a), "--insecure", "--file", this.file(`mini0${i + 1}.yaml`)),
        `install ${a}`,
      );
    }
    await this.until(() => addresses.every((a) => this.node(a).state === "configured"), "nodes up");
  }

  /** configured(), etcd bootstrapped on mini01, every member serving, and the admin kubeconfig. */
  async bootstrapped(opts: { installImage?: string; k8s?: string; patch?: string } = {}): Promise<void> {
    await this.configured(NODES, opts);
    ok(await this.talosctl("bootstrap", ...at(N1), ...this.tc()), "bootstrap");
    await this.until(() => NODES.every((a) => this.node(a).etcdState === "serving"), "etcd serving on every node");
    const kc = ok(await this.talosctl("kubeconfig", "-", "--merge=false", ...at(N1), ...this.tc()), "kubeconfig");
    fs.writeFileSync(this.file("kubeconfig"), kc.stdout);
  }

  /** Cilium installed (the fake's HelmRelease): Nodes become Ready, so MachineStatus can be ready. */
  cni(): void {
    fake.createK8sObject(this.dir, {
      kind: "HelmRelease(pulumi)",
      metadata: { name: "cilium", namespace: "kube-system" },
    });
  }

  /** Poll a condition of the world (bounded). */
  async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + T(timeoutMs);
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  /** Assert no unexpected usage errors, then remove the directories. */
  done(): void {
    try {
      const errors = fake.readUsageErrors(this.dir);
      assert.equal(errors.length, this.expectedUsageErrors, `usage errors: ${JSON.stringify(errors, null, 2)}`);
    } finally {
      for (const d of [this.dir, this.work]) fs.rmSync(d, { recursive: true, force: true });
    }
  }
}
