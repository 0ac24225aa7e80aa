/**
 * The pure parts of the e2e tier's control-plane harness (test/e2e/k8s): certificates signed by a
 * caller's CA of each key type a Talos bundle may hold, and the Node objects kwok keeps Ready.
 * test/e2e/controlPlane.e2e.ts proves the same against the real API server.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { nodeObject } from "./e2e/k8s/nodes";
import { issueCertificate, selfSignedCa } from "./e2e/k8s/x509";

describe("e2e control-plane harness: certificates from the caller's CA", () => {
  for (const type of ["ecdsa", "ed25519", "rsa"] as const) {
    it(`signs a serving certificate with a ${type} CA, for the given addresses`, () => {
      const ca = selfSignedCa(type);
      const leaf = issueCertificate(ca, {
        commonName: "kube-apiserver",
        usage: "server",
        ipAddresses: ["127.0.0.10"],
        dnsNames: ["kubernetes.default"],
      });
      const cert = new crypto.X509Certificate(leaf.cert);
      const caCert = new crypto.X509Certificate(ca.cert);
      assert.ok(cert.checkIssued(caCert), "issuer is the CA's subject");
      assert.ok(cert.verify(caCert.publicKey), "signed by the CA's key");
      assert.equal(cert.subjectAltName, "DNS:kubernetes.default, IP Address:127.0.0.10");
      assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
      assert.equal(cert.ca, false);
      assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(leaf.key)));
    });
  }

  it("puts the user in CN and the groups in O of a client certificate", () => {
    const ca = selfSignedCa();
    const cert = new crypto.X509Certificate(
      issueCertificate(ca, { commonName: "admin", organizations: ["system:masters"], usage: "client" }).cert,
    );
    assert.equal(cert.subject, "O=system:masters\nCN=admin");
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
  });

  it("takes an Ed25519 CA key under Talos' own PEM label", () => {
    const ca = selfSignedCa("ed25519");
    const talosKey = ca.key.replace(/(BEGIN|END) PRIVATE KEY/g, "$1 ED25519 PRIVATE KEY");
    const leaf = issueCertificate({ cert: ca.cert, key: talosKey }, { commonName: "x", usage: "client" });
    assert.ok(new crypto.X509Certificate(leaf.cert).verify(new crypto.X509Certificate(ca.cert).publicKey));
  });
});

describe("e2e control-plane harness: Node objects", () => {
  it("labels a control plane as Talos v1.10 does, untainted when scheduling on control planes is allowed", () => {
    const n = nodeObject({ name: "mini01", address: "127.0.0.11" }, true);
    assert.deepEqual(n.metadata.labels, {
      "kubernetes.io/hostname": "mini01",
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/os": "linux",
      "beta.kubernetes.io/arch": "amd64",
      "node-role.kubernetes.io/control-plane": "",
      "node.kubernetes.io/exclude-from-external-load-balancers": "",
    });
    assert.deepEqual(n.spec, {});
    assert.deepEqual(n.metadata.annotations, { "kwok.x-k8s.io/node": "fake" });
    assert.deepEqual(n.status.addresses, [
      { type: "InternalIP", address: "127.0.0.11" },
      { type: "Hostname", address: "mini01" },
    ]);
  });

  it("taints a control plane NoSchedule when scheduling on control planes is not allowed; never a worker", () => {
    assert.deepEqual(nodeObject({ name: "cp" }, false).spec.taints, [
      { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
    ]);
    const worker = nodeObject({ name: "w", role: "worker", labels: { zone: "a" } }, false);
    assert.deepEqual(worker.spec, {});
    assert.equal(worker.metadata.labels["node-role.kubernetes.io/control-plane"], undefined);
    assert.equal(worker.metadata.labels.zone, "a");
  });
});
