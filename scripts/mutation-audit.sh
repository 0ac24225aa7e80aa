#!/usr/bin/env bash
# Hand-mutation audit (issues 11 and 19): breakages of the program, each of which some test must catch.
#
# For every mutation: a temporary `git worktree` of HEAD (under ${TMPDIR:-/tmp}, never the main
# checkout), the main checkout's node_modules linked into it, one small literal edit of the product
# code (the edit must apply exactly as written, else the mutation "did not apply" and the audit
# fails), steps/ regenerated from talos/scripts/ (the program refuses stale step files), a
# compile and `sh -n` check (a mutation must be a working program, not a syntax error), then only
# the test file(s) expected to catch it. CAUGHT: mocha failed at least one test. SURVIVED: every
# test passed. The same tests run once unmutated first and must pass.
#
# Usage: scripts/mutation-audit.sh [N...]     (N in 1..28; default: all)
# Environment: MUTATION_AUDIT_TEST_TIMEOUT  seconds one mocha run may take (default 1800)
#              MUTATION_AUDIT_KEEP_LOGS=0   remove the logs too (kept by default, path printed)
# Exit status: 0 when every selected mutation was caught and the unmutated tests passed.
set -euo pipefail

ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
MOCHA=(npx mocha --no-config --require tsx/cjs --require test/setup.ts --extension ts --timeout 120000)
TEST_TIMEOUT=${MUTATION_AUDIT_TEST_TIMEOUT:-1800}
ALL=(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28)

