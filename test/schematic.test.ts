import { strict as assert } from "assert";
import {
  canonicalSchematicYaml,
  installerImage,
  renderSchematic,
  schematicId,
  schematicIdOf,
  schematicYaml,
  type ImageFactorySchematic,
} from "../talos/schematic";
import { homeOpsConfig, withTalosMinor } from "./helpers/stackConfigFixture";

const HOME_OPS_EXTENSIONS = [
  "siderolabs/iscsi-tools",
  "siderolabs/lldpd",
  "siderolabs/usb-modem-drivers",
  "siderolabs/thunderbolt",
];

/** The home-ops config with these extensions and no kernel args (a schematic of extensions only). */
function withExtensions(extensions: string[]) {
  const cfg = homeOpsConfig({ schematic: { extensions } });
  return { ...cfg, nodes: cfg.nodes.map((n) => ({ ...n, extraKernelArgs: [] })) };
}

describe("talos/schematic", () => {
  describe("renderSchematic", () => {
    it("lists the stack's official extensions, in order, and the kernel args every node has", () => {
      assert.deepEqual(renderSchematic(homeOpsConfig()), {
        customization: {
          extraKernelArgs: ["talos.logging.kernel=udp://172.29.51.1:514/"],
          systemExtensions: { officialExtensions: HOME_OPS_EXTENSIONS },
        },
      });
    });

    it("keeps kernel args that only some nodes have out of the (cluster-wide) schematic", () => {
      const cfg = homeOpsConfig();
      const nodes = cfg.nodes.map((n, i) =>
        i === 1 ? { ...n, extraKernelArgs: [...n.extraKernelArgs, "mitigations=off"] } : n,
      );
      assert.deepEqual(renderSchematic({ ...cfg, nodes }).customization.extraKernelArgs, [
        "talos.logging.kernel=udp://172.29.51.1:514/",
      ]);
      const none = cfg.nodes.map((n) => ({ ...n, extraKernelArgs: [] }));
      assert.equal(renderSchematic({ ...cfg, nodes: none }).customization.extraKernelArgs, undefined);
    });

    it("writes the home-ops schematic in canonical form, the URL plain (yaml.v3 quotes ': ' only)", () => {
      assert.equal(
        schematicYaml(homeOpsConfig()),
        [
          "customization:",
          "    extraKernelArgs:",
          "        - talos.logging.kernel=udp://172.29.51.1:514/",
          "    systemExtensions:",
          "        officialExtensions:",
          ...HOME_OPS_EXTENSIONS.map((e) => `            - ${e}`),
          "",
        ].join("\n"),
      );
      assert.throws(
        () =>
          schematicYaml({
            ...homeOpsConfig(),
            nodes: homeOpsConfig().nodes.map((n) => ({ ...n, extraKernelArgs: ["a: b"] })),
          }),
        /YAML quoting/,
      );
    });

    it("rejects an extension that is not an official `owner/name`", () => {
      assert.throws(() => renderSchematic(withExtensions(["lldpd"])), /"lldpd" is not an official extension name/);
      assert.throws(() => renderSchematic(withExtensions(["siderolabs/Bad Name"])), /not an official extension name/);
    });

    it("rejects duplicate extensions (the factory would hash them as a different schematic)", () => {
      assert.throws(
        () => renderSchematic(withExtensions(["siderolabs/lldpd", "siderolabs/lldpd"])),
        /duplicate entries \["siderolabs\/lldpd"\]/,
      );
    });
  });

  describe("schematicYaml", () => {
    it("is Image Factory's canonical form: 4-space indent, indented block list, trailing newline", () => {
      assert.equal(
        schematicYaml(withExtensions(HOME_OPS_EXTENSIONS)),
        "customization:\n" +
          "    systemExtensions:\n" +
          "        officialExtensions:\n" +
          "            - siderolabs/iscsi-tools\n" +
          "            - siderolabs/lldpd\n" +
          "            - siderolabs/usb-modem-drivers\n" +
          "            - siderolabs/thunderbolt\n",
      );
    });

    it("writes an empty customization as a flow mapping", () => {
      assert.equal(schematicYaml(withExtensions([])), "customization: {}\n");
    });
  });

  describe("schematicId", () => {
    it("reproduces the ID of the empty schematic", () => {
      assert.equal(schematicId(withExtensions([])), "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
    });

    // Published (schematic, ID) pairs. Facts only; sources:
    // - image-factory, pkg/schematic/schematic_test.go (TestID "empty" and "config1");
    // - bashfulrobot/libvirt-talos, README.md ("Schematic Ready": iscsi-tools + qemu-guest-agent);
    // - the qemu-guest-agent-only schematic used in many public Talos-on-Proxmox configs
    //   (e.g. installer images factory.talos.dev/installer/ce4c9805...:v1.10.5).
    const publishedVectors: ReadonlyArray<{
      name: string;
      schematic: ImageFactorySchematic;
      id: string;
    }> = [
      {
        name: "empty",
        schematic: { customization: {} },
        id: "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
      },
      {
        name: "extraKernelArgs noapic, nolapic (image-factory unit test)",
        schematic: {
          customization: { extraKernelArgs: ["noapic", "nolapic"] },
        },
        id: "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
      },
      {
        name: "siderolabs/iscsi-tools + siderolabs/qemu-guest-agent",
        schematic: {
          customization: {
            systemExtensions: {
              officialExtensions: ["siderolabs/iscsi-tools", "siderolabs/qemu-guest-agent"],
            },
          },
        },
        id: "dc7b152cb3ea99b821fcb7340ce7168313ce393d663740b791c36f6e95fc8586",
      },
      {
        name: "siderolabs/qemu-guest-agent",
        schematic: {
          customization: {
            systemExtensions: {
              officialExtensions: ["siderolabs/qemu-guest-agent"],
            },
          },
        },
        id: "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515",
      },
    ];
    for (const vector of publishedVectors) {
      it(`matches the published ID: ${vector.name}`, () => {
        assert.equal(schematicIdOf(vector.schematic), vector.id);
      });
    }

    it("treats empty lists like absent ones (omitempty)", () => {
      const id = schematicIdOf({
        customization: {
          extraKernelArgs: [],
          systemExtensions: { officialExtensions: [] },
        },
      });
      assert.equal(id, "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
    });

    it("depends on extension order, like the factory (no sorting)", () => {
      const forward = schematicId(withExtensions(["siderolabs/iscsi-tools", "siderolabs/qemu-guest-agent"]));
      const reversed = schematicId(withExtensions(["siderolabs/qemu-guest-agent", "siderolabs/iscsi-tools"]));
      assert.equal(forward, "dc7b152cb3ea99b821fcb7340ce7168313ce393d663740b791c36f6e95fc8586");
      assert.notEqual(reversed, forward);
    });

    it("is a 64-hex SHA-256 for the home-ops stack and independent of the Talos version", () => {
      const id = schematicId(homeOpsConfig());
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(schematicId(withTalosMinor(homeOpsConfig(), "v1.11")), id);
    });

    it("refuses values whose YAML form would need quoting (the offline hash would be wrong)", () => {
      assert.throws(
        () =>
          canonicalSchematicYaml({
            customization: { extraKernelArgs: ["a b"] },
          }),
        /would need YAML quoting/,
      );
      assert.throws(
        () =>
          canonicalSchematicYaml({
            customization: { extraKernelArgs: ["true"] },
          }),
        /would need YAML quoting/,
      );
      assert.throws(
        () => canonicalSchematicYaml({ customization: { extraKernelArgs: ["1"] } }),
        /would need YAML quoting/,
      );
    });
  });

  describe("installerImage", () => {
    it("is the factory installer of the schematic, tagged with the full Talos version", () => {
      const cfg = homeOpsConfig();
      assert.equal(installerImage(cfg), `factory.talos.dev/installer/${schematicId(cfg)}:v1.10.5`);
      const v111 = withTalosMinor(cfg, "v1.11");
      assert.equal(installerImage(v111), `factory.talos.dev/installer/${schematicId(cfg)}:v1.11.6`);
    });

    it("is never the extension-less ghcr.io image nor a disk-image URL", () => {
      const image = installerImage(homeOpsConfig());
      assert.doesNotMatch(image, /ghcr\.io|siderolabs\/talos|\/image\/|https?:|\.(iso|raw|qcow2|xz|zst)/);
    });
  });
});
