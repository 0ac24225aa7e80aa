/**
 * Rendering per (Talos minor the node runs, machine-config contract): every pair the program
 * allows (contract ≤ minor, v1.10–v1.14) against each minor's schema (honestly split: typed
 * documents and current v1alpha1 fields against the minor's schema, legacy v1alpha1 fields against
 * the newest schema that still describes them) and against what Talos refuses beyond its schema
 * (test/helpers/talosSideRules.ts); every home-ops setting mapped to where it is rendered; the
 * golden files of the pairs home-ops (contract v1.10 on each minor) and new stacks (contract =
 * minor) use. The real talosctl of each minor checks the same in test/e2e/talosctl.e2e.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import type { NodeConfig, StackConfig, TalosMinor } from "../config/types";
import { SUPPORTED_TALOS_MINORS, talosMinorAtLeast } from "../config/types";
import {
  documentsToYaml,
  installDiskCel,
  renderNodeDocuments,
  renderNodePatchYaml,
  type RenderTarget,
  type TalosDocument,
} from "../talos/machineconfig";
import { installerImage, renderSchematic } from "../talos/schematic";
import { talosctl } from "../talos/talosctl";
import { homeOpsConfig, withTalos } from "./helpers/stackConfigFixture";
import { validatePatchDocument, validateTalosDocument, validateV1Alpha1Patch } from "./helpers/talosSchema";
import { talosSideProblems } from "./helpers/talosSideRules";

const GOLDEN_DIR = path.join(__dirname, "golden");

/** Every (minor, contract) pair the program renders for. */
const PAIRS: RenderTarget[] = SUPPORTED_TALOS_MINORS.flatMap((minor) =>
  SUPPORTED_TALOS_MINORS.filter((contract) => talosMinorAtLeast(minor, contract)).map((contract) => ({
    minor,
    contract,
  })),
);

/** Pairs with golden files: home-ops (created on v1.10) on each minor, and a new stack on each minor. */
const GOLDEN_PAIRS: RenderTarget[] = PAIRS.filter((p) => p.contract === "v1.10" || p.contract === p.minor);

/**
 * Kinds `talosctl gen config` generates for a contract (a patch merges onto them):
 * talos @ v1.14.1 pkg/machinery/config/generate (network.go, init.go, kubernetes.go, block.go,
 * security_profile.go).
 */
function generatedKinds(contract: TalosMinor, node: NodeConfig): Set<string> {
  const kinds = new Set<string>();
  if (talosMinorAtLeast(contract, "v1.12")) kinds.add("HostnameConfig");
  if (talosMinorAtLeast(contract, "v1.14")) {
    for (const kind of [
      "ResolverConfig",
      "UnattendedInstallConfig",
      "SecurityProfileConfig",
      "KubeletConfig",
      "KubeNetworkConfig",
      "KubePrismConfig",
      "KubeNodeConfig",
    ])
      kinds.add(kind);
    if (node.role === "controlplane") {
      for (const kind of [
        "KubeFlannelCNIConfig",
        "KubeProxyConfig",
        "KubeAPIServerConfig",
        "KubeAdmissionControlConfig",
        "KubeAuditPolicyConfig",
        "KubeControllerManagerConfig",
        "KubeSchedulerConfig",
      ])
        kinds.add(kind);
    }
  }
  return kinds;
}

function stackOn(target: RenderTarget): StackConfig {
  return withTalos(homeOpsConfig(), target.minor, target.contract);
}

function at(doc: unknown, dottedPath: string): unknown {
  return dottedPath.split(".").reduce<unknown>((value, key) => {
    if (typeof value !== "object" || value === null) return undefined;
    return (value as Record<string, unknown>)[key];
  }, doc);
}

/** Where a setting lives: a document (`kind`, and `name` where named; none = the v1alpha1 patch) and a path. */
interface Location {
  readonly kind?: string;
  readonly name?: string;
  readonly path: string;
}

function documentAt(documents: readonly TalosDocument[], loc: Location): TalosDocument | undefined {
  const matching = documents.filter(
    (d) => d.kind === loc.kind && (loc.name === undefined || d.name === loc.name) && d.$patch === undefined,
  );
  const deletes = documents.filter((d) => d.kind === loc.kind && d.$patch === "delete");
  if (loc.kind !== undefined && loc.path === "$patch") return deletes[0];
  assert.ok(matching.length <= 1, `more than one ${loc.kind ?? "v1alpha1 patch"}${loc.name ? ` ${loc.name}` : ""}`);
  return matching[0];
}

