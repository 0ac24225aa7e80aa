import type { HelmReleaseDescriptor } from "./kubernetesObject";

/** Helm chart versions are bare semver ("1.17.6"); accept a stack value written as "v1.17.6". */
export function chartVersion(version: string): string {
  return version.trim().replace(/^v(?=\d)/, "");
}

export function helmReleaseDescriptor(args: {
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly repo?: string;
  readonly version: string;
  readonly values: unknown;
}): HelmReleaseDescriptor {
  return {
    apiVersion: "homeops.local/v1",
    kind: "HelmRelease(pulumi)",
    metadata: { name: args.name, namespace: args.namespace },
    spec: {
      chart: args.chart,
      ...(args.repo !== undefined ? { repo: args.repo } : {}),
      version: chartVersion(args.version),
      values: args.values,
    },
  };
}
