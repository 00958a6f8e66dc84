#!/usr/bin/env bash
# Conformance: IBM's own SDK authenticators (Python, Node, Go) against vpc-imds-emulator.
#
# Installs what it needs inside the checkout (a venv under target/, node_modules
# under emulator/conformance/node/, Go modules through the module cache), starts
# the emulator binary twice (plain HTTP and --tls), runs every SDK's checks, and
# ends with "N passed, M failed". Exits non-zero on any failure.
#
# Environment:
#   EMULATOR_BIN   use this emulator binary instead of building one (debug build by default)
#   CARGO_TARGET_DIR  where cargo builds (default: <repo>/target)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work="$target/conformance"
mkdir -p "$work"
# Everything here talks to 127.0.0.1 only; keep proxies out of it.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy

log() { printf '== %s\n' "$*" >&2; }

# --- the emulator -----------------------------------------------------------
if [[ -z "${EMULATOR_BIN:-}" ]]; then
  log "building vpc-imds-emulator (debug)"
  (cd "$root" && cargo build --quiet -p vpc-imds-emulator --bin vpc-imds-emulator)
  EMULATOR_BIN="$target/debug/vpc-imds-emulator"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_emulator NAME ARGS... : starts it, waits for its two address lines.
start_emulator() {
  local name=$1; shift
  local out="$work/$name.out"
  : >"$out"
  "$EMULATOR_BIN" "$@" >"$out" 2>"$work/$name.err" &
  pids+=("$!")
  for _ in $(seq 100); do
    [[ $(wc -l <"$out") -ge 2 ]] && return 0
    sleep 0.1
  done
  echo "emulator $name did not start:" >&2
  cat "$work/$name.err" >&2
  return 1
}

start_emulator plain
start_emulator tls --tls --cert-out "$work/emulator-cert.pem"
base=$(sed -n '1s/^listening on //p' "$work/plain.out")
control=$(sed -n '2s/^control on //p' "$work/plain.out")
tls_base=$(sed -n '1s/^listening on //p' "$work/tls.out")
cert="$work/emulator-cert.pem"
EMU_FIXTURE_JSON=$("$EMULATOR_BIN" --print-fixture)
export EMU_FIXTURE_JSON
log "emulator at $base (control $control), TLS at $tls_base"

results="$work/results.txt"
: >"$results"

# run_sdk NAME COMMAND... : runs one SDK's checks, keeps its PASS/FAIL lines.
run_sdk() {
  local name=$1; shift
  local out="$work/$name.log" rc=0
  "$@" >"$out" 2>&1 || rc=$?
  grep -E '^(PASS|FAIL) ' "$out" | tee -a "$results" || true
  if [[ $rc -ne 0 ]] && ! grep -q '^FAIL ' "$out"; then
    echo "FAIL $name: runner exited $rc (log: $out)" | tee -a "$results"
    tail -n 20 "$out" >&2
  fi
}

# stamp FILE... : a fingerprint of the dependency manifests, to skip reinstalls.
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python: ibm-cloud-sdk-core ---------------------------------------------
py_setup() {
  local venv="$work/venv" want
  want=$(stamp "$here/python/requirements.txt")
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]]; then
    log "installing Python SDK into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
    echo "$want" >"$venv/.stamp"
  fi
}
if py_setup >"$work/python-setup.log" 2>&1; then
  run_sdk python "$work/venv/bin/python" "$here/python/check.py" "$base" "$control" "$tls_base" "$cert"
else
  echo "FAIL python: setup failed (log: $work/python-setup.log)" | tee -a "$results"
fi

# --- Node: ibm-cloud-sdk-core (npm) ------------------------------------------
node_setup() {
  local want
  want=$(stamp "$here/node/package.json" "$here/node/package-lock.json")
  if [[ ! -d "$here/node/node_modules" || "$(cat "$here/node/node_modules/.stamp" 2>/dev/null)" != "$want" ]]; then
    log "installing Node SDK into $here/node/node_modules"
    (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$here/node/node_modules/.stamp"
  fi
}
if node_setup >"$work/node-setup.log" 2>&1; then
  run_sdk node env NODE_EXTRA_CA_CERTS="$cert" node "$here/node/check.js" "$base" "$control" "$tls_base"
else
  echo "FAIL node: setup failed (log: $work/node-setup.log)" | tee -a "$results"
fi

# --- Go: github.com/IBM/go-sdk-core/v5 ---------------------------------------
if (cd "$here/go" && go build -o "$work/go-conformance" .) >"$work/go-setup.log" 2>&1; then
  run_sdk go env SSL_CERT_FILE="$cert" "$work/go-conformance" "$base" "$control" "$tls_base"
else
  echo "FAIL go: build failed (log: $work/go-setup.log)" | tee -a "$results"
fi

passed=$(grep -c '^PASS ' "$results" || true)
failed=$(grep -c '^FAIL ' "$results" || true)
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
