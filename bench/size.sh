#!/usr/bin/env bash
# Stripped sizes of the static `vpc-imds`: the size build (scripts/build-static.sh,
# pinned nightly) for x86_64 and s390x, beside the stable build and the reference.
# Fails (exit 1) when the x86_64 size build exceeds its budget of 300 KB.
#
#   bench/size.sh            the size builds + the stable HTTP-only build (CI runs this)
#   bench/size.sh --steps    also: x86_64 bytes after each cut, cumulative (the
#                            README table; ~15 min on 2 cores)
#   bench/size.sh --all      also: stable opt-level z and the --features https build
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
target=x86_64-unknown-linux-musl
budget=$((300 * 1000))
goal=$((200 * 1000))
# aws-ec2-imdsv2-get (a token-plus-GET tool for another cloud), as quoted in issue 14;
# not built here.
reference=417000
mode="${1:-}"

rustup target add "$target" >/dev/null
command -v musl-gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq musl-tools >/dev/null; }

size_of() { stat -c %s "$1"; }
# Bytes the segments hold (text + data, berkeley `size`): not rounded to pages
# like the file size is before the lean-link cut.
loaded() { size -B "$1" | awk 'NR == 2 { print $1 + $2 }'; }
row() { printf '%-58s %9s %9s  %s\n' "$@"; }

# The stable build, as client/ci.sh builds it (same target dir: usually no work).
cargo build -q --release -p vpc-imds --target "$target"
stable_bin="target/$target/release/vpc-imds"
stable=$(size_of "$stable_bin")
"$stable_bin" -V >/dev/null

read -r _ x86 x86_bin < <(scripts/build-static.sh x86_64)
read -r _ s390x s390x_bin < <(scripts/build-static.sh s390x)
"$x86_bin" -V >/dev/null
file -b "$x86_bin" | grep -q 'statically linked' || { echo "FAIL: $x86_bin is not static"; exit 1; }
file -b "$s390x_bin" | grep -q 'S/390.*statically linked' || { echo "FAIL: $s390x_bin is not a static s390x binary"; exit 1; }

echo "stripped bytes of the static HTTP-only vpc-imds"
row "build" "x86_64" "s390x" ""
row "stable, release profile (opt-level s, lto, static-pie)" "$stable" "-" ""
row "size build (scripts/build-static.sh, pinned nightly)" "$x86" "$s390x" \
  "$(( (x86 * 100 + stable / 2) / stable ))% of stable"
row "reference: aws-ec2-imdsv2-get (issue 14's figure)" "$reference" "-" "not built here"
row "goal / budget (x86_64)" "$goal" "-" "CI fails above $budget"

if [ "$mode" = --all ]; then
  env CARGO_TARGET_DIR=target/size-z CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
    RUSTFLAGS="-C relocation-model=static" cargo build -q --release -p vpc-imds --target "$target"
  row "stable, opt-level z + static relocation" "$(size_of target/size-z/$target/release/vpc-imds)" "-" ""
  env CARGO_TARGET_DIR=target/size-https cargo build -q --release -p vpc-imds --features https --target "$target"
  row "stable, --features https (opt-level s)" "$(size_of target/size-https/$target/release/vpc-imds)" "-" ""
fi

if [ "$mode" = --steps ]; then
  echo
  echo "x86_64, one cut after another (scripts/build-static.sh's VPC_IMDS_STATIC_CUTS)"
  row "step" "file" "saved" "text+data (saved)"
  row "stable toolchain, release profile" "$stable" "" "$(loaded "$stable_bin")"
  prev=$stable prev_l=$(loaded "$stable_bin")
  cuts=""
  mkdir -p target/static/steps
  # The last one, fmt-debug, is measured but not part of the size build.
  for cut in build-std immediate-abort location-detail opt-z static-reloc \
             no-unwind-tables lean-link optimize-for-size no-resolve fmt-debug; do
    cuts="$cuts $cut"
    read -r _ bytes bin < <(VPC_IMDS_STATIC_CUTS="$cuts" scripts/build-static.sh x86_64)
    cp "$bin" "target/static/steps/$cut"
    l=$(loaded "$bin")
    row "+ $cut" "$bytes" "$((prev - bytes))" "$l ($((prev_l - l)))"
    prev=$bytes prev_l=$l
  done
  # Leave the full size build in target/static for whoever runs next.
  scripts/build-static.sh x86_64 >/dev/null
fi

if cargo tree -p vpc-imds -e normal --target "$target" | grep -Eq '\b(tokio|hyper|reqwest) v'; then
  echo "FAIL: the HTTP-only build depends on tokio, hyper or reqwest"
  exit 1
fi
if [ "$x86" -gt "$budget" ]; then
  echo "FAIL: the x86_64 size build is $x86 bytes, over the $budget-byte budget"
  exit 1
fi
echo "ok: x86_64 size build $x86 bytes <= $budget (goal $goal); no tokio, hyper or reqwest"
