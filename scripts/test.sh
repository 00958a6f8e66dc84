#!/usr/bin/env bash
# Runs every check and test of the project (README's test command; CI runs it via
# .ci/run). It first installs what a fresh machine with only Rust, Python and Node
# lacks: the Rust targets and components, and (as root, via apt) musl-tools and
# iproute2. Each binding's ci.sh installs its own packages into the checkout.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export DEBIAN_FRONTEND=noninteractive

echo "==> prerequisites"
start=$SECONDS
rustup component add clippy rustfmt >/dev/null 2>&1 || echo "warning: could not add clippy/rustfmt"
rustup target add thumbv7em-none-eabihf wasm32-unknown-unknown x86_64-unknown-linux-musl >/dev/null ||
  { echo "cannot install the Rust targets (rustup target add failed)"; exit 1; }
need_apt=()
for pkg in iproute2 musl-tools time; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
      echo "warning: apt-get could not install ${need_apt[*]}"
  else
    echo "warning: not root, so ${need_apt[*]} are not installed; the steps that need them report it"
  fi
fi
echo "<== prerequisites ($((SECONDS - start)) s)"

STEPS=steps
. scripts/steps.sh

step "rustfmt" cargo fmt --all -- --check
step "test vectors are generated from tests/vectors/generate.py" python3 tests/vectors/generate.py --check
step "generated surfaces are fresh and a hand edit fails the check (scripts/test-generate.sh)" bash scripts/test-generate.sh
step "clippy (all targets, warnings are errors)" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "core builds for thumbv7em-none-eabihf" cargo build -p vpc-imds-core --release --target thumbv7em-none-eabihf
step "core builds for wasm32-unknown-unknown" cargo build -p vpc-imds-core --release --target wasm32-unknown-unknown
step "driver builds for thumbv7em-none-eabihf (no_std + alloc)" cargo build -p vpc-imds-driver --release --target thumbv7em-none-eabihf
step "driver builds for wasm32-unknown-unknown" cargo build -p vpc-imds-driver --release --target wasm32-unknown-unknown
step "cargo test (workspace)" cargo test --workspace --all-features
for extra in emulator/conformance/run.sh client/ci.sh client/boot.sh bindings/python/ci.sh bindings/node/ci.sh bindings/wasm/ci.sh bindings/uniffi/ci.sh bindings/c/ci.sh bindings/go/ci.sh scripts/release-check.sh; do
  if [ -f "$extra" ]; then step "$extra" bash "$extra"; fi
done
step "floor benchmarks, short: each host's cached GET beside its floor (numbers, no assertion)" bash bench/floors.sh

echo
steps_end
