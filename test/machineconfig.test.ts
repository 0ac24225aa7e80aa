import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import type { NodeConfig, StackConfig, TalosMinor } from "../config/types";
import {
  LLDPD_CONFIG_MOUNT_PATH,
  renderClusterPatch,
  renderLldpdDocument,
  renderNodeDocuments,
  renderNodePatch,
  renderNodePatchYaml,
  renderSystemVolumeDocuments,
  renderUsbSsdVolume,
  type TalosDocument,
} from "../talos/machineconfig";
import { installerImage } from "../talos/schematic";
import { homeOpsConfig, withTalosMinor } from "./helpers/stackConfigFixture";
import { validateTalosDocument } from "./helpers/talosSchema";

const GOLDEN_DIR = path.join(__dirname, "golden");

/**
 * The minors whose own contract keeps every setting in the v1alpha1 patch (the typed contracts
 * v1.12–v1.14 are covered by machineconfig-contracts.test.ts).
 */
const LEGACY_MINORS: readonly TalosMinor[] = ["v1.10", "v1.11"];

/** Byte-for-byte comparison with a checked-in file; `UPDATE_GOLDEN=1` rewrites it instead. */
function assertGolden(relativePath: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, relativePath);
  if (process.env.UPDATE_GOLDEN === "1") {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  assert.ok(fs.existsSync(file), `missing golden file ${relativePath}; run with UPDATE_GOLDEN=1 and review the diff`);
  assert.equal(
    actual,
    fs.readFileSync(file, "utf8"),
    `${relativePath} differs; if intended, regenerate with UPDATE_GOLDEN=1`,
  );
}

/** Value at a dotted path (`machine.network.hostname`), or undefined. */
function at(doc: unknown, dottedPath: string): unknown {
  return dottedPath.split(".").reduce<unknown>((value, key) => {
    if (typeof value !== "object" || value === null) return undefined;
    return (value as Record<string, unknown>)[key];
  }, doc);
}

function stackFor(minor: TalosMinor): StackConfig {
  return withTalosMinor(homeOpsConfig(), minor);
}

function nodeNamed(cfg: StackConfig, hostname: string): NodeConfig {
  const node = cfg.nodes.find((n) => n.hostname === hostname);
  if (!node) throw new Error(`fixture has no node ${hostname}`);
  return node;
}

function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => {
    assert.deepEqual(doc.errors, [], "rendered YAML must parse");
    return doc.toJS() as unknown;
  });
}

function kindsOf(documents: readonly unknown[]): string[] {
  return documents.map((doc) => String(at(doc, "kind") ?? "v1alpha1 patch"));
}

