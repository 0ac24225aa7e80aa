/**
 * The policy pack (policy/): every rule with passing and failing resources, the real program's
 * resources (under mocks, secrets where the program marks them) passing every rule, and the
 * pack's wiring through @pulumi/policy's own analyze RPC handlers (secrets and unknowns as the
 * engine sends them).
 */
import { strict as assert } from "assert";
import { Secret } from "@pulumi/policy";
import type { Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as policyServer from "@pulumi/policy/server";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ENV } from "../policy/names";
import { homeOpsPolicies } from "../policy/policies";
import { keepSecretsMarked, Props, UNKNOWN } from "../policy/values";
import { validateCiliumAcceleration, validateKubernetesProvider } from "../policy/rules/kubernetes";
import {
  resetCapability,
  resetSettingsFromConfig,
  ResetSettings,
  ScriptReader,
  scriptFileReader,
  validateReset,
  validateResetList,
  validateResets,
} from "../policy/rules/reset";
import { secretMaterialIn, validateCommandSecrets } from "../policy/rules/secrets";
import { StackResource, validateInstallerImages, validateTalosPin } from "../policy/rules/talos";
import { ciliumRelease } from "../k8s/cilium";
import { externalSecretsRelease } from "../k8s/externalSecrets";
import * as path from "path";
import { homeOpsConfig } from "./helpers/stackConfigFixture";
import { evaluate } from "./helpers/program";
import { RecordedResource } from "./helpers/mocks";

const ROOT = path.join(__dirname, "..");
const COMMAND = "command:local:Command";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const K8S_PROVIDER = "pulumi:providers:kubernetes";

const SCHEMATIC_ID = "c4d52f2ca447870ce4f3555f9f72d6dd04239293a6e541f7943748569d17396b";
const OTHER_ID = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
const IMAGE = `factory.talos.dev/installer/${SCHEMATIC_ID}:v1.10.5`;

// Realistic secret material (not real secrets): what must never sit in a plain input.
const PEM_TEXT = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPOLICYTESTKEYMATERIALxyz\n-----END EC PRIVATE KEY-----\n";
const PEM_BASE64 = Buffer.from(PEM_TEXT).toString("base64");
const BUNDLE =
  "cluster:\n  id: POLICYTESTCLUSTERID\n  secret: POLICYTESTCLUSTERSECRET\nsecrets:\n  bootstraptoken: abc123.POLICYTESTTOKEN\n  secretboxencryptionsecret: POLICYTESTSECRETBOX\n";
const KUBECONFIG = `apiVersion: v1\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${PEM_BASE64}\n    client-key-data: POLICYTESTKUBEKEY\n`;
const TALOSCONFIG =
  "context: home-ops\ncontexts:\n  home-ops:\n    ca: POLICYTESTCA\n    crt: POLICYTESTCRT\n    key: POLICYTESTTALOSKEY\n";
const OP_TOKEN = "ops_eyJzaWduSW5BZGRyZXNzIjoicG9saWN5LXRlc3QifQPOLICYTESTTOKEN";
const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwb2xpY3ktdGVzdCJ9.POLICYTESTSIGNATURE";
const CONNECT_CREDENTIALS =
  '{"verifier":{"salt":"POLICYTESTSALT"},"encCredentials":{"data":"POLICYTESTDATA"},"version":"2"}';

const APPLY_SCRIPT =
  '#!/bin/sh\n"$TALOSCTL" gen config "$CLUSTER_NAME" "$CLUSTER_ENDPOINT" --talos-version "$TALOS_CONTRACT"\n';
/** The current reset mechanism: the delete script resets only a node the run-time list names. */
const RESET_SCRIPT =
  '#!/bin/sh\ncase " $RESET_ON_DESTROY " in\n  *" $NODE_HOSTNAME "*) ;;\n  *) exit 0 ;;\nesac\nrun "$TALOSCTL" "reset" "--nodes" "${NODE_ADDRESS}" "--endpoints" "${NODE_ADDRESS}" "--system-labels-to-wipe" "STATE" "--reboot" >/dev/null 2>"$WORK/reset.err" || exit 1\n';
/** Scripts the commands name by path, as the pack reads them from the repository. */
const SCRIPT_FILES: Record<string, string> = {
  "steps/apply-node.sh": APPLY_SCRIPT,
  "steps/node-reset.sh": RESET_SCRIPT,
};
const readScript: ScriptReader = (p) => SCRIPT_FILES[p];

