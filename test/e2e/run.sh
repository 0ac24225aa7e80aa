#!/usr/bin/env bash
# npm run test:e2e: build the real tools (outside the sandbox: the Go module proxy is needed),
# then run the end-to-end tier inside a network namespace that has only loopback, so that
# nothing any tool tries can leave the machine. Needs root or unprivileged user namespaces.
#
# With no arguments the tier runs as two mocha processes side by side (their lines prefixed
# [k8s] and [nodes]), each in its own network namespace: the files that start a Kubernetes
# control plane at the e2e stack's API address 127.0.0.10:6443 (controlPlane, fivePhases, helm:
# one at a time, so in one process), and every other file (fake nodes only). Each process asks
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
if [ $# -eq 0 ] && [ "${HOMEOPS_E2E_STREAMS:-2}" != 1 ]; then
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
  stream nodes "test/e2e/@($k8s).e2e.ts" "${node_tools[@]}" &
  b=$!
  stream k8s "test/e2e/!($k8s).e2e.ts" &
  a=$!
  ra=0
  rb=0
  wait "$a" || ra=$?
  wait "$b" || rb=$?
  [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]
  exit
fi
tools=$(bash test/e2e/tools/build.sh)
in_netns "$tools" "$@"
