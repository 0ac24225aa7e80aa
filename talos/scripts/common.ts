/**
 * Fragments every step script shares: the tool variables, the talosconfig and kubeconfig written
 * from stdin, the classification of a failed talosctl call, the etcd probe of every control plane
 * and the kubeconfig fetch. Each script module (one per operation) assembles its script from these
 * and the prelude (talos/shell.ts).
 */
import { shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";

export const T = '"$TALOSCTL"';
export const K = '"$KUBECTL"';
export const work = (file: string) => file.replace("${WORK}", "$WORK");

/**
 * Reads the Talos secrets bundle from stdin and writes a talosconfig for it (no node contact).
 * Every node-addressed call passes --nodes/--endpoints itself, so no endpoints are stored in it.
 */
export const WRITE_TALOSCONFIG = `cat > "${work(FILES.secrets)}"
[ -s "${work(FILES.secrets)}" ] || fail "no Talos secrets bundle on stdin"
${shellCommand(T, talosctl.genTalosconfig())} >/dev/null
`;

/**
 * How a failed talosctl call ended, from its stderr (grpc-go v1.71.3 internal/transport, the
 * version talosctl v1.10.5 is built with):
 * - unreachable: the connection never came up ("transport: Error while dialing: ... connection
 *   refused / no route to host / i/o timeout", or a TLS "authentication handshake failed" that
 *   is not a certificate verdict);
 * - dropped: it broke after the request was sent ("error reading from server: ...",
 *   ErrConnClosing "transport is closing", "connection reset by peer"): the node may have taken
 *   the request and gone down to install or reboot.
 * gRPC Unavailable covers both, so the code alone says nothing.
 */
export const CLASSIFY = `unreachable() { grep -Eq '[Ee]rror while dialing|connection refused|no route to host|network is unreachable' "$1"; }
dropped() {
  unreachable "$1" && return 1
  grep -Eq 'error reading from server|transport is closing|connection reset by peer' "$1"
}
`;

/** Every control plane's etcd asked at once (bootstrap, and whether a cluster runs). */
export const PROBE_MEMBERS = `# probe_members: ask every control plane's own etcd for its members, all at once (\`etcd members\`
# asks only the addressed node's local etcd: EtcdMemberList with QueryLocal, cmd/talosctl/cmd/talos/
# etcd.go; it blocks while that etcd is down, so each probe is bounded by PROBE_TIMEOUT). Leaves
# $WORK/members.<address> non-empty for each that serves, and its stderr in members.<address>.err.
probe_members() {
  probes=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(T, talosctl.etcdMembers("${cp}"), '"$PROBE_TIMEOUT"')} >"$WORK/members.$cp" 2>"$WORK/members.$cp.err" &
    probes="$probes $!"
  done
  for probe in $probes; do wait "$probe" || :; done
}
# serving_member: the first control plane whose etcd serves members (after probe_members)
serving_member() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    [ -s "$WORK/members.$cp" ] && { echo "$cp"; return 0; }
  done
  return 1
}
`;

/** The admin kubeconfig from the first control plane that serves it (needs the talosconfig). */
export const FETCH_KUBECONFIG = `# fetch_kubeconfig: the admin kubeconfig into $WORK from the first control plane that serves one
fetch_kubeconfig() {
  for cp in $CONTROL_PLANE_ADDRESSES; do
    ${shellCommand(T, talosctl.kubeconfig("${cp}"))} >"${work(FILES.kubeconfig)}" 2>"$WORK/kubeconfig.err" && [ -s "${work(FILES.kubeconfig)}" ] && return 0
  done
  return 1
}
`;

export const WRITE_KUBECONFIG = `cat > "${work(FILES.kubeconfig)}"
[ -s "${work(FILES.kubeconfig)}" ] || fail "no kubeconfig on stdin"
`;
