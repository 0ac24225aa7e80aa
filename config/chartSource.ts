/**
 * Where a Helm release's chart comes from (`homeops:charts.<release>`): the official source when
 * unset, otherwise a Helm repository (http/https: a mirror, a private repository, a pull-through
 * cache), an OCI registry (`oci://host/path`: the chart is `oci://host/path/<chart name>`) or a
 * local chart (a chart directory or packaged `.tgz`, relative to the project directory, where
 * `pulumi up` runs the Helm provider).
 *
 * Pure: whether a local chart exists is a run-time matter (config/load.ts checks it before any
 * resource is declared, so a missing chart never waits for a Helm timeout).
 */
import type { Explain } from "./fields";

export type ChartSourceKind = "repository" | "oci" | "local";

/** The Helm releases whose chart source can be set, by config key. */
export const CHART_SOURCE_KEYS = ["cilium", "externalSecrets", "fluxOperator"] as const;
export type ChartSourceKey = (typeof CHART_SOURCE_KEYS)[number];

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** repository, oci or local; `undefined` for a value no rule accepts. */
export function chartSourceKind(source: string): ChartSourceKind | undefined {
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return "repository";
  if (scheme === "oci") return "oci";
  // A Windows drive letter would look like a scheme; these paths are POSIX (the project's scripts are sh).
  if (scheme === undefined) return "local";
  return undefined;
}

const EXAMPLES =
  "e.g. https://charts.example.internal/cilium (a Helm repository), oci://registry.example.internal/charts (an OCI registry) or charts/cilium-1.17.6.tgz (a local chart, relative to the project directory)";

export const checkChartSource: Explain<string> = (source) => {
  if (source.trim() !== source || source === "")
    return `must be a chart source without surrounding blanks, ${EXAMPLES}`;
  const kind = chartSourceKind(source);
  if (kind === undefined) {
    return `has an unsupported scheme "${SCHEME.exec(source)![1]}:": use http(s):// for a Helm repository, oci:// for an OCI registry, or a path without a scheme for a local chart, ${EXAMPLES}`;
  }
  if (kind === "local") {
    if (/\s/.test(source)) return `a local chart path must not contain blanks, ${EXAMPLES}`;
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return `is not a valid URL, ${EXAMPLES}`;
  }
  if (url.hostname === "") return `names no host, ${EXAMPLES}`;
  if (url.username || url.password) {
    return "must not carry credentials in the URL (the stack file is committed and the URL lands in the state); give the repository's credentials to Helm instead";
  }
  if (url.search || url.hash) return `must not have a query or fragment, ${EXAMPLES}`;
  if (kind === "oci" && url.pathname.replace(/\/+$/, "") === "") {
    return "must name the registry path that holds the chart, e.g. oci://registry.example.internal/charts (the chart is <path>/<chart name>)";
  }
  return undefined;
};

/**
 * One problem per local chart (`homeops:charts.<release>` without a scheme) that `exists` does not
 * find, relative to `projectDir`. Run by the program before it declares anything.
 */
export function missingLocalCharts(
  charts: Readonly<Partial<Record<ChartSourceKey, string>>>,
  exists: (path: string) => boolean,
): string[] {
  return CHART_SOURCE_KEYS.flatMap((key) => {
    const source = charts[key];
    if (source === undefined || chartSourceKind(source) !== "local" || exists(source)) return [];
    return [
      `charts.${key} = ${JSON.stringify(source)}: no chart directory or .tgz there (a local chart is relative to the project directory, where pulumi up runs); fix the path or remove the key for the official source`,
    ];
  });
}
