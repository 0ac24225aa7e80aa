#!/usr/bin/env bash
# npm run test:e2e: build the real tools (outside the sandbox: the Go module proxy is needed),
# then run the end-to-end tier inside a network namespace that has only loopback, so that
# nothing any tool tries can leave the machine. Needs root or unprivileged user namespaces.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOMEOPS_TOOLS_DIR=$(bash test/e2e/tools/build.sh)
export HOMEOPS_TOOLS_DIR
if [ "$(id -u)" -eq 0 ]; then
  netns=(unshare --net)
else
  netns=(unshare --map-root-user --net)
fi
# The namespace's loopback starts down: the engine and its plugins talk gRPC over it.
exec "${netns[@]}" -- sh -c 'ip link set lo up && exec npx mocha --config test/e2e/.mocharc.json "$@"' sh "$@"
