#!/usr/bin/env bash
# Peak memory of `vpc-imds get keys --all` over many ~1 MB pages: the merged document
# is written as the pages arrive, so RSS stays near one page whatever the number of
# pages. Reference in the same run: `vpc-imds get keys` (one page). Goal: < 64 MB.
#   bash bench/get-all-rss.sh [PAGES]        (default 200 pages of about 950 KB)
set -euo pipefail
cd "$(dirname "$0")/.."
pages="${1:-200}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo build -q --release -p vpc-imds-emulator -p vpc-imds
work=$(mktemp -d)
trap 'kill $emu 2>/dev/null || true; rm -rf "$work"' EXIT

# 50 keys a page (the default limit), each public key about 19 KB.
target/release/vpc-imds-emulator --print-fixture > "$work/base.json"
python3 - "$work/base.json" "$work/fixture.json" "$pages" <<'PY'
import json, sys
base, out, pages = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(base))
template = doc["keys"][0]
keys = []
for i in range(pages * 50):
    k = dict(template)
    k["id"] = f"r000-bench-key-{i:06d}"
    k["name"] = f"bench-key-{i}"
    k["crn"] = template["crn"].rsplit(":", 1)[0] + ":" + k["id"]
    k["public_key"] = "ssh-ed25519 " + ("A" * 19000) + f" key{i}"
    keys.append(k)
doc["keys"] = keys
json.dump(doc, open(out, "w"))
PY
target/release/vpc-imds-emulator --fixture "$work/fixture.json" > "$work/emu.log" 2>&1 &
emu=$!
for _ in $(seq 300); do grep -q '^listening on ' "$work/emu.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/emu.log" | head -1)
[ -n "$url" ] || { cat "$work/emu.log"; exit 1; }

bin=target/release/vpc-imds
measure() { # output file, args...
  local out="$1"; shift
  { /usr/bin/time -f '%M %e' "$bin" --endpoint "$url" --timeout 300 "$@" > "$out"; } 2>&1 | tail -1
}
read -r all_kb all_s < <(measure "$work/all.json" get keys --all)
read -r one_kb one_s < <(measure "$work/one.json" get keys)
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["keys"]))' "$work/all.json")
bytes=$(stat -c %s "$work/all.json")
date -u +"measured %Y-%m-%d %H:%M UTC on $(nproc) cores"
printf '%-34s %10s %12s %14s\n' "command" "max RSS" "wall" "stdout"
printf '%-34s %7d KB %10s s %11d B\n' "get keys --all ($pages pages)" "$all_kb" "$all_s" "$bytes"
printf '%-34s %7d KB %10s s %11d B\n' "get keys (one page, reference)" "$one_kb" "$one_s" "$(stat -c %s "$work/one.json")"
echo "keys in the merged document: $count (expected $((pages * 50)))"
[ "$count" -eq $((pages * 50)) ] || { echo "FAIL: merged document incomplete"; exit 1; }
if [ "$all_kb" -lt $((64 * 1024)) ]; then echo "within the goal (< 65536 KB)"; else echo "over the goal (< 65536 KB)"; fi
