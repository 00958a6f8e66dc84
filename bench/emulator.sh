#!/usr/bin/env bash
# Throughput and tail latency of vpc-imds-emulator: authenticated
# GET /metadata/v1/instance on 127.0.0.1, release build, measured with wrk.
# Prints req/s and p99, next to a reference measured in the same run
# (GET /health on the control port: same server stack, no routing/auth/JSON).
#
# Environment: EMULATOR_BIN (skip the build), DURATION (default 10s),
# CONNECTIONS (default 32), THREADS (wrk threads, default 1), GOAL (default 30000).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}
goal=${GOAL:-30000}
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

if ! command -v wrk >/dev/null; then
  echo "== installing wrk (Debian package)" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
  fi
fi

if [[ -z "${EMULATOR_BIN:-}" ]]; then
  echo "== building vpc-imds-emulator (release)" >&2
  (cd "$root" && cargo build --quiet --release -p vpc-imds-emulator --bin vpc-imds-emulator)
  EMULATOR_BIN="$target/release/vpc-imds-emulator"
fi

out=$(mktemp)
"$EMULATOR_BIN" >"$out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
  [[ $(wc -l <"$out") -ge 2 ]] && break
  sleep 0.1
done
base=$(sed -n '1s/^listening on //p' "$out")
control=$(sed -n '2s/^control on //p' "$out")
[[ -n "$base" && -n "$control" ]] || { echo "emulator did not start" >&2; exit 1; }

token=$(curl -sf -X PUT "$base/identity/v1/token?version=2025-08-26" \
  -H 'Metadata-Flavor: ibm' -d '{"expires_in":3600}' |
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n "$token" ]] || { echo "no token" >&2; exit 1; }

# run URL [wrk args...]: prints "<req/s> <p99>"; fails on any non-2xx answer or socket error.
run() {
  local url=$1; shift
  local res
  res=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" "$url")
  if grep -qE 'Non-2xx|Socket errors' <<<"$res"; then
    echo "$res" >&2
    echo "errors during the run" >&2
    return 1
  fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$res")
  echo "$rps $p99"
}

path="/metadata/v1/instance?version=2025-08-26"
# Warm up (connections, allocator), then measure.
DURATION=2s run "$base$path" -H "Authorization: Bearer $token" >/dev/null || true
read -r rps p99 < <(run "$base$path" -H "Authorization: Bearer $token")
read -r ref_rps ref_p99 < <(run "$control/health")
bytes=$(curl -sf "$base$path" -H "Authorization: Bearer $token" | wc -c)

echo "machine: $(nproc) cores; wrk -t$threads -c$connections -d$duration"
printf 'emulator  GET %s (%s-byte JSON, bearer auth): %s req/s, p99 %s\n' "$path" "$bytes" "$rps" "$p99"
printf 'reference GET /health on the control port:                      %s req/s, p99 %s\n' "$ref_rps" "$ref_p99"
if awk -v r="$rps" -v g="$goal" 'BEGIN { exit !(r >= g) }'; then
  echo "goal >= $goal req/s: met"
else
  echo "goal >= $goal req/s: NOT met"
fi
