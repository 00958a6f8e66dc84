#!/usr/bin/env bash
# The size build of the static, HTTP-only `vpc-imds` for initramfs agents and boot
# units, for the two architectures IBM Cloud VPC instances run on (the instance
# document's vcpu.architecture: amd64 and s390x).
#
#   scripts/build-static.sh [x86_64] [s390x]      (default: x86_64)
#   -> target/static/<arch>/vpc-imds, stripped; prints "<arch> <bytes> <path>"
#
# It uses a pinned nightly toolchain, only for this build (the stable build,
# `cargo build --release -p vpc-imds --target x86_64-unknown-linux-musl`, stays the
# default and keeps working), because every cut below needs an unstable flag:
#   -Z build-std=std,panic_abort     std rebuilt with the flags below, LTO'd with us
#   -Cpanic=immediate-abort          no unwinding, no panic messages or backtrace
#                                    symbolizer (gimli/addr2line: > 100 KB)
#   -Zlocation-detail=none           no file:line:col strings for panics
#   (-Zfmt-debug=none: #[derive(Debug)] and {:?} compile to nothing; measured, not
#    taken: it blanks the headers `vpc-imds -v` prints, for ~1.4 KB)
#   opt-level = "z"                  size over speed (the CLI is I/O bound)
#   -Crelocation-model=static        a static non-PIE executable: no relocations
#   -Cforce-unwind-tables=no         no .eh_frame (nothing unwinds): ~38 KB
#   -Wl,-z,noseparate-code,-z,norelro,--build-id=none   less page padding
#   -Zbuild-std-features=optimize_for_size   std's smaller algorithms
#   no-resolve: --no-default-features, without the client's `resolve` feature: an
#                                    IP-address endpoint only, so no musl DNS
#                                    resolver (~13 KB; the service's HTTP address is
#                                    an IP, and its name is for HTTPS, not in this build)
# Each cut's bytes: the table in client/README.md (bench/size.sh measures them).
#
# s390x: s390x-unknown-linux-musl is a tier-3 target (no prebuilt std), so std is
# built from rust-src like x86_64's, and linked by zig (PyPI `ziglang`, installed
# into target/boot-tools/venv), which carries musl's libc and start files for
# s390x. Why not Debian's s390x glibc cross toolchain with static glibc: a static
# glibc binary is ~4x larger, its getaddrinfo still wants NSS modules at run time
# (not there in an empty initramfs), and x86_64 would be built another way; musl
# is one libc, one recipe for both architectures.
#
# VPC_IMDS_STATIC_HTTPS=1: the same cuts with HTTPS (the client's default features:
# rustls with ring, whose C parts zig compiles for s390x), into target/static-https/.
#
# Environment: VPC_IMDS_STATIC_CUTS=all (default) or a list of cut names to keep
# (used by bench/size.sh for its per-cut table): build-std immediate-abort
# location-detail fmt-debug opt-z static-reloc no-unwind-tables lean-link
# optimize-for-size no-resolve.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Pinned: bump it deliberately, re-run bench/size.sh, and update the README table.
NIGHTLY=nightly-2026-05-20
ZIG_VERSION=0.17.0
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# fmt-debug is measured (bench/size.sh --steps) but not taken: it blanks every
# {:?}, e.g. the request headers of `vpc-imds -v`, for about 1.4 KB.
default_cuts="build-std immediate-abort location-detail opt-z static-reloc no-unwind-tables lean-link optimize-for-size no-resolve"
cuts="${VPC_IMDS_STATIC_CUTS:-all}"
[ "$cuts" = all ] && cuts="$default_cuts"
has() { [[ " $cuts " == *" $1 "* ]]; }

archs=("$@")
[ "${#archs[@]}" -gt 0 ] || archs=(x86_64)

ensure_nightly() {
  if ! rustup run "$NIGHTLY" rustc -V >/dev/null 2>&1 ||
     ! rustup +"$NIGHTLY" component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "installing $NIGHTLY (minimal, rust-src)" >&2
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >&2
  fi
}

