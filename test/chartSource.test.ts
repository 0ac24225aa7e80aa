import { strict as assert } from "assert";
import { parse } from "yaml";
import { parseStackConfig } from "../config/index";
import { checkChartSource, chartSourceKind, missingLocalCharts } from "../config/chartSource";
import { chartSource } from "../k8s/helmRelease";
import { ciliumRelease } from "../k8s/cilium";
import { externalSecretsRelease } from "../k8s/externalSecrets";
import { fluxOperatorRelease } from "../k8s/flux";
import { CILIUM, EXTERNAL_SECRETS, FLUX } from "../k8s/names";
import { renderStackFiles } from "../render/files";
import { homeOpsRawConfig, problemsOf } from "./helpers/badInputs";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

describe("homeops:charts (where each Helm release's chart comes from)", () => {
  it("defaults to the official sources", () => {
    const cfg = homeOpsConfig();
    assert.deepEqual(
      [ciliumRelease(cfg), externalSecretsRelease(cfg), fluxOperatorRelease(cfg)].map((r) => [
        r.spec.chart,
        r.spec.repo,
      ]),
      [
        ["cilium", "https://helm.cilium.io/"],
        ["external-secrets", "https://charts.external-secrets.io"],
        ["oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator", undefined],
      ],
    );
  });

  it("a Helm repository URL keeps the chart name and replaces the repository", () => {
    const cfg = homeOpsConfig({ charts: { cilium: "http://127.0.0.20:8080/mirror" } });
    const r = ciliumRelease(cfg);
    assert.equal(r.spec.chart, "cilium");
    assert.equal(r.spec.repo, "http://127.0.0.20:8080/mirror");
    assert.equal(r.spec.version, "1.17.6");
  });

  it("an OCI base makes the chart oci://<base>/<chart name>, with no repository", () => {
    const cfg = homeOpsConfig({ charts: { externalSecrets: "oci://registry.lan/charts/" } });
    const r = externalSecretsRelease(cfg);
    assert.equal(r.spec.chart, "oci://registry.lan/charts/external-secrets");
    assert.equal(r.spec.repo, undefined);
  });

  it("a local path is the chart itself, with no repository", () => {
    const cfg = homeOpsConfig({ charts: { fluxOperator: "charts/flux-operator-0.43.0.tgz" } });
    const r = fluxOperatorRelease(cfg);
    assert.equal(r.spec.chart, "charts/flux-operator-0.43.0.tgz");
    assert.equal(r.spec.repo, undefined);
  });

  it("an official OCI source can be replaced by a Helm repository", () => {
    assert.deepEqual(chartSource(FLUX.operatorChart, "https://mirror.lan/flux"), {
      chart: "flux-operator",
      repo: "https://mirror.lan/flux",
    });
    assert.deepEqual(chartSource(CILIUM.chart), { chart: "cilium", repo: CILIUM.chart.source });
    assert.deepEqual(chartSource(EXTERNAL_SECRETS.chart, "oci://r/x"), { chart: "oci://r/x/external-secrets" });
  });

  it("the stack file's charts section is parsed and validated", () => {
    const raw = homeOpsRawConfig();
    raw.charts = { cilium: "https://mirror.lan/cilium", fluxOperator: "./charts/flux-operator" };
    const { config } = parseStackConfig(raw, "home-ops");
    assert.deepEqual(config.charts, { cilium: "https://mirror.lan/cilium", fluxOperator: "./charts/flux-operator" });
    assert.deepEqual(parseStackConfig(homeOpsRawConfig(), "home-ops").config.charts, {});
  });

  it("refuses other schemes, credentials in URLs, an OCI base without a path and unknown keys, naming the key", () => {
    const raw = homeOpsRawConfig();
    raw.charts = {
      cilium: "ftp://mirror.lan/cilium",
      externalSecrets: "https://user:pw@mirror.lan/charts",
      fluxOperator: "oci://registry.lan",
      flux: "x",
    };
    const problems = problemsOf(raw).join("\n");
    assert.match(problems, /charts\.cilium = "ftp:\/\/mirror\.lan\/cilium": has an unsupported scheme "ftp:"/);
    assert.match(problems, /charts\.externalSecrets = .*must not carry credentials/);
    assert.match(problems, /charts\.fluxOperator = "oci:\/\/registry\.lan": must name the registry path/);
    assert.match(problems, /charts\.flux/);
  });

  it("checkChartSource and chartSourceKind", () => {
    assert.equal(chartSourceKind("HTTPS://x"), "repository");
    assert.equal(chartSourceKind("oci://x/y"), "oci");
    assert.equal(chartSourceKind("../charts/cilium"), "local");
    assert.equal(chartSourceKind("s3://b/k"), undefined);
    for (const ok of [
      "http://127.0.0.1:8080",
      "https://charts.lan/sub/",
      "oci://r.lan:5000/a/b",
      "charts/x.tgz",
      "/abs/x",
    ]) {
      assert.equal(checkChartSource(ok), undefined, ok);
    }
    for (const bad of ["", " http://x", "http://", "https://x/?q=1", "charts/my chart", "oci://r/"]) {
      assert.notEqual(checkChartSource(bad), undefined, bad);
    }
  });

  it("missingLocalCharts names each local chart that does not exist, and only those", () => {
    const seen: string[] = [];
    const problems = missingLocalCharts(
      { cilium: "charts/cilium", externalSecrets: "https://x", fluxOperator: "charts/flux.tgz" },
      (p) => {
        seen.push(p);
        return p === "charts/cilium";
      },
    );
    assert.deepEqual(seen, ["charts/cilium", "charts/flux.tgz"]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^charts\.fluxOperator = "charts\/flux\.tgz": no chart directory or \.tgz there/);
  });

  it("the offline render shows the configured source", () => {
    const files = renderStackFiles(homeOpsConfig({ charts: { cilium: "http://127.0.0.20:8080" } }));
    const name = [...files.keys()].find((k) => /kubernetes\/.*cilium/.test(k));
    assert.ok(name, [...files.keys()].join(", "));
    const doc = parse(files.get(name!)!);
    assert.equal(doc.spec.repo, "http://127.0.0.20:8080");
    assert.equal(doc.spec.chart, "cilium");
  });
});