/** A node's apply command as the program registers it (plan/talos.ts, components/steps.ts). */
function applyCommand(env: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Props {
  return {
    create: "steps/apply-node.sh",
    delete: "steps/node-reset.sh",
    interpreter: ["/bin/sh"],
    logging: "none",
    addPreviousOutputInEnv: false,
    stdin: new Secret(BUNDLE),
    environment: {
      STEP_ID: "apply-mini02",
      HOMEOPS_SETTINGS: ".homeops/home-ops/settings.env",
      CLUSTER_NAME: "home-ops",
      KUBERNETES_VERSION: "1.31.1",
      TALOS_MINOR: "v1.10",
      TALOS_CONTRACT: "v1.10",
      INSTALL_IMAGE: IMAGE,
      NODE_HOSTNAME: "mini02",
      NODE_ADDRESS: "172.29.51.12",
      NODE_PATCH: `machine:\n  install:\n    image: ${IMAGE}\n    disk: /dev/sda\n`,
      CONFIG_SHA256: "0".repeat(64),
      ...env,
    },
    ...extra,
  };
}

function schematicCommand(id: unknown = SCHEMATIC_ID): Props {
  return {
    create: '#!/bin/sh\ncurl -sf --data-binary "$SCHEMATIC_YAML" "$IMAGE_FACTORY/schematics"\n',
    environment: {
      SCHEMATIC_ID: id,
      SCHEMATIC_YAML: "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/lldpd\n",
      IMAGE_FACTORY: "https://factory.talos.dev",
    },
  };
}

function stack(...applies: Props[]): StackResource[] {
  return [
    { type: COMMAND, name: "talos-schematic", urn: "urn:schematic", props: schematicCommand() },
    ...applies.map((props, i) => ({ type: COMMAND, name: `talos-apply-${i}`, urn: `urn:apply-${i}`, props })),
  ];
}

const NODES = [
  { hostname: "mini01", address: "172.29.51.11" },
  { hostname: "mini02", address: "172.29.51.12" },
  { hostname: "mini03", address: "172.29.51.13" },
];
const NO_RESETS: ResetSettings = { resetOnDestroy: [], nodes: NODES };

describe("policy: talos-version-pinned", () => {
  it("passes a node apply pinning v1.10.5 with the config contract v1.10", () => {
    assert.deepEqual(validateTalosPin(COMMAND, applyCommand()), []);
  });

  it("passes home-ops upgraded to v1.14.1 that keeps its v1.10 contract (the contract does not follow the version)", () => {
    const image = `factory.talos.dev/metal-installer/${SCHEMATIC_ID}:v1.14.1`;
    assert.deepEqual(validateTalosPin(COMMAND, applyCommand({ INSTALL_IMAGE: image, TALOS_MINOR: "v1.14" })), []);
    assert.deepEqual(
      validateTalosPin(COMMAND, applyCommand({ INSTALL_IMAGE: image, TALOS_MINOR: "v1.14", TALOS_CONTRACT: "v1.14" })),
      [],
    );
  });

  it("ignores commands that configure no node, and other resource types", () => {
    assert.deepEqual(validateTalosPin(COMMAND, schematicCommand()), []);
    assert.deepEqual(validateTalosPin(RELEASE, { environment: { TALOS_MINOR: "" } }), []);
  });

  for (const [label, env, expected] of [
    ["a latest tag", { INSTALL_IMAGE: IMAGE.replace(":v1.10.5", ":latest") }, /does not pin a Talos version/],
    ["a minor-only tag", { INSTALL_IMAGE: IMAGE.replace(":v1.10.5", ":v1.10") }, /does not pin a Talos version/],
    ["no tag", { INSTALL_IMAGE: IMAGE.replace(":v1.10.5", "") }, /does not pin a Talos version/],
    ["an unknown image", { INSTALL_IMAGE: UNKNOWN }, /must be a plain, known installer image/],
    ["no installed minor", { TALOS_MINOR: undefined }, /TALOS_MINOR must be set to the minor of the installed/],
    ["an empty installed minor", { TALOS_MINOR: "" }, /TALOS_MINOR must be set to the minor of the installed/],
    ["another installed minor", { TALOS_MINOR: "v1.11" }, /'v1.11' is not the minor of the Talos version v1.10.5/],
    ["no config contract", { TALOS_CONTRACT: undefined }, /TALOS_CONTRACT \(the config contract.*must be set/],
    ["an empty config contract", { TALOS_CONTRACT: "" }, /TALOS_CONTRACT \(the config contract.*must be set/],
    ["an unsupported contract", { TALOS_CONTRACT: "v1.9" }, /'v1.9' is not a supported contract/],
    ["a full version as the contract", { TALOS_CONTRACT: "v1.10.5" }, /'v1.10.5' is not a supported contract/],
    [
      "a contract newer than the installed minor",
      { TALOS_CONTRACT: "v1.11" },
      /'v1.11' is newer than the installed Talos v1.10/,
    ],
  ] as const) {
    it(`fails ${label}`, () => {
      const problems = validateTalosPin(COMMAND, applyCommand(env));
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0], expected);
    });
  }
});

describe("policy: installer-image-from-schematic (stack)", () => {
  it("passes three applies whose images and patches use the schematic's ID at a pinned version", () => {
    assert.deepEqual(validateInstallerImages(stack(applyCommand(), applyCommand(), applyCommand())), []);
  });

  it("passes v1.14's metal installer of the schematic (the form v1.14 publishes)", () => {
    const image = `factory.talos.dev/metal-installer/${SCHEMATIC_ID}:v1.14.1`;
    const patch = `machine:\n  install:\n    image: ${image}\n`;
    assert.deepEqual(validateInstallerImages(stack(applyCommand({ INSTALL_IMAGE: image, NODE_PATCH: patch }))), []);
  });

  const wrongImages: [string, string][] = [
    ["ghcr.io's installer (drops every extension)", "ghcr.io/siderolabs/installer:v1.10.5"],
    ["another schematic's image", `factory.talos.dev/installer/${OTHER_ID}:v1.10.5`],
    ["a latest tag", `factory.talos.dev/installer/${SCHEMATIC_ID}:latest`],
    ["the metal installer path before v1.14", `factory.talos.dev/metal-installer/${SCHEMATIC_ID}:v1.10.5`],
    ["the generic installer path on v1.14", `factory.talos.dev/installer/${SCHEMATIC_ID}:v1.14.1`],
  ];
  for (const [label, image] of wrongImages) {
    it(`fails ${label} in INSTALL_IMAGE, blaming the resource`, () => {
      const violations = validateInstallerImages(stack(applyCommand(), applyCommand({ INSTALL_IMAGE: image })));
      assert.ok(violations.length >= 1);
      for (const v of violations) {
        assert.equal(v.urn, "urn:apply-1");
        assert.match(v.message, /talos-apply-1: environment\.INSTALL_IMAGE names installer image/);
      }
      assert.ok(violations.some((v) => v.message.includes(image)));
    });
  }

  it("fails an OS image named only inside a node patch", () => {
    const patch = "machine:\n  install:\n    image: ghcr.io/siderolabs/talos:v1.10.5\n";
    const violations = validateInstallerImages(stack(applyCommand({ NODE_PATCH: patch })));
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        `talos-apply-0: environment.NODE_PATCH names installer image 'ghcr.io/siderolabs/talos:v1.10.5'; expected factory.talos.dev/installer/${SCHEMATIC_ID}:<vX.Y.Z> (metal-installer from v1.14)`,
      ],
    );
  });

  it("fails when the stack has no schematic step to derive the image from", () => {
    const violations = validateInstallerImages([{ type: COMMAND, name: "apply", props: applyCommand() }]);
    assert.ok(violations.length > 0);
    assert.ok(violations.every((v) => v.message.endsWith("the stack has no schematic step to derive it from")));
  });

  it("fails two schematic IDs, and a schematic ID that is not 64 hex", () => {
    const two = [...stack(applyCommand()), { type: COMMAND, name: "other", props: schematicCommand(OTHER_ID) }];
    assert.ok(
      validateInstallerImages(two).some(
        (v) => v.message === "2 different schematic IDs in the stack: the installer image must have one",
      ),
    );
    const bad = validateInstallerImages([{ type: COMMAND, name: "s", urn: "urn:s", props: schematicCommand("abc") }]);
    assert.deepEqual(bad, [
      { urn: "urn:s", message: "s: environment.SCHEMATIC_ID must be a plain 64-hex schematic ID" },
    ]);
  });
});

