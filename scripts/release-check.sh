#!/usr/bin/env bash
# Builds the release artifacts (scripts/build-dist.sh) and proves each one works where
# it claims to, then prints a table of artifact, bytes, platform and how it was checked.
#
#   scripts/release-check.sh                 CI: the cheapest representative of each
#   RELEASE_FULL=1 scripts/release-check.sh  every artifact into dist/, every check
#   RELEASE_FULL=1 RELEASE_SKIP_BUILD=1 [DIST=dir] scripts/release-check.sh
#                                            only the checks, on what dist/ holds
#
# CI builds (into target/release-check/dist, without LTO: RELEASE_PROFILE_FAST) the
# manylinux2014 x86_64 and s390x wheels, the musllinux_1_2 x86_64 wheel, the sdist,
# the linux-x64-gnu npm packages, the static CLIs (scripts/build-static.sh, which
# client/boot.sh has usually built already), and the crates (cargo package,
# cargo install --path client). The full run adds the s390x musllinux wheel (tier 3,
# build-std), the linux-x64-musl and linux-s390x-gnu addons, LTO everywhere, and
# verifies the packaged crates by building them.
#
# Checks:
#   manylinux wheels   auditwheel show names manylinux_2_17_<arch>; every glibc symbol
#                      version <= 2.17 (objdump -T); the package's pytest suite against
#                      the emulator, in a fresh venv: x86_64 natively, s390x on Debian's
#                      s390x CPython (unpacked, not installed) under qemu-s390x
#   musllinux wheels   auditwheel show names musllinux_1_2_<arch>; NEEDED is
#                      libc.musl-<arch>.so.1; musl's own loader (Debian's musl, the one
#                      Alpine ships; qemu for s390x) resolves every symbol but Python's;
#                      with MUSL_PYTHON=<a musl-linked python3>, also the pytest suite
#   sdist              a wheel built from it alone (pip, PyPI's maturin), imported
#   npm                glibc <= 2.17 / musl NEEDED; the main tarball plus the platform
#                      tarballs installed into a fresh directory: npm keeps only the one
#                      for this platform, runs no install script, and the quickstart
#                      runs against the emulator on the addon from that package
#   static CLI         static ELF of the right arch; token and instance from the
#                      emulator (s390x under qemu); SHA-256 in SHA256SUMS
#   crates             cargo package; cargo install --path client, then the installed
#                      vpc-imds against the emulator
# Installs (apt as root): qemu-user-static, binutils, file, musl; everything else goes
# into target/ (PyPI tools, Debian's s390x packages unpacked). Ends with
# "release-check: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 DEBIAN_FRONTEND=noninteractive
export npm_config_cache="${npm_config_cache:-$root/target/npm-cache}" npm_config_update_notifier=false
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy VPC_IMDS_ENDPOINT
full="${RELEASE_FULL:-0}"
work="$root/target/release-check"
tools="$root/target/release-tools"
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p "$work"
start=$SECONDS
log() { echo "--- release-check: $* ($((SECONDS - start)) s)"; }

# --- prerequisites --------------------------------------------------------------------
need=()
command -v qemu-s390x-static >/dev/null || command -v qemu-s390x >/dev/null || need+=(qemu-user-static)
command -v objdump >/dev/null || need+=(binutils)
command -v file >/dev/null || need+=(file)
[ -e /lib/ld-musl-x86_64.so.1 ] || need+=(musl)
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    echo "warning: apt-get could not install ${need[*]}"
fi
qemu=$(command -v qemu-s390x-static || command -v qemu-s390x || echo qemu-s390x-static)

# --- build ------------------------------------------------------------------------------
if [ "$full" = 1 ] && [ "${RELEASE_SKIP_BUILD:-0}" = 1 ]; then
  dist="${DIST:-$root/dist}"
  log "checking what $dist holds (RELEASE_SKIP_BUILD=1)"
  [ -x "$tools/venv/bin/auditwheel" ] || { echo "no $tools/venv: run scripts/build-dist.sh first"; exit 1; }
elif [ "$full" = 1 ]; then
  dist="$root/dist"
  log "scripts/build-dist.sh (everything, release profile)"
  DIST="$dist" bash scripts/build-dist.sh || echo "warning: build-dist.sh failed; checking what it built"
