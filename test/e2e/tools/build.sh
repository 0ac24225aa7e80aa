#!/usr/bin/env bash
# Builds the real tools the end-to-end tier runs, from their Go modules (never a release
# download), into a cache outside the repository, and prints the one directory that holds them:
#   fake-client                 the fakes' native client (this project's: fake-client/main.go,
#                               test/fakes/lib/server.js)
#   pulumi                      Pulumi CLI v3.248.0 (the engine; the @pulumi/pulumi of the lockfile)
#   pulumi-resource-command     command provider 1.2.1 (a stand-in: see command/main.go)
#   talosctl-v1.10              talosctl v1.10.5
#   talosctl-v1.11              talosctl v1.11.5
#   talosctl-v1.12              talosctl v1.12.6 (one dependency replaced: talosctl-v1.12/go.mod)
#   talosctl-v1.13              talosctl v1.13.9 (three dependencies replaced: talosctl-v1.13/go.mod)
#   talosctl-v1.14              talosctl v1.14.1 (four dependencies replaced: talosctl-v1.14/go.mod)
#   etcd                        etcd v3.6.17
#   kube                        Kubernetes v1.31.14: kube-apiserver, kube-controller-manager and
#                               kube-scheduler in one binary, linked under each name
#   kubectl                     kubectl v1.31.14 (upstream's k8s.io/kubernetes/cmd/kubectl)
#   kwok                        kwok v0.7.0 (kubelet-less Nodes and Pods)
#   pulumi-resource-kubernetes  Kubernetes provider v4.25.0 (the release's commit, f47bc2d6f199)
# Each tool is keyed by its module files, its ldflags, its prepare step and the Go version: a
# second run builds nothing. HOMEOPS_TOOLS_CACHE overrides the cache (default: $XDG_CACHE_HOME or
# ~/.cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${HOMEOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/home-ops-tools}
# -trimpath for every go command, a prepare step's `go run` too: its packages then share the build
# cache with the tool's own build (the same action IDs), instead of being compiled twice.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath"

# What `kube --version` and `kubectl version` report: Kubernetes' own build stamps both version
# packages (hack/lib/version.sh); the date is the tag's commit time as the module proxy gives it.
kube_version() {
  local p out=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $p.gitVersion=v1.31.14 -X $p.gitMajor=1 -X $p.gitMinor=31 -X $p.buildDate=2025-11-12T11:37:56Z"
  done
  printf '%s' "${out# }"
}

# name | module dir | package | ldflags | prepare: a command run first in a scratch copy of the
# module dir (for files the package embeds but the module does not ship); the last field optional.
# Built in this order: first the fakes' client (every test process of both tiers asks for it as it
# starts: test/helpers/processEnv.ts), then what npm test's real-talosctl file needs, then the rest of what the
# fake-node e2e files need (test/e2e/run.sh starts them then), then the control plane's.
TOOLS=(
  "fake-client|fake-client|.|"
  "talosctl-v1.10|talosctl-v1.10|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.11|talosctl-v1.11|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.12|talosctl-v1.12|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.13|talosctl-v1.13|github.com/siderolabs/talos/cmd/talosctl|"
  "talosctl-v1.14|talosctl-v1.14|github.com/siderolabs/talos/cmd/talosctl|"
  "pulumi|pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0"
  "pulumi-resource-command|command|.|-X main.Version=v1.2.1"
  "pulumi-resource-kubernetes|pulumi-resource-kubernetes|.|-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=4.25.0|go run ./gen 4.25.0"
  "etcd|etcd|.|"
  "kube|kubernetes|.|$(kube_version)"
  "kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|$(kube_version)"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|"
)
# Further names for a built tool (a multi-call binary picks its program by the name it is run as).
# alias | tool
ALIASES=(
  "kube-apiserver|kube"
  "kube-controller-manager|kube"
  "kube-scheduler|kube"
)

# Arguments: none builds every tool. `--download` only fetches every module into the module cache
# (network-bound: CI runs it beside `npm ci`) and prints nothing. TOOL names build only those (and
# their aliases) and print a directory holding just them (CI builds what `npm test` needs first, then
# the rest beside it).
download_only=false
only=()
for arg in "$@"; do
  case $arg in
    --download) download_only=true ;;
    -*) echo "build.sh: unknown option $arg" >&2; exit 64 ;;
    *) only+=("$arg") ;;
  esac
done
selected() { # name -> true when it is to be built
  [ ${#only[@]} -eq 0 ] && return 0
  local o
  for o in "${only[@]}"; do [ "$o" = "$1" ] && return 0; done
  return 1
}
for o in "${only[@]}"; do
  printf '%s\n' "${TOOLS[@]}" | grep -q "^$o|" || { echo "build.sh: no tool named $o" >&2; exit 64; }
done

if $download_only; then
  for spec in "${TOOLS[@]}"; do
    IFS='|' read -r name dir _ <<<"$spec"
    selected "$name" || continue
    (cd "$here/$dir" && go mod download) || { echo "build.sh: go mod download failed for $name" >&2; exit 1; }
  done
  exit 0
fi

go_version=$(go env GOVERSION)
platform="$(go env GOOS)/$(go env GOARCH)"
key_of() { # module dir, ldflags[, prepare] -> content key
  (
    cd "$here/$1"
    printf '%s\n%s\n%s\n' "$go_version" "$platform" "$2"
    if [ -n "${3:-}" ]; then printf '%s\n' "$3"; fi
    find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs sha256sum
  ) | sha256sum | cut -c1-16
}

mkdir -p "$cache"
links=()
for spec in "${TOOLS[@]}"; do
  IFS='|' read -r name dir pkg ldflags prepare <<<"$spec"
  selected "$name" || continue
  key=$(key_of "$dir" "$ldflags" "$prepare")
  built="$cache/$name-$key/$name"
  # One build of a tool at a time: a second build.sh asking for it (CI builds every tool in the
  # background while `npm test` asks for the talosctl binaries) waits here for the first to finish.
  exec {lock}>"$cache/.lock-$name-$key"
  flock "$lock"
  if [ ! -x "$built" ]; then
    echo "building $name ($pkg) ..." >&2
    start=$(date +%s)
    tmp=$(mktemp -d "$cache/.build-$name.XXXXXX")
    src="$here/$dir"
    if [ -n "$prepare" ]; then
      # Generated files stay in this build's scratch copy, removed with it.
      cp -R "$src" "$tmp/src"
      src="$tmp/src"
      (cd "$src" && sh -c "$prepare")
    fi
    (cd "$src" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$name" "$pkg")
    rm -rf "$tmp/src"
    rm -rf "$cache/$name-$key"
    mv "$tmp" "$cache/$name-$key"
    echo "built $name in $(($(date +%s) - start)) s" >&2
  fi
  exec {lock}>&-
  links+=("$name|$built|$key")
done
for alias in "${ALIASES[@]}"; do
  IFS='|' read -r name tool <<<"$alias"
  for l in "${links[@]}"; do
    IFS='|' read -r lname built key <<<"$l"
    if [ "$lname" = "$tool" ]; then links+=("$name|$built|$key"); fi
  done
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
  # Another build.sh of the same tools (CI's, beside the e2e tier's) may have made it meanwhile,
  # and may be using it: never remove it; ours, the same links, goes.
  mv -T "$tmp" "$dest" 2>/dev/null || rm -rf "$tmp"
fi
echo "$dest"
