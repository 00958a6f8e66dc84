#!/usr/bin/env bash
# Builds the package's WebAssembly into pkg/: cargo (wasm32-unknown-unknown,
# release, opt-level z), wasm-bindgen --target web, then wasm-opt -Oz (npm binaryen).
#
#   bash bindings/wasm/build.sh        # needs .tools/bin/wasm-bindgen 0.2.130 and
#                                      # node_modules/.bin/wasm-opt (ci.sh installs both)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Its own target dir: the size profile (opt-level z, 15% smaller than the workspace's
# "s") must not thrash the artifacts of the workspace's other wasm32 builds.
target="${CARGO_TARGET_DIR:-$repo/target}/wasm-size"
bindgen="${WASM_BINDGEN:-$repo/.tools/bin/wasm-bindgen}"
wasm_opt="$here/node_modules/.bin/wasm-opt"

(cd "$repo" && CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build -q -p vpc-imds-wasm --release \
  --target wasm32-unknown-unknown --target-dir "$target")
rm -rf "$here/pkg"
"$bindgen" --target web --weak-refs --no-typescript --out-dir "$here/pkg" \
  "$target/wasm32-unknown-unknown/release/vpc_imds_wasm.wasm" 2> >(grep -v 'target_features' >&2 || true)
# rustc emits these features by default; wasm-opt validates against the ones enabled.
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue --enable-mutable-globals \
  "$here/pkg/vpc_imds_wasm_bg.wasm" -o "$here/pkg/vpc_imds_wasm_bg.opt.wasm"
raw="$target/wasm32-unknown-unknown/release/vpc_imds_wasm.wasm"
# The sizes before wasm-opt, for bench/size.mjs.
printf '{"cargo": %s, "wasm_bindgen": %s}\n' "$(stat -c %s "$raw")" \
  "$(stat -c %s "$here/pkg/vpc_imds_wasm_bg.wasm")" > "$here/pkg/sizes.json"
mv "$here/pkg/vpc_imds_wasm_bg.opt.wasm" "$here/pkg/vpc_imds_wasm_bg.wasm"
echo "pkg/vpc_imds_wasm_bg.wasm: $(stat -c %s "$here/pkg/vpc_imds_wasm_bg.wasm") bytes"
# lib/: the shared client layer (../js) over this package's backend (js/).
node "$repo/bindings/js/build.mjs" wasm