else
  dist="$work/dist"
  log "scripts/build-dist.sh (CI representatives, no LTO)"
  DIST="$dist" RELEASE_PROFILE_FAST=1 \
    RELEASE_WHEELS="x86_64-unknown-linux-gnu s390x-unknown-linux-gnu x86_64-unknown-linux-musl" \
    RELEASE_NODE="linux-x64-gnu" \
    bash scripts/build-dist.sh python sdist node static ||
    echo "warning: build-dist.sh failed; checking what it built"
fi
export PATH="$tools/venv/bin:$PATH"
log "built"

# --- the emulator, for every runtime check ---------------------------------------------
cargo build -q -p vpc-imds-emulator --bin vpc-imds-emulator || exit 1
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export VPC_IMDS_EMULATOR="$target_dir/debug/vpc-imds-emulator"
emu_log="$work/emulator.log"
"$VPC_IMDS_EMULATOR" >"$emu_log" 2>&1 &
emu_pid=$!
trap 'kill $emu_pid 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$emu_log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$emu_log" | head -1)
[ -n "$url" ] || { echo "the emulator did not start"; cat "$emu_log"; exit 1; }
# A second one over HTTPS (self-signed; its certificate for --cacert).
tls_log="$work/emulator-tls.log" tls_pem="$work/emulator.pem"
"$VPC_IMDS_EMULATOR" --tls --cert-out "$tls_pem" >"$tls_log" 2>&1 &
tls_pid=$!
trap 'kill $emu_pid $tls_pid 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$tls_log" && break; sleep 0.1; done
tls_url=$(sed -n 's/^listening on //p' "$tls_log" | head -1)
[ -n "$tls_url" ] || { echo "the HTTPS emulator did not start"; cat "$tls_log"; exit 1; }

# --- the table --------------------------------------------------------------------------
passed=0 failed=0 rows=() failures=()
# row ARTIFACT PLATFORM HOW -- command...: runs the check, records a row of the table.
row() {
  local file=$1 platform=$2 how=$3; shift 4
  local name bytes=- result=ok
  name=$(basename "$file")
  echo "--> $name: $how"
  # Some checks make their artifact (cargo package, cargo install): look after them.
  "$@" || result=FAILED
  if [ -f "$file" ]; then bytes=$(stat -c %s "$file"); else echo "    missing: $file"; result=FAILED; fi
  if [ "$result" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
  rows+=("$(printf '%-70s %9s  %-32s %-6s %s' "$name" "$bytes" "$platform" "$result" "$how")")
}

# grep -q in a pipeline stops reading at the first match; under pipefail the writer's
# SIGPIPE then fails the pipeline. grepq reads everything.
grepq() { grep -c "$@" >/dev/null; }
max_glibc() { # FILE: the highest GLIBC_x.y its dynamic symbols need
  objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1
}
glibc_at_most_217() { # FILE
  local v; v=$(max_glibc "$1")
  echo "    highest glibc symbol version: $v"
  [ -n "$v" ] && [ "$(printf '%s\n2.17\n' "$v" | sort -V | tail -1)" = 2.17 ]
}
elf_machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }
unzip_to() { rm -rf "$2" && mkdir -p "$2" && python3 -m zipfile -e "$1" "$2"; }
auditwheel_tag() { # WHEEL TAG
  local out; out=$(auditwheel show "$1" 2>&1)
  echo "$out" | grep -A1 'consistent with' | tr '\n' ' ' | sed 's/  */ /g; s/^/    /'; echo
  echo "$out" | tr '\n' ' ' | grepq "platform tag: \"$2\"" &&
    ! echo "$out" | grepq 'will need to be eliminated'
}
# musl's loader lists a module: every symbol must resolve but the host's (Python's, node's).
musl_resolves() { # LOADER[..] FILE HOST_SYMBOL_REGEX
  local host=$3 out
  out=$($1 --list "$2" 2>&1)
  echo "$out" | grepq 'libc.musl-.*=> ' || { echo "$out" | head -5; return 1; }
  local other; other=$(echo "$out" | grep 'symbol not found' | grep -Ev ": ($host)[A-Za-z0-9_]*: symbol not found" || true)
  echo "    musl loader: $(echo "$out" | grep -c 'symbol not found') unresolved, all of them the host's"
  [ -z "$other" ] || { echo "$other" | head; return 1; }
}

