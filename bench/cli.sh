#!/usr/bin/env bash
# Cold `vpc-imds user-data` against curl + jq doing the same two requests, on the same
# emulator, in one hyperfine run; then the max RSS of each. Goal: ours <= 0.3x curl's time.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine jq curl; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine jq curl >/dev/null; }
done
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
target=x86_64-unknown-linux-musl
cargo build -q --release -p vpc-imds-emulator
if rustup target add "$target" >/dev/null 2>&1 && cargo build -q --release -p vpc-imds --target "$target" 2>/dev/null; then
  bin="target/$target/release/vpc-imds"
else
  cargo build -q --release -p vpc-imds
  bin="target/release/vpc-imds"
fi

log=$(mktemp)
target/release/vpc-imds-emulator > "$log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; rm -f "$log" "$json"' EXIT
json=$(mktemp)
for _ in $(seq 50); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log" | head -1)
v=2025-08-26
curl_cmd="T=\$(curl -s -X PUT -H 'Metadata-Flavor: ibm' -d '{\"expires_in\":300}' '$url/identity/v1/token?version=$v' | jq -r .access_token); curl -s -H \"Authorization: Bearer \$T\" '$url/metadata/v1/instance/initialization?version=$v' | jq -r .user_data"
ours_cmd="$bin --endpoint $url user-data"

echo "emulator at $url; binary $bin ($(stat -c %s "$bin") bytes)"
hyperfine -N --warmup 5 --runs 200 --export-json "$json" "$ours_cmd" >/dev/null 2>&1 || \
  hyperfine --warmup 5 --runs 200 --export-json "$json" "$ours_cmd" >/dev/null
hyperfine --warmup 5 --runs 100 --export-json "$json.curl" "$curl_cmd" >/dev/null
ours=$(jq '.results[0].mean' "$json")
theirs=$(jq '.results[0].mean' "$json.curl")
rm -f "$json.curl"
rss() { /usr/bin/time -f '%M' bash -c "$1 >/dev/null" 2>&1 | tail -1; }
printf '%-40s %10s %12s\n' "cold user-data (same emulator)" "mean" "max RSS"
# Ours is measured without a shell around it; the pipeline needs one.
ours_rss=$( { /usr/bin/time -f '%M' $ours_cmd >/dev/null; } 2>&1 | tail -1)
printf '%-40s %8.2f ms %9s KB\n' "vpc-imds (one process)" "$(echo "$ours * 1000" | bc -l)" "$ours_rss"
printf '%-40s %8.2f ms %9s KB\n' "curl | jq, twice (shell pipeline)" "$(echo "$theirs * 1000" | bc -l)" "$(rss "$curl_cmd")"
printf 'ratio ours/curl: %.3fx (goal <= 0.3x)\n' "$(echo "$ours / $theirs" | bc -l)"
