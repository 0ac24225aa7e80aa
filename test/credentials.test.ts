import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { X509Certificate } from "crypto";
import { kubeconfigCertExpiry, talosconfigCertExpiry, talosctlMismatch } from "../talos/credentials";

// A throwaway self-signed certificate (no key kept anywhere): only its validity dates matter.
const pem = fs.readFileSync(path.join(__dirname, "fixtures/client-cert.pem"), "utf8");
const b64 = Buffer.from(pem).toString("base64");
const expected = new Date(new X509Certificate(pem).validTo).toISOString();

describe("talos/credentials: certificate expiry for the stack outputs", () => {
  it("reads the talosconfig client certificate of the current context", () => {
    const tc = stringify({
      context: "home-ops",
      contexts: { other: { crt: "" }, "home-ops": { endpoints: ["172.29.51.11"], crt: b64, key: "not-read" } },
    });
    assert.equal(talosconfigCertExpiry(tc), expected);
    assert.match(expected, /^\d{4}-\d\d-\d\dT/);
  });

  it("reads the kubeconfig user's client certificate", () => {
    const kc = stringify({
      apiVersion: "v1",
      users: [{ name: "admin@home-ops", user: { "client-certificate-data": b64, "client-key-data": "not-read" } }],
    });
    assert.equal(kubeconfigCertExpiry(kc), expected);
  });

  it("says unknown instead of failing when there is no parsable certificate", () => {
    assert.equal(talosconfigCertExpiry("context: x\ncontexts: {}\n"), "unknown");
    assert.equal(
      kubeconfigCertExpiry(stringify({ users: [{ user: { "client-certificate-data": "bm90IGEgY2VydA==" } }] })),
      "unknown",
    );
  });
});

describe("talos/credentials: talosctl preflight", () => {
  it("accepts the stack's minor", () => {
    assert.equal(talosctlMismatch("Client:\n\tTag:         v1.10.5\n", "v1.10", "talosctl"), undefined);
  });
  it("rejects another minor with the fix", () => {
    assert.match(
      talosctlMismatch("Client:\n\tTag:         v1.11.6\n", "v1.10", "talosctl")!,
      /is v1\.11\.6 but the stack runs Talos v1\.10: install talosctl v1\.10\.x/,
    );
  });
  it("rejects unreadable output", () => {
    assert.match(
      talosctlMismatch("command not found", "v1.10", "/opt/talosctl")!,
      /could not read the version of '\/opt\/talosctl'/,
    );
  });
});