# A `cc` for s390x musl: zig from PyPI, in a venv inside the checkout.
ensure_zig() {
  local venv="$root/target/boot-tools/venv"
  if ! "$venv/bin/python" -m ziglang version 2>/dev/null | grep -q "^$ZIG_VERSION"; then
    echo "installing ziglang $ZIG_VERSION into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --no-cache-dir "ziglang==$ZIG_VERSION" >&2
  fi
  local cc="$root/target/boot-tools/zig-cc-s390x-musl"
  cat > "$cc" <<EOF
#!/bin/sh
# rustc's linker and cc-rs's compiler for s390x-unknown-linux-musl (written by
# scripts/build-static.sh). cc-rs adds --target=<rust triple>, which zig does not
# know: dropped, zig's own -target stands.
export ZIG_GLOBAL_CACHE_DIR="$root/target/boot-tools/zig-cache" ZIG_LOCAL_CACHE_DIR="$root/target/boot-tools/zig-cache"
n=\$#
while [ "\$n" -gt 0 ]; do
  a=\$1; shift; n=\$((n - 1))
  case "\$a" in --target=*) ;; *) set -- "\$@" "\$a" ;; esac
done
exec "$venv/bin/python" -m ziglang cc -target s390x-linux-musl "\$@"
EOF
  chmod +x "$cc"
  echo "$cc"
}

build() {
  local arch="$1" triple flags=() zflags=() features=()
  case "$arch" in
    x86_64) triple=x86_64-unknown-linux-musl ;;
    s390x) triple=s390x-unknown-linux-musl ;;
    *) echo "unknown architecture $arch (x86_64 or s390x)" >&2; return 2 ;;
  esac
  if [ "$arch" = x86_64 ]; then
    # Its self-contained musl (crt objects, libc.a) comes with the target's
    # component, also when std itself is rebuilt.
    rustup +"$NIGHTLY" target add "$triple" >/dev/null
  fi
  has build-std && zflags+=(-Z build-std=std,panic_abort)
  local cc=""
  if [ "$arch" = s390x ]; then
    cc=$(ensure_zig)
    flags+=("-Clinker=$cc" -Clink-self-contained=no -Alinker-messages)
  fi
  has immediate-abort && flags+=(-Zunstable-options -Cpanic=immediate-abort)
  has location-detail && flags+=(-Zlocation-detail=none)
  has fmt-debug && flags+=(-Zfmt-debug=none)
  has static-reloc && flags+=(-Crelocation-model=static)
  has no-unwind-tables && flags+=(-Cforce-unwind-tables=no)
  # One R+X segment after the headers, no RELRO page, no build ID: less padding.
  if has lean-link; then
    case "$arch" in
      x86_64) flags+=(-Clink-arg=-Wl,-z,noseparate-code,-z,norelro,--build-id=none) ;;
      # zig's cc refuses -z noseparate-code (its lld packs segments tightly anyway).
      *) flags+=(-Clink-arg=-Wl,-z,norelro,--build-id=none) ;;
    esac
  fi
  flags+=(-Ctarget-feature=+crt-static)
  has optimize-for-size && features+=(-Z build-std-features=optimize_for_size)
  # HTTP only (the default features add HTTPS); `resolve` unless that cut is made.
  local defaults=(--no-default-features) out=static
  if [ "${VPC_IMDS_STATIC_HTTPS:-0}" = 1 ]; then
    defaults=(--no-default-features --features resolve,https) out=static-https
  elif ! has no-resolve; then
    defaults+=(--features resolve)
  fi
  local opt=s
  has opt-z && opt=z
  local dir="$root/target/$out-build"
  [ "$cuts" = "$default_cuts" ] || dir="$root/target/static-build-steps"
  # ring's C parts for s390x are compiled by the same zig.
  local ccvars=()
  [ "$arch" = s390x ] && ccvars=("CC_s390x_unknown_linux_musl=$cc")
  env CARGO_TARGET_DIR="$dir" "${ccvars[@]}" \
    CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt" \
    RUSTFLAGS="${flags[*]}" \
    cargo +"$NIGHTLY" build -q --release -p vpc-imds --bin vpc-imds --target "$triple" \
      "${defaults[@]}" "${zflags[@]}" "${features[@]}" >&2
  mkdir -p "target/$out/$arch"
  local bin="target/$out/$arch/vpc-imds"
  cp "$dir/$triple/release/vpc-imds" "$bin"
  # The release profile strips; strip again in case a toolchain left symbols.
  if [ "$arch" = x86_64 ] && command -v strip >/dev/null; then strip "$bin" 2>/dev/null || true; fi
  echo "$arch $(stat -c %s "$bin") $bin"
}

ensure_nightly
for arch in "${archs[@]}"; do
  build "$arch"
done
