#!/usr/bin/env bash
# Static musl sizes of the vpc-imds binary: HTTP-only (the initramfs build) and with HTTPS.
# Goal: HTTP-only <= 600 KB. Prints each size next to the goal; builds in target/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
rustup target add "$target" >/dev/null
command -v musl-gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq musl-tools >/dev/null; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
goal=$((600 * 1024))

build() { # name, dir, extra env, cargo args...
  local name="$1" dir="$2"; shift 2
  env CARGO_TARGET_DIR="target/size-$dir" "$@" >/dev/null 2>&1
  local bin="target/size-$dir/$target/release/vpc-imds"
  local size; size=$(stat -c %s "$bin")
  local linkage; linkage=$(file -b "$bin" | grep -o 'static[a-z-]* linked' || echo "NOT static")
  "$bin" --help >/dev/null
  local verdict="(no size goal)"
  case "$name" in HTTP-only*) [ "$size" -le "$goal" ] && verdict="within the goal" || verdict="over the goal by $((size - goal)) bytes";; esac
  printf '%-44s %9d bytes  %-22s %s\n' "$name" "$size" "$linkage" "$verdict"
}

echo "static musl builds of vpc-imds (goal for HTTP-only: <= $goal bytes)"
build "HTTP-only, release profile (opt-level s)" s \
  cargo build --release -p vpc-imds --target "$target"
build "HTTP-only, opt-level z + static relocation" z \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z RUSTFLAGS="-C relocation-model=static" \
  cargo build --release -p vpc-imds --target "$target"
build "with --features https (opt-level s)" https \
  cargo build --release -p vpc-imds --features https --target "$target"

if cargo tree -p vpc-imds -e normal --target "$target" | grep -Eq '\b(tokio|hyper|reqwest) v'; then
  echo "FAIL: the HTTP-only build depends on tokio, hyper or reqwest"
  exit 1
fi
echo "ok: the HTTP-only build has no tokio, hyper or reqwest"