# An s390x root with Debian's CPython, glibc, and musl's loader, unpacked (not installed)
# from Debian's packages with a private apt state under target/.
s390x_root() {
  local apt="$tools/apt-s390x" rootfs="$tools/s390x-root"
  [ -x "$rootfs/usr/bin/python3.11-qemu" ] && [ -e "$rootfs/lib/ld-musl-s390x.so.1" ] && return 0
  log "Debian s390x packages: python3.11, libc6, musl (unpacked into $rootfs)"
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc/none,debs} "$rootfs"
  : >"$apt/status"
  cp /etc/apt/sources.list.d/*.sources "$apt/etc/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$apt/etc/main.list"
  cat >"$apt/apt.conf" <<EOF
APT::Architecture "s390x";
APT::Architectures "s390x";
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$apt/etc";
Dir::Etc::Parts "$apt/etc/none";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$apt/etc/none";
EOF
  (cd "$apt/debs" && APT_CONFIG="$apt/apt.conf" apt-get update -qq &&
    APT_CONFIG="$apt/apt.conf" apt-get download -qq python3.11-minimal libpython3.11-minimal \
      libpython3.11-stdlib libc6 zlib1g libexpat1 libffi8 libssl3 libgcc-s1 musl 2>&1 | { grep -v '^W: Download is performed unsandboxed' || true; }) || return 1
  local deb
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
  # An interpreter a host program can exec (no binfmt_misc here): the tests start
  # sys.executable, and venvs link to it. -0 keeps argv[0], so a venv finds pyvenv.cfg.
  printf '#!/bin/sh\nQEMU_LD_PREFIX="%s" exec "%s" -0 "$0" "%s" "$@"\n' \
    "$rootfs" "$qemu" "$rootfs/usr/bin/python3.11" >"$rootfs/usr/bin/python3.11-qemu"
  chmod +x "$rootfs/usr/bin/python3.11-qemu"
  [ -x "$rootfs/usr/bin/python3.11" ]
}

# --- Python -----------------------------------------------------------------------------
pytest_venv() { # wheel -> $work/venv-<tag> with the wheel and the suite's tools
  local venv=$2
  rm -rf "$venv" && python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q "$1" pytest ibm-cloud-sdk-core ibm-vpc
}
run_pytest() { # PYTHON
  (cd "$work" && env VPC_IMDS_REQUIRE_INSTALLED=1 VPC_IMDS_REQUIRE_EMULATOR=1 \
    VPC_IMDS_VECTORS="$root/tests/vectors" VPC_IMDS_EMULATOR="$VPC_IMDS_EMULATOR" \
    "$1" -m pytest -q -p no:cacheprovider "$root/bindings/python/tests" 2>&1 | tail -3 | sed 's/^/    /'; exit "${PIPESTATUS[0]}")
}
check_wheel_manylinux_x86_64() {
  local w=$1 x="$work/x-manylinux-x86_64"
  auditwheel_tag "$w" manylinux_2_17_x86_64 && unzip_to "$w" "$x" &&
    glibc_at_most_217 "$x/vpc_imds/_core.abi3.so" &&
    pytest_venv "$w" "$work/venv-manylinux" && run_pytest "$work/venv-manylinux/bin/python"
}
# A client on the s390x interpreter against the emulator (x86_64, on loopback).
S390X_SMOKE='
import sys, platform, vpc_imds
assert platform.machine() == "s390x" and sys.byteorder == "big", platform.machine()
c = vpc_imds.Client(endpoint=sys.argv[1])
inst = c.instance()
keys = list(c.keys())
print("    s390x CPython", platform.python_version(), "loaded", vpc_imds._core.__file__.rsplit("/", 1)[-1],
      "-> instance", inst.id, "and", len(keys), "keys")
'
# The s390x wheel "installed" into a venv of the s390x CPython: the wheel unzipped into
# its site-packages, and the suite's tools put there by the host's pip (s390x wheels
# where a package has compiled parts).
check_wheel_manylinux_s390x() {
  local w=$1 x="$work/x-manylinux-s390x" venv="$work/venv-s390x" sp
  auditwheel_tag "$w" manylinux_2_17_s390x && unzip_to "$w" "$x" &&
    [ "$(elf_machine "$x/vpc_imds/_core.abi3.so")" = "IBM S/390" ] &&
    glibc_at_most_217 "$x/vpc_imds/_core.abi3.so" && s390x_root || return 1
  rm -rf "$venv" && "$tools/s390x-root/usr/bin/python3.11-qemu" -m venv --without-pip "$venv" || return 1
  sp="$venv/lib/python3.11/site-packages"
  python3 -m zipfile -e "$w" "$sp" &&
    python3 -m pip install -q --no-compile --target "$sp" --platform manylinux2014_s390x --python-version 3.11 \
      --implementation cp --only-binary=:all: pytest ibm-cloud-sdk-core ibm-vpc 2>&1 | grep -v '^WARNING: Running pip as'
  "$venv/bin/python" -c "$S390X_SMOKE" "$url" && run_pytest "$venv/bin/python"
}
check_wheel_musllinux() { # wheel arch
  local w=$1 arch=$2 x="$work/x-musllinux-$2" so
  auditwheel_tag "$w" "musllinux_1_2_$arch" && unzip_to "$w" "$x" || return 1
  so="$x/vpc_imds/_core.abi3.so"
  readelf -d "$so" | grepq "NEEDED.*\[libc.musl-$arch.so.1\]" || { echo "    NEEDED is not libc.musl-$arch.so.1"; return 1; }
  if [ "$arch" = x86_64 ]; then
    musl_resolves /lib/ld-musl-x86_64.so.1 "$so" '_?Py' || return 1
    if [ -n "${MUSL_PYTHON:-}" ]; then
      echo "    pytest on $MUSL_PYTHON (musl)"
      local venv="$work/venv-musl" pyver
      pyver=$("$MUSL_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || return 1
      rm -rf "$venv" && "$MUSL_PYTHON" -m venv --without-pip "$venv" &&
        python3 -m pip install -q --no-compile --target "$venv/lib/python$pyver/site-packages" \
          --platform musllinux_1_2_x86_64 --python-version "$pyver" --implementation cp --only-binary=:all: \
          "$w" pytest ibm-cloud-sdk-core ibm-vpc 2>&1 | grep -v '^WARNING: Running pip as'
      "$venv/bin/python" -c 'import sys, vpc_imds; print("    musl CPython", sys.version.split()[0], "imported", vpc_imds.__file__)' &&
        run_pytest "$venv/bin/python" || return 1
    fi
  else
    s390x_root && musl_resolves "$qemu $tools/s390x-root/lib/ld-musl-s390x.so.1" "$so" '_?Py'
  fi
}
check_sdist() {
  local s=$1 venv="$work/venv-sdist"
  rm -rf "$venv" "$work/sdist-wheel" && python3 -m venv "$venv" &&
    CARGO_TARGET_DIR="$target_dir" "$venv/bin/pip" wheel -q --no-deps --no-binary vpc-imds -w "$work/sdist-wheel" "$s" &&
    "$venv/bin/pip" install -q "$work"/sdist-wheel/vpc_imds-*.whl &&
    (cd "$work" && "$venv/bin/python" -c 'import vpc_imds, sys; c = vpc_imds.Client(endpoint=sys.argv[1]); print("    from the sdist:", c.instance().id)' "$url")
}

# --- Node -------------------------------------------------------------------------------
check_npm() { # main tarball; every platform tarball beside it
  local main=$1 dir="$work/npm-install" t overrides="" p
  rm -rf "$dir" && mkdir -p "$dir"
  for t in "$dist"/npm/vpc-imds-linux-*.tgz; do
    p=$(basename "$t" | sed "s/-$version\.tgz$//")
    overrides+="\"$p\": \"file:$t\","
  done
  # npm resolves the optional platform packages to the local tarballs (they are not
  # published), then keeps the one whose os/cpu/libc match this machine.
  cat >"$dir/package.json" <<EOF
{ "name": "release-check", "version": "0.0.0", "private": true,
  "dependencies": { "vpc-imds": "file:$main" },
  "overrides": { ${overrides%,} } }
EOF
  cp bindings/node/examples/quickstart.mjs bindings/node/examples/quickstart.cjs "$dir"/
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --foreground-scripts >npm.log 2>&1) || { cat "$dir/npm.log"; return 1; }
  ls "$dir/node_modules" | grep '^vpc-imds' | sed 's/^/    installed: /'
  [ -f "$dir/node_modules/vpc-imds-linux-x64-gnu/vpc-imds.linux-x64-gnu.node" ] || { echo "    no linux-x64-gnu package"; return 1; }
  [ ! -e "$dir/node_modules/vpc-imds-linux-s390x-gnu" ] || { echo "    npm installed the s390x package here"; return 1; }
  if [ -e "$dir/node_modules/vpc-imds-linux-x64-musl" ]; then echo "    note: this npm does not filter by libc (installed the musl package too)"; fi
  [ -z "$(find "$dir/node_modules/vpc-imds" -name '*.node')" ] || { echo "    the main package carries an addon"; return 1; }
  ! grep -q '"\(pre\|post\|\)install"' "$dir"/node_modules/vpc-imds*/package.json || { echo "    an install script"; return 1; }
  (cd "$dir" && node -e '
    const m = require.cache; require("vpc-imds");
    const addon = Object.keys(m).find((f) => f.endsWith(".node"));
    console.log("    addon loaded from", addon.slice(addon.indexOf("node_modules")));
    if (!addon.includes("node_modules/vpc-imds-linux-x64-gnu/")) process.exit(1);' &&
    VPC_IMDS_ENDPOINT=$url node quickstart.mjs >/dev/null && VPC_IMDS_ENDPOINT=$url node quickstart.cjs >/dev/null &&
    echo "    quickstart.mjs and quickstart.cjs ran against the emulator")
}
check_node_pkg() { # platform tarball, platform
  local t=$1 platform=$2 x="$work/x-$2" node
  rm -rf "$x" && mkdir -p "$x" && tar xzf "$t" -C "$x" || return 1
  node="$x/package/vpc-imds.$platform.node"
  grep -q "\"libc\"\|\"cpu\"" "$x/package/package.json" || return 1
  case "$platform" in
    linux-x64-gnu) [ "$(elf_machine "$node")" = "Advanced Micro Devices X86-64" ] && glibc_at_most_217 "$node" ;;
    linux-s390x-gnu) [ "$(elf_machine "$node")" = "IBM S/390" ] && glibc_at_most_217 "$node" ;;
    linux-x64-musl)
      readelf -d "$node" | grepq 'NEEDED.*\[libc.musl-x86_64.so.1\]' && musl_resolves /lib/ld-musl-x86_64.so.1 "$node" 'napi_|uv_|node_api_' ;;
  esac
}

