#!/usr/bin/env bash
# Builds vpc_imds.wasm, the module the Go package embeds: the vpc-imds-c crate for
# wasm32-unknown-unknown (release profile: opt-level "s", LTO, one codegen unit,
# stripped, panic = abort). Reproducible: checkout and cargo paths are remapped,
# and it has its own target directory (its RUSTFLAGS would otherwise rebuild the
# workspace's wasm32 artifacts). Pinned toolchain: rustc 1.95.0; another rustc may
# give other bytes (ci.sh then reports the module as stale).
# Usage: [WASM_TARGET_DIR=DIR] build-wasm.sh [OUT]   (default: bindings/go/vpc_imds.wasm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/vpc_imds.wasm}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
want="rustc 1.95.0"
have=$(rustc --version)
case "$have" in "$want"*) ;; *) echo "warning: $have, the committed module was built with $want" >&2 ;; esac
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$root/target/go-wasm}"
# The stack pointer is exported: the host zeroes the stack below it (stale frames may
# hold a token) before it keeps an instance for its next client.
export RUSTFLAGS="--remap-path-prefix=$root=/vpc-imds --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$(rustc --print sysroot)=/rust -C link-arg=--export=__stack_pointer"
cd "$root"
nice cargo build -q --release --locked --target wasm32-unknown-unknown -p vpc-imds-c
cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/vpc_imds_c.wasm" "$out"
