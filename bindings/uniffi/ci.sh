#!/usr/bin/env bash
# JVM package `io.github.vpc-imds:vpc-imds` (uniffi, Kotlin): builds the native library
# (release, strip="debuginfo" so uniffi-bindgen can read its metadata; the copy packed
# into the jar is then fully stripped), generates the Kotlin, and runs Maven: JUnit 5
# (Kotlin and Java tests) over every test vector, the fixtures' typed models, and
# against the emulator (the Java facade and the IBM SDK authenticator too; Surefire
# output shown), then the jar,
# then the cross-host scenarios (tests/scenarios, blocking and suspend calls).
# Installs what it needs: uniffi-bindgen 0.32.2 into the checkout's .tools (cargo
# install, skipped when present), JDK and Maven from Debian if missing, Maven artifacts
# into bindings/uniffi/.m2 (-Dmaven.repo.local; git-ignored). Caches nothing outside
# the checkout. Ends with "uniffi: N passed, M failed".
#
# Environment: EMULATOR_BIN (default: the workspace's debug build, built if absent).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# Tests talk to 127.0.0.1 only; a proxy must never matter.
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy VPC_IMDS_ENDPOINT
target=${CARGO_TARGET_DIR:-$root/target}
tools=$root/.tools
lib=libvpc_imds_uniffi.so
bindgen_version=0.32.2

STEPS=uniffi
. "$root/scripts/steps.sh"

jdk() {
  if command -v javac >/dev/null && command -v mvn >/dev/null; then return 0; fi
  [[ $(id -u) == 0 ]] || { echo "need a JDK (17+) and Maven; not root, so cannot apt-get them"; return 1; }
  apt-get update -qq && apt-get install -y -qq default-jdk-headless maven >/dev/null
}

bindgen() {
  if [[ "$("$tools/bin/uniffi-bindgen" --version 2>/dev/null)" == "uniffi-bindgen $bindgen_version" ]]; then
    echo "uniffi-bindgen $bindgen_version already in $tools"; return 0
  fi
  # The crate's published Cargo.lock; the dev profile (without debug info) builds
  # about twice as fast as release and generates the same code. Its build directory
  # stays inside the checkout.
  (cd "$root" && CARGO_PROFILE_DEV_DEBUG=0 cargo install --quiet "uniffi@$bindgen_version" --features cli --bin uniffi-bindgen \
    --locked --debug --root "$tools" --target-dir "$target/uniffi-bindgen") &&
    "$tools/bin/uniffi-bindgen" --version
}

native() {
  # uniffi-bindgen reads the UNIFFI_META symbols: keep symbols (strip debuginfo only).
  # panic=unwind: a Rust panic surfaces as an exception instead of aborting the JVM.
  (cd "$root" && CARGO_PROFILE_RELEASE_STRIP=debuginfo CARGO_PROFILE_RELEASE_PANIC=unwind \
    cargo build --quiet --release -p vpc-imds-uniffi --lib) || return 1
  # target/classes too: Maven never deletes the class of a source that is gone, and the
  # jar packs every class there (a reused checkout's jar held types removed long ago).
  rm -rf target/generated-sources/uniffi target/native target/classes
  "$tools/bin/uniffi-bindgen" generate --library "$target/release/$lib" --language kotlin \
    --out-dir target/generated-sources/uniffi --no-format || return 1
  python3 "$here/pool_call_status.py" target/generated-sources/uniffi/io/github/vpcimds/vpc_imds_uniffi.kt || return 1
  mkdir -p target/native/linux-x86-64
  strip --strip-all -o "target/native/linux-x86-64/$lib" "$target/release/$lib" || return 1
  echo "native library: $(stat -c %s "$target/release/$lib") bytes (symbols kept), $(stat -c %s "target/native/linux-x86-64/$lib") bytes stripped (shipped)"
  echo "generated Kotlin: $(find target/generated-sources/uniffi -name '*.kt' -exec cat {} + | wc -c) bytes"
}

emulator() {
  if [[ -z "${EMULATOR_BIN:-}" ]]; then
    (cd "$root" && cargo build --quiet -p vpc-imds-emulator --bin vpc-imds-emulator) || return 1
    export EMULATOR_BIN="$target/debug/vpc-imds-emulator"
  fi
  [[ -x "$EMULATOR_BIN" ]]
}

maven() {
  mvn -B -ntp -Dmaven.repo.local="$here/.m2" -Demulator.bin="${EMULATOR_BIN:-}" \
    -Dvectors.dir="$root/tests/vectors" package || return 1
  echo "jar: $(stat -c %s target/vpc-imds-0.1.0.jar) bytes (native library included)"
}

scenarios() {
  # tests/scenarios/scenarios.json through the public API, one emulator per scenario
  # (ScenariosTest: its KNOWN map lists where this host differs, each with a reason).
  mvn -B -ntp -o -Dmaven.repo.local="$here/.m2" -Demulator.bin="${EMULATOR_BIN:-}" \
    -Dvectors.dir="$root/tests/vectors" -Dtest=ScenariosTest surefire:test
}

step "JDK and Maven" jdk
step "uniffi-bindgen $bindgen_version" bindgen
step "native library (release) and Kotlin bindings" native
step "emulator" emulator
step "mvn package (JUnit 5: vectors, emulator; jar)" maven
step "cross-host scenarios (tests/scenarios)" scenarios

steps_end