function valueAt(documents: readonly TalosDocument[], loc: Location): unknown {
  const doc = documentAt(documents, loc);
  return doc === undefined ? undefined : loc.path === "" ? doc : at(doc, loc.path);
}

interface Placement {
  /** Where the setting is, with its value. */
  readonly present: readonly (Location & { readonly value: unknown })[];
  /** Where it must not be (its other form under another contract). */
  readonly absent: readonly Location[];
}

const patchAt = (p: string): Location => ({ path: p });
const docAt = (kind: string, p: string, name?: string): Location => ({ kind, path: p, ...(name ? { name } : {}) });

/** Every home-ops setting (reference home-ops-cluster.md §1, §3) and where each contract renders it. */
function settings(cfg: StackConfig, node: NodeConfig, contract: TalosMinor): Record<string, Placement> {
  const typedNetwork = talosMinorAtLeast(contract, "v1.12");
  const typedKubernetes = talosMinorAtLeast(contract, "v1.14");
  const either = (
    legacy: Location & { value: unknown },
    typed: Location & { value: unknown },
    typedNow: boolean,
  ): Placement => ({
    present: [typedNow ? typed : legacy],
    absent: [typedNow ? legacy : typed],
  });
  const luks2 = { provider: "luks2", keys: [{ nodeID: {}, slot: 0 }] };
  const election = {
    "bind-address": "0.0.0.0",
    "leader-elect-lease-duration": "15s",
    "leader-elect-renew-deadline": "10s",
    "leader-elect-retry-period": "2s",
  };
  const podSecurity = {
    apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
    kind: "PodSecurityConfiguration",
    defaults: {
      enforce: "baseline",
      "enforce-version": "latest",
      audit: "restricted",
      "audit-version": "latest",
      warn: "restricted",
      "warn-version": "latest",
    },
  };
  const audit = { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] };
  const kubelet = {
    featureGates: { GracefulNodeShutdown: true },
    shutdownGracePeriod: "30s",
    shutdownGracePeriodCriticalPods: "10s",
  };
  const sysctls = {
    "kernel.kexec_load_disabled": "1",
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "vm.dirty_background_ratio": "2",
    "vm.dirty_ratio": "5",
  };
  return {
    "install disk (model APPLE*)": either(
      { ...patchAt("machine.install.diskSelector"), value: { model: "APPLE*" } },
      {
        ...docAt("UnattendedInstallConfig", "provisioning.diskSelector.match"),
        value: 'glob("APPLE*", disk.model) && disk.transport != "" && !disk.readonly && !disk.cdrom',
      },
      typedKubernetes,
    ),
    "install without wiping the disk": {
      present: typedKubernetes ? [{ ...docAt("UnattendedInstallConfig", "provisioning.wipe"), value: false }] : [],
      absent: [],
    },
    "installer image of the schematic": either(
      { ...patchAt("machine.install.image"), value: installerImage(cfg) },
      { ...docAt("UnattendedInstallConfig", "installer.image"), value: installerImage(cfg) },
      typedKubernetes,
    ),
    "kernel log shipping (kernel arg)": {
      present: typedKubernetes
        ? []
        : [
            { ...patchAt("machine.install.extraKernelArgs"), value: ["talos.logging.kernel=udp://172.29.51.1:514/"] },
            ...(typedNetwork ? [{ ...patchAt("machine.install.grubUseUKICmdline"), value: false }] : []),
          ],
      absent: typedKubernetes ? [patchAt("machine.install")] : [],
    },
    hostname: either(
      { ...patchAt("machine.network.hostname"), value: node.hostname },
      {
        ...docAt("HostnameConfig", ""),
        value: { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: node.hostname },
      },
      typedNetwork,
    ),
    "NIC: DHCPv4, no DHCPv6, route metric, IPv6 default route, VIP": {
      present: [
        {
          ...patchAt("machine.network.interfaces"),
          value: [
            {
              interface: "enp3s0f0",
              dhcp: true,
              dhcpOptions: { ipv6: false, routeMetric: 1024 },
              routes: [{ network: "::/0", gateway: "fe80::1" }],
              vip: { ip: "172.29.51.10" },
            },
          ],
        },
      ],
      absent: [docAt("LinkConfig", ""), docAt("Layer2VIPConfig", "")],
    },
    "STATE and EPHEMERAL encryption (LUKS2, nodeID slot 0)": talosMinorAtLeast(contract, "v1.11")
      ? {
          present: [
            { ...docAt("VolumeConfig", "encryption", "STATE"), value: luks2 },
            { ...docAt("VolumeConfig", "encryption", "EPHEMERAL"), value: luks2 },
          ],
          absent: [patchAt("machine.systemDiskEncryption")],
        }
      : {
          present: [{ ...patchAt("machine.systemDiskEncryption"), value: { state: luks2, ephemeral: luks2 } }],
          absent: [docAt("VolumeConfig", "", "STATE"), docAt("VolumeConfig", "", "EPHEMERAL")],
        },
    "sysctls (kexec disabled, forwarding, dirty ratios)": either(
      { ...patchAt("machine.sysctls"), value: sysctls },
      { ...docAt("SysctlConfig", "params"), value: sysctls },
      typedKubernetes,
    ),
    "udev rules for the T5 (mq-deadline, non-rotational)": either(
      { ...patchAt("machine.udev.rules"), value: [...cfg.machine.udevRules] },
      { ...docAt("UdevRulesConfig", "rules"), value: [...cfg.machine.udevRules] },
      typedKubernetes,
    ),
    // Locked on from v1.12 (CHANGELOG 1.12.0 "Feature Lock"); stableHostname is superseded by HostnameConfig.
    "rbac, stableHostname, apidCheckExtKeyUsage": typedNetwork
      ? {
          present: [],
          absent: ["rbac", "stableHostname", "apidCheckExtKeyUsage"].map((f) => patchAt(`machine.features.${f}`)),
        }
      : {
          present: ["rbac", "stableHostname", "apidCheckExtKeyUsage"].map((f) => ({
            ...patchAt(`machine.features.${f}`),
            value: true,
          })),
          absent: [],
        },
    diskQuotaSupport: { present: [{ ...patchAt("machine.features.diskQuotaSupport"), value: true }], absent: [] },
    "KubePrism on 7445": either(
      { ...patchAt("machine.features.kubePrism"), value: { enabled: true, port: 7445 } },
      { ...docAt("KubePrismConfig", "port"), value: 7445 },
      typedKubernetes,
    ),
    "hostDNS with forwardKubeDNSToHost": either(
      { ...patchAt("machine.features.hostDNS"), value: { enabled: true, forwardKubeDNSToHost: true } },
      { ...docAt("ResolverConfig", "hostDNS"), value: { enabled: true, forwardKubeDNSToHost: true } },
      typedKubernetes,
    ),
    "kubelet graceful shutdown": either(
      { ...patchAt("machine.kubelet.extraConfig"), value: kubelet },
      { ...docAt("KubeletConfig", "config"), value: kubelet },
      typedKubernetes,
    ),
    "CNI none (Cilium is installed by the program)": either(
      { ...patchAt("cluster.network.cni"), value: { name: "none" } },
      { ...docAt("KubeFlannelCNIConfig", "$patch"), value: "delete" },
      typedKubernetes,
    ),
    "kube-proxy disabled": either(
      { ...patchAt("cluster.proxy"), value: { disabled: true } },
      { ...docAt("KubeProxyConfig", "enabled"), value: false },
      typedKubernetes,
    ),
    "pod and service ranges, DNS domain": typedKubernetes
      ? {
          present: [
            { ...docAt("KubeNetworkConfig", "podSubnets"), value: [...cfg.network.podCidrs] },
            { ...docAt("KubeNetworkConfig", "serviceSubnets"), value: [...cfg.network.serviceCidrs] },
            { ...docAt("KubeNetworkConfig", "dnsDomain"), value: "cluster.local" },
          ],
          absent: [patchAt("cluster.network")],
        }
      : {
          present: [
            { ...patchAt("cluster.network.podSubnets"), value: [...cfg.network.podCidrs] },
            { ...patchAt("cluster.network.serviceSubnets"), value: [...cfg.network.serviceCidrs] },
            { ...patchAt("cluster.network.dnsDomain"), value: "cluster.local" },
          ],
          absent: [docAt("KubeNetworkConfig", "")],
        },
    "per-node pod CIDR sizes matched to Cilium (/24, /84)": typedKubernetes
      ? {
          present: [
            { ...docAt("KubeNetworkConfig", "nodeCIDRMaskSizeIPv4"), value: 24 },
            { ...docAt("KubeNetworkConfig", "nodeCIDRMaskSizeIPv6"), value: 84 },
          ],
          absent: [],
        }
      : {
          present: [
            { ...patchAt("cluster.controllerManager.extraArgs.node-cidr-mask-size-ipv4"), value: "24" },
            { ...patchAt("cluster.controllerManager.extraArgs.node-cidr-mask-size-ipv6"), value: "84" },
          ],
          absent: [],
        },
    "workloads on control planes": either(
      { ...patchAt("cluster.allowSchedulingOnControlPlanes"), value: true },
      { ...docAt("KubeNodeConfig", "taints"), value: { $patch: "delete" } },
      typedKubernetes,
    ),
    "admission plugins": either(
      {
        ...patchAt("cluster.apiServer.extraArgs.enable-admission-plugins"),
        value: "NodeRestriction,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
      },
      {
        ...docAt("KubeAPIServerConfig", "extraArgs.enable-admission-plugins"),
        value: "NodeRestriction,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
      },
      typedKubernetes,
    ),
    "PodSecurity baseline/restricted, no duplicate exemptions": either(
      {
        ...patchAt("cluster.apiServer.admissionControl"),
        value: [{ name: "PodSecurity", configuration: podSecurity }],
      },
      { ...docAt("KubeAdmissionControlConfig", "configuration", "PodSecurity"), value: podSecurity },
      typedKubernetes,
    ),
    "audit policy Metadata": either(
      { ...patchAt("cluster.apiServer.auditPolicy"), value: audit },
      { ...docAt("KubeAuditPolicyConfig", "configuration"), value: audit },
      typedKubernetes,
    ),
    "controller-manager leader election": either(
      { ...patchAt("cluster.controllerManager.extraArgs.leader-elect-lease-duration"), value: "15s" },
      { ...docAt("KubeControllerManagerConfig", "extraArgs"), value: election },
      typedKubernetes,
    ),
    "scheduler leader election": either(
      { ...patchAt("cluster.scheduler.extraArgs"), value: election },
      { ...docAt("KubeSchedulerConfig", "extraArgs"), value: election },
      typedKubernetes,
    ),
    "etcd timeouts and metrics": {
      present: [
        {
          ...patchAt("cluster.etcd.extraArgs"),
          value: {
            "election-timeout": "1000",
            "heartbeat-interval": "100",
            "listen-metrics-urls": "http://0.0.0.0:2381",
          },
        },
      ],
      absent: [],
    },
    "discovery (the generated DiscoveryServiceConfig from v1.14)": typedKubernetes
      ? { present: [], absent: [patchAt("cluster.discovery")] }
      : { present: [{ ...patchAt("cluster.discovery"), value: { enabled: true } }], absent: [] },
    "LLDPD ExtensionServiceConfig": {
      present: [
        {
          ...docAt("ExtensionServiceConfig", "configFiles", "lldpd"),
          value: [{ content: cfg.lldpd.config, mountPath: "/usr/local/etc/lldpd/lldpd.conf" }],
        },
      ],
      absent: [],
    },
    "USB SSD user volume": {
      present: [
        {
          ...docAt("UserVolumeConfig", "", "longhorn-ssd"),
          value: {
            apiVersion: "v1alpha1",
            kind: "UserVolumeConfig",
            name: "longhorn-ssd",
            provisioning: { diskSelector: { match: 'disk.model == "Portable SSD T5"' }, maxSize: "1TB" },
            filesystem: { type: "xfs" },
          },
        },
      ],
      absent: [],
    },
    "workload isolation off (decided for iSCSI/Longhorn)": typedKubernetes
      ? { present: [{ ...docAt("SecurityProfileConfig", "workloadIsolation"), value: false }], absent: [] }
      : { present: [], absent: [docAt("SecurityProfileConfig", "")] },
    "no dedicated ETCD/CRI/KUBELET/LOG volumes": {
      present: [],
      absent: ["ETCD", "CRI", "KUBELET", "LOG"].map((name) => docAt("VolumeConfig", "", name)),
    },
  };
}

