#!/usr/bin/env bash
# CI for the WebAssembly package: install the tools it needs inside the checkout,
# build the .wasm (cargo, wasm-bindgen, wasm-opt), then test the package under Node
# (every shared vector, the client against the emulator), check its size, pack it
# and use the tarball from a fresh directory, and run the headless Chromium test.
#
#   bash bindings/wasm/ci.sh          # from anywhere; exits non-zero on any failure
#
# Needs: cargo + rustup, node >= 18 and npm (registry), apt for Debian's chromium
# (installed when missing; SKIP_BROWSER=1 skips the browser test, saying so).
# Installs: the nightly pinned in scripts/build-static.sh (build.sh, through rustup,
# when missing; build.sh falls back to stable, saying so, when that fails),
# wasm-bindgen-cli 0.2.130 into <repo>/.tools (git-ignored; skipped when
# that version is there), npm devDependencies (binaryen, playwright-core,
# typescript, deno, vite) into bindings/wasm/node_modules.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
start=$SECONDS
step() { echo "--- $* ($((SECONDS - start)) s)"; }

step "tools: npm devDependencies (build.sh installs the wasm32 target and wasm-bindgen-cli)"
(cd "$here" && npm install --no-save --loglevel=error)

step "build: cargo (pinned nightly with build-std, else stable; wasm32, opt-level z) + wasm-bindgen --target web + wasm-opt -Oz"
bash "$here/build.sh"

step "types: tsc --strict over test/types.ts against lib/index.d.ts"
(cd "$here" && node_modules/.bin/tsc -p test/tsconfig.json)

step "emulator (cargo build -p vpc-imds-emulator)"
(cd "$repo" && cargo build -q -p vpc-imds-emulator)
export VPC_IMDS_EMULATOR="${CARGO_TARGET_DIR:-$repo/target}/debug/vpc-imds-emulator"

step "size, npm pack, install the tarball in a fresh directory and use it"
node "$here/bench/size.mjs"
bash "$here/test/pack.sh"

if [ "${SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  step "Debian chromium for the browser test"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

step "node --test: vectors, client against the emulator, TLS, Deno, headless Chromium, a Vite bundle"
cd "$here"
exec node --expose-gc --test test/*.test.mjs