describe("policy: cilium-acceleration-disabled", () => {
  const release = (values: unknown, extra: Record<string, unknown> = {}): Props => ({
    name: "cilium",
    namespace: "kube-system",
    chart: "cilium",
    version: "1.17.6",
    values,
    ...extra,
  });
  const realValues = ciliumRelease(homeOpsConfig()).spec.values as Record<string, unknown>;

  it("passes the program's own Cilium values", () => {
    assert.deepEqual(validateCiliumAcceleration(RELEASE, release(realValues)), []);
  });

  it("ignores other releases", () => {
    const eso = externalSecretsRelease(homeOpsConfig());
    assert.deepEqual(validateCiliumAcceleration(RELEASE, { name: eso.metadata.name, chart: eso.spec.chart }), []);
  });

  const mustBeDisabled = (found: string) =>
    `loadBalancer.acceleration is ${found}; it must be "disabled" (XDP breaks on the Mac mini NIC)`;
  for (const [label, values, expected] of [
    ["native acceleration", { ...realValues, loadBalancer: { acceleration: "native" } }, mustBeDisabled('"native"')],
    [
      "best-effort acceleration",
      { ...realValues, loadBalancer: { acceleration: "best-effort" } },
      mustBeDisabled('"best-effort"'),
    ],
    [
      "no loadBalancer section (the chart default is not guaranteed)",
      { ...realValues, loadBalancer: undefined },
      mustBeDisabled("undefined"),
    ],
    ["no values at all", undefined, mustBeDisabled("undefined")],
    [
      "acceleration through extraArgs",
      { ...realValues, extraArgs: ["--bpf-lb-acceleration=native"] },
      'extraArgs entry "--bpf-lb-acceleration=native" overrides the LB acceleration; remove it',
    ],
    [
      "the XDP prefilter",
      { ...realValues, prefilter: { enabled: true } },
      "prefilter.enabled is true; the XDP prefilter must stay off",
    ],
    [
      "an unknown acceleration",
      { loadBalancer: { acceleration: UNKNOWN } },
      "values must be plain and known at preview, or the acceleration cannot be checked",
    ],
  ] as const) {
    it(`fails ${label}`, () => {
      assert.deepEqual(validateCiliumAcceleration(RELEASE, release(values)), [expected]);
    });
  }

  it("fails a release found by its chart name, and value files that could override the values", () => {
    const problems = validateCiliumAcceleration(
      RELEASE,
      release(realValues, { name: "cni", valueYamlFiles: [{ path: "cilium.yaml" }] }),
    );
    assert.deepEqual(problems, [
      "valueYamlFiles could override the acceleration: set Cilium's values only in `values`",
    ]);
  });
});

