"use strict";
/**
 * Real (parseable) Ed25519 X.509 certificates for the fake's secrets bundles, talosconfigs and
 * kubeconfigs, so that anything reading a client certificate's expiry (crypto.X509Certificate)
 * works on the fake's output as on talosctl's. Minimal DER: version 3, serial, issuer/subject
 * O=<org>, validity, the public key, signed by the issuer's key. Not a PKI: nothing verifies them.
 */
const crypto = require("crypto");

function der(tag, content) {
  const len = content.length;
  const head =
    len < 0x80
      ? Buffer.from([tag, len])
      : len < 0x100
        ? Buffer.from([tag, 0x81, len])
        : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, content]);
}
const seq = (...parts) => der(0x30, Buffer.concat(parts));
const ED25519 = seq(Buffer.from([0x06, 0x03, 0x2b, 0x65, 0x70]));
const name = (org) =>
  seq(
    ...[]
      .concat(org)
      .map((o) => der(0x31, seq(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x0a]), der(0x0c, Buffer.from(o, "utf8"))))),
  );

function time(ms) {
  const iso = new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return new Date(ms).getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(iso.slice(2), "ascii"))
    : der(0x18, Buffer.from(iso, "ascii"));
}

const pem = (label, body) =>
  `-----BEGIN ${label}-----\n${body
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "")}\n-----END ${label}-----\n`;

/** The issuer's Ed25519 key, or null (a real bundle's EC/"ED25519 PRIVATE KEY" PEM: self-signed then). */
function issuerKey(issuer) {
  try {
    const key = issuer && crypto.createPrivateKey(Buffer.from(issuer.key, "base64").toString("utf8"));
    return key && key.asymmetricKeyType === "ed25519" ? key : null;
  } catch (_) {
    return null;
  }
}

/**
 * A certificate for `org` (one O value, or several: the roles of a Talos client certificate)
 * valid from `now` (default: the machine's clock; the fake world passes its wall clock) for
 * `days`, signed by `issuer` ({org, key}) or self-signed. Returns {crt, key}: base64 of the PEM
 * texts, as Talos stores them in YAML.
 */
function certificate(org, days, issuer, now) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  now = now == null ? Date.now() : now;
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, Buffer.concat([Buffer.from([0x01]), crypto.randomBytes(15)])),
    ED25519,
    name(issuer ? issuer.org : org),
    seq(time(now - 60000), time(now + days * 86400000)),
    name(org),
    spki,
  );
  const signer = issuerKey(issuer) || privateKey;
  const signature = crypto.sign(null, tbs, signer);
  const cert = seq(tbs, ED25519, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const keyPem = privateKey.export({ format: "pem", type: "pkcs8" });
  return { crt: Buffer.from(pem("CERTIFICATE", cert)).toString("base64"), key: Buffer.from(keyPem).toString("base64") };
}

/**
 * What a peer reads from a base64 PEM certificate (a talosconfig's `crt`, a kubeconfig's
 * `client-certificate-data`): validity and the subject's Organization values (Talos roles,
 * system:masters). null when it does not parse.
 */
function certInfo(b64) {
  try {
    const c = new crypto.X509Certificate(Buffer.from(String(b64 || ""), "base64"));
    const orgs = c.subject
      .split("\n")
      .filter((l) => l.startsWith("O="))
      .flatMap((l) => l.slice(2).split("+"));
    return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo), orgs };
  } catch (_) {
    return null;
  }
}

/**
 * Go's x509 validity check (crypto/x509 verify.go: CertificateInvalidError{Reason: Expired} when
 * now is before NotBefore or after NotAfter; "x509: certificate has expired or is not yet valid").
 */
const validAt = (info, now) => !info || (now >= info.notBefore && now <= info.notAfter);

module.exports = { certificate, certInfo, validAt };
