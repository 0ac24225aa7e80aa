import { chartSourceKind } from "../config/chartSource";
import type { HelmReleaseDescriptor } from "./kubernetesObject";

/** Helm chart versions are bare semver ("1.17.6"); accept a stack value written as "v1.17.6". */
export function chartVersion(version: string): string {
  return version.trim().replace(/^v(?=\d)/, "");
}

/** A chart's official source (k8s/names.ts): a repository URL or an OCI base (`oci://host/path`). */
export interface OfficialChart {
  /** The chart's name, as every source serves it. */
  readonly name: string;
  /** A Helm repository URL, or an `oci://` base the chart name is appended to. */
  readonly source: string;
}

/**
 * The chart and repository the Helm provider gets, from the stack's `homeops:charts.<release>`
 * (or the official source): a repository URL gives `chart: <name>, repo: <url>` (Helm reads
 * `<url>/index.yaml`, helm pkg/repo/chartrepo.go); an OCI base gives the full reference
 * `oci://host/path/<name>` and no repository (Helm pkg/registry: an OCI chart has no repo); a local
 * path is the chart itself (a directory or `.tgz`, resolved by Helm against the working directory
 * of `pulumi up`'s Helm provider, the project directory: helm pkg/action/install.go LocateChart).
 */
export function chartSource(
  official: OfficialChart,
  configured?: string,
): { readonly chart: string; readonly repo?: string } {
  const source = configured ?? official.source;
  switch (chartSourceKind(source)) {
    case "repository":
      return { chart: official.name, repo: source };
    case "oci":
      return { chart: `${source.replace(/\/+$/, "")}/${official.name}` };
    case "local":
      return { chart: source };
    default:
      throw new Error(
        `chart source ${JSON.stringify(source)} of ${official.name} is not a URL or path (config validation accepts none such)`,
      );
  }
}

export function helmReleaseDescriptor(args: {
  readonly name: string;
  readonly namespace: string;
  readonly chart: OfficialChart;
  /** `homeops:charts.<release>`; the official source when unset. */
  readonly source?: string;
  readonly version: string;
  readonly values: unknown;
}): HelmReleaseDescriptor {
  const { chart, repo } = chartSource(args.chart, args.source);
  return {
    apiVersion: "homeops.local/v1",
    kind: "HelmRelease(pulumi)",
    metadata: { name: args.name, namespace: args.namespace },
    spec: {
      chart,
      ...(repo !== undefined ? { repo } : {}),
      version: chartVersion(args.version),
      values: args.values,
    },
  };
}
