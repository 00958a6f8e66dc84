#!/usr/bin/env bash
# Start-up and token figures beside their references, against one emulator on
# 127.0.0.1, in alternating rounds (medians):
#  - a fresh process's first Instance() (compare/firstcall) with the wazero
#    compilation cache warm, and with it empty, beside a bare Go program doing the
#    same two requests with net/http (compare/nethttp): process wall time;
#  - an IAM token on a new client, New + IAMToken + Close (compare/tokens), beside
#    go-sdk-core's VpcInstanceAuthenticator (compare/sdkcore/tokens).
# Usage: [EMULATOR_BIN=target/release/vpc-imds-emulator] bindings/go/compare/run.sh [ROUNDS]
# (default 7 rounds; the emulator: target/debug/vpc-imds-emulator, built if missing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rounds=${1:-7}
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod"
emulator=${EMULATOR_BIN:-$root/target/debug/vpc-imds-emulator}
[ -n "${EMULATOR_BIN:-}" ] || cargo build -q -p vpc-imds-emulator --manifest-path "$root/Cargo.toml"
mkdir -p "$root/target"
work=$(mktemp -d "$root/target/go-compare.XXXXXX")
"$emulator" --workers 1 > "$work/emu.out" 2>&1 & emu=$!
trap 'kill $emu 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^control on' "$work/emu.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/emu.out")
case "$url" in http://127.0.0.1:*) ;; *) echo "the emulator is not on loopback: $url"; exit 1 ;; esac
cd "$here/.."
build() { go build -trimpath -ldflags='-s -w' -o "$work/$1" "./compare/$1"; }
build firstcall; build nethttp; build tokens
(cd compare/sdkcore && go build -trimpath -ldflags='-s -w' -o "$work/sdkcore-tokens" ./tokens)
# Wall time of one process in µs.
timed() { local t0 t1; t0=$(date +%s%N); "$@" > /dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
VPC_IMDS_WAZERO_CACHE="$work/warm" "$work/firstcall" "$url" > /dev/null # fills the cache
for i in $(seq "$rounds"); do
  VPC_IMDS_WAZERO_CACHE="$work/warm" timed "$work/firstcall" "$url" >> "$work/warm.txt"
  timed "$work/nethttp" "$url" >> "$work/nethttp.txt"
  VPC_IMDS_WAZERO_CACHE="$work/cold-$i" timed "$work/firstcall" "$url" >> "$work/cold.txt"
  VPC_IMDS_WAZERO_CACHE="$work/warm" "$work/tokens" "$url" 50 | sed 's/.*median \([0-9]*\).*/\1/' >> "$work/tokens.txt"
  "$work/sdkcore-tokens" "$url" 50 | sed 's/.*median \([0-9]*\).*/\1/' >> "$work/sdkcore.txt"
done
warm=$(median < "$work/warm.txt") cold=$(median < "$work/cold.txt") bare=$(median < "$work/nethttp.txt")
tok=$(median < "$work/tokens.txt") sdk=$(median < "$work/sdkcore.txt")
echo "$(date -u +%F), $(basename "$(dirname "$emulator")") emulator, $rounds alternating rounds, medians:"
echo "first Instance() in a fresh process, warm compilation cache: $warm µs (net/http, same two requests: $bare µs; +$(((warm - bare) / 1000)) ms)"
echo "first Instance() in a fresh process, empty compilation cache: $cold µs"
echo "IAM token on a new client (New + IAMToken + Close): $tok µs; go-sdk-core VpcInstanceAuthenticator: $sdk µs ($(awk "BEGIN {printf \"%.2f\", $tok / $sdk}")x)"