describe("policy: no-secret-material-in-command-inputs", () => {
  it("passes a node apply whose bundle is on a secret stdin, and a secret 1Password token", () => {
    const props = applyCommand({ [ENV.onePasswordToken]: new Secret(OP_TOKEN) });
    assert.deepEqual(validateCommandSecrets(COMMAND, props), []);
  });

  it("skips values unknown during a preview, and other resource types", () => {
    assert.deepEqual(validateCommandSecrets(COMMAND, applyCommand({ NODE_PATCH: UNKNOWN }, { stdin: UNKNOWN })), []);
    assert.deepEqual(validateCommandSecrets(RELEASE, { values: { key: PEM_TEXT } }), []);
  });

  const cases: [string, Record<string, unknown>, Record<string, unknown>, string, string][] = [
    ["a PEM block in a script", {}, { create: `cat <<EOF\n${PEM_TEXT}EOF\n` }, "create", "a PEM block"],
    ["a base64 PEM in the environment", { CA: PEM_BASE64 }, {}, "environment.CA", "a base64-encoded PEM block"],
    [
      "a kubeconfig in the environment",
      { KC: KUBECONFIG.replace(PEM_BASE64, "x") },
      {},
      "environment.KC",
      "kubeconfig client credentials",
    ],
    ["a talosconfig in the environment", { TC: TALOSCONFIG }, {}, "environment.TC", "a talosconfig"],
    ["the bundle on a plain stdin", {}, { stdin: BUNDLE }, "stdin", "Talos secrets-bundle keys"],
    [
      "a full machine config in NODE_PATCH",
      { NODE_PATCH: "cluster:\n  secretboxEncryptionSecret: POLICYTESTSECRETBOX\n" },
      {},
      "environment.NODE_PATCH",
      "Talos secrets-bundle keys",
    ],
    ["trustdinfo", { X: "trustdinfo:\n  token: POLICYTESTTRUSTD\n" }, {}, "environment.X", "Talos secrets-bundle keys"],
    [
      "a service-account token under another name",
      { TOKEN: OP_TOKEN },
      {},
      "environment.TOKEN",
      "a 1Password service-account token",
    ],
    [
      "an inline token assignment",
      {},
      { create: "OP_SERVICE_ACCOUNT_TOKEN=POLICYTESTINLINE op read x\n" },
      "create",
      "a plain OP_SERVICE_ACCOUNT_TOKEN assignment",
    ],
    ["Connect credentials", { CREDS: CONNECT_CREDENTIALS }, {}, "environment.CREDS", "1Password Connect credentials"],
    ["a JWT in triggers", {}, { triggers: [JWT] }, "triggers[0]", "a JWT"],
  ];
  for (const [label, env, extra, path, kind] of cases) {
    it(`fails ${label}, naming the input but never the value`, () => {
      const problems = validateCommandSecrets(COMMAND, applyCommand(env, extra));
      assert.deepEqual(problems, [`${path} carries ${kind} in plain text: pass it on stdin or as a Pulumi secret`]);
      for (const marker of ["POLICYTEST", "MHcCAQEE", PEM_BASE64.slice(0, 30), "eyJ"]) {
        assert.ok(!problems[0].includes(marker), `message echoes ${marker}`);
      }
    });
  }

  it("fails a 1Password token in the environment that is not a Pulumi secret", () => {
    const problems = validateCommandSecrets(COMMAND, applyCommand({ [ENV.onePasswordToken]: "not-a-token-shape" }));
    assert.deepEqual(problems, [
      "environment.OP_SERVICE_ACCOUNT_TOKEN is not a Pulumi secret: wrap it with pulumi.secret",
    ]);
    assert.ok(!problems[0].includes("not-a-token-shape"));
  });

  it("does not take ordinary script text, patches or versions for secrets", () => {
    for (const text of [APPLY_SCRIPT, RESET_SCRIPT, IMAGE, "key: value", "contexts: []", "ops_short", "eyJ.eyJ.x"]) {
      assert.equal(secretMaterialIn(text), undefined, text);
    }
  });
});