declare -A TITLE FILES GREP
TITLE[1]="bootstrap: etcd bootstrapped on every control plane (AlreadyExists tolerated), not only the bootstrap node"
FILES[1]="test/simulation.test.ts test/simulation-safety.test.ts"
GREP[1]="first run: each node|etcd bootstrap"
TITLE[2]="the secrets bundle exported into the environment of every later tool call"
FILES[2]="test/secretsAudit.test.ts"
GREP[2]="the mint branch"
TITLE[3]="command resources: the script text is the create input (interpreter /bin/sh -c), not a constant file path"
FILES[3]="test/scriptText.test.ts test/program.test.ts"
GREP[3]="changes no input or option|runs constant script files"
TITLE[4]="apply-node: the maintenance/configured detection fails on its first miss instead of retrying"
FILES[4]="test/simulation-safety.test.ts"
GREP[4]="detection retries a node"
TITLE[5]="apply-node: an unknown flag (--bogus-flag) on the tolerated 'get machinestatus --insecure' probe"
FILES[5]="test/simulation.test.ts test/talosctl-contract.test.ts"
GREP[5]="first run: each node|every invocation in every script"
TITLE[6]="mint guard: an unreachable node counts as in maintenance mode"
FILES[6]="test/simulation-safety.test.ts"
GREP[6]="a node that is off proves nothing"
TITLE[7]="prelude: the scratch directory is no longer removed (EXIT trap and watchdog)"
FILES[7]="test/simulation-watchdog.test.ts test/simulation.test.ts"
GREP[7]="a killed script leaves no secret behind|a second run with nothing changed"
TITLE[8]="command resources: addPreviousOutputInEnv: false removed (provider default: true)"
FILES[8]="test/program.test.ts"
GREP[8]="runs constant script files"
TITLE[9]="secrets-bundle: the freshly minted bundle printed to stderr"
FILES[9]="test/secretsAudit.test.ts"
GREP[9]="the mint branch"
TITLE[10]="apply-node: a configured node's change applied with --insecure"
FILES[10]="test/simulation.test.ts"
GREP[10]="live change: only its apply runs"
# Issue 19 §2 and issue 15 §3: the rolling gate, the lock, reset safety, secret-fed steps.
GATE=test/simulation-rolling-gate.test.ts
TITLE[11]="apply-node: the gate logs that another node is unhealthy and goes ahead"
FILES[11]="$GATE"
GREP[11]="refuses to start a node's change while another control plane is down|refuses while another control plane's API server is down"
TITLE[12]="rolling gate: the other control planes only settled (their API server and static pods not checked)"
FILES[12]="$GATE"
GREP[12]="refuses while another control plane's API server is down"
TITLE[13]="apply-node: the rolling lock released before the wait for this node's health"
FILES[13]="$GATE"
GREP[13]="a live change that restarts every control plane's API server|a reboot change: never two control planes"
TITLE[14]="apply-node: after a change, only the node's Talos status is waited for (not its restarted control-plane pods)"
FILES[14]="$GATE"
GREP[14]="a live change that restarts every control plane's API server"
TITLE[15]="rolling lock: a lock whose owner has not written its pid yet taken over as stale"
FILES[15]="$GATE"
GREP[15]="a lock whose owner has not written its pid yet"
TITLE[16]="rolling gate: fails open (a silent etcd on a cluster that ran before taken for no cluster)"
FILES[16]="$GATE"
GREP[16]="a cluster that ran before and no etcd answers"
TITLE[17]="program: CLUSTER_WAS_RUNNING no longer follows the stack's phasesCompleted"
FILES[17]="test/program-history.test.ts"
GREP[17]="deployStack writes CLUSTER_WAS_RUNNING"
TITLE[18]="node-reset: the reset list matched by substring (listing mini10 resets mini1)"
FILES[18]="test/destroy.test.ts"
GREP[18]="matched by the exact hostname"
TITLE[19]="node-reset: the last etcd member reset gracefully (leave refused, reset never done)"
FILES[19]="test/destroy.test.ts"
GREP[19]="every control plane listed, deletes at once"
TITLE[20]="node-reset: control planes reset without the rolling lock"
FILES[20]="test/destroy.test.ts"
GREP[20]="every control plane listed, deletes at once"
TITLE[21]="node-reset: the rolling lock released before the node is back in maintenance mode"
FILES[21]="test/destroy.test.ts"
GREP[21]="every control plane listed, deletes at once"
TITLE[22]="safe reset: the USB SSD (a user disk) wiped too"
FILES[22]="test/destroy.test.ts test/policy.test.ts"
GREP[22]="no script's talosctl reset|the program's resets wipe STATE and EPHEMERAL only"
TITLE[23]="policy pack: --user-disks-to-wipe not recognised (a typo of the flag name)"
FILES[23]="test/policy.test.ts"
GREP[23]="fails a reset that would wipe"
TITLE[24]="command resources: only steps fed the bundle log nothing (kubeconfig-fed steps log)"
FILES[24]="test/secretsAudit.test.ts"
GREP[24]="logs nothing, whichever secret it is"
TITLE[25]="kubeconfig-fed steps: the kubeconfig read from stdin printed to stderr"
FILES[25]="test/secretsAudit.test.ts"
GREP[25]="the mint branch"
TITLE[26]="bootstrap: an etcd probe cut by its bound with no answer counted as a control plane that answered"
FILES[26]="test/simulation-safety.test.ts"
GREP[26]="packets dropped"
TITLE[27]="prelude: the scratch directory removed in place (rm -rf while an ended call may still write in it)"
FILES[27]="test/prelude-shells.test.ts"
GREP[27]="a late write into the scratch directory"
TITLE[28]="apply-node: a node installed into a running cluster is done once it holds its config (a learner left behind)"
FILES[28]="$GATE"
GREP[28]="installed into the running cluster"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  echo
  for n in "${ALL[@]}"; do printf '%3s  %s\n' "$n" "${TITLE[$n]}"; done
}

# replace_literal FILE COUNT FROM TO: replace the literal text FROM (exactly COUNT occurrences) by TO.
replace_literal() {
  node -e '
const fs = require("fs");
const [file, count, from, to] = process.argv.slice(1);
const text = fs.readFileSync(file, "utf8");
const found = text.split(from).length - 1;
if (found !== Number(count)) {
  console.error("mutation did not apply: expected " + count + " occurrence(s) in " + file + ", found " + found + " of:\n" + from);
  process.exit(3);
}
const out = text.split(from).join(to);
if (out === text) {
  console.error("mutation did not apply: " + file + " is unchanged");
  process.exit(3);
}
fs.writeFileSync(file, out);
' "$@"
}

# apply_mutation N: the edit of mutation N, in the current directory (a worktree of HEAD); fails
# unless every part of it applied. The texts below are literal source text (TypeScript template
# literals holding shell), never expanded.
# shellcheck disable=SC2016
apply_mutation() {
  case $1 in
    1)
      replace_literal talos/scripts/bootstrap.ts 1 \
        '    if ${shellCommand(T, talosctl.bootstrap("${BOOTSTRAP_ADDRESS}"))} >/dev/null 2>"$WORK/bootstrap.err"; then' \
        '    if for bcp in $CONTROL_PLANE_ADDRESSES; do ${shellCommand(T, talosctl.bootstrap("${bcp}"))} >/dev/null 2>"$WORK/bootstrap.err" || grep -q AlreadyExists "$WORK/bootstrap.err"; done; then'
      ;;
    2)
      replace_literal talos/scripts/common.ts 1 \
        '[ -s "${work(FILES.secrets)}" ] || fail "no Talos secrets bundle on stdin"' \
        '[ -s "${work(FILES.secrets)}" ] || fail "no Talos secrets bundle on stdin"
