#!/usr/bin/env bash
# npm run bench: build the real tools (the Go module proxy is needed), then run the benchmark in a
# network namespace with only loopback (the real engine's figures run the e2e stack).
set -euo pipefail
cd "$(dirname "$0")/.."
HOMEOPS_TOOLS_DIR=$(bash test/e2e/tools/build.sh)
export HOMEOPS_TOOLS_DIR
if [ "$(id -u)" -eq 0 ]; then netns=(unshare --net); else netns=(unshare --map-root-user --net); fi
exec "${netns[@]}" -- sh -c 'ip link set lo up && exec npx tsx bench/run.ts "$@"' sh "$@"
