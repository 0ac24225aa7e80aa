#!/bin/sh
# npm run test:loaded: the whole suite with busy loops beside it that hold the 1-minute load
# average at LOAD_TARGET or more, sampled and printed while it runs; exits with the suite's status
# and prints its wall time. Proof that no test bound races a busy CPU (issue 19 §1).
#
# The suite's files run in LOAD_JOBS mocha workers (mocha --parallel: every file still runs, each
# in a worker process with its own calibration). One after another they would take k times the
# idle suite, k being the time scale of test/helpers/calibration.ts (6 to 10 at load 8 on two
# cores: three hours and more), since every fake delay and bound is multiplied by k; side by side
# the files also load each other, which is more load, not less. LOAD_JOBS=1 runs them one after
# another (`npm test` runs them in two workers: .mocharc.json).
#
# Environment:
#   LOAD_TARGET   load average to hold (default 8)
#   LOAD_MAX      at most this many busy loops (default 4 x LOAD_TARGET)
#   LOAD_SAMPLE   seconds between samples of /proc/loadavg (default 15)
#   LOAD_JOBS     mocha workers (default 3; 1: one file after another)
#   LOAD_COMMAND  what to run under load (default: the type-check, then the suite in LOAD_JOBS workers)
#   LOAD_LOG      also write the samples and the summary here (default out/test-under-load.log)
#   LOAD_TARGET=0 runs the command with no busy loop (the same report, for an idle figure).
set -u

target=${LOAD_TARGET:-8}
max=${LOAD_MAX:-$((4 * target))}
interval=${LOAD_SAMPLE:-15}
jobs=${LOAD_JOBS:-3}
case "$jobs" in '' | *[!0-9]* | 0) echo "test-under-load: LOAD_JOBS must be a positive integer, not '$jobs'" >&2; exit 2 ;; esac
# .mocharc.json names the slowest files first (idle: the fault matrix 10 minutes, the rolling gate 9,
# the simulation 3.5, destroy 3), so a worker never starts one of them last.
if [ "$jobs" = 1 ]; then default_command="npm run build && npx mocha --no-parallel"; else default_command="npm run build && npx mocha --parallel --jobs $jobs"; fi
command=${LOAD_COMMAND:-$default_command}
log=${LOAD_LOG:-out/test-under-load.log}
mkdir -p "$(dirname "$log")"
: >"$log"

say() { printf '%s\n' "$*" | tee -a "$log"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# below A B -> true when A < B (decimals)
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Every busy loop's pid, one a line: each is ended by its pid at exit.
pids=$(mktemp)
samples=$(mktemp)
nloops=0
add_loop() {
  # A busy loop: always runnable, so it adds one to the load average.
  sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
  echo "$!" >>"$pids"
}
sampler=""
stop_all() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  if [ -f "$pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null; done <"$pids"
  fi
  rm -f "$pids" "$samples"
}
trap stop_all EXIT
trap 'exit 130' INT TERM HUP

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
say "test-under-load: target load >= $target on $cores cores; load now $(cat /proc/loadavg)"

if [ "$target" != 0 ]; then
  # Warm up: the 1-minute average climbs with a time constant of a minute; add loops until it
  # reaches the target (at most 5 minutes), then start the suite.
  while [ "$nloops" -lt "$target" ]; do
    add_loop
    nloops=$((nloops + 1))
  done
  warm_until=$(($(date +%s) + 300))
  while below "$(load1)" "$target" && [ "$(date +%s)" -lt "$warm_until" ]; do
    sleep 10
    if below "$(load1)" "$target" && [ "$nloops" -lt "$max" ]; then
      add_loop
      nloops=$((nloops + 1))
    fi
  done
  say "test-under-load: warmed up: load $(load1) with $nloops busy loops"
fi

# The sampler: every LOAD_SAMPLE s the load averages (and, under load, one more busy loop while
# the 1-minute one is below the target). It writes its samples to a file the summary reads.
(
  trap 'exit 0' TERM
  start=$(date +%s)
  while :; do
    l=$(load1)
    printf '%s +%ss load %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - start))" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log" >&2
    echo "$l" >>"$samples"
    if [ "$target" != 0 ] && below "$l" "$target" && [ "$nloops" -lt "$max" ]; then
      add_loop
      nloops=$((nloops + 1))
    fi
    sleep "$interval" &
    wait $!
  done
) &
sampler=$!
started=$(date +%s)
sh -c "$command"
status=$?
ended=$(date +%s)
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=""

wall=$((ended - started))
summary=$(sort -n "$samples" | awk '{ a[NR] = $1 } END { if (NR) printf "load1 over the run: min %s, median %s, max %s (%d samples)", a[1], a[int((NR + 1) / 2)], a[NR], NR }')
stop_all
say "test-under-load: $command exited $status after ${wall} s ($((wall / 60)) min $((wall % 60)) s); $summary"
exit "$status"