export HOMEOPS_TALOS_BUNDLE
HOMEOPS_TALOS_BUNDLE=$(cat "$WORK/secrets.yaml")'
      ;;
    3)
      replace_literal components/steps.ts 1 \
        'import { scriptPath } from "../talos/scripts";' \
        'import { SCRIPTS, scriptPath } from "../talos/scripts";' &&
        replace_literal components/steps.ts 1 \
          '      create: scriptPath(step.script),' \
          '      create: SCRIPTS[step.script],' &&
        replace_literal components/steps.ts 1 \
          '      interpreter: ["/bin/sh"],' \
          '      interpreter: ["/bin/sh", "-c"],'
      ;;
    4)
      replace_literal talos/scripts/apply.ts 1 \
        '  past "$deadline" && fail "$NODE_HOSTNAME ($NODE_ADDRESS) answers neither in maintenance nor in configured mode' \
        '  fail "$NODE_HOSTNAME ($NODE_ADDRESS) answers neither in maintenance nor in configured mode'
      ;;
    5)
      replace_literal talos/scripts/apply.ts 1 \
        'if ${shellCommand(T, talosctl.machineStageInsecure("${NODE_ADDRESS}"))} >/dev/null 2>"$WORK/probe.err"; then' \
        'if ${shellCommand(T, [...talosctl.machineStageInsecure("${NODE_ADDRESS}"), "--bogus-flag"])} >/dev/null 2>"$WORK/probe.err"; then'
      ;;
    6)
      replace_literal talos/scripts/secrets.ts 1 \
        '  fail "cannot prove node $address is in maintenance mode' \
        '  grep -Eq "connection refused|no route to host|i/o timeout" "$WORK/probe.err" && continue
  fail "cannot prove node $address is in maintenance mode'
      ;;
    7)
      replace_literal talos/shell.ts 1 \
        '  mv -f "$WORK" "$WORK.end" 2>/dev/null || return 0' \
        '  return 0'
      ;;
    8)
      replace_literal components/steps.ts 1 \
        '      addPreviousOutputInEnv: false,
' \
        ''
      ;;
    9)
      replace_literal talos/scripts/secrets.ts 1 \
        '|| fail "talosctl gen secrets failed: $(last_line "$WORK/gen.err")"' \
        '|| fail "talosctl gen secrets failed: $(last_line "$WORK/gen.err")"
cat "$WORK/secrets.yaml" >&2'
      ;;
    10)
      replace_literal talos/scripts/apply.ts 1 \
        '  apply ${shellCommand(T, talosctl.applyAuthenticated("${NODE_ADDRESS}"))}' \
        '  apply ${shellCommand(T, talosctl.applyInsecure("${NODE_ADDRESS}"))}'
      ;;
    11)
      replace_literal talos/scripts/apply.ts 1 \
        '  [ "$running" = yes ] && wait_until others_healthy "every other node healthy before $NODE_HOSTNAME changes"' \
        '  [ "$running" = yes ] && { others_healthy || log "not every other node is healthy ($why); going ahead"; }'
      ;;
    12)
      replace_literal talos/scripts/rolling.ts 1 \
        '    node_healthy "$other" "$role" || return 1' \
        '    node_settled "$other" "$role" || return 1'
      ;;
    13)
      replace_literal talos/scripts/apply.ts 1 \
        '  [ "$running" = yes ] && wait_until this_node_healthy "$NODE_HOSTNAME healthy again"
  lock_release' \
        '  lock_release
  [ "$running" = yes ] && wait_until this_node_healthy "$NODE_HOSTNAME healthy again"'
      ;;
    14)
      replace_literal talos/scripts/apply.ts 1 \
        'this_node_healthy() { node_healthy "$NODE_ADDRESS" "$NODE_ROLE"; }' \
        'this_node_healthy() { node_settled "$NODE_ADDRESS" "$NODE_ROLE"; }'
      ;;
    15)
      replace_literal talos/scripts/rolling.ts 1 \
        '    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then' \
        '    if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then'
      ;;
    16)
      replace_literal talos/scripts/rolling.ts 1 \
        '  if [ "\${CLUSTER_WAS_RUNNING:-no}" = yes ]; then' \
        '  if [ "\${CLUSTER_WAS_RUNING:-no}" = yes ]; then'
      ;;
    17)
      replace_literal components/stack.ts 1 \
        'stackHistory(options.completedBefore)' \
        'stackHistory(options.declaredBefore)'
      ;;
    18)
      replace_literal talos/scripts/reset.ts 1 \
        '*" $NODE_HOSTNAME "*) RESET=yes ;;' \
        '*"$NODE_HOSTNAME"*) RESET=yes ;;'
      ;;
    19)
      replace_literal talos/scripts/reset.ts 1 \
        '-gt 2 ] && RESET_GRACEFUL=true' \
        '-gt 1 ] && RESET_GRACEFUL=true'
      ;;
    20)
      replace_literal talos/scripts/reset.ts 1 \
        'lock_acquire