describe("policy: reset-names-its-node", () => {
  const reset = (props: Props, settings: ResetSettings = NO_RESETS) =>
    validateReset(COMMAND, props, settings, readScript);
  const UNGATED = '"$TALOSCTL" reset --nodes "${NODE_ADDRESS}" --system-labels-to-wipe STATE --reboot\n';

  it("passes a node apply whose delete script resets its one address only when the run-time list names it", () => {
    assert.deepEqual(resetCapability(applyCommand(), readScript), {
      resets: [{ script: "delete", nodes: "172.29.51.12", wipes: [] }],
      unreadable: [],
      armed: "listed",
      hostname: "mini02",
    });
    assert.deepEqual(reset(applyCommand()), []);
    assert.deepEqual(reset(applyCommand(), { resetOnDestroy: ["mini02"], nodes: NODES }), []);
  });

  it("fails a delete that resets without consulting the list, unless the list names the node", () => {
    const props = applyCommand({}, { delete: UNGATED });
    assert.equal(resetCapability(props, readScript).armed, "always");
    assert.deepEqual(reset(props, { resetOnDestroy: ["mini03"], nodes: NODES }), [
      "reset of mini02 (172.29.51.12) runs whatever homeops:operations.resetOnDestroy [mini03] says, and it does not name mini02",
    ]);
    assert.deepEqual(reset(props, { resetOnDestroy: ["mini02"], nodes: NODES }), []);
  });

  it("fails a command carrying the reset list in its own inputs (a delete would run with the stored copy)", () => {
    const props = applyCommand({ RESET_ON_DESTROY: "mini02" });
    assert.equal(resetCapability(props, readScript).armed, "always");
    assert.equal(reset(props).length, 1);
  });

  it("fails a reset without --nodes (every node of the talosconfig)", () => {
    const props = applyCommand({}, { delete: '"$TALOSCTL" reset --system-labels-to-wipe STATE --reboot\n' });
    assert.deepEqual(reset(props), [
      "talosctl reset in delete has no --nodes: it would reset every node of the talosconfig",
    ]);
  });

  for (const [label, nodes, shown] of [
    ["two addresses", "172.29.51.11,172.29.51.12", "172.29.51.11,172.29.51.12"],
    ["a variable that is not set", "${ALL_NODES}", "<ALL_NODES: not a known plain value>"],
    ["a hostname", "mini02", "mini02"],
  ] as const) {
    it(`fails --nodes resolving to ${label}`, () => {
      const props = applyCommand({}, { delete: `talosctl reset --nodes ${nodes} --reboot` });
      assert.deepEqual(reset(props), [
        `talosctl reset in delete targets '${shown}': it must resolve to exactly one node address`,
      ]);
    });
  }

  it("fails a NODE_HOSTNAME that is not the node at the reset address (the list is matched by hostname)", () => {
    assert.deepEqual(reset(applyCommand({ NODE_HOSTNAME: "mini03" })), [
      "NODE_HOSTNAME mini03 is not the node at 172.29.51.12 (mini02): the reset list is matched by hostname",
    ]);
    assert.deepEqual(reset(applyCommand({ NODE_ADDRESS: "172.29.51.99" })), [
      "talosctl reset in delete targets 172.29.51.99, which is not a node of the stack",
    ]);
  });

  it("counts a reset in a create script as always armed", () => {
    const props = applyCommand({}, { create: "talosctl reset \\\n  --nodes=172.29.51.11 --reboot\n" });
    const capability = resetCapability(props, readScript);
    assert.equal(capability.armed, "always");
    assert.deepEqual(
      capability.resets.map((r) => [r.script, r.nodes]),
      [
        ["create", "172.29.51.11"],
        ["delete", "172.29.51.12"],
      ],
    );
    assert.deepEqual(reset(props, { resetOnDestroy: ["mini02"], nodes: NODES }), [
      "NODE_HOSTNAME mini02 is not the node at 172.29.51.11 (mini01): the reset list is matched by hostname",
    ]);
  });

  it("does not take a message that tells the operator to run talosctl reset for a reset", () => {
    const props = applyCommand(
      {},
      { create: 'fail "wipe it with talosctl reset --nodes $NODE_ADDRESS and run again"\n' },
    );
    assert.deepEqual(resetCapability(props, readScript).resets, [
      { script: "delete", nodes: "172.29.51.12", wipes: [] },
    ]);
  });

  const WIPES = "would wipe more than STATE and EPHEMERAL";
  const wiping = (flags: string, env: Record<string, unknown> = {}) =>
    reset(
      applyCommand(env, {
        delete: `run "$TALOSCTL" "reset" "--nodes" "\${NODE_ADDRESS}" "--system-labels-to-wipe" "STATE" ${flags} "--reboot" >/dev/null\n`,
      }),
      { resetOnDestroy: ["mini02"], nodes: NODES },
    );
  for (const [label, flags, env, shown] of [
    ["a user disk", '"--user-disks-to-wipe" "/dev/sda"', {}, "--user-disks-to-wipe /dev/sda (a user disk)"],
    ["a user disk (--flag=value)", "--user-disks-to-wipe=/dev/sda", {}, "--user-disks-to-wipe /dev/sda (a user disk)"],
    ["the user-disks wipe mode", '"--wipe-mode" "user-disks"', {}, "--wipe-mode user-disks"],
    ["an explicit whole-disk wipe mode", "--wipe-mode=all", {}, "--wipe-mode all"],
    [
      "a user volume label",
      '"--system-labels-to-wipe" "u-longhorn"',
      {},
      "--system-labels-to-wipe u-longhorn (a user volume)",
    ],
    [
      "a user volume in a list",
      "--system-labels-to-wipe=EPHEMERAL,u-longhorn",
      {},
      "--system-labels-to-wipe u-longhorn (a user volume)",
    ],
    [
      "a user volume through the environment",
      '"--system-labels-to-wipe" "${LABEL}"',
      { LABEL: "u-longhorn" },
      "--system-labels-to-wipe u-longhorn (a user volume)",
    ],
    ["another system volume", '"--system-labels-to-wipe" "META"', {}, "--system-labels-to-wipe META"],
  ] as const) {
    it(`fails a reset that would wipe ${label} (the USB SSD holds Longhorn's data)`, () => {
      assert.deepEqual(wiping(flags, env), [
        `talosctl reset in delete ${WIPES}: ${shown}; a safe reset never wipes a user disk or user volume (the USB SSD holds Longhorn's data)`,
      ]);
    });
  }

  it("passes a reset of STATE and EPHEMERAL, with or without --wipe-mode system-disk", () => {
    assert.deepEqual(wiping('"--system-labels-to-wipe" "EPHEMERAL"'), []);
    assert.deepEqual(wiping('"--system-labels-to-wipe" "EPHEMERAL" "--wipe-mode" "system-disk"'), []);
  });

  it("matches the reset list by exact hostname: listing mini10 never arms mini1", () => {
    const nodes = [
      { hostname: "mini1", address: "172.29.51.12" },
      { hostname: "mini10", address: "172.29.51.13" },
    ];
    const props = applyCommand({ NODE_HOSTNAME: "mini1" }, { delete: UNGATED });
    assert.deepEqual(reset(props, { resetOnDestroy: ["mini10"], nodes }), [
      "reset of mini1 (172.29.51.12) runs whatever homeops:operations.resetOnDestroy [mini10] says, and it does not name mini1",
    ]);
  });

  it("fails a script it cannot read, and ignores commands that cannot reset", () => {
    assert.deepEqual(reset(applyCommand({}, { delete: "steps/missing.sh" })), [
      "cannot read steps/missing.sh to check it for talosctl reset",
    ]);
    assert.deepEqual(resetCapability(schematicCommand(), readScript), {
      resets: [],
      unreadable: [],
      armed: "never",
      hostname: undefined,
    });
  });

  it("fails a reset list naming anything but the stack's nodes, once for the stack", () => {
    const settings = { resetOnDestroy: ["mini02", "*", "mini09"], nodes: NODES };
    assert.deepEqual(validateResetList(settings), [
      "homeops:operations.resetOnDestroy names '*', which is not a node of the stack",
      "homeops:operations.resetOnDestroy names 'mini09', which is not a node of the stack",
    ]);
    const resources = [
      { type: COMMAND, name: "talos-apply-mini02", urn: "urn:a", props: applyCommand({}, { delete: UNGATED }) },
    ];
    assert.deepEqual(validateResets(resources, { ...settings, resetOnDestroy: ["mini09"] }, readScript), [
      { message: "homeops:operations.resetOnDestroy names 'mini09', which is not a node of the stack" },
      {
        urn: "urn:a",
        message:
          "talos-apply-mini02: reset of mini02 (172.29.51.12) runs whatever homeops:operations.resetOnDestroy [mini09] says, and it does not name mini02",
      },
    ]);
  });

  it("reads the committed scripts from the repository, and nothing outside it", () => {
    const files = scriptFileReader(ROOT);
    assert.match(files("steps/node-reset.sh") ?? "", /"\$TALOSCTL" "reset" "--nodes" "\$\{NODE_ADDRESS\}"/);
    assert.equal(files("../../etc/passwd.sh"), undefined);
    assert.equal(files("steps/missing.sh"), undefined);
  });

  it("reads the reset list and nodes from the engine's PULUMI_CONFIG; unreadable means none", () => {
    const config = JSON.stringify({
      "homeops:operations": JSON.stringify({ resetOnDestroy: ["mini02"] }),
      "homeops:nodes": JSON.stringify(NODES.map((n) => ({ ...n, role: "controlplane" }))),
      "homeops:onepasswordServiceAccountToken": OP_TOKEN,
    });
    assert.deepEqual(resetSettingsFromConfig(config), { resetOnDestroy: ["mini02"], nodes: NODES });
    assert.deepEqual(resetSettingsFromConfig(undefined), { resetOnDestroy: [], nodes: undefined });
    assert.deepEqual(resetSettingsFromConfig("{not json"), { resetOnDestroy: [], nodes: undefined });
    assert.deepEqual(resetSettingsFromConfig(JSON.stringify({ "homeops:operations": "{}" })).resetOnDestroy, []);
  });
});

