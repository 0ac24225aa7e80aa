/**
 * The hooks of every Helm release this stack installs. The engine runs `beforeCreate` in the
 * program right before it creates the release, every time a create is attempted (after lost
 * state, a retained destroy, a killed run, and a replacement: create before delete), and
 * `beforeUpdate` right before an upgrade; never in a preview, never for a release left as it is
 * (pulumi v3.248.0 pkg/resource/deploy/step.go CreateStep.Apply, UpdateStep.Apply;
 * deployment.go RunHooks skips hooks in a dry run unless OnDryRun).
 * They read the release's Helm records (and, on create, Flux's claims) through kubectl, decide
 * with k8s/helmAdoption.ts, and at most mark the latest revision failed (then `replace` installs
 * over it in place, or the upgrade goes on); a refusal fails the step with its message. The
 * kubectl calls are thin; the decision and the record format are pure and tested on their own.
 */
import { AsyncResource } from "async_hooks";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { HelmStep } from "../plan";
import { Adoption, decideAdoption, decideUpdate, fluxClaims } from "../k8s/helmAdoption";
import { HelmRecord, helmRecords, withStatus } from "../k8s/helmStorage";

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One kubectl call (the kubeconfig and bounds are the runner's). */
export type Kubectl = (args: readonly string[], stdin?: string) => Promise<KubectlResult>;

/** The kubectl argv of the guard (after `--kubeconfig <file>`). */
export const guardKubectl = {
  /** Helm v3 labels its storage Secrets owner=helm, name=<release> (pkg/storage/driver/secrets.go). */
  helmRecords: (name: string, namespace: string): string[] => [
    "get",
    "secrets",
    "--namespace",
    namespace,
    "--selector",
    `owner=helm,name=${name}`,
    "--output",
    "json",
  ],
  fluxHelmReleases: (): string[] => [
    "get",
    "helmreleases.helm.toolkit.fluxcd.io",
    "--all-namespaces",
    "--output",
    "json",
  ],
  /** A PUT of the whole object: refused if its resourceVersion is no longer current. */
  replace: (): string[] => ["replace", "--filename", "-"],
};

export interface GuardOptions {
  readonly step: HelmStep;
  /** `homeops:operations.adoptHelmReleases`. */
  readonly adoptList: readonly string[];
  readonly pollSeconds: number;
  /** How long reads are retried (the API answered moments ago: its readiness gate passed). */
  readonly readDeadlineSeconds: number;
  readonly now?: () => Date;
  readonly log?: (message: string) => void;
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop() ?? "";
}

async function retrying<T>(
  what: string,
  opts: GuardOptions,
  attempt: () => Promise<{ value: T } | { error: string }>,
): Promise<T> {
  const deadline = Date.now() + opts.readDeadlineSeconds * 1000;
  for (;;) {
    const r = await attempt();
    if ("value" in r) return r.value;
    if (Date.now() >= deadline) throw new Error(`cannot read ${what}: ${r.error}`);
    await new Promise((resolve) => setTimeout(resolve, opts.pollSeconds * 1000));
  }
}

/** The release's Helm records, read with retries. */
function readRecords(opts: GuardOptions, kubectl: Kubectl): Promise<HelmRecord[]> {
  const { name, namespace } = opts.step.release.metadata;
  return retrying<HelmRecord[]>(`the Helm records of ${namespace}/${name}`, opts, async () => {
    const r = await kubectl(guardKubectl.helmRecords(name, namespace));
    return r.code === 0 ? { value: helmRecords(JSON.parse(r.stdout), name) } : { error: lastLine(r.stderr) };
  });
}

/** Applies a decision: throws a refusal, makes its one write, logs its reason. */
async function apply(decision: Adoption, opts: GuardOptions, kubectl: Kubectl): Promise<Adoption> {
  const { name, namespace } = opts.step.release.metadata;
  if (decision.action === "refuse") throw new Error(decision.message);
  if (decision.action === "mark-failed") {
    const secret = withStatus(decision.record, "failed", decision.description);
    const r = await kubectl(guardKubectl.replace(), JSON.stringify(secret));
    if (r.code !== 0) {
      throw new Error(
        `cannot mark revision ${decision.record.revision} of Helm release ${namespace}/${name} failed: ${lastLine(r.stderr)} (if it changed meanwhile, run pulumi up again)`,
      );
    }
  }
  (opts.log ?? (() => undefined))(decision.reason);
  return decision;
}

/** The create hook: reads the records and Flux's claims, decides, applies; throws the refusal. */
export async function guardHelmCreate(opts: GuardOptions, kubectl: Kubectl): Promise<Adoption> {
  const { step } = opts;
  const { name, namespace } = step.release.metadata;
  const records = await readRecords(opts, kubectl);
  const claims = await retrying<string[]>("Flux's HelmReleases", opts, async () => {
    const r = await kubectl(guardKubectl.fluxHelmReleases());
    if (r.code === 0) return { value: fluxClaims(JSON.parse(r.stdout), name, namespace) };
    // No Flux CRDs (yet): nothing claims it (kubectl's message for an unknown resource type).
    if (/doesn't have a resource type/.test(r.stderr)) return { value: [] };
    return { error: lastLine(r.stderr) };
  });
  const decision = decideAdoption({
    release: { name, namespace },
    stepId: step.id,
    marker: step.marker,
    records,
    timeoutSeconds: step.timeoutSeconds,
    now: (opts.now ?? (() => new Date()))(),
    adoptList: opts.adoptList,
    fluxClaims: claims,
    handOff: step.handOff,
  });
  return apply(decision, opts, kubectl);
}

/** The update hook: unlocks a stale interrupted operation (only that); never reads Flux's claims. */
export async function guardHelmUpdate(opts: GuardOptions, kubectl: Kubectl): Promise<Adoption> {
  const { step } = opts;
  const decision = decideUpdate({
    release: step.release.metadata,
    marker: step.marker,
    records: await readRecords(opts, kubectl),
    timeoutSeconds: step.timeoutSeconds,
    now: (opts.now ?? (() => new Date()))(),
  });
  return apply(decision, opts, kubectl);
}

/** Runs `fn` with the kubeconfig in a private file (0600 in a 0700 directory), removed after. */
export async function withKubeconfigFile<T>(kubeconfig: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-helm-"));
  try {
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(file, kubeconfig, { mode: 0o600 });
    return await fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** kubectl with an explicit kubeconfig, each call bounded (server side and by a kill). */
export function kubectlRunner(bin: string, kubeconfigFile: string, callTimeoutSeconds: number): Kubectl {
  const env = { ...process.env };
  delete env.KUBECONFIG;
  return (args, stdin) =>
    new Promise((resolve) => {
      const child = execFile(
        bin,
        ["--kubeconfig", kubeconfigFile, `--request-timeout=${callTimeoutSeconds}s`, ...args],
        { env, timeout: (callTimeoutSeconds + 5) * 1000, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
          resolve({ code, stdout, stderr: err && !stderr ? String(err.message) : stderr });
        },
      );
      child.stdin?.end(stdin ?? "");
    });
}

/** The Helm storage driver the provider uses; this guard reads Secrets only. */
export function assertSecretsDriver(env: NodeJS.ProcessEnv = process.env): void {
  const driver = env.PULUMI_K8S_HELM_DRIVER;
  if (driver && driver !== "secret" && driver !== "secrets") {
    throw new Error(
      `PULUMI_K8S_HELM_DRIVER is ${driver}: this stack keeps Helm's records in Secrets (the provider's default); unset it`,
    );
  }
}

export interface HelmHookArgs {
  readonly step: HelmStep;
  /** The admin kubeconfig (resolved by the time the release is created: its provider needs it). */
  readonly kubeconfig: pulumi.Output<string>;
  /** The run-time settings (KUBECTL, POLL_SECONDS, CALL_TIMEOUT, TIMEOUT_API_READY). */
  readonly settings: Readonly<Record<string, string>>;
  readonly adoptList: readonly string[];
}

/** The release's hooks: `beforeCreate` (adopt, unlock or refuse) and `beforeUpdate` (unlock). */
export function helmHooks(
  name: string,
  args: HelmHookArgs,
): { beforeCreate: pulumi.ResourceHook[]; beforeUpdate: pulumi.ResourceHook[] } {
  let resolveKubeconfig: (value: string) => void;
  const kubeconfig = new Promise<string>((resolve) => (resolveKubeconfig = resolve));
  args.kubeconfig.apply((k) => resolveKubeconfig(k));
  const setting = (key: string) => {
    const value = args.settings[key];
    if (value === undefined) throw new Error(`run-time setting ${key} is missing`);
    return value;
  };
  // The engine calls a hook through the SDK's callback server, outside the program's async context,
  // where pulumi.log finds no engine and falls back to the console: log in the program's context.
  const info = AsyncResource.bind((message: string) => void pulumi.log.info(message));
  const hook = (suffix: string, guard: typeof guardHelmCreate) =>
    new pulumi.ResourceHook(`${name}-${suffix}`, async () => {
      assertSecretsDriver();
      await withKubeconfigFile(await kubeconfig, (file) =>
        guard(
          {
            step: args.step,
            adoptList: args.adoptList,
            pollSeconds: Number(setting("POLL_SECONDS")),
            readDeadlineSeconds: Number(setting("TIMEOUT_API_READY")),
            log: info,
          },
          kubectlRunner(setting("KUBECTL"), file, Number(setting("CALL_TIMEOUT"))),
        ),
      );
    });
  return { beforeCreate: [hook("guard", guardHelmCreate)], beforeUpdate: [hook("unlock", guardHelmUpdate)] };
}
