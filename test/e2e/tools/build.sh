#!/usr/bin/env bash
# Builds the real tools the end-to-end tier runs, from their Go modules (never a release
# download), into a cache outside the repository, and prints the one directory that holds them:
#   pulumi                   Pulumi CLI v3.248.0 (the engine; the @pulumi/pulumi of the lockfile)
#   pulumi-resource-command  command provider 1.2.1 (a stand-in: see command/main.go)
#   talosctl-v1.10           talosctl v1.10.5
#   talosctl-v1.11           talosctl v1.11.5
#   talosctl-v1.12           talosctl v1.12.6 (one dependency replaced: talosctl-v1.12/go.mod)
#   talosctl-v1.13           talosctl v1.13.9 (three dependencies replaced: talosctl-v1.13/go.mod)
#   talosctl-v1.14           talosctl v1.14.1 (four dependencies replaced: talosctl-v1.14/go.mod)
# Each tool is keyed by its module files, its ldflags and the Go version: a second run builds
# nothing. HOMEOPS_TOOLS_CACHE overrides the cache (default: $XDG_CACHE_HOME or ~/.cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${HOMEOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/home-ops-tools}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

# name | module dir | package | ldflags
TOOLS=(
  "pulumi|pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0"
  "pulumi-resource-command|command|.|-X main.Version=v1.2.1"
  "talosctl-v1.10|talosctl-v1.10|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.11|talosctl-v1.11|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.12|talosctl-v1.12|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.13|talosctl-v1.13|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.14|talosctl-v1.14|github.com/siderolabs/talos/cmd/talosctl|"
)

go_version=$(go env GOVERSION)
platform="$(go env GOOS)/$(go env GOARCH)"
key_of() { # module dir, ldflags -> content key
  (
    cd "$here/$1"
    printf '%s\n%s\n%s\n' "$go_version" "$platform" "$2"
    find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs sha256sum
  ) | sha256sum | cut -c1-16
}

mkdir -p "$cache"
links=()
for spec in "${TOOLS[@]}"; do
  IFS='|' read -r name dir pkg ldflags <<<"$spec"
  key=$(key_of "$dir" "$ldflags")
  built="$cache/$name-$key/$name"
  if [ ! -x "$built" ]; then
    echo "building $name ($pkg) ..." >&2
    start=$(date +%s)
    tmp=$(mktemp -d "$cache/.build-$name.XXXXXX")
    (cd "$here/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$name" "$pkg")
    rm -rf "$cache/$name-$key"
    mv "$tmp" "$cache/$name-$key"
    echo "built $name in $(($(date +%s) - start)) s" >&2
  fi
  links+=("$name|$built|$key")
done

# The one directory: named by every tool's key, holding a symlink per tool.
all=$(printf '%s\n' "${links[@]}" | sha256sum | cut -c1-16)
dest="$cache/bin-$all"
if [ ! -d "$dest" ]; then
  tmp=$(mktemp -d "$cache/.bin.XXXXXX")
  for l in "${links[@]}"; do
    IFS='|' read -r name built _ <<<"$l"
    ln -s "$built" "$tmp/$name"
  done
  rm -rf "$dest"
  mv "$tmp" "$dest"
fi
echo "$dest"
