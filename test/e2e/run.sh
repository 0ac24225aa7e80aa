#!/usr/bin/env bash
# npm run test:e2e: build the real tools (outside the sandbox: the Go module proxy is needed),
# then run the end-to-end tier inside a network namespace that has only loopback, so that
# nothing any tool tries can leave the machine. Needs root or unprivileged user namespaces.
#
# With no arguments the tier runs as three mocha processes side by side (their lines prefixed
# [k8s], [nodes-a] and [nodes-b]), each in its own network namespace: the files that start a
# Kubernetes control plane at the e2e stack's API address 127.0.0.10:6443 (controlPlane,
# fivePhases, helm: one at a time, so in one process), and the fake-node files in two halves of
# about the same time. A fake-node file mostly waits (its fakes' modelled delays, the stack's polls):
# alone, the one process of them kept 0.9 of the 2 cores busy (2026-12-07). Each process asks
# build.sh for the tools it runs and starts as soon as they are there: when CI's build.sh is
# building them beside `npm test` (.ci/run), the fake-node files start before etcd, Kubernetes
# and kwok are built (build.sh's lock per tool: nothing is built twice). Each process measures the
# machine's time scale with whatever runs beside it.
# HOMEOPS_E2E_STREAMS=1, or any argument (a --grep, a file), runs one mocha process as given.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -eq 0 ]; then
  netns=(unshare --net)
else
  netns=(unshare --map-root-user --net)
fi
# mocha in a new network namespace (its loopback starts down: the engine and its plugins talk
# gRPC over it), with the tools in $1
in_netns() {
  local tools=$1
  shift
  HOMEOPS_TOOLS_DIR=$tools "${netns[@]}" -- sh -c 'ip link set lo up && exec npx mocha --config test/e2e/.mocharc.json "$@"' sh "$@"
}
# What the fake-node files run: talosctl of every minor, the engine, the command provider and the
# Kubernetes provider (the harness installs it as a plugin); not etcd, Kubernetes or kwok.
node_tools=(talosctl-v1.10 talosctl-v1.11 talosctl-v1.12 talosctl-v1.13 talosctl-v1.14 pulumi pulumi-resource-command pulumi-resource-kubernetes)
k8s='controlPlane|fivePhases|helm'
# The first half of the fake-node files (2026-12-07, one process beside the other tiers: differential
# 995 s, lifecycle 460, drift 170, policy 64; the rest, with removal, destroy, changes, upgrade and
# resilience, the second half).
nodes_a='differential|lifecycle|drift|policy|talosctl'
if [ $# -eq 0 ] && [ "${HOMEOPS_E2E_STREAMS:-3}" != 1 ]; then
  start=$(date +%s)
  stream() { # name, mocha --ignore glob, tools (none: every tool)
    set +e
    local name=$1 ignore=$2 tools r
    shift 2
    tools=$(bash test/e2e/tools/build.sh "$@" 2> >(sed -u "s/^/[$name] /" >&2))
    r=$?
    if [ "$r" -ne 0 ]; then
      echo "[$name] build.sh failed with status $r"
      return "$r"
    fi
    echo "[$name] tools ready after $(($(date +%s) - start)) s"
    in_netns "$tools" --ignore "$ignore" 2>&1 | sed -u "s/^/[$name] /"
    r=${PIPESTATUS[0]}
    echo "[$name] ended with status $r after $(($(date +%s) - start)) s"
    return "$r"
  }
  stream nodes-a "test/e2e/!($nodes_a).e2e.ts" "${node_tools[@]}" &
  a=$!
  stream nodes-b "test/e2e/@($k8s|$nodes_a).e2e.ts" "${node_tools[@]}" &
  b=$!
  stream k8s "test/e2e/!($k8s).e2e.ts" &
  c=$!
  status=0
  for p in "$a" "$b" "$c"; do wait "$p" || status=1; done
  exit "$status"
fi
tools=$(bash test/e2e/tools/build.sh)
in_netns "$tools" "$@"
