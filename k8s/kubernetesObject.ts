/** A plain Kubernetes object as the builders in k8s/ return it (serialisable, no class instances). */
export interface KubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** A Helm release this program installs, as the offline render shows it (not a cluster object). */
export interface HelmReleaseDescriptor extends KubernetesObject {
  readonly apiVersion: "homeops.local/v1";
  readonly kind: "HelmRelease(pulumi)";
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    /** Chart name, or the full `oci://` reference for OCI charts. */
    readonly chart: string;
    /** Chart repository URL; undefined for OCI charts. */
    readonly repo?: string;
    readonly version: string;
    readonly values: unknown;
  };
}