describe("machine config per (Talos minor, contract)", () => {
  it("covers every pair the config allows: 15 (contract ≤ minor, v1.10–v1.14)", () => {
    assert.equal(PAIRS.length, 15);
    assert.equal(GOLDEN_PAIRS.length, 9);
  });

  for (const target of PAIRS) {
    const { minor, contract } = target;
    describe(`Talos ${minor}, contract ${contract}`, () => {
      const cfg = stackOn(target);

      for (const node of cfg.nodes) {
        const documents = renderNodeDocuments(cfg, node, target);

        it(`${node.hostname}: the v1alpha1 patch is what Talos ${minor} decodes (schema, legacy fields against their last schema)`, () => {
          const { errors } = validateV1Alpha1Patch(minor, documents[0]);
          assert.deepEqual(errors, []);
        });

        it(`${node.hostname}: every other document validates against the Talos ${minor} schema`, () => {
          const generated = generatedKinds(contract, node);
          for (const doc of documents.slice(1)) {
            const kind = String(doc.kind);
            const errors = generated.has(kind)
              ? validatePatchDocument(minor, doc, true)
              : validateTalosDocument(minor, doc);
            assert.deepEqual(errors, [], `${kind}${doc.name ? ` ${String(doc.name)}` : ""}`);
          }
        });

        it(`${node.hostname}: nothing Talos ${minor} refuses (typed document next to its legacy field, --strict warnings)`, () => {
          assert.deepEqual(talosSideProblems(minor, contract, documents), []);
        });

        it(`${node.hostname}: every home-ops setting is where the contract puts it, and only there`, () => {
          for (const [setting, placement] of Object.entries(settings(cfg, node, contract))) {
            for (const loc of placement.present) {
              assert.deepEqual(valueAt(documents, loc), loc.value, `${setting}: ${loc.kind ?? "v1alpha1"} ${loc.path}`);
            }
            for (const loc of placement.absent) {
              assert.equal(
                valueAt(documents, loc),
                undefined,
                `${setting} must not be at ${loc.kind ?? "v1alpha1"} ${loc.path}`,
              );
            }
          }
        });
      }
    });
  }

  describe("settings carried by gen config itself, on every contract", () => {
    const argv = talosctl.genMachineConfig();
    it("the VIP as an extra API-server certificate SAN (--additional-sans)", () => {
      assert.deepEqual(argv.slice(argv.indexOf("--additional-sans"), argv.indexOf("--additional-sans") + 2), [
        "--additional-sans",
        "${CLUSTER_VIP}",
      ]);
    });
    it("the contract, not the installed minor, is --talos-version", () => {
      assert.deepEqual(argv.slice(argv.indexOf("--talos-version"), argv.indexOf("--talos-version") + 2), [
        "--talos-version",
        "${TALOS_CONTRACT}",
      ]);
      assert.ok(!argv.some((a) => a.includes("TALOS_MINOR")));
    });
    it("cluster discovery stays on (gen config's default; v1.14 generates DiscoveryServiceConfig from it)", () => {
      assert.ok(!argv.some((a) => a.startsWith("--with-cluster-discovery")));
    });
    it("the kernel args every node has are in the Image Factory schematic (the UKI's command line)", () => {
      assert.deepEqual(renderSchematic(homeOpsConfig()).customization.extraKernelArgs, [
        "talos.logging.kernel=udp://172.29.51.1:514/",
      ]);
    });
  });

  describe("the contract alone fixes the shape", () => {
    for (const contract of SUPPORTED_TALOS_MINORS) {
      it(`contract ${contract}: the same documents on every minor from ${contract} (a Talos upgrade re-applies nothing)`, () => {
        const cfg = stackOn({ minor: "v1.14", contract });
        for (const node of cfg.nodes) {
          const first = renderNodePatchYaml(cfg, node, { minor: contract, contract });
          for (const minor of SUPPORTED_TALOS_MINORS.filter((m) => talosMinorAtLeast(m, contract))) {
            assert.equal(renderNodePatchYaml(cfg, node, { minor, contract }), first, `${node.hostname} on ${minor}`);
          }
        }
      });
    }

    it("refuses a contract newer than the node's minor", () => {
      const cfg = stackOn({ minor: "v1.14", contract: "v1.14" });
      assert.throws(
        () => renderNodeDocuments(cfg, cfg.nodes[0], { minor: "v1.13", contract: "v1.14" }),
        /contract v1.14 is newer than Talos v1.13 on the node/,
      );
    });

    it("without a target, renders the stack's own minor and contract", () => {
      const cfg = stackOn({ minor: "v1.13", contract: "v1.10" });
      assert.deepEqual(
        renderNodeDocuments(cfg, cfg.nodes[0]),
        renderNodeDocuments(cfg, cfg.nodes[0], { minor: "v1.13", contract: "v1.10" }),
      );
    });
  });

  describe("golden files of the pairs in use", () => {
    for (const target of GOLDEN_PAIRS) {
      const cfg = stackOn(target);
      for (const node of cfg.nodes) {
        const file = `${target.minor}/contract-${target.contract}/${node.hostname}.yaml`;
        it(`test/golden/${file}`, () => {
          const text = renderNodePatchYaml(cfg, node, target);
          const full = path.join(GOLDEN_DIR, file);
          if (process.env.UPDATE_GOLDEN === "1") {
            fs.mkdirSync(path.dirname(full), { recursive: true });
            fs.writeFileSync(full, text);
          }
          assert.ok(fs.existsSync(full), `missing golden file ${file}; run with UPDATE_GOLDEN=1 and review the diff`);
          assert.equal(
            text,
            fs.readFileSync(full, "utf8"),
            `${file} differs; if intended, regenerate with UPDATE_GOLDEN=1`,
          );
          const parsed = parseAllDocuments(text).map((d) => {
            assert.deepEqual(d.errors, []);
            return d.toJS() as unknown;
          });
          assert.deepEqual(parsed, renderNodeDocuments(cfg, node, target));
        });
      }
    }
  });

  describe("the checks can fail (negative contract tests)", () => {
    const v112 = stackOn({ minor: "v1.12", contract: "v1.12" });
    const node = v112.nodes[0];
    const [patch, ...typed] = renderNodeDocuments(v112, node);
    const machine = patch.machine as Record<string, unknown>;

    it("validateV1Alpha1Patch: a legacy field no schema describes, and a legacy field of the wrong type", () => {
      const typo = { ...patch, machine: { ...machine, network: { hostnme: "n1" } } };
      assert.match(validateV1Alpha1Patch("v1.12", typo).errors.join("\n"), /machine\.network\.hostnme is unknown/);
      const wrongType = { ...patch, machine: { ...machine, network: { hostname: 42 } } };
      assert.notDeepEqual(validateV1Alpha1Patch("v1.12", wrongType).errors, []);
      assert.deepEqual(validateV1Alpha1Patch("v1.12", patch).legacyFields.sort(), [
        "machine.install.extraKernelArgs",
        "machine.network.interfaces",
      ]);
    });

    it("validatePatchDocument: an unknown field, an unknown kind, a field delete on a field the kind lacks", () => {
      const kubeProxy = { apiVersion: "v1alpha1", kind: "KubeProxyConfig", enabled: false };
      assert.deepEqual(validatePatchDocument("v1.14", kubeProxy, true), []);
      assert.notDeepEqual(
        validatePatchDocument("v1.14", kubeProxy, false),
        [],
        "without the generated document, image is required",
      );
      assert.notDeepEqual(validatePatchDocument("v1.14", { ...kubeProxy, enable: false }, true), []);
      assert.match(validatePatchDocument("v1.13", kubeProxy, true).join(), /not a document kind of Talos v1.13/);
      const nodeDelete = { apiVersion: "v1alpha1", kind: "KubeNodeConfig", taint: { $patch: "delete" } };
      assert.notDeepEqual(validatePatchDocument("v1.14", nodeDelete, true), []);
    });

    it("talosSideProblems: each refusal the renderer avoids", () => {
      const withHostname = [
        { ...patch, machine: { ...machine, network: { ...(machine.network as object), hostname: "x" } } },
        ...typed,
      ];
      assert.match(
        talosSideProblems("v1.12", "v1.12", withHostname).join(),
        /HostnameConfig next to \.machine\.network\.hostname/,
      );
      const install = { ...(machine.install as Record<string, unknown>) };
      delete install.grubUseUKICmdline;
      assert.match(
        talosSideProblems("v1.12", "v1.12", [{ ...patch, machine: { ...machine, install } }, ...typed]).join(),
        /extraKernelArgs next to the generated install.grubUseUKICmdline/,
      );
      const autoOn = typed.map((d) => (d.kind === "HostnameConfig" ? { ...d, auto: "stable" } : d));
      assert.match(talosSideProblems("v1.12", "v1.12", [patch, ...autoOn]).join(), /'auto' and 'hostname'/);
      const v114 = stackOn({ minor: "v1.14", contract: "v1.14" });
      const [patch14, ...typed14] = renderNodeDocuments(v114, v114.nodes[0]);
      const proxy = { ...patch14, cluster: { ...(patch14.cluster as object), proxy: { disabled: true } } };
      assert.match(
        talosSideProblems("v1.14", "v1.14", [proxy, ...typed14]).join(),
        /KubeProxyConfig next to \.cluster\.proxy/,
      );
      const sysctls = { ...patch14, machine: { ...(patch14.machine as object), sysctls: { "vm.x": "1" } } };
      assert.match(
        talosSideProblems("v1.14", "v1.14", [sysctls, ...typed14]).join(),
        /SysctlConfig next to \.machine\.sysctls/,
      );
      const files = { ...patch14, machine: { ...(patch14.machine as object), files: [] } };
      assert.match(talosSideProblems("v1.14", "v1.14", [files, ...typed14]).join(), /--strict: \.machine\.files/);
      // The same legacy encryption next to a VolumeConfig is refused from v1.12 only (v1.11 has no conflict checks).
      const both = [{ ...patch, machine: { ...machine, systemDiskEncryption: { state: {} } } }, ...typed];
      assert.match(
        talosSideProblems("v1.12", "v1.12", both).join(),
        /VolumeConfig STATE next to \.machine\.systemDiskEncryption/,
      );
      assert.deepEqual(
        talosSideProblems("v1.11", "v1.11", [
          { machine: { systemDiskEncryption: { state: {} } } },
          ...typed.filter((d) => d.kind === "VolumeConfig"),
        ]),
        [],
      );
    });
  });

  describe("YAML that Go reads the same way", () => {
    it('quotes words YAML 1.1 reads as booleans ("off" stays a string: HostnameConfig auto)', () => {
      const text = documentsToYaml([{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "on" }]);
      assert.equal(text, 'apiVersion: v1alpha1\nkind: HostnameConfig\nauto: "off"\nhostname: "on"\n');
    });
  });

  describe("installDiskCel: the CEL Talos derives from a legacy disk selector", () => {
    const cases: [string, Parameters<typeof installDiskCel>[0], string][] = [
      [
        "model glob",
        { model: "APPLE*" },
        'glob("APPLE*", disk.model) && disk.transport != "" && !disk.readonly && !disk.cdrom',
      ],
      [
        "every field, in Talos's order",
        { size: ">= 100GB", model: "M*", serial: "S1", type: "nvme", busPath: "/pci0000:00/*" },
        'disk.size >= 100000000000u && glob("M*", disk.model) && glob("S1", disk.serial) && disk.transport != "" && ' +
          'disk.transport == "nvme" && glob("/pci0000:00/*", disk.bus_path) && !disk.readonly && !disk.cdrom',
      ],
      [
        "an IEC size without a comparison is ==",
        { size: "500GiB" },
        'disk.size == 536870912000u && disk.transport != "" && !disk.readonly && !disk.cdrom',
      ],
      [
        "ssd is not rotational",
        { type: "ssd" },
        'disk.transport != "" && !disk.rotational && !disk.readonly && !disk.cdrom',
      ],
      [
        "hdd is rotational",
        { type: "hdd" },
        'disk.transport != "" && disk.rotational && !disk.readonly && !disk.cdrom',
      ],
      [
        "sd is the mmc transport",
        { type: "sd" },
        'disk.transport != "" && disk.transport == "mmc" && !disk.readonly && !disk.cdrom',
      ],
      [
        "quotes in a glob are escaped",
        { model: 'A"B' },
        'glob("A\\"B", disk.model) && disk.transport != "" && !disk.readonly && !disk.cdrom',
      ],
    ];
    for (const [label, selector, expected] of cases) {
      it(label, () => assert.equal(installDiskCel(selector), expected));
    }
    it("refuses a size Talos cannot parse", () => {
      assert.throws(() => installDiskCel({ size: "big" }), /does not parse/);
    });
  });
});
