#!/usr/bin/env bash
# Node package `vpc-imds`: builds the napi-rs addon, runs every test vector and the
# emulator tests through it (node --test), type-checks the examples (tsc --strict,
# ESM and CommonJS), and installs the `npm pack` tarball in a fresh directory to
# run the quickstarts against the emulator. Installs what it needs (@napi-rs/cli,
# typescript, ibm-cloud-sdk-core) into bindings/node/node_modules; caches nothing
# outside the checkout. Ends with "node: N passed, M failed".
#
# Environment: EMULATOR_BIN (default: the workspace's debug build, built if absent),
# NODE_CI_BENCH=1 also runs bench/node.mjs.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# npm's cache stays inside the checkout (target/ is ignored by git).
export npm_config_cache="${npm_config_cache:-$root/target/npm-cache}" npm_config_update_notifier=false
# Tests talk to 127.0.0.1 only; a proxy must never matter (one test sets these itself).
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy VPC_IMDS_ENDPOINT
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
target=${target:-$root/target}

STEPS=node
. "$root/scripts/steps.sh"

install() { npm ci --no-audit --no-fund --loglevel=error; }
build() { npx napi build --platform --release --no-js --dts native.d.ts && node ../js/build.mjs node; }
emulator() {
  if [[ -z "${EMULATOR_BIN:-}" ]]; then
    (cd "$root" && cargo build --quiet -p vpc-imds-emulator --bin vpc-imds-emulator) || return 1
    export EMULATOR_BIN="$target/debug/vpc-imds-emulator"
  fi
  [[ -x "$EMULATOR_BIN" ]]
}
tests() { node --test test/; }
types() { npx tsc -p examples/tsconfig.json; }

# Starts an emulator in the background; sets EMU_PID, EMU_BASE.
start_emulator() {
  local out; out=$(mktemp)
  "$EMULATOR_BIN" >"$out" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 100); do
    [[ $(wc -l <"$out") -ge 2 ]] && break
    sleep 0.1
  done
  EMU_BASE=$(sed -n '1s/^listening on //p' "$out")
  rm -f "$out"
  [[ -n "$EMU_BASE" ]]
}

packed() {
  local dir ok=0
  dir=$(mktemp -d)
  rm -f vpc-imds-*.tgz
  npm pack --silent >/dev/null || return 1
  local tgz; tgz=$(ls vpc-imds-*.tgz)
  echo "package: $tgz $(stat -c %s "$tgz") bytes; addon $(stat -c %s vpc-imds.*.node) bytes"
  cp examples/quickstart.mjs examples/quickstart.cjs "$dir"/
  (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$here/$tgz") || ok=1
  start_emulator || return 1
  if [[ $ok -eq 0 ]]; then
    (cd "$dir" && VPC_IMDS_ENDPOINT=$EMU_BASE node quickstart.mjs && VPC_IMDS_ENDPOINT=$EMU_BASE node quickstart.cjs &&
      node --input-type=module -e "import { VpcImdsAuthenticator } from 'vpc-imds/ibm'; if (typeof VpcImdsAuthenticator !== 'function') process.exit(1)" &&
      node -e "require('vpc-imds/ibm').VpcImdsAuthenticator.AUTHTYPE_VPC === 'vpc' || process.exit(1)") || ok=1
  fi
  kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null
  rm -rf "$dir" "$tgz"
  return $ok
}

step "npm ci (@napi-rs/cli, typescript, ibm-cloud-sdk-core)" install
step "napi build --release, lib/ from ../js and js/" build
step "emulator" emulator
step "node --test (vectors, emulator, IBM SDK)" tests
step "tsc --noEmit --strict (ESM and CommonJS examples)" types
step "npm pack, install in a fresh directory, quickstart" packed
if [[ "${NODE_CI_BENCH:-}" == 1 ]]; then step "bench/node.mjs" node "$root/bench/node.mjs"; fi

steps_end
