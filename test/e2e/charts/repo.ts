/**
 * The test charts (test/e2e/charts/<name>/) packaged at test time and served as a Helm chart
 * repository on loopback: `index.yaml` and `<name>-<version>.tgz`, the layout `helm repo index`
 * writes (helm v3.18.6 pkg/repo/index.go: apiVersion v1, entries by chart name, each with the
 * Chart.yaml fields, `urls` relative to the repository and a sha256 `digest`), and a package is a
 * gzip'd tar whose entries all sit under the chart's name (pkg/chart/loader/archive.go LoadArchive
 * strips the first path element).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as zlib from "zlib";
import { parse, stringify } from "yaml";

export const CHARTS_DIR = __dirname;
export const CHART_NAMES = ["cilium", "external-secrets", "flux-operator"] as const;

/** One ustar header block (POSIX.1-1988): name, mode, sizes, mtime, checksum, type, magic. */
function tarHeader(name: string, size: number, mtime: number, dir: boolean): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: path too long for this writer: ${name}`);
  const h = Buffer.alloc(512, 0);
  const field = (offset: number, length: number, value: string) => h.write(value, offset, length, "utf8");
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
  field(0, 100, name);
  octal(100, 8, dir ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, mtime);
  field(148, 8, "        ");
  field(156, 1, dir ? "5" : "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A chart directory as Helm packages it: `<name>/...` in a gzip'd tar, entries in a stable order. */
export function packageChart(dir: string, mtime = 0): Buffer {
  const chart = parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) as { name: string };
  const blocks: Buffer[] = [];
  const walk = (rel: string) => {
    for (const entry of fs
      .readdirSync(path.join(dir, rel), { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        blocks.push(tarHeader(`${chart.name}/${relPath}/`, 0, mtime, true));
        walk(relPath);
      } else {
        const data = fs.readFileSync(path.join(dir, relPath));
        blocks.push(tarHeader(`${chart.name}/${relPath}`, data.length, mtime, false), data);
        const pad = (512 - (data.length % 512)) % 512;
        if (pad) blocks.push(Buffer.alloc(pad, 0));
      }
    }
  };
  walk("");
  blocks.push(Buffer.alloc(1024, 0));
  return zlib.gzipSync(Buffer.concat(blocks));
}

export interface PackagedChart {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly data: Buffer;
  readonly metadata: Record<string, unknown>;
}

/** Every test chart (or those named), packaged. `overrides` replace Chart.yaml's version per chart. */
export function packageCharts(names: readonly string[] = CHART_NAMES): PackagedChart[] {
  return names.map((name) => {
    const dir = path.join(CHARTS_DIR, name);
    const metadata = parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) as Record<string, unknown>;
    const version = String(metadata.version);
    return { name, version, file: `${name}-${version}.tgz`, data: packageChart(dir), metadata };
  });
}

/** The repository's index.yaml for these packages. */
export function repositoryIndex(charts: readonly PackagedChart[], generated = new Date(0)): string {
  const entries: Record<string, unknown[]> = {};
  for (const c of charts) {
    (entries[c.name] ??= []).push({
      ...c.metadata,
      urls: [c.file],
      digest: crypto.createHash("sha256").update(c.data).digest("hex"),
      created: generated.toISOString(),
    });
  }
  return stringify({ apiVersion: "v1", entries, generated: generated.toISOString() });
}

export interface ChartRepository {
  /** http://<host>:<port> */
  readonly url: string;
  /** Every request path served, in order (what Helm fetched). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves the packages and their index on `host:port` (loopback); 404 for anything else. */
export function serveCharts(host: string, port: number, charts = packageCharts()): Promise<ChartRepository> {
  if (!/^127\./.test(host)) throw new Error(`the chart repository serves on loopback only, not ${host}`);
  const files = new Map<string, Buffer>([["/index.yaml", Buffer.from(repositoryIndex(charts))]]);
  for (const c of charts) files.set(`/${c.file}`, c.data);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    requests.push(url);
    const body = req.method === "GET" ? files.get(url) : undefined;
    if (!body) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res
      .writeHead(200, {
        "content-type": url.endsWith(".yaml") ? "application/x-yaml" : "application/gzip",
        "content-length": body.length,
      })
      .end(body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () =>
      resolve({
        // Port 0 picks a free port: name the one bound.
        url: `http://${host}:${(server.address() as { port: number }).port}`,
        requests,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}