describe("policy: kubernetes-provider-explicit-kubeconfig", () => {
  it("passes a secret kubeconfig, and one unknown during a first preview", () => {
    for (const kubeconfig of [new Secret(KUBECONFIG), UNKNOWN, new Secret(UNKNOWN), "/etc/home-ops/kubeconfig"]) {
      assert.deepEqual(validateKubernetesProvider(K8S_PROVIDER, { kubeconfig, enableServerSideApply: "true" }), []);
    }
  });

  it("fails a default provider (no kubeconfig) and an empty one", () => {
    for (const props of [
      { version: "4.34.2" },
      { kubeconfig: "" },
      { kubeconfig: new Secret(" ") },
      { kubeconfig: null },
    ]) {
      assert.deepEqual(validateKubernetesProvider(K8S_PROVIDER, props), [
        "no explicit kubeconfig: it would use the ambient ~/.kube/config or KUBECONFIG; pass the cluster's kubeconfig",
      ]);
    }
  });

  it("ignores other providers", () => {
    assert.deepEqual(validateKubernetesProvider("pulumi:providers:command", {}), []);
  });
});

const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
const wireSecret = (value: unknown) => ({ ...SECRET_SIG, value });
const isWireSecret = (v: any) =>
  v !== null && typeof v === "object" && Object.keys(SECRET_SIG).every((k) => v[k] === (SECRET_SIG as any)[k]);

/** A recorded resource's inputs as a policy sees them: every value sent as a secret is a `Secret`. */
function policyProps(r: RecordedResource): Props {
  const unwrap = (v: any): any => (isWireSecret(v) ? unwrap(v.value) : v);
  const props = JSON.parse(JSON.stringify(r.inputs), (_key, v) => (isWireSecret(v) ? new Secret(unwrap(v)) : v));
  for (const path of r.secretPaths) {
    const parts = path.split(".");
    const parent = parts.slice(0, -1).reduce((node, key) => node[key], props);
    const last = parts[parts.length - 1];
    if (!(parent[last] instanceof Secret)) parent[last] = new Secret(parent[last]);
  }
  return props;
}

