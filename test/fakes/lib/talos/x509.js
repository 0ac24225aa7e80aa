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
const rdn = (type, value) =>
  der(0x31, seq(Buffer.from([0x06, 0x03, 0x55, 0x04, type]), der(0x0c, Buffer.from(value, "utf8"))));
// O (one value, or several: the roles of a Talos client certificate), then CN when given (the
// order Go's pkix.Name.ToRDNSequence writes them).
const name = (org, cn) => seq(...[].concat(org).map((o) => rdn(0x0a, o)), ...(cn ? [rdn(0x03, cn)] : []));
/** ecdsa-with-SHA256 (RFC 5758 3.2): a Talos bundle's Kubernetes CA key is ECDSA P-256. */
const ECDSA_SHA256 = seq(Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));

/** Reads a DER TLV header at `at`: where its content starts and where it ends. */
function tlv(buf, at) {
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i];
    start += n;
  }
  return { start, end: start + len };
}

/** The raw subject Name of a base64 PEM certificate: Go finds an issuer by these exact bytes. */
function subjectDer(crtBase64) {
  const raw = new crypto.X509Certificate(Buffer.from(crtBase64, "base64").toString("utf8")).raw;
  const tbs = tlv(raw, tlv(raw, 0).start);
  let at = tbs.start;
  if (raw[at] === 0xa0) at = tlv(raw, at).end; // version
  for (let i = 0; i < 4; i++) at = tlv(raw, at).end; // serial, signature, issuer, validity
  return raw.subarray(at, tlv(raw, at).end);
}

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
    return key && (key.asymmetricKeyType === "ed25519" || key.asymmetricKeyType === "ec") ? key : null;
  } catch (_) {
    return null;
  }
}

/**
 * A certificate for `org` (one O value, or several: the roles of a Talos client certificate) and
 * common name `opts.cn`, when given, valid from `opts.now` (default: the machine's clock; the fake
 * world passes its wall clock) for `days`, signed by `issuer` ({org, key, crt?}: Ed25519 or ECDSA
 * key; with `crt`, the issuer name is that certificate's subject, byte for byte) or self-signed.
 * Returns {crt, key}: base64 of the PEM texts, as Talos stores them in YAML.
 */
function certificate(org, days, issuer, opts = {}) {
  const cn = opts.cn;
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  const now = opts.now == null ? Date.now() : opts.now;
  const signer = issuerKey(issuer) || privateKey;
  const ec = signer.asymmetricKeyType === "ec";
  const algorithm = ec ? ECDSA_SHA256 : ED25519;
  const issuerName = signer === privateKey ? name(org, cn) : issuer.crt ? subjectDer(issuer.crt) : name(issuer.org);
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, Buffer.concat([Buffer.from([0x01]), crypto.randomBytes(15)])),
    algorithm,
    issuerName,
    seq(time(now - 60000), time(now + days * 86400000)),
    name(org, cn),
    spki,
  );
  const signature = crypto.sign(ec ? "sha256" : null, tbs, signer);
  const cert = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
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
