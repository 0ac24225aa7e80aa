/**
 * The pack's policies: each rule of rules/ wired as a mandatory resource or stack validation over
 * the raw properties (secrets kept as `Secret`, unknowns as sentinels; see values.ts).
 */
import type { Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { rawProps, Props } from "./values";
import { validateCiliumAcceleration, validateKubernetesProvider } from "./rules/kubernetes";
import { ResetSettings, ScriptReader, validateResets } from "./rules/reset";
import { validateCommandSecrets } from "./rules/secrets";
import { StackResource, StackViolation, validateInstallerImages, validateTalosPin } from "./rules/talos";

type ResourceRule = (type: string, props: Props) => string[];
type StackRule = (resources: readonly StackResource[]) => StackViolation[];

function resourcePolicy(name: string, description: string, rule: ResourceRule): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
      for (const message of rule(args.type, rawProps(args.props))) reportViolation(message);
    },
  };
}

function stackPolicy(name: string, description: string, rule: StackRule): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      const resources = args.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: rawProps(r.props),
      }));
      for (const v of rule(resources)) reportViolation(v.message, v.urn);
    },
  };
}

/** `reset`: the stack's reset list and nodes; `readScript`: the scripts commands name by path. */
export function homeOpsPolicies(reset: ResetSettings, readScript: ScriptReader): Policies {
  return [
    resourcePolicy(
      "cilium-acceleration-disabled",
      "Cilium's loadBalancer.acceleration is exactly 'disabled' (XDP breaks on the Mac mini NIC)",
      validateCiliumAcceleration,
    ),
    stackPolicy(
      "installer-image-from-schematic",
      "Every installer image is factory.talos.dev/installer/<the stack's schematic ID>:<vX.Y.Z> (metal-installer from Talos v1.14)",
      validateInstallerImages,
    ),
    resourcePolicy(
      "talos-version-pinned",
      "Node configs pin a full Talos version (TALOS_MINOR its minor) and a config contract not newer than it (TALOS_CONTRACT)",
      validateTalosPin,
    ),
    resourcePolicy(
      "no-secret-material-in-command-inputs",
      "A command's non-secret inputs carry no PEM blocks, kubeconfig/talosconfig, bundle keys or tokens",
      validateCommandSecrets,
    ),
    stackPolicy(
      "reset-names-its-node",
      "A command that can reset targets one node address, armed only for nodes in operations.resetOnDestroy",
      (resources) => validateResets(resources, reset, readScript),
    ),
    resourcePolicy(
      "kubernetes-provider-explicit-kubeconfig",
      "Every Kubernetes provider has an explicit kubeconfig (never the ambient one)",
      validateKubernetesProvider,
    ),
  ];
}
