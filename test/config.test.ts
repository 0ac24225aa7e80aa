import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig, SECRET_CONFIG_KEYS } from "../config/index";
import { rawConfigFromPulumiConfig, rawConfigFromStackFile, secureKeysOf, stackNameFromFile } from "../config/load";
import { ConfigError, RawConfig, StackConfig } from "../config/types";
import {
  asPulumiAllConfig,
  FLUX_FLOOR_WARNING_PREFIX,
  HOME_OPS_RAW_CONFIG,
  homeOpsRawConfig,
  problemsOf,
  withoutFluxFloorWarning,
} from "./helpers/badInputs";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

const STACK_FILE = path.join(__dirname, "..", "Pulumi.home-ops.yaml");

/**
 * What Pulumi.home-ops.yaml must parse to: the fixture every other test uses, so those tests are
 * about the real stack file.
 */
const EXPECTED_HOME_OPS: StackConfig = homeOpsConfig();
const HOME_OPS_SYSCTLS = EXPECTED_HOME_OPS.nodes[0].sysctls;

describe("config: parseStackConfig", () => {
  describe("the real stack file Pulumi.home-ops.yaml", () => {
    it("parses to exactly the expected StackConfig, with one warning: Flux 2.8 on Kubernetes 1.31", () => {
      const raw = rawConfigFromStackFile(fs.readFileSync(STACK_FILE, "utf8"));
      const { config, warnings } = parseStackConfig(raw, stackNameFromFile(STACK_FILE));
      assert.deepStrictEqual(config, EXPECTED_HOME_OPS);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.ok(warnings[0].startsWith(FLUX_FLOOR_WARNING_PREFIX), warnings[0]);
    });

    it("HOME_OPS_RAW_CONFIG parses to the expected StackConfig", () => {
      const { config, warnings } = parseStackConfig(HOME_OPS_RAW_CONFIG, "home-ops");
      assert.deepStrictEqual(config, EXPECTED_HOME_OPS);
      assert.deepStrictEqual(withoutFluxFloorWarning(warnings), []);
    });
  });

  describe("defaults", () => {
    /** Only the cluster-specific (required) keys. */
    function minimalRaw(): ReturnType<typeof homeOpsRawConfig> {
      const raw = homeOpsRawConfig();
      delete raw.cluster.dnsDomain;
      delete raw.cluster.allowSchedulingOnControlPlanes;
      for (const node of raw.nodes) delete node.role;
      delete raw.network.loadBalancerCidrs;
      delete raw.network.ipv6Gateway;
      delete raw.network.dhcpRouteMetric;
      raw.machine = { installDisk: { model: "APPLE*" } };
      delete raw.onepassword;
      raw.cilium = { version: "1.17.6" };
      raw.gitops = { url: "https://github.com/geoffdavis/talos-gitops", path: "clusters/home-ops" };
      delete raw.stopAfter;
      return raw;
    }

    it("fills every generic setting with its default", () => {
      const { config } = parseStackConfig(minimalRaw(), "home-ops");
      assert.equal(config.cluster.dnsDomain, "cluster.local");
      assert.equal(config.cluster.allowSchedulingOnControlPlanes, true);
      assert.deepStrictEqual(
        config.nodes.map((n) => [n.role, n.bootstrap]),
        [
          ["controlplane", true],
          ["controlplane", false],
          ["controlplane", false],
        ],
      );
      assert.deepStrictEqual(config.talos, {
        version: "v1.10.5",
        minor: "v1.10",
        contract: "v1.10",
        talosctl: "talosctl",
        talosctls: {},
      });
      assert.deepStrictEqual(config.machine, {
        encryptSystemDisk: true,
        udevRules: [],
        shutdownGracePeriod: "30s",
        shutdownGracePeriodCriticalPods: "10s",
        kubePrismPort: 7445,
      });
      assert.deepStrictEqual(config.nodes[0].extraKernelArgs, []);
      assert.deepStrictEqual(config.nodes[0].sysctls, {});
      assert.equal(config.network.dhcpRouteMetric, 1024);
      assert.deepStrictEqual(config.network.loadBalancerCidrs, []);
      assert.ok(!("ipv6Gateway" in config.network), "no ipv6Gateway key when none is configured");
      assert.deepStrictEqual(config.onepassword, EXPECTED_HOME_OPS.onepassword);
      assert.deepStrictEqual(config.cilium, {
        version: "1.17.6",
        acceleration: "disabled",
        operatorReplicas: 1,
        ipv4MaskSize: 24,
        hubble: true,
      });
      assert.deepStrictEqual(config.gitops, {
        url: "https://github.com/geoffdavis/talos-gitops",
        branch: "main",
        path: "clusters/home-ops",
        auth: "none",
      });
      assert.equal(config.stopAfter, "gitops");
      assert.deepStrictEqual(config.timeouts, EXPECTED_HOME_OPS.timeouts);
      assert.deepStrictEqual(config.operations, {
        resetOnDestroy: [],
        adoptHelmReleases: [],
        handedOffToFlux: false,
        renewBefore: "30d",
        reapply: [],
      });
    });

    it("derives the 1Password item names from the cluster name", () => {
      const raw = minimalRaw();
      raw.cluster.name = "lab";
      const { config } = parseStackConfig(raw, "lab");
      assert.equal(config.onepassword.talosSecretsItem, "Talos Secrets - lab");
      assert.equal(config.onepassword.connectCredentialsItem, "1Password Connect Credentials - lab");
      assert.equal(config.onepassword.connectTokenItem, "1Password Connect Token - lab");
    });

    it("takes partial timeouts and keeps the defaults of the rest", () => {
      const raw = minimalRaw();
      raw.timeouts = { health: 1200, poll: 2 };
      const { config } = parseStackConfig(raw, "home-ops");
      assert.deepStrictEqual(config.timeouts, { ...EXPECTED_HOME_OPS.timeouts, health: 1200, poll: 2 });
    });

    it("derives the Talos minor and the USB SSD mount path", () => {
      const raw = minimalRaw();
      raw.talos.version = "v1.11.6";
      raw.usbSsd.name = "fast-disk";
      const { config } = parseStackConfig(raw, "home-ops");
      assert.equal(config.talos.minor, "v1.11");
      assert.equal(config.usbSsd.mountPath, "/var/mnt/fast-disk");
    });

    it("keeps the pinned contract when the Talos version moves (home-ops on v1.14 stays on contract v1.10)", () => {
      const raw = minimalRaw();
      raw.talos.version = "v1.14.1";
      raw.kubernetes.version = "v1.33.0";
      raw.cilium.version = "1.18.0"; // Cilium 1.17 stops at Kubernetes 1.32 (compatibility.json)
      const { config } = parseStackConfig(raw, "home-ops");
      assert.equal(config.talos.minor, "v1.14");
      assert.equal(config.talos.contract, "v1.10");
    });

    it("accepts every supported minor with its own contract and a Kubernetes release it runs", () => {
      // Kubernetes releases each minor runs, with a Cilium that runs on them (compatibility.json).
      const kubernetes = {
        "v1.12.6": ["v1.30.0", "1.17.6"],
        "v1.13.9": ["v1.32.0", "1.17.6"],
        "v1.14.1": ["v1.33.0", "1.18.0"],
      } as const;
      for (const [version, [kube, cilium]] of Object.entries(kubernetes)) {
        const raw = minimalRaw();
        raw.talos = { version, contract: version.split(".").slice(0, 2).join(".") };
        raw.kubernetes.version = kube;
        raw.cilium.version = cilium;
        const { config } = parseStackConfig(raw, "home-ops");
        assert.equal(config.talos.contract, config.talos.minor, version);
      }
    });

    it("keeps gitops credentials and the 1Password account only where they apply", () => {
      const raw = homeOpsRawConfig();
      raw.gitops = {
        url: "ssh://git@github.com/geoffdavis/talos-gitops",
        path: "clusters/home-ops",
        auth: "ssh",
        credentialsItem: "Flux deploy key",
      };
      raw.onepassword = { auth: "account", account: "my.1password.com" };
      const { config } = parseStackConfig(raw, "home-ops");
      assert.equal(config.gitops.credentialsItem, "Flux deploy key");
      assert.equal(config.onepassword.account, "my.1password.com");
    });
  });

  describe("per-node overrides", () => {
    it("replaces installDisk and interface, appends kernel args, overlays sysctls; other nodes keep the cluster values", () => {
      const raw = homeOpsRawConfig();
      raw.nodes[1].installDisk = { serial: "S4EVNX0N123456" };
      raw.nodes[1].interface = "enp4s0";
      raw.nodes[1].extraKernelArgs = ["console=ttyS0"];
      raw.nodes[1].sysctls = { "vm.dirty_ratio": 10, "net.core.somaxconn": "4096" };
      const { config } = parseStackConfig(raw, "home-ops");
      const [mini01, mini02, mini03] = config.nodes;
      assert.deepStrictEqual(mini02.installDisk, { serial: "S4EVNX0N123456" }, "replaced, not merged");
      assert.equal(mini02.interface, "enp4s0");
      assert.deepStrictEqual(mini02.extraKernelArgs, ["talos.logging.kernel=udp://172.29.51.1:514/", "console=ttyS0"]);
      assert.deepStrictEqual(mini02.sysctls, {
        ...HOME_OPS_SYSCTLS,
        "vm.dirty_ratio": "10",
        "net.core.somaxconn": "4096",
      });
      for (const other of [mini01, mini03]) {
        assert.deepStrictEqual(other.installDisk, { model: "APPLE*" });
        assert.equal(other.interface, "enp3s0f0");
        assert.deepStrictEqual(other.extraKernelArgs, ["talos.logging.kernel=udp://172.29.51.1:514/"]);
        assert.deepStrictEqual(other.sysctls, HOME_OPS_SYSCTLS);
      }
    });

    it("stringifies numeric sysctl values", () => {
      const raw = homeOpsRawConfig();
      raw.machine.sysctls = { "vm.swappiness": 0, "vm.dirty_ratio": 5 };
      const { config } = parseStackConfig(raw, "home-ops");
      assert.deepStrictEqual(config.nodes[0].sysctls, { "vm.swappiness": "0", "vm.dirty_ratio": "5" });
    });
  });

  describe("warnings", () => {
    it("warns (does not fail) on an even number of control planes", () => {
      const raw = homeOpsRawConfig();
      raw.nodes[2].role = "worker";
      const { config, warnings: all } = parseStackConfig(raw, "home-ops");
      const warnings = withoutFluxFloorWarning(all);
      assert.equal(config.nodes.length, 3);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^homeops:nodes = \["mini01","mini02"\]: 2 control-plane nodes/);
      assert.match(warnings[0], /etcd/);
    });

    it("warns on four control planes too", () => {
      const raw = homeOpsRawConfig();
      raw.nodes.push({ hostname: "mini04", address: "172.29.51.14" });
      const warnings = withoutFluxFloorWarning(parseStackConfig(raw, "home-ops").warnings);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /4 control-plane nodes/);
    });

    it("warns on a single node", () => {
      const raw = homeOpsRawConfig();
      raw.nodes = [raw.nodes[0]];
      const warnings = withoutFluxFloorWarning(parseStackConfig(raw, "home-ops").warnings);
      assert.deepStrictEqual(warnings, [
        'homeops:nodes = ["mini01"]: a single node: no redundancy, the cluster is down whenever it is',
      ]);
    });

    it("warns when the endpoint points at a node address instead of the VIP", () => {
      const raw = homeOpsRawConfig();
      raw.cluster.endpoint = "https://172.29.51.11:6443";
      const warnings = withoutFluxFloorWarning(parseStackConfig(raw, "home-ops").warnings);
      assert.equal(warnings.length, 1);
      assert.ok(
        warnings[0].startsWith('homeops:cluster.endpoint = "https://172.29.51.11:6443": points at a single node'),
      );
    });
  });

  describe("errors", () => {
    it("reports every problem together: three problems, three messages", () => {
      const raw = homeOpsRawConfig();
      raw.nodes[1].address = "172.29.51.11"; // duplicate address
      raw.talos.version = "v1.15.0"; // unsupported minor
      raw.cilium.acceleration = "native"; // XDP on the Mac mini NIC
      const problems = problemsOf(raw);
      assert.equal(problems.length, 3, problems.join("\n"));
      assert.ok(
        problems.some((p) =>
          p.startsWith('homeops:nodes[1].address = "172.29.51.11": duplicates homeops:nodes[0].address'),
        ),
      );
      assert.ok(
        problems.some((p) => p.startsWith('homeops:talos.version = "v1.15.0": Talos minor v1.15 is not supported')),
      );
      assert.ok(problems.some((p) => p.startsWith('homeops:cilium.acceleration = "native": must be "disabled"')));
    });

    it("puts every problem in the error message", () => {
      const raw = homeOpsRawConfig();
      raw.stopAfter = "everything";
      raw.usbSsd.filesystem = "zfs";
      try {
        parseStackConfig(raw, "home-ops");
        assert.fail("accepted");
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /\(2 problems\)/);
        assert.match(error.message, /homeops:stopAfter = "everything"/);
        assert.match(error.message, /homeops:usbSsd\.filesystem = "zfs"/);
      }
    });

    it("does not echo the value of an unknown or plain-text secret key", () => {
      const raw = { ...homeOpsRawConfig(), onepasswordServiceAccountToken: "ops_SECRET", githubToken: "ghp_SECRET" };
      const problems = problemsOf(raw);
      assert.equal(problems.length, 2, problems.join("\n"));
      assert.ok(problems.every((p) => !p.includes("SECRET")));
      assert.match(problems[0], /^homeops:onepasswordServiceAccountToken is a secret but is stored in plain text/);
      assert.match(problems[1], /^homeops:githubToken is not a known key/);
    });

    it("reports keys named like Object's own properties (YAML gives own __proto__ keys) instead of dropping them", () => {
      const raw = homeOpsRawConfig();
      const withProto: Record<string, unknown> = {};
      Object.defineProperty(withProto, "__proto__", {
        value: "1",
        enumerable: true,
        writable: true,
        configurable: true,
      });
      raw.machine.sysctls = withProto;
      raw.cluster = { ...raw.cluster, constructor: { __proto__: null } };
      const problems = problemsOf(raw);
      assert.deepEqual(problems.map((p) => p.split(" ")[0]).sort(), [
        "homeops:cluster.constructor",
        'homeops:machine.sysctls["__proto__"]',
      ]);
    });

    it("rejects a raw config that is not a mapping", () => {
      assert.throws(() => parseStackConfig([] as unknown as RawConfig, "home-ops"), ConfigError);
    });
  });
});