function programResources(resources: RecordedResource[]): StackResource[] {
  return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: policyProps(r) }));
}

function allViolations(resources: StackResource[], reset: ResetSettings): string[] {
  const rules = [validateTalosPin, validateCiliumAcceleration, validateCommandSecrets, validateKubernetesProvider];
  return [
    ...resources.flatMap((r) => rules.flatMap((rule) => rule(r.type, r.props)).map((m) => `${r.name}: ${m}`)),
    ...validateInstallerImages(resources).map((v) => v.message),
    ...validateResets(resources, reset, scriptFileReader(ROOT)).map((v) => v.message),
  ];
}

describe("policy: the real program's resources", function () {
  this.timeout(120000);

  it("pass every rule (home-ops, every phase, secrets where the program marks them)", async () => {
    const resources = programResources((await evaluate(homeOpsConfig())).resources);
    const types = new Set(resources.map((r) => r.type));
    for (const t of [COMMAND, RELEASE, K8S_PROVIDER]) assert.ok(types.has(t), `no ${t} in the program`);
    const resets = resources.map((r) => resetCapability(r.props, scriptFileReader(ROOT)));
    assert.equal(resets.filter((c) => c.armed === "listed").length, 3, "every node's apply can reset, by the list");
    assert.ok(resets.every((c) => c.armed !== "always"));
    assert.deepEqual(allViolations(resources, NO_RESETS), []);
  });

  it("the program's resets wipe STATE and EPHEMERAL only; the same program wiping the USB SSD is refused", async () => {
    const resources = programResources((await evaluate(homeOpsConfig())).resources);
    const files = scriptFileReader(ROOT);
    const resets = resources.flatMap((r) => resetCapability(r.props, files).resets);
    assert.equal(resets.length, 3);
    assert.deepEqual(
      resets.flatMap((r) => r.wipes),
      [],
    );
    const wipingSsd: ScriptReader = (p) =>
      files(p)?.replace(
        '"--system-labels-to-wipe" "EPHEMERAL"',
        '"--system-labels-to-wipe" "EPHEMERAL" "--user-disks-to-wipe" "/dev/sda"',
      );
    const refused = validateResets(resources, NO_RESETS, wipingSsd).map((v) => v.message);
    assert.equal(refused.length, 3, refused.join("\n"));
    for (const m of refused)
      assert.match(m, /would wipe more than STATE and EPHEMERAL: --user-disks-to-wipe \/dev\/sda/);
  });

  it("pass with a reset list naming a node, and fail one naming no node of the stack", async () => {
    const cfg = homeOpsConfig({
      operations: { resetOnDestroy: ["mini02"], adoptHelmReleases: [], handedOffToFlux: false },
    });
    const resources = programResources((await evaluate(cfg)).resources);
    assert.deepEqual(allViolations(resources, { resetOnDestroy: ["mini02"], nodes: NODES }), []);
    assert.deepEqual(allViolations(resources, { resetOnDestroy: ["mini2"], nodes: NODES }), [
      "homeops:operations.resetOnDestroy names 'mini2', which is not a node of the stack",
    ]);
  });

  it("would be caught with the 1Password token or a stdin not marked secret, or an ungated reset", async () => {
    const resources = programResources((await evaluate(homeOpsConfig())).resources);
    const reveal = (v: unknown): unknown => (v instanceof Secret ? reveal(v.value) : v);
    const changed = resources.map((r) => {
      const props: Record<string, any> = { ...r.props, stdin: reveal(r.props.stdin) };
      const env = reveal(props.environment) as Record<string, unknown> | undefined;
      if (env) props.environment = { ...env, [ENV.onePasswordToken]: reveal(env[ENV.onePasswordToken]) };
      if (props.delete === "steps/node-reset.sh") props.delete = '"$TALOSCTL" reset --nodes "$NODE_ADDRESS"';
      return { ...r, props };
    });
    const violations = allViolations(changed, { resetOnDestroy: ["mini03"], nodes: NODES });
    const expected = `talos-talos-secrets: environment.${ENV.onePasswordToken} is not a Pulumi secret: wrap it with pulumi.secret`;
    assert.ok(violations.includes(expected), violations.join("\n"));
    assert.ok(violations.some((v) => v.includes(": stdin carries kubeconfig client credentials in plain text")));
    assert.deepEqual(
      violations.filter((v) => v.includes("reset of")),
      ["mini01 (172.29.51.11)", "mini02 (172.29.51.12)"].map(
        (n) =>
          `talos-apply-${n.slice(0, 6)}: reset of ${n} runs whatever homeops:operations.resetOnDestroy [mini03] says, and it does not name ${n.slice(0, 6)}`,
      ),
    );
  });
});

// The wiring, through @pulumi/policy's own RPC handlers with requests shaped as the engine sends them.
const server = policyServer as unknown as Record<string, (...args: unknown[]) => (call: unknown, cb: unknown) => void>;

function analyzerResource<T extends analyzerpb.AnalyzeRequest | analyzerpb.AnalyzerResource>(
  message: T,
  type: string,
  name: string,
  props: Record<string, unknown>,
): T {
  message.setType(type);
  message.setName(name);
  message.setUrn(`urn:pulumi:home-ops::homeops::${type}::${name}`);
  message.setProperties(Struct.fromJavaScript(props as any));
  message.setOptions(new analyzerpb.AnalyzerResourceOptions());
  return message;
}

