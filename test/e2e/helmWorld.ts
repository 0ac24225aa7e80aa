/**
 * What test/e2e/helm.e2e.ts needs around the real control plane: a small directory chart (Helm
 * installs from a local path: pulumi-kubernetes v4.25.0 helm_release.go localChart), a scratch
 * Pulumi project running test/e2e/fixtures/helm-release.ts, the release's Helm records as the
 * cluster holds them, and the two things Flux would bring: its HelmRelease CRD and another
 * writer's revision.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { ControlPlane } from "./k8s/controlPlane";
import { baseEnv, pulumiHome, REPO, RunOptions, RunResult, runCli, startHost } from "./harness";
import { HelmRecord, helmRecords, withStatus } from "../../k8s/helmStorage";

/**
 * Chart `homeops-e2e` at each version, in `<dir>/<version>`: a ConfigMap and a Deployment, with no
 * replicas by default, so Helm's wait holds at once (helm v3.18.6 pkg/kube/ready.go
 * deploymentReady: ready replicas >= replicas - maxUnavailable) and never depends on kwok's Nodes
 * staying Ready on a loaded machine (they went NotReady under load 20 and failed a wait).
 */
export function writeCharts(dir: string, versions: readonly string[]): void {
  for (const version of versions) {
    const chart = path.join(dir, version);
    fs.mkdirSync(path.join(chart, "templates"), { recursive: true });
    fs.writeFileSync(
      path.join(chart, "Chart.yaml"),
      stringify({ apiVersion: "v2", name: "homeops-e2e", version, appVersion: version, type: "application" }),
    );
    fs.writeFileSync(path.join(chart, "values.yaml"), stringify({ replicas: 0, nodeSelector: {} }));
    fs.writeFileSync(
      path.join(chart, "templates", "configmap.yaml"),
      [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: {{ .Release.Name }}-config",
        "data:",
        `  chartVersion: "{{ .Chart.Version }}"`,
        "",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(chart, "templates", "deployment.yaml"),
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: {{ .Release.Name }}",
        "spec:",
        "  replicas: {{ .Values.replicas }}",
        "  selector:",
        "    matchLabels: { app: {{ .Release.Name }} }",
        "  template:",
        "    metadata:",
        "      labels: { app: {{ .Release.Name }} }",
        "    spec:",
        "      nodeSelector: {{ toJson .Values.nodeSelector }}",
        "      containers:",
        "        - name: app",
        "          image: registry.k8s.io/pause:3.10",
        "",
      ].join("\n"),
    );
  }
}

/** A scratch project (Pulumi.yaml `homeops`, its own file backend) running the fixture program. */
export class HelmProject {
  readonly dir: string;
  readonly charts: string;

  constructor(
    readonly tools: string,
    readonly cp: ControlPlane,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-e2e-helm-"));
    this.charts = path.join(this.dir, "charts");
    writeCharts(this.charts, ["0.1.0", "0.2.0"]);
    // The file backend opens its directory; it does not create it. metadata=skip as in the
    // project's Pulumi.yaml: these tests kill pulumi too.
    fs.mkdirSync(path.join(this.dir, ".pulumi"));
    fs.writeFileSync(
      path.join(this.dir, "Pulumi.yaml"),
      stringify({
        name: "homeops",
        runtime: "nodejs",
        backend: { url: `file://${this.dir}/.pulumi?metadata=skip` },
      }),
    );
  }

  env(): NodeJS.ProcessEnv {
    return {
      ...baseEnv(pulumiHome(this.tools)),
      HOMEOPS_E2E_KUBECONFIG: this.cp.kubeconfig,
      HOMEOPS_E2E_KUBECTL: this.cp.kubectl,
      HOMEOPS_E2E_CHARTS: this.charts,
    };
  }

  /** The CLI without the program (stack init, config set, cancel, ...). */
  cli(args: string[], stack: string): Promise<RunResult> {
    return runCli(
      path.join(this.tools, "pulumi"),
      [...args, "--stack", stack, "--non-interactive"],
      this.dir,
      this.env(),
      {
        timeoutMs: 120_000,
      },
    );
  }

  /** `pulumi up` (or another program-running command) with the fixture program. */
  async program(args: string[], stack: string, opts: RunOptions = {}): Promise<RunResult> {
    const host = await startHost(this.dir, this.env(), path.join(REPO, "test/e2e/fixtures/helm-release.ts"));
    try {
      return await runCli(
        path.join(this.tools, "pulumi"),
        [...args, "--stack", stack, "--non-interactive", "--client", `127.0.0.1:${host.port}`],
        this.dir,
        this.env(),
        { timeoutMs: 400_000, ...opts },
      );
    } finally {
      host.child.kill("SIGKILL");
    }
  }

