// Composition root: load and validate the stack config, build the phases in order, export outputs.
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";
import { deployStack } from "./components/stack";

const { outputs } = deployStack(loadStackConfig(), loadStackSecrets());

export const clusterName = outputs.clusterName;
export const endpoint = outputs.endpoint;
export const vip = outputs.vip;
export const nodes = outputs.nodes;
export const schematicId = outputs.schematicId;
export const installerImage = outputs.installerImage;
export const talosVersion = outputs.talosVersion;
export const kubernetesVersion = outputs.kubernetesVersion;
export const ciliumVersion = outputs.ciliumVersion;
export const externalSecretsVersion = outputs.externalSecretsVersion;
export const connectVersion = outputs.connectVersion;
export const fluxVersion = outputs.fluxVersion;
export const fluxOperatorVersion = outputs.fluxOperatorVersion;
export const gitopsSource = outputs.gitopsSource;
export const longhornSsdMountPath = outputs.longhornSsdMountPath;
export const phasesCompleted = outputs.phasesCompleted;
export const talosconfigExpiry = outputs.talosconfigExpiry;
export const kubeconfigExpiry = outputs.kubeconfigExpiry;
export const talosconfig = outputs.talosconfig;
export const kubeconfig = outputs.kubeconfig;
