# shellcheck shell=bash
# Sourced by hack/build-control-plane.sh and hack/build-node.sh: the wrapper-module route to
# build Kubernetes commands at $K8S_VERSION from the Go module proxy.
#
# A throw-away module requires k8s.io/kubernetes and replaces each staging module
# (./staging/src/k8s.io/* in kubernetes' own go.mod) with its published v0.x twin.

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# k8s_module_file: the path of k8s.io/kubernetes@$K8S_VERSION's go.mod in the module cache.
k8s_module_file() {
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'
}

# k8s_wrapper_module NAME REQUIRES CMD...
#   Write ./go.mod for module NAME requiring k8s.io/kubernetes, the extra "module version" lines
#   in REQUIRES (newline-separated, may be empty) and a `tool` line per k8s.io/kubernetes/cmd/CMD,
#   then `go mod tidy`. The `tool` lines keep k8s.io/kubernetes in the module graph: without them
#   `go mod tidy` drops it (nothing imports it) and `go build` then resolves the latest release.
k8s_wrapper_module() {
  local name="$1" requires="$2" k8s_mod staging_version cmd
  shift 2
  k8s_mod="$(k8s_module_file)"
  staging_version="v0.${K8S_VERSION#v1.}"          # v1.35.4 -> v0.35.4
  {
    echo "module $name"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$k8s_mod")"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $K8S_VERSION"
    [ -z "$requires" ] || printf '%s\n' "$requires" | sed 's/^/	/'
    echo ")"
    echo
    echo "tool ("
    for cmd in "$@"; do echo "	k8s.io/kubernetes/cmd/$cmd"; done
    echo ")"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$k8s_mod" |
      while read -r m; do echo "	$m => $m $staging_version"; done
    echo ")"
  } > go.mod
  echo ">> resolving modules for $* (staging $staging_version)" >&2
  go mod tidy >&2
}

# k8s_build OUT CMD...: build each k8s.io/kubernetes/cmd/CMD into OUT with the version stamped
# the way Kubernetes' own release build stamps it (so `--version` and the apiserver agree).
k8s_build() {
  local out="$1" minor ldflags="-s -w" pkg cmd
  shift
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for cmd in "$@"; do
    echo ">> building $cmd $K8S_VERSION" >&2
    go build -trimpath -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd" >&2
  done
}
