#!/usr/bin/env bash
# bench/memory.sh: the client's memory per outstanding handle (issue 5,
# target 3: at most 1 KiB per handle).
#
# A standalone `pollster sim --auto-jobs --job-duration 1h` runs in another
# process (its memory is not counted). `pollster_bench_client hold URL N C`
# starts N waits (async_wait with one shared wait_options, a 1 h poll
# backoff) over C connections, waits until every handle has had its first
# "running" answer and sleeps, and prints its peak RSS (VmHWM). Run for
# N = 1,000 and N = 1,000,000; bytes per handle =
#   (VmHWM(1M) - VmHWM(1k)) / (1M - 1k).
#
# usage: bench/memory.sh [BUILD_DIR] [HANDLES]   (default /tmp/b-bench 1000000)
set -euo pipefail
build="${1:-/tmp/b-bench}"
big="${2:-1000000}"
small=1000
conns="${CONNECTIONS:-16}"
client="$build/bench/pollster_bench_client"
pollster="$build/tools/pollster"
scratch_name=mem
source "$(dirname "$0")/sim_lib.sh"

hwm() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["vm_hwm_kib"])' "$1"; }

# A fresh simulator for each run: both runs see the same server state.
start_sim --retention 2000000
r1="$("$client" hold "$url" "$small" "$conns")"
stop_sim
echo "$r1"
start_sim --retention 2000000
r2="$("$client" hold "$url" "$big" "$conns" 2> "$tmp/hold.err")"
stop_sim
echo "$r2"
cat "$tmp/hold.err"
python3 - "$r1" "$r2" <<'EOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for r in (a, b):
    if r["sleeping"] != r["handles"]:
        sys.exit(f"run with {r['handles']} handles: only {r['sleeping']} had their first answer")
per = (b["vm_hwm_kib"] - a["vm_hwm_kib"]) * 1024 / (b["handles"] - a["handles"])
print(f"peak RSS: {a['vm_hwm_kib']} KiB with {a['handles']} handles, {b['vm_hwm_kib']} KiB with {b['handles']}")
print(f"bytes per outstanding handle: {per:.0f} (target <= 1024)")
EOF
