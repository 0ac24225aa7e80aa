/** cluster phase: etcd bootstrap (once for the cluster's life) and the admin kubeconfig. */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { CLASSIFY, FETCH_KUBECONFIG, PROBE_MEMBERS, T, work, WRITE_TALOSCONFIG } from "./common";

/**
 * cluster phase: bootstrap etcd exactly once for the cluster's life. AlreadyExists is a per-node
 * answer (that node's /var/lib/etcd is not empty: v1alpha1_server.go Bootstrap), so it proves
 * nothing about the cluster; the script asks every control plane's own etcd instead and calls
 * bootstrap only when none serves members and every one answered (a probe cut by its bound without
 * an answer counts only once the node answers a call that does not wait for etcd). A reset node
 * then joins the running cluster by itself; etcd data that no etcd serves (an old cluster's) is
 * reported.
 */
export const bootstrap = `${PRELUDE}
${WRITE_TALOSCONFIG}${CLASSIFY}${PROBE_MEMBERS}# probe_cut ADDRESS: its etcd probe got no answer at all before PROBE_TIMEOUT ended it. A node whose
# etcd is not running blocks the probe (so every node before the bootstrap), and so does a node that
# does not answer (packets dropped, a dial that fails only after the bound): it proves nothing.
probe_cut() { [ ! -s "$WORK/members.$1" ] && grep -q '^homeops: .* timed out after' "$WORK/members.$1.err"; }
# answers ADDRESS: the node answers its Talos API with our certificate (machine status does not wait
# for etcd); anything else, a timeout included, means it cannot be asked
answers() { ${shellCommand(T, talosctl.machineStatus("${1}"))} >/dev/null 2>"$WORK/answers.$1.err"; }
deadline=$(deadline_in "$TIMEOUT_API_READY")
already=no
# bootstrapped: this run's bootstrap call succeeded; etcd then only needs time to serve (asking
# again would meet AlreadyExists and take the new cluster's data for an earlier cluster's)
bootstrapped=no
while :; do
  probe_members
  serving=$(serving_member || :)
  silent=""
  for cp in $CONTROL_PLANE_ADDRESSES; do
    if unreachable "$WORK/members.$cp.err"; then
      silent="$silent $cp"
      last_err="$WORK/members.$cp.err"
    elif probe_cut "$cp" && ! answers "$cp"; then
      silent="$silent $cp"
      last_err="$WORK/answers.$cp.err"
    fi
  done
  if [ -n "$serving" ]; then
    log "etcd serves members on $serving: the cluster is bootstrapped"
    break
  fi
  if [ -z "$silent" ] && [ "$bootstrapped" = no ]; then
    if ${shellCommand(T, talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"))} >/dev/null 2>"$WORK/bootstrap.err"; then
      bootstrapped=yes
      log "bootstrapped etcd on $BOOTSTRAP_HOSTNAME; waiting for it to serve"
    elif grep -q 'AlreadyExists' "$WORK/bootstrap.err"; then
      already=yes
    fi
  fi
  if past "$deadline"; then
    [ -n "$silent" ] && fail "cannot reach control plane(s)$silent to tell whether they hold the cluster's etcd; refusing to bootstrap a second etcd: $(last_line "$last_err")"
    [ "$already" = yes ] && fail "$BOOTSTRAP_HOSTNAME has etcd data (AlreadyExists) but no control plane's etcd serves members: data of an earlier cluster? If so, wipe it with talosctl reset --system-labels-to-wipe EPHEMERAL --reboot --nodes $BOOTSTRAP_ADDRESS and run again"
    fail "etcd on $BOOTSTRAP_HOSTNAME did not come up within $TIMEOUT_API_READY s: $(last_line "$WORK/bootstrap.err")"
  fi
  sleep "$POLL_SECONDS"
done
echo "etcd bootstrapped"
`;

/**
 * cluster phase: fetch the admin kubeconfig from any control plane that serves it (stdin:
 * bundle; stdout: kubeconfig, a secret).
 */
export const kubeconfig = `${PRELUDE}
${WRITE_TALOSCONFIG}${FETCH_KUBECONFIG}deadline=$(deadline_in "$TIMEOUT_API_READY")
until fetch_kubeconfig; do
  past "$deadline" && fail "no control plane served a kubeconfig within $TIMEOUT_API_READY s: $(last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
cat "${work(FILES.kubeconfig)}"
`;