# The s390x addon in Debian's s390x node (18) under qemu: npm picks the s390x package
# when told that is the platform (--cpu), and the quickstarts run on it.
s390x_node() {
  local rootfs="$tools/s390x-root" apt="$tools/apt-s390x"
  [ -x "$rootfs/usr/bin/node" ] && return 0
  s390x_root || return 1
  log "Debian s390x packages: nodejs (unpacked into $rootfs)"
  (cd "$apt/debs" && APT_CONFIG="$apt/apt.conf" apt-get download -qq nodejs libnode108 libuv1 libc-ares2 \
      libbrotli1 libnghttp2-14 libstdc++6 libicu72 node-acorn node-cjs-module-lexer node-undici 2>&1 |
      { grep -v '^W: Download is performed unsandboxed' || true; }) || return 1
  local deb
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
  [ -x "$rootfs/usr/bin/node" ]
}
check_npm_s390x() { # main tarball
  local main=$1 dir="$work/npm-install-s390x" t overrides="" p rootfs="$tools/s390x-root"
  s390x_node || return 1
  rm -rf "$dir" && mkdir -p "$dir"
  for t in "$dist"/npm/vpc-imds-linux-*.tgz; do
    p=$(basename "$t" | sed "s/-$version\.tgz$//")
    overrides+="\"$p\": \"file:$t\","
  done
  cat >"$dir/package.json" <<EOF
{ "name": "release-check-s390x", "version": "0.0.0", "private": true,
  "dependencies": { "vpc-imds": "file:$main" },
  "overrides": { ${overrides%,} } }
EOF
  cp bindings/node/examples/quickstart.mjs bindings/node/examples/quickstart.cjs "$dir"/
  (cd "$dir" && npm install --cpu=s390x --os=linux --libc=glibc --no-audit --no-fund --loglevel=error >npm.log 2>&1) || { cat "$dir/npm.log"; return 1; }
  ls "$dir/node_modules" | grep '^vpc-imds' | sed 's/^/    installed for s390x: /'
  [ -f "$dir/node_modules/vpc-imds-linux-s390x-gnu/vpc-imds.linux-s390x-gnu.node" ] || return 1
  (cd "$dir" && QEMU_LD_PREFIX="$rootfs" "$qemu" "$rootfs/usr/bin/node" -e '
    require("vpc-imds");
    const addon = Object.keys(require.cache).find((f) => f.endsWith(".node"));
    console.log("    node", process.version, process.arch, require("os").endianness(), "loaded", addon.slice(addon.indexOf("node_modules")));
    if (process.arch !== "s390x" || !addon.includes("vpc-imds-linux-s390x-gnu")) process.exit(1);' &&
    VPC_IMDS_ENDPOINT=$url QEMU_LD_PREFIX="$rootfs" "$qemu" "$rootfs/usr/bin/node" quickstart.mjs >/dev/null &&
    VPC_IMDS_ENDPOINT=$url QEMU_LD_PREFIX="$rootfs" "$qemu" "$rootfs/usr/bin/node" quickstart.cjs >/dev/null &&
    echo "    quickstart.mjs and quickstart.cjs ran on s390x node against the emulator")
}