describe("config: loading raw config", () => {
  /** The result of parsing, or the problems found: equal outcomes whether the config is valid or not. */
  function outcomeOf(raw: RawConfig): unknown {
    try {
      return parseStackConfig(raw, "home-ops");
    } catch (error) {
      if (error instanceof ConfigError) return { problems: error.problems };
      throw error;
    }
  }

  it("rawConfigFromPulumiConfig gives the same raw config and outcome as the stack file", () => {
    const fromYaml = rawConfigFromStackFile(fs.readFileSync(STACK_FILE, "utf8"));
    const all = {
      ...asPulumiAllConfig(fromYaml),
      "onepassword:serviceAccountToken": "other namespace",
      "homeops:onepasswordServiceAccountToken": "ops_plaintext_from_allConfig",
    };
    const fromPulumi = rawConfigFromPulumiConfig(all);
    assert.deepStrictEqual(fromPulumi, fromYaml);
    assert.deepStrictEqual(outcomeOf(fromPulumi), outcomeOf(fromYaml));
  });

  it("rawConfigFromPulumiConfig round-trips the valid home-ops config to the same StackConfig", () => {
    const fromPulumi = rawConfigFromPulumiConfig(asPulumiAllConfig(HOME_OPS_RAW_CONFIG));
    assert.deepStrictEqual(fromPulumi, HOME_OPS_RAW_CONFIG);
    const { config, warnings } = parseStackConfig(fromPulumi, "home-ops");
    assert.deepStrictEqual(config, EXPECTED_HOME_OPS);
    assert.deepStrictEqual(withoutFluxFloorWarning(warnings), []);
  });

  it("rawConfigFromPulumiConfig decodes JSON values and keeps plain strings", () => {
    const raw = rawConfigFromPulumiConfig({
      "homeops:stopAfter": "cni",
      "homeops:timeouts": '{"poll":2}',
      "homeops:nodes": '[{"hostname":"mini01"}]',
      "homeops:count": "3",
      "homeops:flag": "true",
      "homeops:version": "1.17.6",
      "homeops:brace": "{not json",
      "homeops:config:legacy": "x",
      "other:stopAfter": "talos",
    });
    assert.deepStrictEqual(raw, {
      stopAfter: "cni",
      timeouts: { poll: 2 },
      nodes: [{ hostname: "mini01" }],
      count: 3,
      flag: true,
      version: "1.17.6",
      brace: "{not json",
      legacy: "x",
    });
  });

  it("rawConfigFromPulumiConfig drops secret keys (given ones and the known ones)", () => {
    const raw = rawConfigFromPulumiConfig(
      { "homeops:stopAfter": "cni", "homeops:githubToken": "ghp_x", "homeops:onepasswordServiceAccountToken": "ops_x" },
      "homeops",
      ["homeops:githubToken"],
    );
    assert.deepStrictEqual(raw, { stopAfter: "cni" });
    assert.deepStrictEqual([...SECRET_CONFIG_KEYS], ["onepasswordServiceAccountToken"]);
  });

  describe("stack files", () => {
    const withSecrets = [
      "config:",
      "  homeops:stopAfter: cni",
      "  homeops:onepasswordServiceAccountToken:",
      "    secure: v1:AAAABBBB",
      "  homeops:gitops:",
      "    url: https://github.com/geoffdavis/talos-gitops",
      "    token:",
      "      secure: v1:CCCCDDDD",
      "  onepassword:serviceAccountToken:",
      "    secure: v1:EEEE",
      "  kubernetes:context: home",
      "",
    ].join("\n");

    it("keeps only the project namespace, prefix stripped, and drops secure values", () => {
      assert.deepStrictEqual(rawConfigFromStackFile(withSecrets), {
        stopAfter: "cni",
        gitops: { url: "https://github.com/geoffdavis/talos-gitops" },
      });
      assert.ok(!JSON.stringify(rawConfigFromStackFile(withSecrets)).includes("secure"));
    });

    it("secureKeysOf names the dropped secure values", () => {
      assert.deepStrictEqual(secureKeysOf(withSecrets), ["onepasswordServiceAccountToken", "gitops.token"]);
      assert.deepStrictEqual(secureKeysOf(withSecrets, "onepassword"), ["serviceAccountToken"]);
      assert.deepStrictEqual(secureKeysOf(fs.readFileSync(STACK_FILE, "utf8")), []);
    });

    it("reads another project's namespace when asked", () => {
      assert.deepStrictEqual(rawConfigFromStackFile(withSecrets, "kubernetes"), { context: "home" });
    });

    it("accepts a stack file without config and rejects one that is not YAML", () => {
      assert.deepStrictEqual(rawConfigFromStackFile("encryptionsalt: v1:abc\n"), {});
      assert.throws(() => rawConfigFromStackFile("config: [unclosed"), ConfigError);
      assert.throws(() => rawConfigFromStackFile("config:\n  a: 1\n  a: 2\n"), ConfigError, "duplicate keys");
    });

    it("stackNameFromFile takes the stack name from Pulumi.<stack>.yaml", () => {
      assert.equal(stackNameFromFile("Pulumi.home-ops.yaml"), "home-ops");
      assert.equal(stackNameFromFile("/srv/infra/Pulumi.home-ops.yaml"), "home-ops");
      assert.equal(stackNameFromFile("Pulumi.lab.yml"), "lab");
      assert.throws(() => stackNameFromFile("Pulumi.yaml"), /Pulumi\.<stack>\.yaml/);
      assert.throws(() => stackNameFromFile("home-ops.yaml"), /not a stack file/);
    });
  });
});
