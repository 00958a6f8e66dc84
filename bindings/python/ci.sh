#!/usr/bin/env bash
# CI for the Python package: build the wheel, install it into a fresh venv, and test
# the installed wheel (not the source tree) against the shared vectors and the emulator.
#
#   bash bindings/python/ci.sh          # from anywhere; exits non-zero on any failure
#
# Needs: python3 (>= 3.8, with venv), cargo, PyPI. No python3-dev, no apt packages.
# Env: PYTHON (interpreter, default python3), CI_WORK (scratch dir, default a temp dir),
#      PORTABLE=1 builds a manylinux2014 wheel with zig (pip's ziglang) instead of
#      the host's manylinux_2_34.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
work="${CI_WORK:-$(mktemp -d)}"
if [ -z "${CI_WORK:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
start=$SECONDS
step() { echo "--- $* ($((SECONDS - start)) s)"; }

step "build venv: maturin 1.16.0"
"$python" -m venv "$work/build"
"$work/build/bin/pip" install -q maturin==1.16.0
build_args=(--release -m "$here/Cargo.toml" --out "$work/dist")
if [ "${PORTABLE:-0}" = 1 ]; then
  "$work/build/bin/pip" install -q ziglang
  build_args+=(--zig --compatibility manylinux2014)
fi

step "wheel (maturin build --release)"
"$work/build/bin/maturin" build "${build_args[@]}"
wheel="$(ls "$work"/dist/vpc_imds-*.whl)"
echo "wheel: $(basename "$wheel") $(stat -c %s "$wheel") bytes"
mkdir -p "$repo/dist" && cp "$wheel" "$repo/dist/"

step "emulator (cargo build -p vpc-imds-emulator)"
(cd "$repo" && cargo build -q -p vpc-imds-emulator)
export VPC_IMDS_EMULATOR="${CARGO_TARGET_DIR:-$repo/target}/debug/vpc-imds-emulator"

step "fresh venv: the wheel, pytest, mypy, ibm-cloud-sdk-core, ibm-vpc"
"$python" -m venv --clear "$work/test"  # a rerun must not keep an older wheel of the same version
"$work/test/bin/pip" install -q "$wheel" pytest mypy ibm-cloud-sdk-core ibm-vpc
"$work/test/bin/python" -c 'import vpc_imds, sys; print("installed:", vpc_imds.__file__); assert "site-packages" in vpc_imds.__file__'

step "mypy --strict on the examples"
(cd "$here/examples" && "$work/test/bin/mypy" --strict --no-incremental --cache-dir /dev/null \
  quickstart.py custom_transport.py ibm_sdk.py)
# The package's own source too (mypy reports nothing inside an installed package).
(cd "$here/python" && "$work/test/bin/mypy" --strict --no-incremental --cache-dir /dev/null vpc_imds)

step "pytest against the installed wheel"
export VPC_IMDS_REQUIRE_INSTALLED=1 VPC_IMDS_REQUIRE_EMULATOR=1 VPC_IMDS_VECTORS="$repo/tests/vectors"
cd "$work"  # not the source tree: only the installed package is importable
exec "$work/test/bin/python" -m pytest -p no:cacheprovider "$here/tests"
