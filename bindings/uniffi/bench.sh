#!/usr/bin/env bash
# Benchmark of the JVM package against the emulator, ours beside a raw
# java.net.http.HttpClient doing the same requests (the floor), in one run (run ci.sh
# first: it builds the jar and the test classes). Each "first call" is a fresh JVM
# (ours and raw alternating, ROUNDS each). "cached GET" is 2000 GETs of the instance
# with the token cached, in a fresh JVM per run, ours, raw and rawjson (raw and
# Jackson's readTree of the body: the JVM floor, HttpClient and a JSON parse)
# alternating for ROUNDS rounds after 200 warm-ups, then ROUNDS more after 5000
# warm-ups (most of the JIT done). Then once each, after 5000 warm-ups: "split" (ours,
# with the medians inside the transport's send and outside it), "transport" (our Kotlin transport
# alone, no native code), "native" (the native side alone, answered from memory),
# "nativeget" (the same through get()), "stepped" (the stepper Machine driven from
# Kotlin, no callback), "steppedhttp" (the same over our transport), "gap" (our
# transport with 40 µs of spinning before each call; inside_send_us: the exchange) and
# "firstsplit" (the steps of a first call). "token + IAM token": a new client's identity token exchanged for an
# IAM token, 500 times after 1500 warm-ups, IAM_ROUNDS (default 3) alternating rounds of: ours (a new
# imdsClient() each time), IBM's sdk-core VpcInstanceAuthenticator (new each time) and
# raw (one HttpClient, the two requests by hand); once, a new ImdsClient over one
# JavaHttpTransport of our own ("shared"). With a JDK 22 or later at hand: the native
# side from memory through the C ABI over Java's FFM API (bench/Ffm.java) beside the
# uniffi Machine stepped from Kotlin on that JDK.
# Prints the JSON lines, then the medians of the rounds, ours beside the floor, with
# the ratio.
#
# Environment: EMULATOR_BIN (default: the workspace's release build, else debug),
# ROUNDS (default 5), IAM_ROUNDS (default 3), FFM_ROUNDS (default 3), FFM_JAVA (a JDK 22+
# java; default: found in JAVA_HOME or /usr/lib/jvm).
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
rounds=${ROUNDS:-5}
results=()
for _ in $(seq "$rounds"); do
  for who in ours raw; do results+=("$(run first "$who" "$base")"); done
done
for _ in $(seq "$rounds"); do
  for who in ours raw rawjson; do results+=("$(run cached "$who" "$base" 2000)"); done
done
# The same after 5000 warm-ups: the JIT has compiled most of both paths (with 200, C2
# compiles during the timed calls, on one of two cores; after 5000 it still compiles
# ours for a few seconds, more code than raw's: 2026-12-08, ours 207 against raw 91-104
# µs after 30,000 warm-ups).
for _ in $(seq "$rounds"); do
  for who in ours raw rawjson; do results+=("$(run cached "$who" "$base" 2000 5000)"); done
done
# After 5000 warm-ups, as the second cached rounds: with 200 the JIT's noise hides what
# they compare.
for who in split transport native nativeget stepped steppedhttp gap; do results+=("$(run cached "$who" "$base" 2000 5000)"); done
iam_rounds=${IAM_ROUNDS:-3}
for _ in $(seq "$iam_rounds"); do
  for who in ours sdk raw; do results+=("$(run iam "$who" "$base" 500 1500)"); done
done
results+=("$(run iam shared "$base" 500 1500)")
results+=("$(run firstsplit ours "$base")")
# FFM (JDK 22+): the C ABI's machine driven through java.lang.foreign beside the uniffi
# Machine stepped from Kotlin (`stepped`), both answered from memory, on that JDK,
# FFM_ROUNDS alternating rounds. The JDK: FFM_JAVA, else the first of JAVA_HOME and
# /usr/lib/jvm/* whose java is 22 or later; none: the rows are left out, saying so.
ffm_java=${FFM_JAVA:-}
if [[ -z "$ffm_java" ]]; then
  for home in ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [[ -x "$home/bin/java" ]] || continue
    v=$("$home/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p') || continue
    if [[ -n "$v" && "$v" -ge 22 ]]; then ffm_java="$home/bin/java"; break; fi
  done
fi
if [[ -n "$ffm_java" ]]; then
  (cd "$root" && cargo build -q -p vpc-imds-c --release)
  lib="$target/release/libvpc_imds_c.so"
  echo "FFM rows on $("$ffm_java" -version 2>&1 | head -1)"
  for _ in $(seq "${FFM_ROUNDS:-3}"); do
    results+=("$("$ffm_java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.github.vpcimds.Bench cached stepped "$base" 2000 | sed 's/"stepped"/"stepped-jdk22+"/')")
    results+=("$("$ffm_java" --enable-native-access=ALL-UNNAMED bench/Ffm.java "$lib" "$base" instance 2000 200)")
  done
else
  echo "no JDK 22 or later (FFM_JAVA, JAVA_HOME, /usr/lib/jvm): the FFM rows are left out"
fi
printf '%s\n' "${results[@]}"
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(line) for line in sys.stdin]
def med(mode, who, key, warm_ups):
    values = [r[key] for r in rows
              if r["mode"] == mode and r["who"] == who and r.get("warm_ups") == warm_ups]
    return statistics.median(values), values
for label, mode, key, unit, warm_ups in (
        ("cached GET (200 warm-ups)", "cached", "median_us", "us", 200),
        ("cached GET (5000 warm-ups)", "cached", "median_us", "us", 5000),
        ("first call", "first", "ms", "ms", None)):
    ours, ours_all = med(mode, "ours", key, warm_ups)
    raw, raw_all = med(mode, "raw", key, warm_ups)
    print(f"{label}: ours {ours:.1f} {unit} vs raw HttpClient {raw:.1f} {unit} = {ours / raw:.2f}x "
          f"(median of {len(ours_all)} alternating rounds; ours {ours_all}, raw {raw_all})")
    if mode == "cached":
        floor, floor_all = med(mode, "rawjson", key, warm_ups)
        print(f"{label}: ours {ours:.1f} {unit} vs raw HttpClient + Jackson readTree {floor:.1f} {unit} "
              f"= {ours / floor:.2f}x (the JVM floor: HttpClient and a JSON parse; rawjson {floor_all})")
ours, sdk, raw = (med("iam", who, "median_us", 1500)[0] for who in ("ours", "sdk", "raw"))
print(f"token + IAM token, new client: ours {ours:.1f} us, sdk-core {sdk:.1f} us, raw HttpClient {raw:.1f} us: "
      f"ours/sdk {ours / sdk:.2f}x, ours/raw {ours / raw:.2f}x, raw/sdk {raw / sdk:.2f}x "
      f"(median of {sys.argv[1]} alternating rounds)")
if any(r["who"] == "ffm-instance" for r in rows):
    stepped, stepped_all = med("cached", "stepped-jdk22+", "median_us", 200)
    ffm, ffm_all = med("cached", "ffm-instance", "median_us", 200)
    print(f"native side from memory (JDK 22+): uniffi Machine stepped {stepped:.1f} us, C ABI over FFM {ffm:.1f} us "
          f"= {ffm / stepped:.2f}x (median of {len(ffm_all)} alternating rounds; stepped {stepped_all}, ffm {ffm_all})")
' "$iam_rounds"
native=target/native/linux-x86-64/libvpc_imds_uniffi.so
echo "native library $(stat -c %s "$native") bytes, jar $(stat -c %s "$jar") bytes"
