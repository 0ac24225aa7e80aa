/**
 * Helm's storage records, read and written. The fixtures are Helm's own: Secrets written by the
 * secrets driver of helm.sh/helm/v3 v3.18.6 (the Helm pulumi-kubernetes v4.25.0 vendors), listed as
 * `kubectl get secrets -o json` shows them (test/fixtures/helm-storage/gen). `updated.json` is
 * revision 2 after Helm's own Secrets.Update marked it failed: what this program writes must be
 * that, field for field (a Helm built from the same module read this program's write back as
 * `2 failed "<description>"` with `gen read`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { gzipSync } from "zlib";
import {
  decodeStoredRelease,
  encodeStoredRelease,
  helmRecord,
  helmRecords,
  StorageSecret,
  withStatus,
} from "../k8s/helmStorage";

const FIXTURES = path.join(__dirname, "fixtures", "helm-storage");
const list = JSON.parse(fs.readFileSync(path.join(FIXTURES, "secrets.json"), "utf8"));
const updatedByHelm: StorageSecret = JSON.parse(fs.readFileSync(path.join(FIXTURES, "updated.json"), "utf8"));

describe("Helm storage records (secrets driver, Helm v3.18.6)", () => {
  it("decodes every revision of a release, oldest first: revision, status, description, start, hooks", () => {
    const records = helmRecords(list, "demo");
    assert.deepEqual(
      records.map((r) => [r.revision, r.status, r.description, r.startedAt?.toISOString(), r.hookCount]),
      [
        [1, "superseded", "homeops: homeops/e2e demo", "2026-12-01T10:30:00.000Z", 0],
        // last_deployed 10:30:00 (Helm's clock), the Secret created at 10:30:01 (the server's): the later.
        [2, "pending-upgrade", "Preparing upgrade", "2026-12-01T10:30:01.000Z", 1],
      ],
    );
    const r1 = records[0].release;
    assert.equal(r1.name, "demo");
    assert.equal((r1.chart as { metadata: { name: string } }).metadata.name, "homeops-test");
    assert.deepEqual(r1.config, { nested: { list: ["x", 1, true, null] }, replicas: 2 });
  });

  it("reads revisions in any list order and skips what is not this release's Helm record", () => {
    const other = JSON.parse(JSON.stringify(list.items[0]));
    other.metadata.labels.name = "other";
    const plain = { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "x", labels: {} }, data: {} };
    const shuffled = { items: [list.items[1], plain, other, list.items[0]] };
    assert.deepEqual(
      helmRecords(shuffled, "demo").map((r) => r.revision),
      [1, 2],
    );
    assert.deepEqual(helmRecords({ items: [] }, "demo"), []);
    assert.throws(() => helmRecords({ kind: "Status" }, "demo"), /not a Kubernetes list/);
  });

  it("round-trips: encode(decode(x)) decodes to the same release, gzip'd base64 inside base64", () => {
    for (const item of list.items) {
      const release = decodeStoredRelease(item.data.release);
      const encoded = encodeStoredRelease(release);
      assert.deepEqual(decodeStoredRelease(encoded), release);
      const helmText = Buffer.from(encoded, "base64").toString("latin1");
      assert.match(helmText, /^[A-Za-z0-9+/]+=*$/, "Helm's own value is base64");
      assert.deepEqual([...Buffer.from(helmText, "base64").subarray(0, 3)], [0x1f, 0x8b, 0x08], "gzip");
    }
  });

  it("reads a record stored before Helm compressed them (plain JSON in base64), as Helm's decodeRelease does", () => {
    const json = JSON.stringify({
      name: "old",
      version: 3,
      info: { status: "deployed", description: "Install complete" },
    });
    const apiData = Buffer.from(Buffer.from(json).toString("base64")).toString("base64");
    assert.equal(decodeStoredRelease(apiData).name, "old");
    const gz = Buffer.from(gzipSync(Buffer.from(json)).toString("base64")).toString("base64");
    assert.deepEqual(decodeStoredRelease(gz), decodeStoredRelease(apiData));
    assert.throws(() => decodeStoredRelease(Buffer.from(Buffer.from("[1]").toString("base64")).toString("base64")));
  });

  it("marking a revision failed writes what Helm's own Update writes: the release and its labels", () => {
    const [, pending] = helmRecords(list, "demo");
    const ours = withStatus(pending, "failed", "Release unlocked from stale 'pending-upgrade' state");
    const helms = helmRecord(updatedByHelm);
    assert.deepEqual(decodeStoredRelease(ours.data!.release), helms.release);
    // Helm also stamps modifiedAt with its clock; this program leaves Helm's timestamps alone.
    const helmLabels = { ...updatedByHelm.metadata.labels! };
    delete helmLabels.modifiedAt;
    assert.deepEqual(ours.metadata.labels, helmLabels);
    assert.equal(ours.type, updatedByHelm.type);
  });

  it("keeps the Secret's identity and resourceVersion (a stale write is refused), drops managedFields", () => {
    const item = { ...list.items[1], metadata: { ...list.items[1].metadata, managedFields: [{ manager: "helm" }] } };
    const out = withStatus(helmRecord(item), "failed", "x");
    assert.equal(out.metadata.name, "sh.helm.release.v1.demo.v2");
    assert.equal(out.metadata.namespace, "helm-fixtures");
    assert.equal(out.metadata.resourceVersion, "1001");
    assert.equal(out.metadata.uid, "00000000-0000-4000-8000-000000000002");
    assert.equal(out.metadata.managedFields, undefined);
    assert.equal(out.apiVersion, "v1");
    assert.equal(out.kind, "Secret");
    const back = helmRecord(out);
    assert.equal(back.status, "failed");
    assert.equal(back.description, "x");
    assert.equal(back.revision, 2);
    // Nothing else of the release changes.
    const before = helmRecord(item).release;
    assert.deepEqual({ ...back.release, info: undefined }, { ...before, info: undefined });
    assert.deepEqual(
      { ...back.release.info, status: undefined, description: undefined },
      { ...before.info, status: undefined, description: undefined },
    );
  });

  it("refuses a Secret without a release or a revision", () => {
    assert.throws(() => helmRecord({ metadata: { name: "s" }, data: {} }), /no data.release/);
    const noVersion = Buffer.from(Buffer.from(JSON.stringify({ name: "x" })).toString("base64")).toString("base64");
    assert.throws(() => helmRecord({ metadata: { name: "s" }, data: { release: noVersion } }), /no revision/);
  });
});
