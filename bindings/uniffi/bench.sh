#!/usr/bin/env bash
# Benchmark of the JVM package against the emulator, ours beside a raw
# java.net.http.HttpClient doing the same requests, in one run (run ci.sh first: it
# builds the jar and the test classes). Each "first call" is a fresh JVM (3 runs
# each, alternating); "cached GET" is 2000 GETs of the instance with the token
# cached, after 200 warm-ups ("transport": our Kotlin transport alone, no native
# code; "native": the native side alone, answered from memory). Prints JSON lines, then a Markdown table row set.
#
# Environment: EMULATOR_BIN (default: the workspace's release build, else debug).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy VPC_IMDS_ENDPOINT
target=${CARGO_TARGET_DIR:-$root/target}
emu=${EMULATOR_BIN:-}
if [[ -z "$emu" ]]; then
  if [[ -x "$target/release/vpc-imds-emulator" ]]; then emu="$target/release/vpc-imds-emulator"; else emu="$target/debug/vpc-imds-emulator"; fi
fi
jar=target/vpc-imds-0.1.0.jar
[[ -f $jar && -d target/test-classes ]] || { echo "run ci.sh first (no $jar)"; exit 1; }
mvn -q -B -ntp -Dmaven.repo.local="$here/.m2" dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test >/dev/null
cp="$jar:target/test-classes:$(cat target/classpath.txt)"

out=$(mktemp)
"$emu" >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do [[ $(wc -l <"$out") -ge 2 ]] && break; sleep 0.1; done
base=$(sed -n '1s/^listening on //p' "$out")
echo "emulator $emu at $base; $(java -version 2>&1 | head -1); $(date -u +%Y-%m-%d)"

run() { java -cp "$cp" io.github.vpcimds.Bench "$@"; }
results=()
for _ in 1 2 3; do
  for who in ours raw; do results+=("$(run first "$who" "$base")"); done
done
for who in ours raw transport native; do results+=("$(run cached "$who" "$base" 2000)"); done
printf '%s\n' "${results[@]}"
native=target/native/linux-x86-64/libvpc_imds_uniffi.so
echo "native library $(stat -c %s "$native") bytes, jar $(stat -c %s "$jar") bytes"
