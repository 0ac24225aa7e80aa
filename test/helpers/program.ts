/** Evaluating the whole program under mocks, with fake 1Password items and canary secrets. */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { deployStack, StackOutputs } from "../../components/stack";
import { recorded, resetMocks, settle, MockWorld, RecordedResource } from "./mocks";
import { scratchProject } from "./simWorld";

/** Distinctive values for every secret input; none may show up anywhere but in secrets. */
export const CANARY = {
  opToken: "ops_CANARY_OP_TOKEN_5d1f0e",
  bundle: "cluster:\n  id: CANARY_TALOS_BUNDLE_7f3a9c\n  secret: CANARY_TALOS_SECRET_b2e4\n",
  talosconfig: "context: home-ops\ncontexts:\n  home-ops:\n    crt: CANARY_TALOSCONFIG_CRT_91ab\n",
  kubeconfig: "apiVersion: v1\nusers:\n- user:\n    client-key-data: CANARY_KUBECONFIG_KEY_44c1\n",
  connectToken: "CANARY_CONNECT_TOKEN_eyJhbGciOiJFUzI1NiJ9_1c2d",
  connectCredentials: JSON.stringify({
    verifier: { salt: "CANARY_SALT_6e6f", localHash: "CANARY_LOCALHASH_0a0b" },
    encCredentials: {
      kid: "localauthv2keykid",
      enc: "A256GCM",
      cty: "b5+jwk+json",
      iv: "CANARY_IV_3d3e",
      data: "CANARY_ENC_DATA_9f8e",
    },
    version: "2",
    deviceUuid: "CANARY_DEVICE_UUID_2b2c",
    uniqueKey: {
      alg: "A256GCM",
      ext: true,
      k: "CANARY_UNIQUE_KEY_7a7b",
      key_ops: ["decrypt", "encrypt"],
      kty: "oct",
      kid: "CANARY_KID_5c5d",
    },
  }),
  gitToken: "ghp_CANARY_GIT_TOKEN_8d8e",
  sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nCANARY_SSH_KEY_6f6f\n-----END OPENSSH PRIVATE KEY-----",
} as const;

/** Every canary string (and distinctive fragments of the structured ones). */
export const CANARY_FRAGMENTS: string[] = [
  CANARY.opToken,
  "CANARY_TALOS_BUNDLE_7f3a9c",
  "CANARY_TALOS_SECRET_b2e4",
  "CANARY_TALOSCONFIG_CRT_91ab",
  "CANARY_KUBECONFIG_KEY_44c1",
  CANARY.connectToken,
  "CANARY_ENC_DATA_9f8e",
  "CANARY_UNIQUE_KEY_7a7b",
  CANARY.gitToken,
  "CANARY_SSH_KEY_6f6f",
];

export const CANARY_WORLD: MockWorld = {
  commandStdout: (name) =>
    name.endsWith("-talos-secrets")
      ? CANARY.bundle
      : name.endsWith("-talosconfig")
        ? CANARY.talosconfig
        : name.endsWith("-kubeconfig")
          ? CANARY.kubeconfig
          : `${name} ok`,
  items: {
    "1Password Connect Credentials - home-ops": {
      files: [{ id: "f1", name: "1password-credentials.json", content: CANARY.connectCredentials, contentBase64: "" }],
    },
    "1Password Connect Token - home-ops": {
      sections: [
        {
          id: "s1",
          label: "",
          fields: [{ id: "t", label: "token", value: CANARY.connectToken, type: "CONCEALED", purpose: "" }],
        },
      ],
    },
    "GitOps deploy token": {
      username: "flux",
      sections: [
        {
          id: "s1",
          label: "",
          fields: [{ id: "t", label: "token", value: CANARY.gitToken, type: "CONCEALED", purpose: "" }],
        },
      ],
    },
    "GitOps deploy key": {
      privateKey: CANARY.sshKey,
      publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublicKeyIsNotSecret",
      sections: [
        {
          id: "s1",
          label: "",
          fields: [
            {
              id: "k",
              label: "known_hosts",
              value: "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
              type: "STRING",
              purpose: "",
            },
          ],
        },
      ],
    },
  },
};

export interface Evaluation {
  readonly stack: StackOutputs;
  readonly resources: RecordedResource[];
  /** Stack outputs with secrets still wrapped (value + isSecret). */
  readonly outputs: Record<string, { value: unknown; secret: boolean }>;
}

async function resolveOutput(v: unknown): Promise<{ value: unknown; secret: boolean }> {
  if (!pulumi.Output.isInstance(v)) return { value: v, secret: false };
  const secret = await pulumi.isSecret(v);

  const known = await (v as any).isKnown;
  const value = known ? await new Promise((resolve) => v.apply(resolve)) : undefined;
  return { value, secret };
}

/** One evaluation of the program (a `pulumi up`, or a preview when `preview`). */
export async function evaluate(
  cfg: StackConfig,
  opts: {
    preview?: boolean;
    world?: MockWorld;
    declaredBefore?: string[];
    /** The last update's phasesCompleted and fluxHandOff outputs (the hand-off to Flux). */
    completedBefore?: string[];
    fluxHandOffBefore?: Record<string, string>;
  } = {},
): Promise<Evaluation> {
  await resetMocks(opts.world ?? CANARY_WORLD, opts.preview ?? false, cfg.stack);
  const projectDir = scratchProject("homeops-mock-");
  try {
    const stack = deployStack(
      cfg,
      { onePasswordServiceAccountToken: pulumi.secret(CANARY.opToken) },
      {
        projectDir,
        declaredBefore: opts.declaredBefore,
        completedBefore: opts.completedBefore,
        fluxHandOffBefore: opts.fluxHandOffBefore,
      },
    );
    const outputs: Evaluation["outputs"] = {};
    for (const [k, v] of Object.entries(stack.outputs)) outputs[k] = await resolveOutput(v);
    await settle();
    return { stack, resources: [...recorded.resources], outputs };
  } finally {
    fs.rmSync(projectDir, { recursive: true, force: true });
  }
}

/**
 * Inputs by resource name, as the engine would diff them (ignoreChanges applied; `*` keeps every
 * stored input: pulumi v3.248.0 step_generator.go processIgnoreChanges, PropertyPath.Reset).
 */
export function diffableInputs(e: Evaluation): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const r of e.resources) {
    let inputs: Record<string, unknown> = JSON.parse(JSON.stringify(r.inputs));
    for (const path of r.ignoreChanges) {
      if (path === "*") {
        inputs = {};
        continue;
      }
      const [head, key] = path.split(".");
      if (key === undefined) delete inputs[head];
      else if (inputs[head] && typeof inputs[head] === "object") delete (inputs[head] as Record<string, unknown>)[key];
    }
    out.set(`${r.type} ${r.name}`, inputs);
  }
  return out;
}

export function changedResources(a: Evaluation, b: Evaluation): string[] {
  const ia = diffableInputs(a);
  const ib = diffableInputs(b);
  const names = new Set([...ia.keys(), ...ib.keys()]);
  return [...names].filter((n) => JSON.stringify(ia.get(n)) !== JSON.stringify(ib.get(n))).sort();
}
