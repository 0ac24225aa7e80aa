/**
 * docs/cluster.md from stack outputs (docs/generate.ts, scripts/docs.ts): golden output for the
 * fixture, determinism, the certificate warning threshold, refusal of plain-text secrets without
 * echoing them, and the phase graph.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { certificateStatus, OutputsRefused, phaseGraph, renderClusterDocs } from "../docs/generate";

const ROOT = path.join(__dirname, "..");
const FIXTURE = path.join(__dirname, "fixtures", "stack-outputs.json");
const GOLDEN = path.join(__dirname, "golden", "docs", "cluster.md");
/** The date the golden file's warnings are computed against. */
const GOLDEN_NOW = "2026-12-01";

type Outputs = Parameters<typeof renderClusterDocs>[0];
const fixture = (): Record<string, any> => JSON.parse(fs.readFileSync(FIXTURE, "utf8"));

/** An ISO timestamp `days` after midnight UTC of `now`. */
function daysAfter(now: string, days: number): string {
  return new Date(Date.parse(`${now}T00:00:00Z`) + days * 86_400_000).toISOString();
}

// Plain-text secrets (test material, not real credentials); none may appear in an error.
const KUBECONFIG =
  "apiVersion: v1\nkind: Config\nclusters:\n- name: home-ops\n  cluster:\n    server: https://172.29.51.10:6443\nusers:\n- name: admin\n  user:\n    client-key-data: DOCSTESTKUBEKEY\n";
const TALOSCONFIG = "context: home-ops\ncontexts:\n  home-ops:\n    crt: DOCSTESTCRT\n    key: DOCSTESTTALOSKEY\n";
const PEM = "-----BEGIN PRIVATE KEY-----\nDOCSTESTPEMBODY\n-----END PRIVATE KEY-----\n";

function refusal(outputs: Record<string, unknown>): OutputsRefused {
  try {
    renderClusterDocs(outputs as Outputs, GOLDEN_NOW);
  } catch (e) {
    assert.ok(e instanceof OutputsRefused, String(e));
    return e;
  }
  assert.fail("the outputs were not refused");
}

