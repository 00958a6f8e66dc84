#!/usr/bin/env bash
# Runs every fuzz target for SECS seconds each (default 60).
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz..." >&2
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "== $target ($secs s)"
  cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048
done
