#!/usr/bin/env bash
# The boot agent's checks (issue 14), run by scripts/test.sh:
#   - the size build (scripts/build-static.sh, pinned nightly) for x86_64 and s390x,
#     and bench/size.sh: sizes beside the stable build; fails above 300 KB (x86_64)
#   - the s390x binary under qemu-s390x against the emulator: token, instance, user
#     data, keys (big-endian), byte for byte the same as the x86_64 binary's answers
#   - the empty-rootfs test with the x86_64 size build (chroot + network namespaces)
#   - contrib/: systemd units, vpc-imds-boot, the dracut module
# Installs what it needs: the pinned nightly with rust-src (rustup), zig (PyPI, into
# target/boot-tools), and with apt as root: qemu-user-static, systemd, file.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" DEBIAN_FRONTEND=noninteractive

need=()
command -v qemu-s390x-static >/dev/null || need+=(qemu-user-static)  # static: it also runs in a chroot
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v file >/dev/null || need+=(file)
command -v ip >/dev/null || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
      echo "warning: apt-get could not install ${need[*]}"
  else
    echo "warning: not root, so ${need[*]} are not installed; the steps that need them fail"
  fi
fi
qemu=$(command -v qemu-s390x-static || command -v qemu-s390x || echo qemu-s390x-static)

passed=0 failed=0
check() { # name, then a command that must succeed
  local name="$1"; shift
  local start=$SECONDS
  if "$@"; then passed=$((passed + 1)); echo "PASS $name ($((SECONDS - start)) s)"
  else failed=$((failed + 1)); echo "FAIL $name ($((SECONDS - start)) s)"; fi
}

# Sizes (builds both size builds once; everything below reuses them).
check "bench/size.sh: size builds for x86_64 and s390x, x86_64 within 300 KB" bash bench/size.sh
x86=target/static/x86_64/vpc-imds
s390x=target/static/s390x/vpc-imds

cargo build -q -p vpc-imds-emulator || exit 1
emulator=target/debug/vpc-imds-emulator
log=$(mktemp)
"$emulator" > "$log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^control on ' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")

same() { # command...: the s390x answer equals the x86_64 answer, byte for byte
  cmp <("$qemu" "$s390x" --endpoint "$url" "$@") <("$x86" --endpoint "$url" "$@")
}
check "the size build keeps {:?}-style messages: usage errors quote, -v shows headers" bash -c "
  '$x86' frobnicate 2>&1 | grep -qF 'unknown command \"frobnicate\"' &&
  '$x86' -v --endpoint '$url' token 2>&1 >/dev/null | grep -q 'Metadata-Flavor: ibm'"
check "the size build resolves no host names: a named endpoint is refused (exit 2), nothing sent" bash -c "
  '$x86' --endpoint http://metadata.invalid token 2>&1 >/dev/null | grep -qF 'resolves no host names' &&
  '$x86' --endpoint http://metadata.invalid token >/dev/null 2>&1; [ \$? -eq 2 ]"
check "s390x is a static big-endian S/390 binary" bash -c "file -b '$s390x' | grep -q 'MSB executable, IBM S/390.*statically linked'"
check "s390x under qemu: token" bash -c "'$qemu' '$s390x' --endpoint '$url' token | grep -q '^eyJ'"
check "s390x under qemu: get instance = x86_64's" same get instance
check "s390x under qemu: user-data = x86_64's (bytes)" same user-data
check "s390x under qemu: ssh-keys = x86_64's" same ssh-keys
check "s390x under qemu: get keys --all = x86_64's" same get keys --all
check "s390x under qemu: a 404 exits 7" bash -c "'$qemu' '$s390x' --endpoint '$url' get keys/none 2>/dev/null; [ \$? -eq 7 ]"
check "s390x under qemu: doctor passes" bash -c "VPC_IMDS_DOCTOR_ROOT=/nonexistent '$qemu' '$s390x' --endpoint '$url' doctor >/dev/null"

check "empty-rootfs test with the size builds (chroot in network namespaces; s390x via a static qemu)" \
  env VPC_IMDS_STATIC_BIN="$PWD/$x86" VPC_IMDS_STATIC_BIN_S390X="$PWD/$s390x" \
    VPC_IMDS_QEMU_S390X="$(command -v qemu-s390x-static || true)" cargo test -q -p vpc-imds --all-features --test empty_rootfs -- --nocapture

check "contrib: systemd units, vpc-imds-boot, dracut module" bash contrib/test.sh "$x86" "$emulator"

echo "boot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
