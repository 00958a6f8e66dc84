#!/usr/bin/env bash
# Every host's cached GET beside its floor, in a short mode (the test command runs
# it after the packages are built; it prints numbers and asserts none: a shared
# machine makes timings unfit for pass/fail). Each bench measures its floor in the
# same run against the same emulator (127.0.0.1 only).
#
#   bash bench/floors.sh          # after scripts/test.sh (or each package's ci.sh) built them
#
# Python: bench/python_floor.py (socket + json.loads) with the wheel in dist/;
# Node and WASM under Node: bench/js_floor.mjs (node:net + JSON.parse, both packages'
# transport under Node; fetch + res.json() for WASM over fetch); Go: the package's benchmarks (net.Conn + encoding/json); JVM:
# bindings/uniffi/bench.sh (raw java.net.http.HttpClient and Jackson's readTree; raw without a parse too).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
emu="$target/release/vpc-imds-emulator"
[ -x "$emu" ] || cargo build -q --release -p vpc-imds-emulator || exit 1
export EMULATOR_BIN="$emu"
failed=0
run() { # name, command...
  echo; echo "== $1"; shift
  "$@" || { echo "FAILED: $*"; failed=1; }
}
wheel=$(ls -t dist/vpc_imds-*.whl 2>/dev/null | head -1)
if [ -n "$wheel" ]; then
  venv=$(mktemp -d)
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --no-index "$wheel" &&
    run "Python: bench/python_floor.py (short)" "$venv/bin/python" bench/python_floor.py --rounds 5 --calls 200 --emulator "$emu"
else
  echo "Python: no wheel in dist/ (bindings/python/ci.sh builds it): not measured"
fi
if [ -f bindings/node/lib/index.mjs ] && [ -f bindings/wasm/pkg/vpc_imds_wasm_bg.wasm ]; then
  run "Node and WASM under Node: bench/js_floor.mjs --quick" node bench/js_floor.mjs --quick --emulator "$emu"
else
  echo "Node/WASM: packages not built (npm run build in bindings/node and bindings/wasm): not measured"
fi
run "Go: cached Instance() beside net.Conn + encoding/json" \
  bash -c "cd bindings/go && go test -count=1 -run '^\$' -bench . -benchtime 1000x . | grep Benchmark"
if [ -f bindings/uniffi/target/vpc-imds-0.1.0.jar ]; then
  run "JVM: bindings/uniffi/bench.sh" bash bindings/uniffi/bench.sh
else
  echo "JVM: the jar is not built (bindings/uniffi/ci.sh builds it): not measured"
fi
exit $failed
