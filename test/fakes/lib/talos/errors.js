"use strict";
/**
 * The texts talosctl prints for failed calls. talosctl prints err.Error() and exits 1
 * (cmd/talosctl/cmd/root.go Execute @ v1.10.5: no "error:" prefix of its own).
 *
 * Two layers:
 * - the client's own connection to the endpoint (grpc-go v1.71.3): errors arrive as they are;
 * - the node's answer behind apid: a call made WithClient carries the "nodes" metadata, which apid
 *   proxies one-to-many even for a single node (internal/app/apid/pkg/director/director.go
 *   Director), so a node's error comes back in the reply's metadata (backend/apid.go BuildError)
 *   and the client turns it into a multierror of NodeErrors (pkg/machinery/client/reply.go
 *   FilterMessages): "1 error occurred:\n\t* <node>: rpc error: ...\n\n". COSI calls (`get`) are
 *   proxied one-to-one (helpers.ForEachResource uses WithNode) and keep the plain status.
 */

const rpc = (code, desc) => `rpc error: code = ${code} desc = ${desc}`;

/** grpc-go ConnectionError.Error() (internal/transport/transport.go) as carried by a status. */
const connectionError = (desc) => rpc("Unavailable", `connection error: desc = ${JSON.stringify(desc)}`);

/** Dial failure (internal/transport/http2_client.go newHTTP2Client: "transport: Error while dialing: %v"). */
const refused = (addr) =>
  connectionError(`transport: Error while dialing: dial tcp ${addr}:50000: connect: connection refused`);

/**
 * The server certificate does not verify against the talosconfig's CA (http2_client.go:
 * "transport: authentication handshake failed: %v"; Go crypto/tls verify error). A maintenance
 * node's certificate is self-signed at each boot
 * (internal/app/machined/pkg/controllers/secrets/maintenance_root.go).
 */
const UNKNOWN_AUTHORITY = connectionError(
  "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority",
);

/**
 * A configured node asked without a client certificate (--insecure). With TLS 1.3 the client's
 * handshake completes before the server checks the client certificate, so the server's alert
 * arrives while grpc-go reads the server preface (http2_client.go readServerPreface:
 * "error reading server preface: %v").
 */
const CERT_REQUIRED = connectionError("error reading server preface: remote error: tls: certificate required");

/**
 * The client certificate expired (or is not yet valid) on the server's clock: the server's
 * alert (Go crypto/tls alert.go alertCertificateExpired "expired certificate"), read like
 * CERT_REQUIRED above.
 */
const EXPIRED_CLIENT_CERT = connectionError("error reading server preface: remote error: tls: expired certificate");

/** A connection dropped after the request was sent (http2_client.go reader + rpc_util.go toRPCErr). */
const EOF = rpc("Unavailable", "error reading from server: EOF");

/** The client's context expired (rpc_util.go toRPCErr: errContextDeadline). */
const DEADLINE = rpc("DeadlineExceeded", "context deadline exceeded");

/** What talosctl prints when SIGTERM cancels its context (pkg/cli/context.go WithContext). */
const cancelled = (prefix) =>
  `Signal received, aborting, press Ctrl+C once again to abort immediately...\n${prefix || ""}${rpc("Canceled", "context canceled")}`;

/** A node's error as the client reports it after apid's one-to-many proxying. */
const nodeError = (node, err) => `1 error occurred:\n\t* ${node}: ${err}\n\n`;

/** Maintenance service answers to a non-admin (LAN) client (internal/app/maintenance/server.go assertAdminRole). */
const MAINTENANCE_UNIMPLEMENTED = rpc("Unimplemented", "API is not implemented in maintenance mode");

module.exports = {
  rpc,
  connectionError,
  refused,
  UNKNOWN_AUTHORITY,
  CERT_REQUIRED,
  EXPIRED_CLIENT_CERT,
  EOF,
  DEADLINE,
  cancelled,
  nodeError,
  MAINTENANCE_UNIMPLEMENTED,
};
