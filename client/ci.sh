#!/usr/bin/env bash
# Builds the static (musl) vpc-imds with its default features (HTTPS included) and
# smoke-tests it against the emulator, over HTTP and over HTTPS.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
target=x86_64-unknown-linux-musl
cargo build -q --release -p vpc-imds --target "$target" || exit 1
cargo build -q -p vpc-imds-emulator || exit 1
bin="target/$target/release/vpc-imds"

log=$(mktemp)
target/debug/vpc-imds-emulator > "$log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log" | head -1)

passed=0 failed=0
check() { # name, then a command that must succeed
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
check "the binary is statically linked" bash -c "file -b '$bin' | grep -q 'static'"
check "get instance prints the instance" bash -c "'$bin' --endpoint '$url' get instance | grep -q '\"resource_type\": *\"instance\"'"
check "user-data is the multi-part document" bash -c "'$bin' --endpoint '$url' user-data | head -c 40 | grep -q 'Content-Type: multipart'"
check "ssh-keys prints authorized_keys lines" bash -c "'$bin' --endpoint '$url' ssh-keys | grep -q '^ssh-'"
check "an unknown id exits 7 (not_found)" bash -c "'$bin' --endpoint '$url' get keys/r000-none 2>/dev/null; [ \$? -eq 7 ]"
tls_log=$(mktemp) pem=$(mktemp)
target/debug/vpc-imds-emulator --tls --listen 127.0.0.1:0 --cert-out "$pem" > "$tls_log" 2>&1 &
tls_emu=$!
trap 'kill $emu $tls_emu 2>/dev/null; rm -f "$log" "$tls_log" "$pem"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$tls_log" && break; sleep 0.1; done
tls_url=$(sed -n 's/^listening on //p' "$tls_log" | head -1)
check "token over HTTPS with --cacert (default build)" bash -c "'$bin' --https --cacert '$pem' --endpoint '$tls_url' token | grep -q '^eyJ'"
check "an untrusted certificate is refused (exit 3)" bash -c "'$bin' --https --endpoint '$tls_url' token 2>/dev/null; [ \$? -eq 3 ]"
check "a refused port exits 3 (refused)" bash -c "'$bin' --endpoint http://127.0.0.1:9 get instance 2>/dev/null; [ \$? -eq 3 ]"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