  up(stack: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.program(["up", "--yes", "--skip-preview", "--json"], stack, opts);
  }

  /** Sets `homeops:<key>` of a stack in its stack file (structured values as YAML). */
  setConfig(stack: string, values: Record<string, unknown>): void {
    const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
    const doc = ((fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) : null) ?? {}) as {
      config?: Record<string, unknown>;
    };
    doc.config = { ...(doc.config ?? {}) };
    for (const [k, v] of Object.entries(values)) doc.config[`homeops:${k}`] = v;
    fs.writeFileSync(file, stringify(doc));
  }

  /**
   * Everything the file backend keeps of a stack: its state file (and .bak, and the .attrs sidecars of a backend without metadata=skip), its history
   * and backups (the backend's own `.pulumi` under the URL's directory, project-scoped layout).
   */
  statePaths(stack: string): string[] {
    const root = path.join(this.dir, ".pulumi", ".pulumi");
    const file = path.join(root, "stacks", "homeops", `${stack}.json`);
    return [
      ...[file, `${file}.bak`, `${file}.attrs`, `${file}.bak.attrs`],
      path.join(root, "history", "homeops", stack),
      path.join(root, "backups", "homeops", stack),
    ];
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A TCP relay from `host:port` to the API server: the cluster's endpoint moved to another loopback
 * address (the serving certificate's name "kubernetes" is checked, not the address). Closes every
 * connection when stopped.
 */
export async function relay(
  host: string,
  port: number,
  to: { host: string; port: number },
): Promise<() => Promise<void>> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(to.port, to.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** The release's Helm records in the cluster, oldest first. */
export async function recordsOf(cp: ControlPlane, name: string, namespace: string): Promise<HelmRecord[]> {
  const out = await cp.kubectlRun(["get", "secrets", "-n", namespace, "-l", `owner=helm,name=${name}`, "-o", "json"]);
  return helmRecords(JSON.parse(out), name);
}

/** `<revision> <status> <description>` of each record. */
export async function historyOf(cp: ControlPlane, name: string, namespace: string): Promise<string[]> {
  return (await recordsOf(cp, name, namespace)).map((r) => `${r.revision} ${r.status} ${r.description}`);
}

/** UIDs of the chart's objects (the same UID = never deleted and recreated). */
export async function uidsOf(cp: ControlPlane, name: string, namespace: string): Promise<Record<string, string>> {
  const uid = async (kind: string, n: string) =>
    JSON.parse(await cp.kubectlRun(["get", kind, n, "-n", namespace, "-o", "json"])).metadata.uid as string;
  return { configmap: await uid("configmap", `${name}-config`), deployment: await uid("deployment", name) };
}

/**
 * What another writer's successful upgrade leaves in Helm's storage (helm v3.18.6
 * pkg/action/upgrade.go: the new revision stored as the latest, `deployed` with its own
 * description, "Upgrade complete" by default; the previous one `superseded` with its description
 * kept: releasingUpgrade sets only Info.Status), here with the same
 * chart and values, so the cluster's objects stay as they are: what Flux's helm-controller does
 * when it takes over a release it finds unchanged (helm-controller v1.5.1 internal/reconcile
 * state.go: a release not in its history is "unmanaged" and upgraded).
 */
export async function upgradeByAnotherTool(cp: ControlPlane, name: string, namespace: string): Promise<void> {
  const records = await recordsOf(cp, name, namespace);
  const last = records[records.length - 1];
  const revision = last.revision + 1;
  const next = withStatus({ ...last, release: { ...last.release, version: revision } }, "deployed", "Upgrade complete");
  const created = {
    apiVersion: "v1",
    kind: "Secret",
    type: next.type,
    metadata: {
      name: `sh.helm.release.v1.${name}.v${revision}`,
      namespace,
      labels: { ...next.metadata.labels, version: String(revision) },
    },
    data: next.data,
  };
  await cp.kubectlRun(["create", "-f", "-"], JSON.stringify(created));
  // The previous revision: its status only, its description kept (upgrade.go releasingUpgrade).
  await cp.kubectlRun(["replace", "-f", "-"], JSON.stringify(withStatus(last, "superseded", last.description)));
}

/**
 * Flux's HelmRelease API as helm-controller v1.5.1 installs it
 * (config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml: group, names, v2 served and stored,
 * namespaced), without its schema: enough for the hook to list what claims a release.
 */
export const HELMRELEASE_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "helmreleases.helm.toolkit.fluxcd.io" },
  spec: {
    group: "helm.toolkit.fluxcd.io",
    names: {
      kind: "HelmRelease",
      listKind: "HelmReleaseList",
      plural: "helmreleases",
      singular: "helmrelease",
      shortNames: ["hr"],
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v2",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};