# --- static CLI -------------------------------------------------------------------------
check_static() { # binary arch [https]
  local b=$1 arch=$2 https=${3:-} run=()
  file -b "$b" | sed 's/^/    /'
  case "$arch" in
    x86_64) file -b "$b" | grepq 'x86-64.*statically linked\|x86-64.*static-pie' || return 1 ;;
    s390x) file -b "$b" | grepq 'IBM S/390.*statically linked' || return 1; run=("$qemu") ;;
  esac
  if [ -n "$https" ]; then
    "${run[@]}" "$b" --https --cacert "$tls_pem" --endpoint "$tls_url" token | grepq '^eyJ' || return 1
  fi
  "${run[@]}" "$b" --endpoint "$url" token | grepq '^eyJ' &&
    "${run[@]}" "$b" --endpoint "$url" get instance | grepq '"resource_type": *"instance"' &&
    grep -q " $(basename "$b")\$" "$dist/SHA256SUMS" && (cd "$dist" && grep " $(basename "$b")\$" SHA256SUMS | sha256sum -c --quiet -)
}

# --- crates -----------------------------------------------------------------------------
check_crates() {
  local verify=(--no-verify) out="$work/crates"
  [ "$full" = 1 ] && verify=()
  rm -rf "$out" && mkdir -p "$out"
  cargo package --quiet --allow-dirty "${verify[@]}" -p vpc-imds-core -p vpc-imds-driver -p vpc-imds-emulator -p vpc-imds 2>&1 | grep -v '^warning: .*\(dirty\|uncommitted\)' | tail -5
  local c
  for c in vpc-imds-core vpc-imds-driver vpc-imds-emulator vpc-imds; do
    cp "$target_dir/package/$c-$version.crate" "$out/" || return 1
    tar tzf "$out/$c-$version.crate" | grepq "^$c-$version/README.md$" || { echo "    $c: no README.md in the crate"; return 1; }
  done
  # Metadata crates.io shows: each must be set.
  cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
want = {"vpc-imds-core", "vpc-imds-driver", "vpc-imds-emulator", "vpc-imds"}
bad = []
for p in json.load(sys.stdin)["packages"]:
    if p["name"] in want:
        for k in ("description", "license", "readme", "keywords", "categories", "rust_version", "repository"):
            if not p.get(k):
                bad.append(p["name"] + ": no " + k)
        for d in p["dependencies"]:
            if d.get("path") and not d["req"].strip("^=~ "):
                bad.append(p["name"] + ": path dependency " + d["name"] + " has no version")
print("\n".join("    " + b for b in bad) or "    metadata complete for " + ", ".join(sorted(want)))
sys.exit(1 if bad else 0)'
}
check_cargo_install() {
  local rootdir="$work/cargo-root"
  rm -rf "$rootdir"
  local profile=()
  [ "$full" = 1 ] || profile=(--debug)
  CARGO_TARGET_DIR="$target_dir" cargo install --quiet --locked "${profile[@]}" --path client --root "$rootdir" 2>&1 | tail -3
  [ -x "$rootdir/bin/vpc-imds" ] &&
    "$rootdir/bin/vpc-imds" --https --cacert "$tls_pem" --endpoint "$tls_url" token | grepq '^eyJ' &&
    "$rootdir/bin/vpc-imds" --endpoint "$url" get instance | grepq '"resource_type": *"instance"' &&
    "$rootdir/bin/vpc-imds" --endpoint "$url" ssh-keys | grepq '^ssh-' &&
    cp "$rootdir/bin/vpc-imds" "$work/cargo-install-vpc-imds"
}

