#!/usr/bin/env bash
# bench/cpu.sh: instructions per poll, counted by callgrind (deterministic;
# issue 5, target 4).
#
#  1. The parse path: `pollster_bench_client parse VECTOR N` parses one
#     element-api.md vector N times exactly as the engine does
#     (parse_envelope + parse_async_result). Run with N=0 and N=COUNT; the
#     difference of the total instruction counts / COUNT is the instructions
#     per parse (start-up cancels out).
#  2. The whole request path: `pollster_bench_client poll URL P C H` polls H
#     running jobs of a standalone `pollster sim` (another process, not
#     counted) over C TLS connections with no backoff until P answers; run
#     with P=P0 and P=P0+COUNT; the difference / COUNT per poll, split by
#     object: OpenSSL (libssl + libcrypto), libc/libstdc++, and the rest
#     (pollster, Asio, Beast, simdjson: the binary). Kernel time is not
#     counted by callgrind.
#
# usage: [COUNT=10000] [KEEP=1] [SKIP_PARSE=1] bench/cpu.sh [BUILD_DIR]   (default /tmp/b-bench; needs
#        BUILD_DIR/bench/pollster_bench_client and BUILD_DIR/tools/pollster)
set -euo pipefail
build="${1:-/tmp/b-bench}"
client="$build/bench/pollster_bench_client"
pollster="$build/tools/pollster"
count="${COUNT:-10000}"
scratch_name=cpu
source "$(dirname "$0")/sim_lib.sh"

cg() {  # out-file, command...
  local out="$1"; shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" > "$out.stdout" 2> "$out.log"
}
# Self cost (Ir) per object file of a callgrind output.
objects() {
  python3 - "$1" <<'EOF'
import re, sys, collections
names, cost, ob, skip = {}, collections.Counter(), "?", False
for line in open(sys.argv[1], errors="replace"):
    if line.startswith(("ob=", "cob=")):
        # Object names are compressed: "(id) name" the first time, "(id)" after,
        # and a name may first appear in a cob= (called object) line.
        key, _, val = line.strip().partition("=")
        m = re.match(r"\((\d+)\)(?: (.*))?", val)
        if m:
            if m.group(2): names[m.group(1)] = m.group(2)
            val = names.get(m.group(1), m.group(1))
        if key == "ob":
            ob = val
    elif line.startswith("calls="):
        skip = True  # the next cost line is the call's inclusive cost
    elif line[:1].isdigit() or line[:1] in "+-*":
        if skip:
            skip = False
            continue
        parts = line.split()
        if len(parts) >= 2:
            cost[ob] += int(parts[1])
for name, ir in cost.items():
    print(f"{ir} {name}")
EOF
}
total() { grep -E '^(summary|totals):' "$1" | head -1 | awk '{print $2}'; }

if [ -z "${SKIP_PARSE:-}" ]; then
echo "== parse path: instructions per parse (callgrind, $count parses) =="
printf '%-24s %12s\n' vector Ir/parse
for v in running succeeded task_failed no_such_path handle_does_not_exist list_async_results; do
  cg "$tmp/p0" "$client" parse "$v" 0
  cg "$tmp/pn" "$client" parse "$v" "$count"
  grep -q "\"correct\":$count" "$tmp/pn.stdout" || { echo "wrong parse of $v" >&2; exit 1; }
  awk -v a="$(total "$tmp/p0")" -v b="$(total "$tmp/pn")" -v n="$count" -v v="$v" \
    'BEGIN { printf "%-24s %12.0f\n", v, (b - a) / n }'
done

fi

echo
echo "== whole request path: instructions per running poll (callgrind, $count polls) =="
start_sim
conns="${CONNECTIONS:-16}"
handles=$(( 4 * conns ))
base=2000
cg "$tmp/w0" "$client" poll "$url" "$base" "$conns" "$handles"
cg "$tmp/wn" "$client" poll "$url" $(( base + count )) "$conns" "$handles"
cat "$tmp/w0.stdout" "$tmp/wn.stdout"
objects "$tmp/w0" > "$tmp/w0.obj"
objects "$tmp/wn" > "$tmp/wn.obj"
python3 - "$tmp/w0.obj" "$tmp/wn.obj" "$count" "$tmp/w0.stdout" "$tmp/wn.stdout" <<'EOF'
import json, sys, collections
def load(p):
    c = collections.Counter()
    for line in open(p):
        ir, name = line.split(" ", 1)
        c[name.strip()] += int(ir)
    return c
def group(name):
    if "libssl" in name or "libcrypto" in name: return "OpenSSL (libssl, libcrypto)"
    if "libc.so" in name or "libc-" in name or "ld-linux" in name or "libm." in name: return "libc"
    if "libstdc++" in name or "libgcc" in name: return "libstdc++"
    if "vgpreload" in name or "valgrind" in name: return "valgrind preload (malloc)"
    return "pollster + Asio + Beast + simdjson (binary)"
a, b = load(sys.argv[1]), load(sys.argv[2])
# Polls actually answered in each run (the loop may overshoot by a few).
pa = json.load(open(sys.argv[4]))["polls"]; pb = json.load(open(sys.argv[5]))["polls"]
n = pb - pa
g = collections.Counter()
for k in set(a) | set(b):
    g[group(k)] += b[k] - a[k]
tot = sum(g.values())
for k, v in sorted(g.items(), key=lambda kv: -kv[1]):
    print(f"{k:48s} {v / n:10.0f} Ir/poll")
print(f"{'total':48s} {tot / n:10.0f} Ir/poll")
print(f"{'outside OpenSSL':48s} {(tot - g['OpenSSL (libssl, libcrypto)']) / n:10.0f} Ir/poll")
EOF