RESET_GRACEFUL=false' \
        'RESET_GRACEFUL=false'
      ;;
    21)
      replace_literal talos/scripts/reset.ts 1 \
        'reset_node
lock_release' \
        'reset_node' &&
        replace_literal talos/scripts/reset.ts 1 \
          '# --wait=false returns once the request is taken' \
          'lock_release
# --wait=false returns once the request is taken'
      ;;
    22)
      replace_literal talos/talosctl.ts 1 \
        '    "--graceful=${RESET_GRACEFUL}",
    "--wait=false",' \
        '    "--graceful=${RESET_GRACEFUL}",
    "--wait=false",
    "--user-disks-to-wipe",
    "/dev/sda",'
      ;;
    23)
      replace_literal policy/rules/reset.ts 1 \
        'values("--user-disks-to-wipe")' \
        'values("--user-disk-to-wipe")'
      ;;
    24)
      replace_literal components/steps.ts 1 \
        'logging: step.secretStdout || step.stdinFrom ? "none" : "stderr",' \
        'logging: step.secretStdout || step.stdinFrom === "talos-secrets" ? "none" : "stderr",'
      ;;
    25)
      replace_literal talos/scripts/common.ts 1 \
        '[ -s "${work(FILES.kubeconfig)}" ] || fail "no kubeconfig on stdin"' \
        '[ -s "${work(FILES.kubeconfig)}" ] || fail "no kubeconfig on stdin"
cat "${work(FILES.kubeconfig)}" >&2'
      ;;
    26)
      replace_literal talos/scripts/bootstrap.ts 1 \
        '    elif probe_cut "$cp" && ! answers "$cp"; then' \
        '    elif false; then'
      ;;
    27)
      replace_literal talos/shell.ts 1 \
        '  mv -f "$WORK" "$WORK.end" 2>/dev/null || return 0' \
        '  rm -rf "$WORK"
  return 0'
      ;;
    28)
      replace_literal talos/scripts/apply.ts 1 \
        '    wait_until this_node_healthy "$NODE_HOSTNAME joined the running cluster and healthy"' \
        '    :'
      ;;
    *)
      echo "no mutation $1" >&2
      return 2
      ;;
  esac
}

SELECTED=()
for arg in "$@"; do
  case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    *)
      if [[ ! $arg =~ ^[0-9]+$ ]] || [ -z "${TITLE[$arg]:-}" ]; then
        echo "unknown mutation '$arg' (expected numbers 1..${#ALL[@]}; --help lists them)" >&2
        exit 2
      fi
      SELECTED+=("$arg")
      ;;
  esac
done
[ "${#SELECTED[@]}" -gt 0 ] || SELECTED=("${ALL[@]}")