describe("talos/machineconfig", () => {
  const cfg = homeOpsConfig();
  const mini01 = nodeNamed(cfg, "mini01");

  describe("renderClusterPatch", () => {
    const patch = renderClusterPatch(cfg);

    const expectations: ReadonlyArray<[string, unknown]> = [
      ["machine.install.image", installerImage(cfg)],
      ["machine.udev.rules", [...cfg.machine.udevRules]],
      ["machine.features.rbac", true],
      ["machine.features.stableHostname", true],
      ["machine.features.apidCheckExtKeyUsage", true],
      ["machine.features.diskQuotaSupport", true],
      ["machine.features.kubePrism", { enabled: true, port: 7445 }],
      ["machine.features.hostDNS", { enabled: true, forwardKubeDNSToHost: true }],
      [
        "machine.kubelet.extraConfig",
        {
          featureGates: { GracefulNodeShutdown: true },
          shutdownGracePeriod: "30s",
          shutdownGracePeriodCriticalPods: "10s",
        },
      ],
      ["cluster.allowSchedulingOnControlPlanes", true],
      ["cluster.network.cni", { name: "none" }],
      ["cluster.network.podSubnets", ["10.244.0.0/16", "fd47:25e1:2f96:51:2000::/68"]],
      ["cluster.network.serviceSubnets", ["10.96.0.0/12", "fd47:25e1:2f96:51:1000::/108"]],
      ["cluster.network.dnsDomain", "cluster.local"],
      ["cluster.proxy", { disabled: true }],
      ["cluster.discovery", { enabled: true }],
      ["cluster.apiServer.certSANs", ["172.29.51.10"]],
      [
        "cluster.apiServer.extraArgs",
        {
          "enable-admission-plugins": "NodeRestriction,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
        },
      ],
      [
        "cluster.apiServer.auditPolicy",
        {
          apiVersion: "audit.k8s.io/v1",
          kind: "Policy",
          rules: [{ level: "Metadata" }],
        },
      ],
      [
        "cluster.controllerManager.extraArgs",
        {
          "bind-address": "0.0.0.0",
          "leader-elect-lease-duration": "15s",
          "leader-elect-renew-deadline": "10s",
          "leader-elect-retry-period": "2s",
          // Matched to Cilium's cluster-pool sizes (/24; /68 + 16 for IPv6).
          "node-cidr-mask-size-ipv4": "24",
          "node-cidr-mask-size-ipv6": "84",
        },
      ],
      [
        "cluster.scheduler.extraArgs",
        {
          "bind-address": "0.0.0.0",
          "leader-elect-lease-duration": "15s",
          "leader-elect-renew-deadline": "10s",
          "leader-elect-retry-period": "2s",
        },
      ],
      [
        "cluster.etcd.extraArgs",
        {
          "election-timeout": "1000",
          "heartbeat-interval": "100",
          "listen-metrics-urls": "http://0.0.0.0:2381",
        },
      ],
    ];
    for (const [dottedPath, expected] of expectations) {
      it(`sets ${dottedPath}`, () => assert.deepEqual(at(patch, dottedPath), expected));
    }

    it("sets PodSecurity defaults (enforce baseline, audit/warn restricted) without an exemptions list", () => {
      const admission = at(patch, "cluster.apiServer.admissionControl") as TalosDocument[];
      assert.equal(admission.length, 1);
      assert.equal(admission[0].name, "PodSecurity");
      assert.deepEqual(at(admission[0], "configuration.defaults"), {
        enforce: "baseline",
        "enforce-version": "latest",
        audit: "restricted",
        "audit-version": "latest",
        warn: "restricted",
        "warn-version": "latest",
      });
      // Talos already exempts kube-system; repeating it duplicated the entry and crash-looped the API server.
      assert.equal(at(admission[0], "configuration.exemptions"), undefined);
    });

    it("passes no OIDC flags to the API server at bootstrap", () => {
      assert.doesNotMatch(JSON.stringify(patch), /oidc/i);
    });

    it("carries nothing node-specific", () => {
      for (const dottedPath of [
        "machine.network",
        "machine.install.diskSelector",
        "machine.install.extraKernelArgs",
        "machine.sysctls",
      ]) {
        assert.equal(at(patch, dottedPath), undefined, dottedPath);
      }
    });

    it("omits udev when there are no rules", () => {
      const noRules = homeOpsConfig({
        machine: { ...cfg.machine, udevRules: [] },
      });
      assert.equal(at(renderClusterPatch(noRules), "machine.udev"), undefined);
    });
  });

  describe("system disk encryption (fixed by the contract)", () => {
    const luks2NodeId = { provider: "luks2", keys: [{ nodeID: {}, slot: 0 }] };

    it("v1.10: machine.systemDiskEncryption for STATE and EPHEMERAL, no VolumeConfig", () => {
      const v110 = stackFor("v1.10");
      assert.deepEqual(at(renderClusterPatch(v110), "machine.systemDiskEncryption"), {
        state: luks2NodeId,
        ephemeral: luks2NodeId,
      });
      assert.deepEqual(renderSystemVolumeDocuments(v110), []);
    });

    it("v1.11: VolumeConfig STATE and EPHEMERAL with encryption, no machine.systemDiskEncryption", () => {
      const v111 = stackFor("v1.11");
      assert.equal(at(renderClusterPatch(v111), "machine.systemDiskEncryption"), undefined);
      assert.deepEqual(renderSystemVolumeDocuments(v111), [
        {
          apiVersion: "v1alpha1",
          kind: "VolumeConfig",
          name: "STATE",
          encryption: luks2NodeId,
        },
        {
          apiVersion: "v1alpha1",
          kind: "VolumeConfig",
          name: "EPHEMERAL",
          encryption: luks2NodeId,
        },
      ]);
    });

    for (const minor of LEGACY_MINORS) {
      it(`${minor}: nothing encrypted when encryptSystemDisk is off`, () => {
        const base = stackFor(minor);
        const off = {
          ...base,
          machine: { ...base.machine, encryptSystemDisk: false },
        };
        assert.equal(at(renderClusterPatch(off), "machine.systemDiskEncryption"), undefined);
        assert.deepEqual(renderSystemVolumeDocuments(off), []);
      });
    }
  });

  describe("renderNodePatch", () => {
    const patch = renderNodePatch(cfg, mini01);

    it("sets the hostname", () => assert.equal(at(patch, "machine.network.hostname"), "mini01"));

    it("configures the NIC: DHCP, no DHCPv6, route metric, IPv6 default route, VIP", () => {
      assert.deepEqual(at(patch, "machine.network.interfaces"), [
        {
          interface: "enp3s0f0",
          dhcp: true,
          dhcpOptions: { ipv6: false, routeMetric: 1024 },
          routes: [{ network: "::/0", gateway: "fe80::1" }],
          vip: { ip: "172.29.51.10" },
        },
      ]);
    });

    it("selects the install disk, adds kernel args and uses the factory installer", () => {
      assert.deepEqual(at(patch, "machine.install"), {
        diskSelector: { model: "APPLE*" },
        extraKernelArgs: ["talos.logging.kernel=udp://172.29.51.1:514/"],
        image: installerImage(cfg),
      });
    });

    it("sets the node's sysctls, sorted by key", () => {
      assert.deepEqual(Object.entries(at(patch, "machine.sysctls") as object), [
        ["kernel.kexec_load_disabled", "1"],
        ["net.ipv4.ip_forward", "1"],
        ["net.ipv6.conf.all.forwarding", "1"],
        ["vm.dirty_background_ratio", "2"],
        ["vm.dirty_ratio", "5"],
      ]);
    });

    it("contains every cluster-wide setting unchanged", () => {
      const cluster = renderClusterPatch(cfg);
      assert.deepEqual(patch.cluster, cluster.cluster);
      for (const key of Object.keys(cluster.machine as object)) {
        const clusterValue = at(cluster, `machine.${key}`);
        if (key === "install") assert.equal(at(patch, "machine.install.image"), at(cluster, "machine.install.image"));
        else assert.deepEqual(at(patch, `machine.${key}`), clusterValue, key);
      }
    });

    it("puts no VIP on a worker", () => {
      const worker: NodeConfig = {
        ...mini01,
        hostname: "worker01",
        role: "worker",
        bootstrap: false,
      };
      const nic = (at(renderNodePatch(cfg, worker), "machine.network.interfaces") as TalosDocument[])[0];
      assert.equal(nic.vip, undefined);
    });

    it("gives a worker no etcd settings (Talos refuses them on a worker), a control plane its own", () => {
      const worker: NodeConfig = { ...mini01, hostname: "worker01", role: "worker", bootstrap: false };
      assert.equal(at(renderNodePatch(cfg, worker), "cluster.etcd"), undefined);
      assert.notEqual(at(renderNodePatch(cfg, mini01), "cluster.etcd"), undefined);
      assert.ok(at(renderNodePatch(cfg, worker), "cluster.apiServer"), "the rest of the cluster section stays");
      const v114 = withTalosMinor(cfg, "v1.14");
      const first = (c: StackConfig, n: NodeConfig) => renderNodeDocuments(c, n)[0];
      assert.equal(at(first(v114, { ...worker }), "cluster.etcd"), undefined);
      assert.notEqual(at(first(v114, v114.nodes[0]), "cluster.etcd"), undefined);
    });

    it("adds no IPv6 route without an IPv6 gateway", () => {
      const noGateway = homeOpsConfig({
        network: { ...cfg.network, ipv6Gateway: undefined },
      });
      const nic = (at(renderNodePatch(noGateway, mini01), "machine.network.interfaces") as TalosDocument[])[0];
      assert.equal(nic.routes, undefined);
    });

    it("uses the node's own interface, disk, kernel args and sysctls", () => {
      const custom: NodeConfig = {
        ...mini01,
        interface: "eth1",
        installDisk: { serial: "S123", type: "nvme" },
        extraKernelArgs: [],
        sysctls: { "vm.swappiness": "10" },
      };
      const custom01 = renderNodePatch(cfg, custom);
      assert.equal((at(custom01, "machine.network.interfaces") as TalosDocument[])[0].interface, "eth1");
      assert.deepEqual(at(custom01, "machine.install.diskSelector"), {
        serial: "S123",
        type: "nvme",
      });
      assert.equal(at(custom01, "machine.install.extraKernelArgs"), undefined);
      assert.deepEqual(at(custom01, "machine.sysctls"), {
        "vm.swappiness": "10",
      });
    });
  });

  describe("extra documents", () => {
    it("renderLldpdDocument: ExtensionServiceConfig lldpd with the lldpcli commands", () => {
      assert.deepEqual(renderLldpdDocument(cfg), {
        apiVersion: "v1alpha1",
        kind: "ExtensionServiceConfig",
        name: "lldpd",
        configFiles: [
          {
            content: cfg.lldpd.config,
            mountPath: "/usr/local/etc/lldpd/lldpd.conf",
          },
        ],
      });
      assert.equal(LLDPD_CONFIG_MOUNT_PATH, "/usr/local/etc/lldpd/lldpd.conf");
    });

    it("renderUsbSsdVolume: UserVolumeConfig with CEL selector, max size and filesystem", () => {
      assert.deepEqual(renderUsbSsdVolume(cfg), {
        apiVersion: "v1alpha1",
        kind: "UserVolumeConfig",
        name: "longhorn-ssd",
        provisioning: {
          diskSelector: { match: 'disk.model == "Portable SSD T5"' },
          maxSize: "1TB",
        },
        filesystem: { type: "xfs" },
      });
    });
  });

  describe("renderNodeDocuments", () => {
    it("v1.10 order: patch, ExtensionServiceConfig, UserVolumeConfig", () => {
      const v110 = stackFor("v1.10");
      assert.deepEqual(kindsOf(renderNodeDocuments(v110, nodeNamed(v110, "mini01"))), [
        "v1alpha1 patch",
        "ExtensionServiceConfig",
        "UserVolumeConfig",
      ]);
    });

    it("v1.11 order: patch, VolumeConfig STATE, VolumeConfig EPHEMERAL, ExtensionServiceConfig, UserVolumeConfig", () => {
      const v111 = stackFor("v1.11");
      const documents = renderNodeDocuments(v111, nodeNamed(v111, "mini01"));
      assert.deepEqual(kindsOf(documents), [
        "v1alpha1 patch",
        "VolumeConfig",
        "VolumeConfig",
        "ExtensionServiceConfig",
        "UserVolumeConfig",
      ]);
      assert.deepEqual(
        documents.slice(1, 3).map((d) => d.name),
        ["STATE", "EPHEMERAL"],
      );
    });
  });

  for (const minor of LEGACY_MINORS) {
    describe(`renderNodePatchYaml (Talos ${minor}, contract ${minor})`, () => {
      const stack = stackFor(minor);

      for (const node of stack.nodes) {
        it(`${node.hostname}: matches test/golden/${minor}/contract-${minor}/${node.hostname}.yaml`, () => {
          assertGolden(`${minor}/contract-${minor}/${node.hostname}.yaml`, renderNodePatchYaml(stack, node));
        });

        it(`${node.hostname}: parses back to exactly renderNodeDocuments`, () => {
          assert.deepEqual(parseYamlDocuments(renderNodePatchYaml(stack, node)), renderNodeDocuments(stack, node));
        });

        it(`${node.hostname}: every document validates against the Talos ${minor} schema`, () => {
          for (const document of parseYamlDocuments(renderNodePatchYaml(stack, node))) {
            assert.deepEqual(validateTalosDocument(minor, document), [], `${kindsOf([document])[0]} must be valid`);
          }
        });

        it(`${node.hostname}: carries the lldpd service config and the USB SSD volume`, () => {
          const documents = parseYamlDocuments(renderNodePatchYaml(stack, node));
          const lldpd = documents.filter(
            (d) => at(d, "kind") === "ExtensionServiceConfig" && at(d, "name") === "lldpd",
          );
          const usb = documents.filter((d) => at(d, "kind") === "UserVolumeConfig" && at(d, "name") === "longhorn-ssd");
          assert.equal(lldpd.length, 1);
          assert.equal(usb.length, 1);
        });
      }

      it("is deterministic: rendering twice gives byte-identical YAML", () => {
        for (const node of stack.nodes) {
          assert.equal(renderNodePatchYaml(stack, node), renderNodePatchYaml(stackFor(minor), node));
        }
      });

      it("does not depend on the order of sysctls in the stack file", () => {
        const node = stack.nodes[0];
        const reversed: NodeConfig = {
          ...node,
          sysctls: Object.fromEntries(Object.entries(node.sysctls).reverse()),
        };
        assert.equal(renderNodePatchYaml(stack, reversed), renderNodePatchYaml(stack, node));
      });

      it("per-node settings appear only in that node's YAML", () => {
        for (const node of stack.nodes) {
          const yamlText = renderNodePatchYaml(stack, node);
          assert.match(yamlText, new RegExp(`hostname: ${node.hostname}\\n`));
          for (const other of stack.nodes.filter((n) => n !== node)) {
            assert.doesNotMatch(yamlText, new RegExp(other.hostname), `${other.hostname} leaked into ${node.hostname}`);
          }
        }
      });

      it("cluster-wide settings and extra documents are identical on every node", () => {
        const perNode = stack.nodes.map((node) => renderNodeDocuments(stack, node));
        const withoutNodeFields = (documents: TalosDocument[]) => {
          const [patch, ...rest] = documents;
          const machine = { ...(patch.machine as TalosDocument) };
          delete machine.network;
          return { patch: { ...patch, machine }, rest };
        };
        const [first, ...others] = perNode.map(withoutNodeFields);
        for (const other of others) assert.deepEqual(other, first);
      });
    });
  }

  describe("the schema validator can fail (negative contract tests)", () => {
    it("rejects machine.systemDiskEncryption on v1.11", () => {
      const v110Patch = renderNodePatch(stackFor("v1.10"), mini01);
      assert.deepEqual(validateTalosDocument("v1.10", v110Patch), []);
      const errors = validateTalosDocument("v1.11", v110Patch);
      assert.ok(
        errors.some((e) => e.includes("systemDiskEncryption")),
        errors.join("\n"),
      );
    });

    it("rejects a VolumeConfig encryption block on v1.10", () => {
      const [state] = renderSystemVolumeDocuments(stackFor("v1.11"));
      assert.deepEqual(validateTalosDocument("v1.11", state), []);
      const errors = validateTalosDocument("v1.10", state);
      assert.ok(
        errors.some((e) => e.includes("encryption")),
        errors.join("\n"),
      );
    });

    it('rejects cni name "cilium"', () => {
      for (const minor of LEGACY_MINORS) {
        const errors = validateTalosDocument(minor, {
          cluster: { network: { cni: { name: "cilium" } } },
        });
        assert.ok(
          errors.some((e) => e.includes("/cluster/network/cni/name")),
          errors.join("\n"),
        );
      }
    });

    it("rejects unknown keys and wrong types", () => {
      assert.notDeepEqual(validateTalosDocument("v1.10", { machine: { featurez: {} } }), []);
      assert.notDeepEqual(
        validateTalosDocument("v1.11", {
          machine: { features: { kubePrism: { port: "7445" } } },
        }),
        [],
      );
      assert.notDeepEqual(
        validateTalosDocument("v1.11", {
          ...renderUsbSsdVolume(cfg),
          filesystem: { type: "btrfs" },
        }),
        [],
      );
      assert.notDeepEqual(
        validateTalosDocument("v1.10", {
          ...renderLldpdDocument(cfg),
          configFile: [],
        }),
        [],
      );
    });

    it("rejects a document kind the minor does not know", () => {
      const rawVolume = {
        apiVersion: "v1alpha1",
        kind: "RawVolumeConfig",
        name: "raw",
      };
      assert.deepEqual(validateTalosDocument("v1.11", rawVolume), []);
      assert.deepEqual(validateTalosDocument("v1.10", rawVolume), [
        '/kind: "RawVolumeConfig" is not a document kind of Talos v1.10',
      ]);
    });
  });
});
