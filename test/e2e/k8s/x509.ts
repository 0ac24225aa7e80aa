/**
 * X.509 certificates signed by a CA the caller gives (PEM), with Node's crypto: the API server's
 * serving certificate and client certificates, for a control plane that must trust the cluster CA
 * of a Talos secrets bundle (`certs.k8s`: ECDSA P-256 from `talosctl gen secrets`, pkg/machinery
 * config/generate/secrets/ca.go NewKubernetesCA at v1.10.5; the fakes' bundles use Ed25519, and RSA
 * works too). Node has no certificate builder, so the DER is written here: a v3 TBSCertificate
 * (RFC 5280 4.1) with the extensions Go's TLS stack and the API server look at.
 */
import * as crypto from "crypto";

export interface CertificateAuthority {
  /** PEM of the CA certificate. */
  readonly cert: string;
  /** PEM of its private key: PKCS#8, SEC1 ("EC PRIVATE KEY"), PKCS#1, or Talos' "ED25519 PRIVATE KEY". */
  readonly key: string;
}

export interface IssuedCertificate {
  /** PEM of the certificate. */
  readonly cert: string;
  /** PEM (PKCS#8) of its private key. */
  readonly key: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: "server" | "client";
  /** Validity in days from now (default 1). */
  readonly days?: number;
}

// --- DER ----------------------------------------------------------------------------------------

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let head: Buffer;
  if (n < 0x80) head = Buffer.from([tag, n]);
  else if (n < 0x100) head = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) head = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else head = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer, unused = 0) => der(0x03, Buffer.concat([Buffer.from([unused]), b]));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, "utf8"));
const NULL = Buffer.from([0x05, 0x00]);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return new Date(ms).getUTCFullYear() < 2050 ? der(0x17, Buffer.from(iso.slice(2))) : der(0x18, Buffer.from(iso));
}

/** Reads one TLV at `at`: its tag, where its content starts and where it ends. */
function tlv(buf: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = buf[at];
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i];
    start += n;
  }
  return { tag, start, end: start + len };
}

/** The DER of the certificate's subject Name, as Go matches an issuer by its raw bytes. */
export function subjectOf(certPem: string): Buffer {
  const cert = new crypto.X509Certificate(certPem).raw;
  const tbs = tlv(cert, tlv(cert, 0).start);
  let at = tbs.start;
  const fields: { start: number; end: number; at: number }[] = [];
  while (at < tbs.end) {
    const f = tlv(cert, at);
    fields.push({ ...f, at });
    at = f.end;
  }
  // version [0], serial, signature, issuer, validity, subject
  const offset = cert[fields[0].at] === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  return cert.subarray(subject.at, subject.end);
}

// --- keys and signatures ------------------------------------------------------------------------

/** The CA's private key; Talos writes Ed25519 PKCS#8 under its own PEM label (siderolabs/crypto x509). */
export function caPrivateKey(pem: string): crypto.KeyObject {
  return crypto.createPrivateKey(pem.replace(/(BEGIN|END) ED25519 PRIVATE KEY/g, "$1 PRIVATE KEY"));
}

interface Signer {
  readonly algorithm: Buffer;
  sign(tbs: Buffer): Buffer;
}

function signerOf(key: crypto.KeyObject): Signer {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return { algorithm: seq(oid("1.3.101.112")), sign: (tbs) => crypto.sign(null, tbs, key) };
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const [hash, id] =
        curve === "secp384r1"
          ? ["sha384", "1.2.840.10045.4.3.3"]
          : curve === "secp521r1"
            ? ["sha512", "1.2.840.10045.4.3.4"]
            : ["sha256", "1.2.840.10045.4.3.2"];
      // ecdsa-with-SHAx, DER-encoded (r, s): Node's default signature encoding.
      return { algorithm: seq(oid(id)), sign: (tbs) => crypto.sign(hash, tbs, key) };
    }
    case "rsa":
      return { algorithm: seq(oid("1.2.840.113549.1.1.11"), NULL), sign: (tbs) => crypto.sign("sha256", tbs, key) };
    default:
      throw new Error(`CA key type ${key.asymmetricKeyType} is not supported (Ed25519, ECDSA or RSA)`);
  }
}

