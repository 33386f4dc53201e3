#!/usr/bin/env bash
# bench/many_clusters.sh: one `pollster load` process watching many clusters
# (issue 11: "pollster load --clusters 100 ... 400,000 outstanding handles in
# all. At most one list per cluster per tick, at most 1 KiB per handle").
#
# Starts CLUSTERS standalone simulators (`pollster sim --auto-jobs`, each its
# own process and listener, so their memory is not counted), then runs
# `pollster load --jobs N` with one --target per simulator (one engine client
# each, the handles spread over them; jobs of --job-duration start at their
# first query) twice: with SMALL jobs (the fixed cost of CLUSTERS clients:
# TLS contexts, connections, buffers) and with N. Prints the load process's
# peak RSS for both, the bytes per outstanding handle
#   (peak(N) - peak(SMALL)) / (N - SMALL),
# the list rate per cluster against the tick floor (0.5 s), and what was lost
# or delivered twice (both must be 0).
#
# usage: bench/many_clusters.sh [BUILD_DIR] [CLUSTERS] [JOBS] [FAN_IN]
#        (default build 100 400000 auto; JOB_DURATION=uniform:30s:90s)
# RSS_SERIES=FILE also writes FILE.JOBS: "seconds VmRSS_KiB", one line a second
# (what is held before the completions, and after). The peak is the last
# VmHWM read (within a second of the end). glibc's retained heap shows with
#   GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072
# JSON_OUT=FILE keeps the big run's `--json` report.
# WRAP="heaptrack -o FILE" runs the big run's `pollster load` under that
# command (a heap profile of the peak; its RSS figures are then the wrapper's).
set -euo pipefail
build="${1:-build}"
clusters="${2:-100}"
jobs="${3:-400000}"
fan_in="${4:-auto}"
small=$((clusters * 10))
dist="${JOB_DURATION:-uniform:30s:90s}"
pollster="$build/tools/pollster"
tmp="$(mktemp -d /tmp/pollster-clusters.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo admin > "$tmp/pw"
chmod 600 "$tmp/pw"

start_sims() {  # fresh simulators for each run: both see the same server state
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  targets=()
  for i in $(seq "$clusters"); do
    : > "$tmp/sim-$i.out"
    "$pollster" sim --listen 127.0.0.1:0 --user admin --password admin --auto-jobs \
      --job-duration "$dist" --retention 0 > "$tmp/sim-$i.out" 2> "$tmp/sim-$i.err" &
    pids+=($!)
  done
  for i in $(seq "$clusters"); do
    url=""
    for _ in $(seq 200); do
      url="$(sed -n 's/^pollster sim: serving //p' "$tmp/sim-$i.out")"
      [ -n "$url" ] && break
      sleep 0.05
    done
    [ -n "$url" ] || { echo "simulator $i did not start:" >&2; cat "$tmp/sim-$i.err" >&2; exit 1; }
    targets+=(--target "$url")
  done
}

run() {  # run JOBS OUT
  start_sims
  local wrap=()
  [ "$1" = "$jobs" ] && [ -n "${WRAP:-}" ] && read -r -a wrap <<<"$WRAP"
  "${wrap[@]}" "$pollster" load "${targets[@]}" --insecure \
    --password-file "$tmp/pw" --fan-in "$fan_in" --jobs "$1" --connections "$((clusters * 2))" \
    --duration 10m --no-progress --json "$2" > "$tmp/out-$1" 2> "$tmp/err-$1" &
  local lp=$! t0 rc=0
  t0=$(date +%s.%N)
  : > "$tmp/series-$1"
  # VmRSS once a second (and the peak VmHWM at the end): when the memory is held.
  while kill -0 "$lp" 2>/dev/null; do
    echo "$(date +%s.%N) $t0 $(awk '/VmRSS/{print $2}' "/proc/$lp/status" 2>/dev/null)" >> "$tmp/series-$1"
    awk '/VmHWM/{print $2}' "/proc/$lp/status" > "$tmp/rss-$1.now" 2>/dev/null && mv "$tmp/rss-$1.now" "$tmp/rss-$1"
    sleep 1
  done
  wait "$lp" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/out-$1" "$tmp/err-$1" >&2; exit 1; }
  if [ -n "${RSS_SERIES:-}" ]; then
    awk '{printf "%.0f %s\n", $1 - $2, $3}' "$tmp/series-$1" > "$RSS_SERIES.$1"
  fi
}

run "$small" "$tmp/small.json"
run "$jobs" "$tmp/big.json"
[ -z "${JSON_OUT:-}" ] || cp "$tmp/big.json" "$JSON_OUT"
python3 - "$tmp/small.json" "$tmp/big.json" "$(cat "$tmp/rss-$small")" "$(cat "$tmp/rss-$jobs")" "$small" "$jobs" <<'PY'
import json, sys
small, big = (json.load(open(p)) for p in sys.argv[1:3])
rss_small, rss_big, n_small, n_big = map(int, sys.argv[3:7])
per = (rss_big - rss_small) * 1024 / (n_big - n_small)
print(f"clusters {len(big['clusters'])}, jobs {n_big}: {big['completed']} completed in {big['duration_s']:.1f} s")
print(f"peak RSS of pollster load: {rss_small} KiB with {n_small} jobs, {rss_big} KiB with {n_big}")
print(f"bytes per outstanding handle: {per:.0f} (target <= 1024)")
rates = [c['lists'] / big['duration_s'] for c in big['clusters']]
print(f"lists per cluster per second: max {max(rates):.2f}, mean {sum(rates)/len(rates):.2f} "
      f"(one list per tick at most: <= 2.00 at the 0.5 s floor)")
print(f"requests per op {big['requests_per_op']:.2f}; engine requests {big['engine_requests']}, lists {big['lists']}")
j = big['jobs']
print(f"jobs: {j}")
bad = (per > 1024 or max(rates) > 2.0 or big['completed'] != n_big
       or j['undelivered'] != 0 or j['duplicates'] != 0)
sys.exit(1 if bad else 0)
PY
