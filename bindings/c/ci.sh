#!/usr/bin/env bash
# The C ABI: the header is fresh (cbindgen 0.29.4, installed into .tools once), the
# crate's tests, clippy and rustfmt, the static and shared libraries, and the C
# example host built with cc and run against the emulator.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
root=$PWD
CBINDGEN_VERSION=0.29.4
cbindgen="$root/.tools/bin/cbindgen"
if ! "$cbindgen" --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
  nice cargo install -q cbindgen --version "$CBINDGEN_VERSION" --root "$root/.tools" || { echo "cannot install cbindgen"; exit 1; }
fi
nice cargo build -q --release -p vpc-imds-c || exit 1
cargo build -q -p vpc-imds-emulator || exit 1
work=$(mktemp -d)
log="$work/emulator.out"
target/debug/vpc-imds-emulator > "$log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^control on ' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log" | head -1)
control=$(sed -n 's/^control on //p' "$log" | head -1)

STEPS=c
. "$root/scripts/steps.sh"
step "the header is what cbindgen generates" bash -c "
  '$cbindgen' --quiet --config bindings/c/cbindgen.toml --crate vpc-imds-c --output '$work/vpc_imds.h' bindings/c &&
  diff -u bindings/c/include/vpc_imds.h '$work/vpc_imds.h'"
step "rustfmt" cargo fmt -p vpc-imds-c -- --check
step "clippy" nice cargo clippy -q -p vpc-imds-c --all-targets -- -D warnings
step "cargo test -p vpc-imds-c" nice cargo test -q -p vpc-imds-c
lib=target/release
cflags=(-std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Ibindings/c/include)
step "the example builds against the static library" \
  cc "${cflags[@]}" bindings/c/examples/instance.c "$lib/libvpc_imds_c.a" -lpthread -ldl -lm -Wl,--gc-sections -o "$work/instance-static"
step "the example builds against the shared library" \
  cc "${cflags[@]}" bindings/c/examples/instance.c -L"$lib" -lvpc_imds_c -o "$work/instance-shared"
step "the header compiles as C++" bash -c "echo '#include \"vpc_imds.h\"' | c++ -x c++ -fsyntax-only -Ibindings/c/include -"
step "the static example is free of the shared library" bash -c "! ldd '$work/instance-static' | grep -q vpc_imds"
run() { "$work/instance-static" "$url" "$@"; }
step "instance prints the instance document" bash -c "$(declare -f run); work='$work' url='$url'; run | grep -q '\"resource_type\": *\"instance\"'"
step "the shared build gives the same answer" bash -c "LD_LIBRARY_PATH='$lib' '$work/instance-shared' '$url' key '{\"id\":\"r000-99999999-0000-4000-8000-000000000002\"}' | grep -q 'r000-99999999-0000-4000-8000-000000000002'"
step "ssh_keys prints authorized_keys lines" bash -c "'$work/instance-static' '$url' ssh_keys | grep -q '^\[\"ssh-'"
step "get_all merges pages" bash -c "'$work/instance-static' '$url' get_all '{\"path\":\"keys?limit=1\"}' | tr -d '\n' | grep -q 'ssh-ed25519'"
step "a 503 then success is retried" bash -c "
  curl -sf -X POST '$control/faults/fail' -d '{\"status\":503,\"count\":1}' >/dev/null &&
  '$work/instance-static' '$url' instance | grep -q resource_type"
step "an unknown key fails with the not_found record" bash -c "
  '$work/instance-static' '$url' key '{\"id\":\"r000-none\"}' 2>&1 >/dev/null | grep -q '\"kind\":\"not_found\"'"
step "bad settings fail with an invalid_input record" bash -c "
  '$work/instance-static' 'http://127.0.0.1:0/x' 2>&1 | grep -q '\"kind\":\"invalid_input\"'"
step "a refused port fails as refused" bash -c "
  '$work/instance-static' http://127.0.0.1:9 2>&1 | grep -q '\"kind\":\"refused\"'"
strip -o "$work/instance-stripped" "$work/instance-static"
echo "sizes (bytes): example (static, stripped) $(stat -c %s "$work/instance-stripped"), libvpc_imds_c.a $(stat -c %s "$lib/libvpc_imds_c.a"), libvpc_imds_c.so $(stat -c %s "$lib/libvpc_imds_c.so")"
steps_end