[ -d "$ROOT/node_modules" ] || {
  echo "no $ROOT/node_modules: run npm ci first" >&2
  exit 2
}

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mutation-audit.XXXXXX")
LOG_DIR="$WORK_DIR/logs"
mkdir "$LOG_DIR"
KEEP_LOGS=${MUTATION_AUDIT_KEEP_LOGS:-1}
WORKTREES=()
cleanup() {
  local wt
  for wt in "${WORKTREES[@]}"; do
    git -C "$ROOT" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
  done
  git -C "$ROOT" worktree prune
  if [ "$KEEP_LOGS" = 0 ]; then
    rm -rf "$WORK_DIR"
  else
    find "$WORK_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
    echo "logs: $LOG_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The tests read contracts from ../shared next to the repository: the same for the worktrees.
if [ -d "$ROOT/../shared" ]; then
  ln -s "$(cd "$ROOT/../shared" && pwd)" "$WORK_DIR/shared"
fi

# new_worktree NAME: a detached worktree of REV with node_modules linked; prints its path.
new_worktree() {
  local wt="$WORK_DIR/$1"
  git -C "$ROOT" worktree add --detach "$wt" "$REV" >"$LOG_DIR/$1.worktree.log" 2>&1 || {
    cat "$LOG_DIR/$1.worktree.log" >&2
    return 1
  }
  ln -s "$ROOT/node_modules" "$wt/node_modules"
  echo "$wt"
}

drop_worktree() {
  git -C "$ROOT" worktree remove --force "$1" >/dev/null 2>&1 || rm -rf "$1"
  local kept=()
  local wt
  for wt in "${WORKTREES[@]}"; do [ "$wt" = "$1" ] || kept+=("$wt"); done
  WORKTREES=("${kept[@]}")
}

# run_tests WORKTREE LOG N [--bail]: the tests of mutation N in WORKTREE; mocha's exit status. The
# JSON report goes to LOG.json, the tests' own output to LOG.out. A mutated run bails at its first
# failure: one failed test is the verdict (CAUGHT), and the rest would only cost time.
run_tests() {
  local wt=$1 log=$2 n=$3
  local -a files
  read -r -a files <<<"${FILES[$n]}"
  local -a args=("${MOCHA[@]}" --reporter json --reporter-option "output=$log.json" --grep "${GREP[$n]}" "${@:4}" "${files[@]}")
  rm -f "$log.json"
  local status=0
  (cd "$wt" && timeout --kill-after=30 "$TEST_TIMEOUT" "${args[@]}") >"$log.out" 2>&1 || status=$?
  return "$status"
}

# counts LOG: "<tests> <passes> <failures>" from LOG.json (nothing when mocha wrote no report).
counts() {
  [ -s "$1.json" ] || return 0
  node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(r.stats.tests, r.stats.passes, r.stats.failures);
' "$1.json"
}

# failures LOG: each failed test (or hook), the first line of its error and, for an assertion, the
# first lines of its diff or its actual value (shortened).
failures() {
  node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const short = (s) => (s.length > 200 ? s.slice(0, 200) + "…" : s);
for (const f of r.failures) {
  const e = f.err || {};
  const lines = String(e.message || e.stack || "").split("\n").filter((l) => l.trim() !== "");
  console.log("      FAILED: " + f.fullTitle);
  console.log("        " + short((lines[0] || "").trim()));
  const diff = lines.slice(1).filter((l) => /^[+-] /.test(l) && !/^\+ actual - expected/.test(l) && !/^[+-]\s*[[\]{}]*,?$/.test(l));
  for (const l of diff.slice(0, 3)) console.log("          " + short(l.trim()));
  if (diff.length === 0 && e.generatedMessage === false && "actual" in e)
    console.log("          actual: " + short(JSON.stringify(e.actual)));
}
' "$1.json"
}

spec_of() { printf '%s --grep "%s"' "${FILES[$1]}" "${GREP[$1]}"; }

declare -A RESULT BASELINE
# HEAD once: every worktree is of the same commit, even if HEAD moves meanwhile.
REV=$(git -C "$ROOT" rev-parse HEAD)
echo "mutation audit of ${REV:0:7}: mutations ${SELECTED[*]}"
echo

# 1. The same tests, unmutated (each distinct file list and --grep once).
base=$(new_worktree baseline)
WORKTREES+=("$base")
(cd "$base" && npx tsx scripts/gen-steps.ts >/dev/null)
if ! git -C "$base" diff --quiet -- steps; then
  echo "HEAD's steps/ are not what talos/scripts/ generates: run npm run gen:steps first" >&2
  exit 1
fi
declare -A SPEC_STATUS
for n in "${SELECTED[@]}"; do
  spec=$(spec_of "$n")
  if [ -z "${SPEC_STATUS[$spec]:-}" ]; then
    log="$LOG_DIR/baseline-$n"
    started=$SECONDS
    status=0
    run_tests "$base" "$log" "$n" || status=$?
    read -r tests passes fails <<<"$(counts "$log")" || :
    if [ "$status" -eq 0 ] && [ "${tests:-0}" -gt 0 ] && [ "${passes:-0}" = "${tests:-0}" ]; then
      SPEC_STATUS[$spec]=pass
      echo "unmutated: PASS  ${passes} test(s) in $((SECONDS - started)) s: $spec"
    else
      SPEC_STATUS[$spec]=fail
      echo "unmutated: FAIL  (mocha status $status, ${tests:-no} test(s), ${fails:-?} failed): $spec"
      [ -s "$log.json" ] && failures "$log"
      tail -n 20 "$log.out" | sed 's/^/      /'
    fi
  fi
  BASELINE[$n]=${SPEC_STATUS[$spec]}
done
drop_worktree "$base"
echo

# 2. Each mutation in a worktree of its own.
for n in "${SELECTED[@]}"; do
  echo "== mutation $n: ${TITLE[$n]}"
  echo "   tests: $(spec_of "$n")"
  if [ "${BASELINE[$n]}" != pass ]; then
    RESULT[$n]="NOT RUN (the unmutated tests fail)"
    echo "   result: ${RESULT[$n]}"
    echo
    continue
  fi
  wt=$(new_worktree "m$n")
  WORKTREES+=("$wt")
  log="$LOG_DIR/mutation-$n"
  if ! (cd "$wt" && apply_mutation "$n") 2>"$log.apply"; then
    sed 's/^/   /' "$log.apply"
    RESULT[$n]="DID NOT APPLY"
  elif ! (cd "$wt" && npx tsx scripts/gen-steps.ts >/dev/null) 2>>"$log.apply"; then
    sed 's/^/   /' "$log.apply"
    RESULT[$n]="DID NOT APPLY (steps/ could not be generated)"
  elif ! git -C "$wt" diff --quiet -- talos && git -C "$wt" diff --quiet -- steps; then
    RESULT[$n]="DID NOT APPLY (talos/ changed but steps/ did not)"
  else
    git -C "$wt" diff >"$log.diff"
    git -C "$wt" diff --stat | sed 's/^/   /'
    git -C "$wt" diff -U0 -- talos components | grep -E '^[-+][^-+]' | sed 's/^/     /' || :
    broken=""
    for f in "$wt"/steps/*.sh; do sh -n "$f" 2>>"$log.apply" || broken="$broken ${f##*/}"; done
    if [ -n "$broken" ]; then
      RESULT[$n]="INVALID (sh syntax error in$broken)"
    elif ! (cd "$wt" && npx tsc --noEmit -p tsconfig.json) >>"$log.apply" 2>&1; then
      tail -n 5 "$log.apply" | sed 's/^/   /'
      RESULT[$n]="INVALID (does not compile)"
    else
      started=$SECONDS
      status=0
      run_tests "$wt" "$log" "$n" --bail || status=$?
      read -r tests passes fails <<<"$(counts "$log")" || :
      if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        RESULT[$n]="ERROR (mocha still running after $TEST_TIMEOUT s)"
      elif [ "${tests:-0}" -eq 0 ]; then
        tail -n 20 "$log.out" | sed 's/^/      /'
        RESULT[$n]="ERROR (no test ran; mocha status $status)"
      elif [ "$status" -ne 0 ] && [ "${fails:-0}" -gt 0 ]; then
        RESULT[$n]="CAUGHT"
        echo "   $fails failure(s), hooks included, among $tests test(s) run before the first failure ($((SECONDS - started)) s):"
        failures "$log"
      elif [ "$status" -eq 0 ]; then
        RESULT[$n]="SURVIVED"
        echo "   all $tests test(s) passed ($((SECONDS - started)) s)"
      else
        RESULT[$n]="ERROR (mocha status $status without a failed test)"
      fi
    fi
  fi
  echo "   result: ${RESULT[$n]}"
  echo
  drop_worktree "$wt"
done

echo "summary:"
ok=yes
for n in "${SELECTED[@]}"; do
  printf '%4s  %-13s  %s\n' "$n" "${RESULT[$n]}" "${TITLE[$n]}"
  [ "${RESULT[$n]}" = CAUGHT ] || ok=no
done
if [ "$ok" = yes ]; then
  echo "every mutation was caught"
else
  echo "some mutation was not caught (see above)"
  exit 1
fi