describe("docs: cluster.md from stack outputs", () => {
  it("renders the fixture byte for byte as the golden file (UPDATE_GOLDEN=1 rewrites it)", () => {
    const markdown = renderClusterDocs(fixture(), GOLDEN_NOW);
    if (process.env.UPDATE_GOLDEN === "1") {
      fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
      fs.writeFileSync(GOLDEN, markdown);
    }
    assert.equal(markdown, fs.readFileSync(GOLDEN, "utf8"), "golden differs; if intended, run with UPDATE_GOLDEN=1");
  });

  it("shows every node, version, endpoint, the schematic, GitOps source and Longhorn path", () => {
    const markdown = renderClusterDocs(fixture(), GOLDEN_NOW);
    const image = fixture().installerImage;
    for (const row of [
      `| mini01 | 172.29.51.11 | fd47:25e1:2f96:51::11 | controlplane | \`${image}\` |`,
      `| mini03 | 172.29.51.13 | fd47:25e1:2f96:51::13 | controlplane | \`${image}\` |`,
      "| Talos | v1.10.5 |",
      "| Kubernetes | v1.31.1 |",
      "| Cilium | 1.17.6 |",
      "| External Secrets | 0.17.0 |",
      "| 1Password Connect | 1.8.1 |",
      "| Flux | v2.8.1 |",
      "| flux-operator | 0.43.0 |",
      "| Kubernetes API | `https://172.29.51.10:6443` |",
      "- Image Factory schematic ID: `c4d52f2ca447870ce4f3555f9f72d6dd04239293a6e541f7943748569d17396b`",
      "| `https://github.com/geoffdavis/talos-gitops` | `main` | `clusters/home-ops` |",
      "- Longhorn SSD path on every node: `/var/mnt/longhorn-ssd`",
      "| talosconfig | 2027-11-09 | 343 | ok |",
    ]) {
      assert.ok(markdown.split("\n").includes(row), `missing line: ${row}`);
    }
    assert.ok(!markdown.includes("[secret]"));
  });

  it("is deterministic: same input and date, same bytes, whatever the key order", () => {
    const outputs = fixture();
    const reversed = Object.fromEntries(Object.entries(outputs).reverse());
    const first = renderClusterDocs(outputs, GOLDEN_NOW);
    assert.equal(renderClusterDocs(outputs, GOLDEN_NOW), first);
    assert.equal(renderClusterDocs(reversed, GOLDEN_NOW), first);
    assert.ok(first.includes(`Certificate warnings are computed against ${GOLDEN_NOW}.`));
  });

  it("warns about a certificate expiring in 29 days, not in 31 (or 30)", () => {
    const now = "2026-03-01";
    const docs = (days: number) => renderClusterDocs({ ...fixture(), kubeconfigExpiry: daysAfter(now, days) }, now);
    const warned = docs(29);
    assert.ok(warned.includes("> ⚠️ **The kubeconfig client certificate expires on 2026-03-30 (in 29 days).**"));
    assert.ok(warned.includes("| kubeconfig | 2026-03-30 | 29 | ⚠️ expires in under 30 days |"));
    for (const days of [30, 31]) {
      const quiet = docs(days);
      assert.ok(!quiet.includes("⚠️"), `warned at ${days} days`);
      assert.ok(quiet.includes(`| kubeconfig | ${daysAfter(now, days).slice(0, 10)} | ${days} | ok |`));
    }
  });

  it("marks an expired certificate, one not issued yet, and one whose date is unreadable", () => {
    assert.deepEqual(certificateStatus("kubeconfig", "2026-02-27T00:00:00.000Z", "2026-03-01"), {
      credential: "kubeconfig",
      expires: "2026-02-27",
      daysLeft: -2,
      status: "❌ expired",
      warning: "The kubeconfig client certificate expired on 2026-02-27.",
    });
    assert.deepEqual(certificateStatus("kubeconfig", null, "2026-03-01"), {
      credential: "kubeconfig",
      status: "not issued yet (its phase has not run)",
    });
    assert.equal(certificateStatus("talosconfig", "unknown", "2026-03-01").status, "⚠️ unknown");
  });

  it("draws the phase graph in order with the completed phases marked", () => {
    assert.deepEqual(phaseGraph(["talos", "cluster"]), [
      "```mermaid",
      "flowchart LR",
      '  talos["talos ✔"] --> cluster["cluster ✔"] --> cni["cni"] --> secrets["secrets"] --> gitops["gitops"]',
      "  classDef done fill:#c8e6c9,stroke:#2e7d32,color:#1b5e20",
      "  classDef pending fill:#eeeeee,stroke:#9e9e9e,color:#616161,stroke-dasharray:4 3",
      "  class talos,cluster done",
      "  class cni,secrets,gitops pending",
      "```",
    ]);
    const none = phaseGraph([]);
    assert.ok(
      !none.some((l) => /^ {2}class \S+ done$/.test(l)) &&
        none.includes("  class talos,cluster,cni,secrets,gitops pending"),
    );
    const partial = renderClusterDocs({ ...fixture(), phasesCompleted: ["talos"], kubeconfigExpiry: null }, GOLDEN_NOW);
    assert.ok(partial.includes("1 of 5 phases completed: talos."));
    assert.ok(partial.includes("| kubeconfig | — | — | not issued yet (its phase has not run) |"));
  });

  it("shows what the nodes run, the target and the last upgrade path (outputs running, upgradePath)", () => {
    const s = "c".repeat(64);
    const hop = { kind: "kubernetes", from: "v1.31.1", to: "v1.32.13", talosMinor: "v1.12", talos: "v1.12.6" };
    const md = renderClusterDocs(
      {
        ...fixture(),
        running: { talos: { mini01: { version: "v1.12.6", schematic: s } }, kubernetes: "v1.32.13" },
        upgradePath: { nodes: ["mini01"], hops: [hop] },
      },
      GOLDEN_NOW,
    );
    assert.ok(md.includes(`| mini01 | v1.12.6 | \`${s}\` | ${fixture().talosVersion} |`), md);
    assert.ok(md.includes(`Kubernetes runs v1.32.13 (target ${fixture().kubernetesVersion}).`));
    assert.ok(md.includes("1. Kubernetes v1.31.1 → v1.32.13"));
    assert.ok(!renderClusterDocs(fixture(), GOLDEN_NOW).includes("## Running and target versions"));
    assert.match(refusal({ ...fixture(), running: { talos: {}, kubernetes: 3 } }).message, /running/);
  });

  it("refuses an unknown phase and missing node fields", () => {
    assert.match(refusal({ ...fixture(), phasesCompleted: ["talos", "upgrade"] }).message, /phasesCompleted/);
    const nodes = fixture().nodes;
    delete nodes[1].address;
    assert.equal(refusal({ ...fixture(), nodes }).message, "output 'nodes[1].address' is missing");
  });

  it("refuses a bad --now", () => {
    assert.throws(() => renderClusterDocs(fixture(), "01/12/2025"), /--now must be a date YYYY-MM-DD/);
  });

  for (const [label, change, expected] of [
    ["a plain kubeconfig", { kubeconfig: KUBECONFIG }, "output 'kubeconfig' is not \"[secret]\""],
    ["a plain talosconfig", { talosconfig: TALOSCONFIG }, "output 'talosconfig' is not \"[secret]\""],
    [
      "a kubeconfig under another name",
      { adminConfig: KUBECONFIG },
      "output 'adminConfig' carries kubeconfig client credentials",
    ],
    ["a talosconfig under another name", { extra: { cfg: TALOSCONFIG } }, "output 'extra.cfg' carries a talosconfig"],
    [
      "a PEM block in a node field",
      { nodes: [{ ...fixture().nodes[0], role: PEM }] },
      "output 'nodes[0].role' carries a PEM block",
    ],
    ["a base64 PEM", { ca: Buffer.from(PEM).toString("base64") }, "output 'ca' carries a base64-encoded PEM block"],
  ] as const) {
    it(`refuses ${label} without echoing it`, () => {
      const error = refusal({ ...fixture(), ...change });
      assert.ok(error.message.includes(expected), error.message);
      for (const fragment of ["DOCSTEST", "BEGIN", "client-key-data:", "LS0tLS1"]) {
        assert.ok(!error.message.includes(fragment), `the error echoes ${fragment}`);
      }
    });
  }

  it("accepts the secret outputs as [secret] or null (before their phase), and absent", () => {
    const outputs = fixture();
    delete outputs.talosconfig;
    assert.doesNotThrow(() => renderClusterDocs({ ...outputs, kubeconfig: null }, GOLDEN_NOW));
  });
});

describe("docs: npm run docs (scripts/docs.ts)", function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeops-docs-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [require.resolve("tsx/cli"), "scripts/docs.ts", ...args], {
      cwd: ROOT,
      encoding: "utf8",
    });

  it("writes the file from --from, --out and --now", () => {
    const out = path.join(tmp, "cluster.md");
    const result = run("--from", FIXTURE, "--out", out, "--now", GOLDEN_NOW);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(fs.readFileSync(out, "utf8"), fs.readFileSync(GOLDEN, "utf8"));
  });

  it("refuses plain secrets with exit 1, an error without the value, and no file", () => {
    const input = path.join(tmp, "leaky.json");
    const out = path.join(tmp, "leaky.md");
    fs.writeFileSync(input, JSON.stringify({ ...fixture(), kubeconfig: KUBECONFIG }));
    const result = run("--from", input, "--out", out);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /refusing stack outputs with secrets in plain text \(output 'kubeconfig' is not "\[secret\]"\)/,
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes("DOCSTEST"));
    assert.ok(!fs.existsSync(out));
  });

  it("says how to call it without --from", () => {
    const result = run();
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage: npm run docs -- --from <outputs.json>/);
  });
});