// --- certificates -------------------------------------------------------------------------------

function name(commonName: string, organizations: readonly string[]): Buffer {
  const rdn = (type: string, value: string) => set(seq(oid(type), utf8(value)));
  return seq(...organizations.map((o) => rdn("2.5.4.10", o)), rdn("2.5.4.3", commonName));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [TRUE] : []), octets(value));
}

function ipBytes(ip: string): Buffer {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

/** A new ECDSA P-256 key and a certificate for it, signed by `ca`. */
export function issueCertificate(ca: CertificateAuthority, req: CertificateRequest): IssuedCertificate {
  const caKey = caPrivateKey(ca.key);
  const signer = signerOf(caKey);
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const now = Date.now();
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER
  serial[0] |= 0x01;
  const sans = [
    ...(req.dnsNames ?? []).map((d) => der(0x82, Buffer.from(d, "ascii"))),
    ...(req.ipAddresses ?? []).map((ip) => der(0x87, ipBytes(ip))),
  ];
  const extensions = [
    // keyUsage: digitalSignature (bit 0) and keyEncipherment (bit 2), critical.
    extension("2.5.29.15", true, bits(Buffer.from([0xa0]), 5)),
    // extKeyUsage: serverAuth or clientAuth.
    extension("2.5.29.37", false, seq(oid(req.usage === "server" ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2"))),
    // basicConstraints: not a CA, critical.
    extension("2.5.29.19", true, seq()),
    ...(sans.length ? [extension("2.5.29.17", false, seq(...sans))] : []),
  ];
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // v3
    der(0x02, serial),
    signer.algorithm,
    subjectOf(ca.cert),
    seq(time(now - 60_000), time(now + (req.days ?? 1) * 86_400_000)),
    name(req.commonName, req.organizations ?? []),
    publicKey.export({ format: "der", type: "spki" }),
    der(0xa3, seq(...extensions)),
  );
  const certDer = seq(tbs, signer.algorithm, bits(signer.sign(tbs)));
  return { cert: pem("CERTIFICATE", certDer), key: privateKey.export({ format: "pem", type: "pkcs8" }).toString() };
}

export function pem(label: string, body: Buffer): string {
  const b64 = body.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

/**
 * A self-signed CA for tests that need a fresh one (the harness itself always takes the caller's):
 * ECDSA P-256 with O=kubernetes, like Talos' NewKubernetesCA, or Ed25519 / RSA.
 */
export function selfSignedCa(
  type: "ecdsa" | "ed25519" | "rsa" = "ecdsa",
  organization = "kubernetes",
): CertificateAuthority {
  const pair =
    type === "ed25519"
      ? crypto.generateKeyPairSync("ed25519")
      : type === "rsa"
        ? crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
        : crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const signer = signerOf(pair.privateKey);
  const now = Date.now();
  const subject = seq(set(seq(oid("2.5.4.10"), utf8(organization))));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, Buffer.concat([Buffer.from([0x01]), crypto.randomBytes(15)])),
    signer.algorithm,
    subject,
    seq(time(now - 60_000), time(now + 3650 * 86_400_000)),
    subject,
    pair.publicKey.export({ format: "der", type: "spki" }),
    der(
      0xa3,
      seq(
        // keyCertSign (bit 5) and digitalSignature (bit 0), critical; CA:TRUE, critical.
        extension("2.5.29.15", true, bits(Buffer.from([0x84]), 2)),
        extension("2.5.29.19", true, seq(TRUE)),
      ),
    ),
  );
  const certDer = seq(tbs, signer.algorithm, bits(signer.sign(tbs)));
  return {
    cert: pem("CERTIFICATE", certDer),
    key: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}
