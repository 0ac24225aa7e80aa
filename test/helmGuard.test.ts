/**
 * The Helm release create hook's kubectl side (components/helmGuard.ts): what it reads, the one
 * write it makes, its refusals, retries and the private kubeconfig file. kubectl is a function
 * here (answers shaped like kubectl's); test/e2e runs the hook under the real engine.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  assertSecretsDriver,
  guardHelmCreate,
  guardHelmUpdate,
  guardKubectl,
  Kubectl,
  KubectlResult,
  kubectlRunner,
  withKubeconfigFile,
} from "../components/helmGuard";
import { decodeStoredRelease, helmRecords, StorageSecret } from "../k8s/helmStorage";
import { buildPlan, HelmStep } from "../plan";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "helm-storage", "secrets.json"), "utf8"));
const cilium = buildPlan(homeOpsConfig()).steps.find((s) => s.id === "cilium") as HelmStep;

/** Helm's fixture records, renamed to release `cilium` in kube-system; the latest as given. */
function storage(status: string, description: string): StorageSecret[] {
  return FIXTURE.items.map((item: StorageSecret, i: number) => {
    const release = decodeStoredRelease(item.data!.release);
    const last = i === FIXTURE.items.length - 1;
    const info = { ...release.info, ...(last ? { status, description } : {}) };
    const renamed = { ...release, name: "cilium", namespace: "kube-system", info };
    const json = JSON.stringify(renamed);
    const { gzipSync } = require("zlib"); // eslint-disable-line @typescript-eslint/no-require-imports
    const data = Buffer.from(gzipSync(Buffer.from(json)).toString("base64")).toString("base64");
    return {
      ...item,
      metadata: {
        ...item.metadata,
        name: item.metadata.name.replace("demo", "cilium"),
        namespace: "kube-system",
        labels: { ...item.metadata.labels, name: "cilium", ...(last ? { status } : {}) },
      },
      data: { release: data },
    };
  });
}

interface FakeCluster {
  secrets: StorageSecret[];
  /** Flux's HelmReleases; undefined: the CRD is not installed. */
  helmReleases?: unknown[];
  /** Answers to fail before the real one, per argv[1]. */
  failFirst?: Record<string, KubectlResult[]>;
  replaceAnswer?: KubectlResult;
  calls: { args: readonly string[]; stdin?: string }[];
}

function fakeKubectl(c: FakeCluster): Kubectl {
  return async (args, stdin) => {
    c.calls.push({ args, stdin });
    const queued = c.failFirst?.[args[1]]?.shift();
    if (queued) return queued;
    if (args[0] === "get" && args[1] === "secrets") {
      return { code: 0, stdout: JSON.stringify({ apiVersion: "v1", kind: "List", items: c.secrets }), stderr: "" };
    }
    if (args[0] === "get" && args[1] === "helmreleases.helm.toolkit.fluxcd.io") {
      if (!c.helmReleases)
        return { code: 1, stdout: "", stderr: 'error: the server doesn\'t have a resource type "helmreleases"\n' };
      return { code: 0, stdout: JSON.stringify({ items: c.helmReleases }), stderr: "" };
    }
    if (args[0] === "replace") return c.replaceAnswer ?? { code: 0, stdout: "secret/x replaced\n", stderr: "" };
    throw new Error(`unexpected kubectl ${args.join(" ")}`);
  };
}

const opts = { step: cilium, adoptList: [] as string[], pollSeconds: 0.01, readDeadlineSeconds: 0.5 };