# --- run the checks ---------------------------------------------------------------------
log "checks"
shopt -s nullglob
for w in "$dist"/vpc_imds-*manylinux*_x86_64.whl; do
  row "$w" manylinux_2_17_x86_64 "auditwheel; glibc<=2.17; fresh venv: pytest vs emulator" -- check_wheel_manylinux_x86_64 "$w"
done
for w in "$dist"/vpc_imds-*manylinux*_s390x.whl; do
  row "$w" manylinux_2_17_s390x "auditwheel; S/390 ELF, glibc<=2.17; qemu + Debian's s390x CPython: pytest vs emulator" -- check_wheel_manylinux_s390x "$w"
done
for w in "$dist"/vpc_imds-*musllinux_1_2_x86_64.whl; do
  row "$w" musllinux_1_2_x86_64 "auditwheel; musl loader resolves all but Py*${MUSL_PYTHON:+; pytest on musl CPython}" -- check_wheel_musllinux "$w" x86_64
done
for w in "$dist"/vpc_imds-*musllinux_1_2_s390x.whl; do
  row "$w" musllinux_1_2_s390x "auditwheel; qemu + Debian's s390x musl loader resolves all but Py*" -- check_wheel_musllinux "$w" s390x
done
for s in "$dist"/vpc_imds-*.tar.gz; do
  row "$s" sdist "pip wheel from the sdist (PyPI maturin), imported, vs emulator" -- check_sdist "$s"