function diagnostics(handler: (call: unknown, cb: unknown) => void, request: unknown): Promise<string[]> {
  return new Promise((resolve, reject) =>
    handler({ request }, (err: Error | undefined, response: analyzerpb.AnalyzeResponse) =>
      err ? reject(err) : resolve(response.getDiagnosticsList().map((d) => `${d.getPolicyname()}: ${d.getMessage()}`)),
    ),
  );
}

describe("policy: the pack's wiring (@pulumi/policy analyze handlers)", () => {
  const policies: Policies = homeOpsPolicies(NO_RESETS, readScript);
  const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
  const stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);
  before(() => keepSecretsMarked());

  it("declares every rule mandatory", () => {
    assert.deepEqual(
      policies.map((p) => [p.name, p.enforcementLevel]),
      [
        ["cilium-acceleration-disabled", "mandatory"],
        ["installer-image-from-schematic", "mandatory"],
        ["talos-version-pinned", "mandatory"],
        ["no-secret-material-in-command-inputs", "mandatory"],
        ["reset-names-its-node", "mandatory"],
        ["kubernetes-provider-explicit-kubeconfig", "mandatory"],
      ],
    );
  });

  const analyze = (type: string, props: Record<string, unknown>) =>
    diagnostics(
      server.makeAnalyzeRpcFun("home-ops", "0.1.0", "mandatory", resourcePolicies),
      analyzerResource(new analyzerpb.AnalyzeRequest(), type, "r", props),
    );
  const wireApply = (env: Record<string, unknown>, stdin: unknown) => ({
    create: APPLY_SCRIPT,
    delete: RESET_SCRIPT,
    stdin,
    environment: { ...(applyCommand().environment as Record<string, unknown>), ...env },
  });

  it("sees secrets as secrets: a secret bundle and token pass, the same values in plain text fail", async () => {
    assert.deepEqual(
      await analyze(COMMAND, wireApply({ [ENV.onePasswordToken]: wireSecret(OP_TOKEN) }, wireSecret(BUNDLE))),
      [],
    );
    const plain = await analyze(COMMAND, wireApply({ [ENV.onePasswordToken]: OP_TOKEN }, BUNDLE));
    assert.deepEqual(
      plain.map((d) => d.split("\n")[1]).sort(),
      [
        "stdin carries Talos secrets-bundle keys in plain text: pass it on stdin or as a Pulumi secret",
        "environment.OP_SERVICE_ACCOUNT_TOKEN carries a 1Password service-account token in plain text: pass it on stdin or as a Pulumi secret",
        "environment.OP_SERVICE_ACCOUNT_TOKEN is not a Pulumi secret: wrap it with pulumi.secret",
      ].sort(),
    );
    assert.ok(plain.every((d) => d.startsWith("no-secret-material-in-command-inputs: ")));
  });

  it("judges what is known when some inputs are unknown (no advisory skip)", async () => {
    const unknownStdin = wireApply({ NODE_PATCH: UNKNOWN, INSTALL_IMAGE: IMAGE.replace("v1.10.5", "latest") }, UNKNOWN);
    const found = await analyze(COMMAND, unknownStdin);
    assert.deepEqual(
      found.map((d) => d.split("\n")[0]),
      [
        "talos-version-pinned: Node configs pin a full Talos version (TALOS_MINOR its minor) and a config contract not newer than it (TALOS_CONTRACT)",
      ],
    );
  });

  it("fails a default Kubernetes provider and passes a secret kubeconfig", async () => {
    assert.equal((await analyze(K8S_PROVIDER, { version: "4.34.2" })).length, 1);
    assert.deepEqual(await analyze(K8S_PROVIDER, { kubeconfig: wireSecret(KUBECONFIG) }), []);
  });

  it("runs the installer-image stack policy over every resource, blaming the resource", async () => {
    const request = new analyzerpb.AnalyzeStackRequest();
    request.setResourcesList([
      analyzerResource(new analyzerpb.AnalyzerResource(), COMMAND, "schematic", schematicCommand()),
      analyzerResource(
        new analyzerpb.AnalyzerResource(),
        COMMAND,
        "apply",
        wireApply({ INSTALL_IMAGE: "ghcr.io/siderolabs/installer:v1.10.5" }, wireSecret(BUNDLE)),
      ),
    ]);
    const handler = server.makeAnalyzeStackRpcFun("home-ops", "0.1.0", "mandatory", stackPolicies);
    const found = await new Promise<analyzerpb.AnalyzeDiagnostic[]>((resolve, reject) =>
      handler({ request }, (err: Error | undefined, r: analyzerpb.AnalyzeResponse) =>
        err ? reject(err) : resolve(r.getDiagnosticsList()),
      ),
    );
    assert.deepEqual(
      found.map((d) => [d.getPolicyname(), d.getUrn(), d.getMessage().split("\n")[1]]),
      [
        [
          "installer-image-from-schematic",
          `urn:pulumi:home-ops::homeops::${COMMAND}::apply`,
          `apply: environment.INSTALL_IMAGE names installer image 'ghcr.io/siderolabs/installer:v1.10.5'; expected factory.talos.dev/installer/${SCHEMATIC_ID}:<vX.Y.Z> (metal-installer from v1.14)`,
        ],
      ],
    );
  });
});