describe("Helm release create hook: kubectl side", () => {
  it("reads the release's Helm records and Flux's HelmReleases with exactly these argv", async () => {
    const c: FakeCluster = { secrets: [], calls: [] };
    const logs: string[] = [];
    const d = await guardHelmCreate({ ...opts, log: (m) => logs.push(m) }, fakeKubectl(c));
    assert.equal(d.action, "install");
    assert.deepEqual(
      c.calls.map((x) => x.args),
      [
        ["get", "secrets", "--namespace", "kube-system", "--selector", "owner=helm,name=cilium", "--output", "json"],
        ["get", "helmreleases.helm.toolkit.fluxcd.io", "--all-namespaces", "--output", "json"],
      ],
    );
    assert.deepEqual(logs, ["Helm release kube-system/cilium is new"]);
    assert.deepEqual(guardKubectl.replace(), ["replace", "--filename", "-"]);
  });

  it("its own deployed release: marks the latest revision failed with one PUT (resourceVersion kept), then lets Helm install", async () => {
    const c: FakeCluster = { secrets: storage("deployed", cilium.marker), helmReleases: [], calls: [] };
    const d = await guardHelmCreate(opts, fakeKubectl(c));
    assert.equal(d.action, "mark-failed");
    const writes = c.calls.filter((x) => x.args[0] === "replace");
    assert.equal(writes.length, 1);
    const sent: StorageSecret = JSON.parse(writes[0].stdin!);
    assert.equal(sent.metadata.name, "sh.helm.release.v1.cilium.v2");
    assert.equal(sent.metadata.resourceVersion, "1001");
    assert.equal(sent.metadata.labels!.status, "failed");
    const release = decodeStoredRelease(sent.data!.release);
    assert.equal(release.info!.status, "failed");
    assert.match(String(release.info!.description), /^Superseded in place by homeops: homeops\/home-ops cilium/);
  });

  it("a refusal fails the create with the decision's message and writes nothing", async () => {
    const c: FakeCluster = { secrets: storage("deployed", "Install complete"), helmReleases: [], calls: [] };
    await assert.rejects(guardHelmCreate({ ...opts, adoptList: ["flux-operator"] }, fakeKubectl(c)), (e: Error) =>
      e.message.endsWith("pulumi config set --path 'homeops:operations.adoptHelmReleases[1]' cilium && pulumi up"),
    );
    assert.equal(c.calls.filter((x) => x.args[0] === "replace").length, 0);
  });

  it("a Flux HelmRelease that manages it is found through kubectl and refused", async () => {
    const c: FakeCluster = {
      secrets: storage("deployed", cilium.marker),
      helmReleases: [{ metadata: { namespace: "kube-system", name: "cilium" }, spec: {} }],
      calls: [],
    };
    await assert.rejects(guardHelmCreate(opts, fakeKubectl(c)), /managed by Flux \(HelmRelease kube-system\/cilium\)/);
    assert.equal(c.calls.filter((x) => x.args[0] === "replace").length, 0);
  });

  it("retries a failed read until its deadline, polling; then names what it could not read", async () => {
    const err = {
      code: 1,
      stdout: "",
      stderr: "Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused\n",
    };
    const c: FakeCluster = { secrets: [], helmReleases: [], failFirst: { secrets: [err, err] }, calls: [] };
    assert.equal((await guardHelmCreate(opts, fakeKubectl(c))).action, "install");
    assert.equal(c.calls.filter((x) => x.args[1] === "secrets").length, 3);
    const down: FakeCluster = {
      secrets: [],
      failFirst: { "helmreleases.helm.toolkit.fluxcd.io": Array(1000).fill(err) },
      calls: [],
    };
    const t0 = Date.now();
    await assert.rejects(
      guardHelmCreate({ ...opts, readDeadlineSeconds: 0.3, pollSeconds: 0.05 }, fakeKubectl(down)),
      /cannot read Flux's HelmReleases: Unable to connect to the server/,
    );
    const attempts = down.calls.filter((x) => x.args[1] === "helmreleases.helm.toolkit.fluxcd.io").length;
    assert.ok(Date.now() - t0 >= 300 && attempts >= 3 && attempts <= 12, `${attempts} attempts`);
  });

  it("a write the API refuses (the record changed meanwhile) fails the create, saying to run up again", async () => {
    const c: FakeCluster = {
      secrets: storage("deployed", cilium.marker),
      helmReleases: [],
      replaceAnswer: {
        code: 1,
        stdout: "",
        stderr:
          'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on secrets "sh.helm.release.v1.cilium.v2": the object has been modified; please apply your changes to the latest version and try again\n',
      },
      calls: [],
    };
    await assert.rejects(
      guardHelmCreate(opts, fakeKubectl(c)),
      /cannot mark revision 2 of Helm release kube-system\/cilium failed: .*the object has been modified.*run pulumi up again/,
    );
  });

  it("the kubeconfig lives in a private file only while the calls run, also when they throw", async () => {
    let seen = "";
    await withKubeconfigFile("apiVersion: v1\n", async (file) => {
      seen = file;
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.equal(fs.readFileSync(file, "utf8"), "apiVersion: v1\n");
    });
    assert.equal(fs.existsSync(path.dirname(seen)), false);
    await assert.rejects(
      withKubeconfigFile("x", async (file) => {
        seen = file;
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(fs.existsSync(path.dirname(seen)), false);
  });

  it("runs kubectl with the kubeconfig named, a request timeout, stdin, and no ambient KUBECONFIG; a hung call is killed", async function () {
    this.timeout(30000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-kubectl-"));
    const ambient = process.env.KUBECONFIG;
    try {
      const bin = path.join(dir, "kubectl");
      fs.writeFileSync(
        bin,
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/argv"\nprintf "%s" "${KUBECONFIG:-none}" > "$(dirname "$0")/env"\ncat > "$(dirname "$0")/stdin"\n[ "$3" = "--request-timeout=2s" ] || exit 3\n[ "$4" = hang ] && exec sleep 60\necho out; echo err >&2; exit 7\n',
        { mode: 0o755 },
      );
      process.env.KUBECONFIG = "/ambient/kubeconfig";
      const run = kubectlRunner(bin, "/private/kubeconfig", 2);
      const r = await run(["get", "x"], "input");
      assert.deepEqual(r, { code: 7, stdout: "out\n", stderr: "err\n" });
      assert.deepEqual(fs.readFileSync(path.join(dir, "argv"), "utf8").trim().split("\n"), [
        "--kubeconfig",
        "/private/kubeconfig",
        "--request-timeout=2s",
        "get",
        "x",
      ]);
      assert.equal(fs.readFileSync(path.join(dir, "env"), "utf8"), "none");
      assert.equal(fs.readFileSync(path.join(dir, "stdin"), "utf8"), "input");
      const t0 = Date.now();
      const hung = await run(["hang"]);
      assert.notEqual(hung.code, 0);
      assert.ok(Date.now() - t0 < 20000, "killed after the call bound (2 s + 5 s)");
    } finally {
      if (ambient === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = ambient;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a Helm driver other than Secrets (PULUMI_K8S_HELM_DRIVER reaches the provider)", () => {
    assertSecretsDriver({});
    assertSecretsDriver({ PULUMI_K8S_HELM_DRIVER: "secret" });
    assert.throws(
      () => assertSecretsDriver({ PULUMI_K8S_HELM_DRIVER: "configmap" }),
      /PULUMI_K8S_HELM_DRIVER is configmap/,
    );
  });
});

describe("Helm release update hook: kubectl side", () => {
  it("another tool's or stack's latest revision: reads the records only, writes nothing, never refuses", async () => {
    for (const description of ["Install complete", "homeops: homeops/other cilium", cilium.marker]) {
      const c: FakeCluster = { secrets: storage("deployed", description), calls: [] };
      const d = await guardHelmUpdate(opts, fakeKubectl(c));
      assert.equal(d.action, "proceed", description);
      assert.deepEqual(
        c.calls.map((x) => x.args),
        [guardKubectl.helmRecords("cilium", "kube-system")],
      );
    }
  });

  it("a stale pending-upgrade (a killed up's upgrade): one PUT marks it failed, so Helm's upgrade goes on", async () => {
    const c: FakeCluster = { secrets: storage("pending-upgrade", "Preparing upgrade"), calls: [] };
    const d = await guardHelmUpdate({ ...opts, now: () => new Date("2100-01-01T00:00:00Z") }, fakeKubectl(c));
    assert.equal(d.action, "mark-failed");
    const writes = c.calls.filter((x) => x.args[0] === "replace");
    assert.equal(writes.length, 1);
    const release = decodeStoredRelease((JSON.parse(writes[0].stdin!) as StorageSecret).data!.release);
    assert.equal(release.info!.status, "failed");
    assert.match(String(release.info!.description), /^Release unlocked from stale 'pending-upgrade' state by /);
  });

  it("a young pending-upgrade: refused with when to retry, nothing written", async () => {
    const c: FakeCluster = { secrets: storage("pending-upgrade", "Preparing upgrade"), calls: [] };
    const started = helmRecords({ items: c.secrets }, "cilium").pop()!.startedAt!;
    const now = () => new Date(started.getTime() + 1000);
    await assert.rejects(guardHelmUpdate({ ...opts, now }, fakeKubectl(c)), /Run pulumi up again after /);
    assert.equal(c.calls.filter((x) => x.args[0] === "replace").length, 0);
  });
});
