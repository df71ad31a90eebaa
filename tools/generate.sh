#!/usr/bin/env bash
# Regenerates the protobuf and Connect Go code in gen/ from the .proto files in proto/.
#
#   tools/generate.sh           regenerate gen/ (only files whose content changed are rewritten)
#   tools/generate.sh --check   regenerate into a temporary dir and fail if gen/ differs
#
# Tools: Debian's protoc (packages protobuf-compiler + libprotobuf-dev for the well-known types;
# installed with apt-get when missing and running as root) and the Go plugins pinned below,
# installed with `go install` into ${WEIR_CACHE:-$HOME/.cache/weir}/bin so they stay off PATH.
# The "// protoc vX" line that protoc-gen-go writes into each header is ignored by --check, so a
# different protoc release does not make the committed code look stale.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf, matches go.mod
PROTOC_GEN_CONNECT_GO_VERSION=v1.21.1 # connectrpc.com/connect, matches go.mod

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROTO_DIR=$ROOT/proto
GEN_DIR=$ROOT/gen
BIN=${WEIR_CACHE:-$HOME/.cache/weir}/bin

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  -h|--help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { echo "generate: $*" >&2; }

# wkt_include prints the directory holding google/protobuf/timestamp.proto, if any.
wkt_include() {
  local d
  for d in "$(dirname "$(command -v protoc)")/../include" /usr/include /usr/local/include; do
    if [[ -f $d/google/protobuf/timestamp.proto ]]; then (cd "$d" && pwd); return 0; fi
  done
  return 1
}

# ensure_protoc makes protoc and the well-known .proto files available, installing the Debian
# packages when it can. Without them it skips under --check and fails otherwise.
ensure_protoc() {
  if command -v protoc >/dev/null && wkt_include >/dev/null; then return 0; fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing protobuf-compiler and libprotobuf-dev with apt-get"
    local pkgs=(protobuf-compiler libprotobuf-dev)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    fi
    if command -v protoc >/dev/null && wkt_include >/dev/null; then return 0; fi
  fi
  if $check; then
    echo "generate-check: skipped: protoc not found (install protobuf-compiler)"
    exit 0
  fi
  echo "generate: protoc (with google/protobuf/*.proto) not found and cannot be installed here;" \
    "install protobuf-compiler and libprotobuf-dev" >&2
  exit 1
}

# ensure_plugin NAME PACKAGE VERSION installs PACKAGE@VERSION into $BIN unless the binary there
# already reports VERSION.
ensure_plugin() {
  local name=$1 pkg=$2 version=$3
  if [[ -x $BIN/$name ]] && "$BIN/$name" --version 2>/dev/null | grep -qF "${version#v}"; then
    return 0
  fi
  log "installing $pkg@$version into $BIN"
  mkdir -p "$BIN"
  (cd "$ROOT" && GOBIN=$BIN GOWORK=off go install "$pkg@$version")
}

# generate OUT runs protoc over every .proto file under proto/, writing Go code into OUT.
generate() {
  local out=$1 files
  mapfile -t files < <(cd "$PROTO_DIR" && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
  if [[ ${#files[@]} -eq 0 ]]; then log "no .proto files under $PROTO_DIR"; exit 1; fi
  mkdir -p "$out"
  (cd "$PROTO_DIR" && protoc -I . -I "$(wkt_include)" \
    --plugin=protoc-gen-go="$BIN/protoc-gen-go" \
    --plugin=protoc-gen-connect-go="$BIN/protoc-gen-connect-go" \
    --go_out="$out" --go_opt=paths=source_relative \
    --connect-go_out="$out" --connect-go_opt=paths=source_relative \
    "${files[@]}")
}

# generated_files DIR lists the generated files under DIR, relative to it.
generated_files() {
  [[ -d $1 ]] || return 0
  (cd "$1" && find . -type f \( -name '*.pb.go' -o -name '*.connect.go' \) | sed 's|^\./||' | LC_ALL=C sort)
}

# normalized FILE prints FILE without the protoc version line of the generated header.
normalized() { grep -v -E '^//[[:space:]]+protoc[[:space:]]+(v[0-9]|\(unknown\))' "$1" || true; }

ensure_protoc
ensure_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
ensure_plugin protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go "$PROTOC_GEN_CONNECT_GO_VERSION"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp/gen"

if $check; then
  stale=()
  while IFS= read -r f; do
    if [[ ! -f $GEN_DIR/$f ]]; then stale+=("missing: gen/$f"); continue; fi
    if ! cmp -s <(normalized "$tmp/gen/$f") <(normalized "$GEN_DIR/$f"); then
      stale+=("differs: gen/$f")
      diff -u --label "gen/$f (committed)" --label "gen/$f (generated)" \
        <(normalized "$GEN_DIR/$f") <(normalized "$tmp/gen/$f") | head -n 40 >&2 || true
    fi
  done < <(generated_files "$tmp/gen")
  while IFS= read -r f; do
    [[ -f $tmp/gen/$f ]] || stale+=("extra: gen/$f (no longer generated)")
  done < <(generated_files "$GEN_DIR")
  if [[ ${#stale[@]} -gt 0 ]]; then
    printf '  %s\n' "${stale[@]}" >&2
    echo "generated code is stale: run make generate" >&2
    exit 1
  fi
  echo "generate-check: gen/ is up to date ($(protoc --version), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-connect-go $PROTOC_GEN_CONNECT_GO_VERSION)"
  exit 0
fi

# Write changed files only, and drop generated files whose .proto is gone, so reruns are no-ops.
changed=0
while IFS= read -r f; do
  if ! cmp -s "$tmp/gen/$f" "$GEN_DIR/$f" 2>/dev/null; then
    mkdir -p "$(dirname "$GEN_DIR/$f")"
    cp "$tmp/gen/$f" "$GEN_DIR/$f"
    log "wrote gen/$f"
    changed=$((changed + 1))
  fi
done < <(generated_files "$tmp/gen")
while IFS= read -r f; do
  if [[ ! -f $tmp/gen/$f ]]; then
    rm -f "$GEN_DIR/$f"
    log "removed gen/$f"
    changed=$((changed + 1))
  fi
done < <(generated_files "$GEN_DIR")
log "done: $changed file(s) changed"
