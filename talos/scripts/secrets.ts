/** talos phase: the secrets bundle, and the operator's talosconfig from it. */
import { PRELUDE, shellCommand } from "../shell";
import { FILES, talosctl } from "../talosctl";
import { T, work, WRITE_TALOSCONFIG } from "./common";

/**
 * talos phase: the secrets bundle. 1Password is the source of truth; a new bundle is minted only
 * when 1Password has none AND every node provably answers in maintenance mode, so a missing item
 * can never silently give an existing cluster a new identity. stdout: the bundle (a secret);
 * nothing is printed to stdout before the last line, so a failure never shows the bundle.
 */
export const secretsBundle = `${PRELUDE}
# read_bundle FILE: the field's value; \`op\` prints a multi-line value CSV-quoted ("..." with "" for
# a quote), which is undone here so the bundle arrives byte for byte.
read_bundle() {
  run "$OP" item get "$OP_ITEM" --vault "$OP_VAULT" --fields "label=$OP_FIELD" --reveal >"$1.raw" 2>"$WORK/op.err" || return 1
  if [ "$(head -c 1 "$1.raw")" = '"' ]; then
    sed -e '1s/^"//' -e '$s/"$//' -e 's/""/"/g' "$1.raw" >"$1"
  else
    cat "$1.raw" >"$1"
  fi
}
if read_bundle "$WORK/bundle.yaml"; then
  [ -s "$WORK/bundle.yaml" ] || fail "1Password item '$OP_ITEM' (vault $OP_VAULT) has an empty '$OP_FIELD' field"
  log "using the Talos secrets bundle from 1Password item '$OP_ITEM'"
  cat "$WORK/bundle.yaml"
  exit 0
fi
grep -q "isn't an item" "$WORK/op.err" || fail "cannot read 1Password item '$OP_ITEM' in vault $OP_VAULT: $(last_line "$WORK/op.err")"
log "1Password has no Talos secrets bundle; checking that every node is still in maintenance mode"
for address in $NODE_ADDRESSES; do
  # Only maintenance mode answers an --insecure call; a configured node refuses it for want of a
  # client certificate. Anything else (off, unreachable, timing out) proves nothing.
  if stage=$(${shellCommand(T, talosctl.machineStageInsecure("${address}"))} 2>"$WORK/probe.err") && [ "$stage" = maintenance ]; then
    continue
  fi
  if grep -Eq 'tls: certificate required|tls: bad certificate' "$WORK/probe.err"; then
    fail "node $address is already configured but 1Password has no item '$OP_ITEM' (field $OP_FIELD) in vault $OP_VAULT. Refusing to mint a new cluster identity: restore the original bundle into 1Password and run again."
  fi
  fail "cannot prove node $address is in maintenance mode ($(last_line "$WORK/probe.err")). Refusing to mint a new cluster identity while a node may hold the old one."
done
${shellCommand(T, talosctl.genSecrets())} >/dev/null 2>"$WORK/gen.err" || fail "talosctl gen secrets failed: $(last_line "$WORK/gen.err")"
{
  printf '{"title":"%s","category":"SECURE_NOTE","fields":[{"label":"%s","type":"CONCEALED","value":"' "$OP_ITEM" "$OP_FIELD"
  sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' "${work(FILES.secrets)}" | awk '{ printf "%s\\\\n", $0 }'
  printf '"}]}'
} > "$WORK/item.json"
run "$OP" item create --vault "$OP_VAULT" --template "$WORK/item.json" >/dev/null 2>"$WORK/op.err" ||
  fail "could not store the new bundle in 1Password: $(last_line "$WORK/op.err")"
read_bundle "$WORK/bundle.yaml" ||
  fail "stored the new bundle but cannot read it back from 1Password: $(last_line "$WORK/op.err")"
log "generated a new Talos secrets bundle and stored it in 1Password item '$OP_ITEM'"
cat "$WORK/bundle.yaml"
`;

/** talos phase: the operator's talosconfig (stdin: bundle; stdout: talosconfig, a secret). */
export const talosconfig = `${PRELUDE}
${WRITE_TALOSCONFIG}${shellCommand(T, talosctl.configEndpoint())} >/dev/null
${shellCommand(T, talosctl.configNode())} >/dev/null
cat "${work(FILES.talosconfig)}"
`;