done
for t in "$dist"/npm/vpc-imds-linux-*.tgz; do
  p=$(basename "$t" | sed "s/^vpc-imds-//; s/-$version\.tgz$//")
  case "$p" in
    linux-x64-gnu) how="x86-64 ELF, glibc<=2.17" ;;
    linux-s390x-gnu) how="S/390 ELF, glibc<=2.17" ;;
    *) how="NEEDED libc.musl; musl loader resolves all but node's" ;;
  esac
  row "$t" "npm os/cpu/libc: $p" "$how" -- check_node_pkg "$t" "$p"
done
for t in "$dist"/npm/vpc-imds-"$version".tgz; do
  row "$t" "npm (any; optional addons)" "fresh npm install: only this platform's addon, no scripts; quickstarts" -- check_npm "$t"
  if [ -f "$dist/npm/vpc-imds-linux-s390x-gnu-$version.tgz" ]; then
    row "$dist/npm/vpc-imds-linux-s390x-gnu-$version.tgz" "npm --cpu=s390x" "npm picks it for s390x; Debian's s390x node 18 under qemu: quickstarts" -- check_npm_s390x "$t"
  fi
done
for b in "$dist"/vpc-imds-*-linux-musl; do
  arch=$(basename "$b" | sed "s/^vpc-imds-$version-//; s/-linux-musl$//")
  row "$b" "$arch linux (static)" "static ELF; token+instance vs emulator$([ "$arch" = s390x ] && echo ' (qemu)'); SHA256SUMS" -- check_static "$b" "$arch"
done
for b in "$dist"/vpc-imds-*-linux-musl-https; do
  arch=$(basename "$b" | sed "s/^vpc-imds-$version-//; s/-linux-musl-https$//")
  row "$b" "$arch linux (static, HTTPS)" "static ELF; token over HTTPS (--cacert), token+instance over HTTP$([ "$arch" = s390x ] && echo ' (qemu)'); SHA256SUMS" -- check_static "$b" "$arch" https
done
row "$work/crates/vpc-imds-$version.crate" crates.io "cargo package $([ "$full" = 1 ] && echo '(verified)' || echo '--no-verify'): core, driver, emulator, vpc-imds; metadata" -- check_crates
row "$work/cargo-install-vpc-imds" "x86_64 (host)" "cargo install --path client $([ "$full" = 1 ] || echo '--debug'); token over HTTPS (--cacert), get instance, ssh-keys vs emulator" -- check_cargo_install

echo
printf '%-70s %9s  %-32s %-6s %s\n' artifact bytes platform result "how it was checked"
printf '%s\n' "${rows[@]}"
[ -f "$dist/SHA256SUMS" ] && echo && echo "SHA-256 ($dist/SHA256SUMS):" && sed 's/^/  /' "$dist/SHA256SUMS"
echo
echo "release-check: $passed passed, $failed failed ($((SECONDS - start)) s)"
if [ "$failed" -gt 0 ]; then printf '  failed: %s\n' "${failures[@]}"; exit 1; fi
