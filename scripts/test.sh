#!/usr/bin/env bash
# Runs every check and test of the project. Prerequisites: see .ci/run (which installs them).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

passed=0 failed=0 failures=()
step() {
  local name="$1"; shift
  local start=$SECONDS
  echo
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "<== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name")
    echo "<== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

step "rustfmt" cargo fmt --all -- --check
step "test vectors are generated from tests/vectors/generate.py" python3 tests/vectors/generate.py --check
step "clippy (all targets, warnings are errors)" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "core builds for thumbv7em-none-eabihf" cargo build -p vpc-imds-core --release --target thumbv7em-none-eabihf
step "core builds for wasm32-unknown-unknown" cargo build -p vpc-imds-core --release --target wasm32-unknown-unknown
step "cargo test (workspace)" cargo test --workspace --all-features
for extra in emulator/conformance/run.sh client/ci.sh bindings/python/ci.sh; do
  if [ -f "$extra" ]; then step "$extra" bash "$extra"; fi
done

echo
echo "steps: ${passed} passed, ${failed} failed"
if [ "$failed" -gt 0 ]; then
  printf '  failed: %s\n' "${failures[@]}"
  exit 1
fi
