import { strict as assert } from "assert";
import { Kustomization } from "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1";
import { GitRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import { buildPlan } from "../plan";
import { planKubernetesObjects } from "../render/files";
import { stringify } from "yaml";
import type { StackConfig } from "../config/types";
import { clusterSecretStore, externalSecretsRelease, externalSecretsValues } from "../k8s/externalSecrets";
import {
  fluxInstance,
  fluxNamespace,
  fluxOperatorRelease,
  fluxRootObjectsForValidation,
  gitCredentialsSecret,
} from "../k8s/flux";
import type { KubernetesObject } from "../k8s/kubernetesObject";
import { renderedObjectFileName, SECRET_MARKER } from "../k8s/manifests";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

/**
 * @kubernetes-models/external-secrets 2.0.0 is ESM-only. TypeScript compiled to CommonJS rewrites
 * `import()` into `require()`, which fails for it (ERR_PACKAGE_PATH_NOT_EXPORTED); a Function-built
 * `import()` stays a real dynamic import under tsx and under tsc output alike.
 */
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;
interface ValidatableModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => ValidatableModel;
let ClusterSecretStore: ModelClass;

before(async () => {
  ({ ClusterSecretStore } = await importEsm(
    "@kubernetes-models/external-secrets/external-secrets.io/v1/ClusterSecretStore",
  ));
});

const cfg = homeOpsConfig();
const withAuth = (auth: StackConfig["gitops"]["auth"], url = cfg.gitops.url): StackConfig =>
  homeOpsConfig({
    gitops: { ...cfg.gitops, auth, url, credentialsItem: auth === "none" ? undefined : "GitOps deploy key" },
  });

function mutableCopy(value: unknown): Record<string, any> {
  return JSON.parse(JSON.stringify(value));
}

describe("k8s/externalSecrets", () => {
  it("installs the external-secrets chart from charts.external-secrets.io into external-secrets-system", () => {
    const release = externalSecretsRelease(cfg);
    assert.deepEqual(release.metadata, { name: "external-secrets", namespace: "external-secrets-system" });
    assert.deepEqual(
      { chart: release.spec.chart, repo: release.spec.repo, version: release.spec.version },
      { chart: "external-secrets", repo: "https://charts.external-secrets.io", version: "0.17.0" },
    );
    assert.deepEqual(externalSecretsValues(cfg), {
      installCRDs: true,
      webhook: { create: true },
      certController: { create: true },
    });
  });

  it("the ClusterSecretStore validates with @kubernetes-models/external-secrets (external-secrets.io/v1)", () => {
    new ClusterSecretStore(clusterSecretStore(cfg)).validate();
  });

  it("the ClusterSecretStore model validation can fail", () => {
    const vaultsAsList = mutableCopy(clusterSecretStore(cfg));
    vaultsAsList.spec.provider.onepassword.vaults = ["Automation"];
    assert.throws(() => new ClusterSecretStore(vaultsAsList).validate());
    const noHost = mutableCopy(clusterSecretStore(cfg));
    delete noHost.spec.provider.onepassword.connectHost;
    assert.throws(() => new ClusterSecretStore(noHost).validate());
    const misspelt = mutableCopy(clusterSecretStore(cfg));
    const auth = misspelt.spec.provider.onepassword.auth.secretRef;
    auth.connectTokenSecretRefs = auth.connectTokenSecretRef;
    delete auth.connectTokenSecretRef;
    assert.throws(() => new ClusterSecretStore(misspelt).validate());
  });

  it("is exactly the reference's store: Connect URL, vault priority, token reference with namespace", () => {
    assert.deepEqual(clusterSecretStore(cfg), {
      apiVersion: "external-secrets.io/v1",
      kind: "ClusterSecretStore",
      metadata: { name: "onepassword-connect" },
      spec: {
        provider: {
          onepassword: {
            connectHost: "http://onepassword-connect.onepassword-connect.svc.cluster.local:8080",
            vaults: { Automation: 1 },
            auth: {
              secretRef: {
                connectTokenSecretRef: {
                  name: "onepassword-connect-token",
                  key: "token",
                  namespace: "onepassword-connect",
                },
              },
            },
          },
        },
      },
    });
  });

  it("takes the vault from the stack", () => {
    const other = homeOpsConfig({ onepassword: { ...cfg.onepassword, vault: "Lab" } });
    assert.deepEqual((clusterSecretStore(other).spec as any).provider.onepassword.vaults, { Lab: 1 });
  });
});

describe("k8s/flux", () => {
  it("installs the flux-operator OCI chart into flux-system with the stack's version", () => {
    const release = fluxOperatorRelease(cfg);
    assert.deepEqual(release.metadata, { name: "flux-operator", namespace: "flux-system" });
    assert.equal(release.spec.chart, "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator");
    assert.equal(release.spec.repo, undefined);
    assert.equal(release.spec.version, "0.43.0");
  });

  it("the FluxInstance matches the operator's contract (NOTES §5) and the stack", () => {
    const instance = fluxInstance(cfg);
    assert.equal(instance.apiVersion, "fluxcd.controlplane.io/v1");
    assert.equal(instance.kind, "FluxInstance");
    assert.deepEqual(instance.metadata, { name: "flux", namespace: "flux-system" });
    assert.deepEqual(instance.spec, {
      distribution: { version: "2.8.1", registry: "ghcr.io/fluxcd" },
      components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
      cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
      sync: {
        kind: "GitRepository",
        url: "https://github.com/geoffdavis/talos-gitops",
        ref: "refs/heads/main",
        path: "clusters/home-ops",
      },
    });
  });

  it("adds sync.pullSecret flux-system only when the repository needs credentials", () => {
    assert.equal((fluxInstance(cfg).spec as any).sync.pullSecret, undefined);
    assert.equal((fluxInstance(withAuth("token")).spec as any).sync.pullSecret, "flux-system");
    assert.equal(
      (fluxInstance(withAuth("ssh", "ssh://git@github.com/geoffdavis/talos-gitops")).spec as any).sync.pullSecret,
      "flux-system",
    );
  });

  it("the sync settings form valid Flux root objects (@kubernetes-models/flux-cd 2.3.4)", () => {
    for (const stack of [cfg, withAuth("token"), withAuth("ssh", "ssh://git@github.com/geoffdavis/talos-gitops")]) {
      const [gitRepository, kustomization] = fluxRootObjectsForValidation(stack);
      new GitRepository(gitRepository as any).validate();
      new Kustomization(kustomization as any).validate();
    }
  });

  it("the root objects are flux-system/flux-system with bootstrap's intervals, prune and sourceRef", () => {
    const [gitRepository, kustomization] = fluxRootObjectsForValidation(withAuth("token"));
    assert.deepEqual(
      [gitRepository.metadata, kustomization.metadata],
      [
        { name: "flux-system", namespace: "flux-system" },
        { name: "flux-system", namespace: "flux-system" },
      ],
    );
    assert.deepEqual(gitRepository.spec, {
      interval: "1m0s",
      url: "https://github.com/geoffdavis/talos-gitops",
      ref: { name: "refs/heads/main" },
      secretRef: { name: "flux-system" },
    });
    assert.deepEqual(kustomization.spec, {
      interval: "10m0s",
      path: "clusters/home-ops",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
    });
    assert.equal((fluxRootObjectsForValidation(cfg)[0].spec as any).secretRef, undefined);
  });

  it("the Flux model validation can fail (scp-style URL, missing prune, bad interval)", () => {
    const [gitRepository, kustomization] = fluxRootObjectsForValidation(
      withAuth("ssh", "git@github.com:geoffdavis/talos-gitops"),
    );
    assert.throws(() => new GitRepository(gitRepository as any).validate());
    const noPrune = mutableCopy(kustomization);
    delete noPrune.spec.prune;
    assert.throws(() => new Kustomization(noPrune as any).validate());
    const badInterval = mutableCopy(kustomization);
    badInterval.spec.interval = "ten minutes";
    assert.throws(() => new Kustomization(badInterval as any).validate());
  });

  it("git credentials Secret: flux-system/flux-system with the keys source-controller reads", () => {
    const ssh = gitCredentialsSecret(withAuth("ssh", "ssh://git@github.com/geoffdavis/talos-gitops"), {
      kind: "ssh",
      identity: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
      identityPub: "ssh-ed25519 AAAAfake flux",
      knownHosts: "github.com ssh-ed25519 AAAAfakehost",
    });
    const token = gitCredentialsSecret(withAuth("token"), { kind: "token", username: "git", password: "fake-token" });
    for (const secret of [ssh, token]) {
      new Secret(secret as any).validate();
      assert.deepEqual(secret.metadata, { name: "flux-system", namespace: "flux-system" });
    }
    assert.deepEqual(Object.keys(ssh.stringData as object), ["identity", "identity.pub", "known_hosts"]);
    assert.deepEqual(token.stringData, { username: "git", password: "fake-token" });
  });

  it("refuses a git Secret for a public repository or for the wrong auth kind", () => {
    assert.throws(() => gitCredentialsSecret(cfg, { kind: "token", username: "git", password: "x" }), /auth is "none"/);
    assert.throws(
      () => gitCredentialsSecret(withAuth("ssh"), { kind: "token", username: "git", password: "x" }),
      /gitops\.auth is "ssh"/,
    );
  });

  it("the flux-system Namespace validates", () => {
    new Namespace(fluxNamespace() as any).validate();
    assert.equal(fluxNamespace().metadata.name, "flux-system");
  });
});

const renderKubernetesObjectsByPhase = (c: StackConfig) => planKubernetesObjects(buildPlan(c));
const renderKubernetesObjects = (c: StackConfig) => renderKubernetesObjectsByPhase(c).map((r) => r.object);

describe("the plan's Kubernetes objects (offline render)", () => {
  const ids = (objects: KubernetesObject[]) =>
    objects.map((o) => `${o.kind} ${o.metadata.namespace ?? "-"}/${o.metadata.name}`);

  it("lists every object in creation order (public repository: no git Secret)", () => {
    assert.deepEqual(ids(renderKubernetesObjects(cfg)), [
      "HelmRelease(pulumi) kube-system/cilium",
      "Namespace -/onepassword-connect",
      "Secret onepassword-connect/onepassword-connect-credentials",
      "Secret onepassword-connect/onepassword-connect-token",
      "Deployment onepassword-connect/onepassword-connect",
      "Service onepassword-connect/onepassword-connect",
      "Service onepassword-connect/onepassword-connect-sync",
      "Namespace -/external-secrets-system",
      "HelmRelease(pulumi) external-secrets-system/external-secrets",
      "ClusterSecretStore -/onepassword-connect",
      "Namespace -/flux-system",
      "HelmRelease(pulumi) flux-system/flux-operator",
      "FluxInstance flux-system/flux",
    ]);
    assert.deepEqual(
      [...new Set(renderKubernetesObjectsByPhase(cfg).map((r) => r.phase))],
      ["cni", "secrets", "gitops"],
      "phases appear in order",
    );
  });

  it("includes the git Secret, before the operator, when the repository needs credentials", () => {
    for (const stack of [withAuth("token"), withAuth("ssh", "ssh://git@github.com/geoffdavis/talos-gitops")]) {
      const list = ids(renderKubernetesObjects(stack));
      assert.equal(list.filter((id) => id === "Secret flux-system/flux-system").length, 1);
      assert.ok(list.indexOf("Secret flux-system/flux-system") < list.indexOf("FluxInstance flux-system/flux"));
    }
  });

  it("every cluster object validates with its model", async () => {
    const models: Record<string, ModelClass> = {
      Namespace: Namespace as unknown as ModelClass,
      Secret: Secret as unknown as ModelClass,
      Deployment: Deployment as unknown as ModelClass,
      Service: Service as unknown as ModelClass,
      ClusterSecretStore,
    };
    for (const object of renderKubernetesObjects(withAuth("token"))) {
      if (object.kind === "HelmRelease(pulumi)" || object.kind === "FluxInstance") continue;
      const Model = models[object.kind];
      assert.ok(Model, `no model for ${object.kind}`);
      new Model(object).validate();
    }
  });

  it("holds only the marker in place of secret data (Secrets and nothing else)", () => {
    for (const stack of [cfg, withAuth("token"), withAuth("ssh", "ssh://git@github.com/geoffdavis/talos-gitops")]) {
      const secrets = renderKubernetesObjects(stack).filter((o) => o.kind === "Secret");
      assert.ok(secrets.length >= 2);
      for (const secret of secrets) {
        assert.equal(secret.data, undefined, `${secret.metadata.name} has no data`);
        const values = Object.values(secret.stringData as Record<string, string>);
        assert.ok(values.length > 0);
        assert.ok(
          values.every((v) => v === SECRET_MARKER),
          `${secret.metadata.name} holds only the marker`,
        );
      }
    }
  });

  it("is deterministic: the same YAML twice, no aliases", () => {
    const render = () =>
      renderKubernetesObjects(withAuth("token"))
        .map((o) => stringify(o))
        .join("---\n");
    const first = render();
    assert.equal(render(), first);
    assert.doesNotMatch(first, /^\s*[&*]a\d|: [&*]a\d/m);
  });

  it("gives each object a stable, distinct file name", () => {
    const names = renderKubernetesObjects(withAuth("token")).map((o, i) => renderedObjectFileName(i, o));
    assert.equal(new Set(names).size, names.length);
    assert.equal(names[0], "01-helmrelease-pulumi-kube-system-cilium.yaml");
    assert.ok(
      names.every((n) => /^[0-9]{2}-[a-z0-9.-]+\.yaml$/.test(n)),
      names.join(" "),
    );
  });
});
