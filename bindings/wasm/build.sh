#!/usr/bin/env bash
# Builds the package's WebAssembly into pkg/: cargo (wasm32-unknown-unknown,
# release, opt-level z), wasm-bindgen --target web, then wasm-opt -Oz (npm binaryen).
#
#   bash bindings/wasm/build.sh        # or `npm run build`; installs what it lacks:
#                                      # the wasm32 target, wasm-bindgen-cli 0.2.130 in
#                                      # .tools, npm's binaryen (node_modules/.bin/wasm-opt)
#
# Toolchain: the nightly pinned in scripts/build-static.sh (the CLI's size build; one
# pin for both), installed here with rustup when missing (minimal profile + rust-src,
# about 30 s), because the size cuts below need unstable flags:
#   -Z build-std=std,panic_abort      std rebuilt with these flags, LTO'd with us
#   -Z build-std-features=optimize_for_size   std's smaller algorithms
#   -Cpanic=immediate-abort           a panic is the `unreachable` trap at once: no
#                                     panic machinery or messages (a stable panic=abort
#                                     build also ends in that trap, with no message
#                                     either: wasm32-unknown-unknown has no stderr)
#   -Zlocation-detail=none            no file:line:col constants for panics
# (bench figures: bindings/wasm/README.md, "Size"). When the nightly cannot be
# installed or fails to build, this falls back to stable (the same profile, no std
# rebuild) and says so; VPC_IMDS_WASM_TOOLCHAIN=stable asks for stable. Which one
# built the module goes into pkg/sizes.json ("toolchain") and is printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Its own target dirs: the size profile (opt-level z, 15% smaller than the workspace's
# "s") must not thrash the artifacts of the workspace's other wasm32 builds.
target="${CARGO_TARGET_DIR:-$repo/target}/wasm-size"
bindgen="${WASM_BINDGEN:-$repo/.tools/bin/wasm-bindgen}"
wasm_opt="$here/node_modules/.bin/wasm-opt"
nightly="$(sed -n 's/^NIGHTLY=//p' "$repo/scripts/build-static.sh")"
nightly="${nightly:-nightly-2026-05-20}"
want="${VPC_IMDS_WASM_TOOLCHAIN:-nightly}"

# What a fresh checkout lacks (ci.sh runs this script too).
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
if [ "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ] && [ -z "${WASM_BINDGEN:-}" ]; then
  echo "installing wasm-bindgen-cli 0.2.130 into .tools (about 2 min, once)" >&2
  # Not --locked: its lock wants a webpki-roots this registry lacks (toolchain notes).
  # No TLS (only its test runner downloads anything) and a debug build: about half
  # the compile time, and the same output.
  cargo install -q wasm-bindgen-cli --version 0.2.130 --no-default-features --debug --root "$repo/.tools"
fi
[ -x "$wasm_opt" ] || (cd "$here" && npm install --no-save --loglevel=error)

ensure_nightly() {
  rustup run "$nightly" rustc -V >/dev/null 2>&1 &&
    rustup +"$nightly" component list --installed 2>/dev/null | grep -q '^rust-src' && return 0
  echo "installing $nightly (minimal, rust-src) for the size build" >&2
  rustup toolchain install "$nightly" --profile minimal --component rust-src >&2
}

build_nightly() {
  (cd "$repo" && CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
    RUSTFLAGS="${RUSTFLAGS:-} -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo +"$nightly" build -q -p vpc-imds-wasm --release --target wasm32-unknown-unknown \
      -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
      --target-dir "$target-nightly")
}

build_stable() {
  (cd "$repo" && CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build -q -p vpc-imds-wasm --release \
    --target wasm32-unknown-unknown --target-dir "$target")
}

toolchain=stable
if [ "$want" = nightly ]; then
  if ! ensure_nightly; then
    echo "WARNING: $nightly could not be installed: building with stable (a larger module)" >&2
  elif build_nightly; then
    toolchain="$nightly"
    target="$target-nightly"
  else
    echo "WARNING: the $nightly size build failed: building with stable (a larger module)" >&2
  fi
fi
[ "$toolchain" = stable ] && build_stable
case "$toolchain" in
  stable) echo "toolchain: stable ($(rustc -V | cut -d' ' -f2)), opt-level z, panic=abort" ;;
  *) echo "toolchain: $toolchain, opt-level z, build-std + optimize_for_size, panic=immediate-abort, location-detail=none" ;;
esac

rm -rf "$here/pkg"
"$bindgen" --target web --weak-refs --no-typescript --out-dir "$here/pkg" \
  "$target/wasm32-unknown-unknown/release/vpc_imds_wasm.wasm" 2> >(grep -v 'target_features' >&2 || true)
# rustc emits these features by default; wasm-opt validates against the ones enabled.
# --converge: -Oz again until nothing shrinks. --low-memory-unused: lets wasm-opt fold
# `load(p + C)` into `load offset=C (p)`, which differ only when p + C wraps past 4 GiB
# into the first 1 KiB; no Rust pointer is that close to 4 GiB (the stack grows down
# from 1 MiB, the data starts there). No host reads the producers or target_features
# sections.
"$wasm_opt" -Oz --converge --low-memory-unused \
  --strip-debug --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue --enable-mutable-globals \
  "$here/pkg/vpc_imds_wasm_bg.wasm" -o "$here/pkg/vpc_imds_wasm_bg.opt.wasm"
raw="$target/wasm32-unknown-unknown/release/vpc_imds_wasm.wasm"
# The sizes before wasm-opt and the toolchain, for bench/size.mjs.
printf '{"cargo": %s, "wasm_bindgen": %s, "toolchain": "%s"}\n' "$(stat -c %s "$raw")" \
  "$(stat -c %s "$here/pkg/vpc_imds_wasm_bg.wasm")" "$toolchain" > "$here/pkg/sizes.json"
mv "$here/pkg/vpc_imds_wasm_bg.opt.wasm" "$here/pkg/vpc_imds_wasm_bg.wasm"
echo "pkg/vpc_imds_wasm_bg.wasm: $(stat -c %s "$here/pkg/vpc_imds_wasm_bg.wasm") bytes ($toolchain)"
# lib/: the shared client layer (../js) over this package's backend (js/).
node "$repo/bindings/js/build.mjs" wasm
