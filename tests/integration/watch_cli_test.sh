#!/usr/bin/env bash
# pollster watch as an operator runs it, against a standalone `pollster sim`.
# Usage: watch_cli_test.sh PATH/TO/pollster
set -uo pipefail
P=$1
tmp=$(mktemp -d)
simpid=
cleanup() { [ -n "$simpid" ] && kill "$simpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
failures=0
pass=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name"; failures=$((failures + 1)); fi
}

"$P" sim --listen 127.0.0.1:0 --user admin --password pw --write-cert "$tmp/cert.pem" \
  --auto-jobs --job-duration 300ms >"$tmp/sim.out" 2>"$tmp/sim.err" &
simpid=$!
for _ in $(seq 100); do grep -q 'https://' "$tmp/sim.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'https://[^ ]*' "$tmp/sim.out" | head -n1)
[ -n "$url" ] || { echo "simulator did not start"; cat "$tmp/sim.err"; exit 1; }
echo "simulator at $url"

export POLLSTER_PASSWORD=pw
W=("$P" watch --endpoint "$url" --user admin --ca-file "$tmp/cert.pem" --timeout 20)

# --- usage errors: exit 2 and one line naming the problem ---
usage() {  # usage NAME EXPECTED_WORD ARGS...
  local name=$1 word=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  check "$name: exit 2 (got $rc)" test "$rc" -eq 2
  check "$name: one line" test "$(wc -l <"$tmp/err")" -eq 1
  check "$name: names '$word'" grep -q -- "$word" "$tmp/err"
  check "$name: nothing on stdout" test ! -s "$tmp/out"
}
usage "bad handle" "'abc'" "${W[@]}" abc
usage "zero handle" "'0'" "${W[@]}" 0
usage "negative handle" "'-5'" "${W[@]}" -- -5
usage "unknown flag" "--frobnicate" "${W[@]}" --frobnicate 1
usage "bad url" "json-rpc" "$P" watch --endpoint "https://127.0.0.1:1/api" --user admin 1
usage "bad timeout" "timeout" "${W[@]}" --timeout -3 1
usage "bad purge" "purge" "${W[@]}" --purge sometimes 1
usage "no handles" "handles" "$P" watch --endpoint "$url" --user admin
POLLSTER_PASSWORD= usage "no password" "POLLSTER_PASSWORD" "${W[@]}" 1

# --- handles complete: one JSON line each, exactly once, exit 0 ---
"${W[@]}" 11 12 13 12 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "complete: exit 0 (got $rc)" test "$rc" -eq 0
check "complete: three lines (duplicate handle once)" test "$(wc -l <"$tmp/out")" -eq 3
check "complete: JSON, asyncHandle first, status complete, result" python3 - "$tmp/out" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    assert line.startswith('{"asyncHandle": '), line
    o = json.loads(line)
    assert o["status"] == "complete" and "result" in o and "resultType" in o, o
    seen.add(o["asyncHandle"])
assert seen == {11, 12, 13}, seen
PY

# --- handles from standard input ---
printf '21\n\n22\n' | "${W[@]}" - >"$tmp/out" 2>"$tmp/err"
check "stdin: exit 0" test $? -eq 0
check "stdin: two lines" test "$(wc -l <"$tmp/out")" -eq 2
printf '21\nx7\n' | "${W[@]}" - >"$tmp/out" 2>"$tmp/err"
check "stdin: bad line is a usage error" test $? -eq 2
check "stdin: names the line" grep -q "line 2" "$tmp/err"

# --- password file, and its permissions warning ---
printf 'pw\n' >"$tmp/pw"; chmod 644 "$tmp/pw"
POLLSTER_PASSWORD= "${W[@]}" --password-file "$tmp/pw" 31 >"$tmp/out" 2>"$tmp/err"
check "password file: exit 0" test $? -eq 0
check "password file: warns when readable by others" grep -q "readable by other" "$tmp/err"

# --- wrong password: failed at once, exit 1 ---
POLLSTER_PASSWORD=nope "${W[@]}" 41 42 >"$tmp/out" 2>"$tmp/err"
check "unauthorized: exit 1" test $? -eq 1
check "unauthorized: two failed lines" test "$(grep -c '"status": "failed"' "$tmp/out")" -eq 2
check "unauthorized: says so" grep -q unauthorized "$tmp/out"
check "password not in output" bash -c "! grep -q nope '$tmp/out' '$tmp/err'"

# --- gone: a handle the cluster does not know (purged by a first watch) ---
"${W[@]}" --purge on-read 51 >/dev/null 2>&1
"${W[@]}" 51 >"$tmp/out" 2>"$tmp/err"
check "gone: exit 1" test $? -eq 1
check "gone: status gone with the method error" grep -q '"status": "gone", "error": {.*xDBNoSuchPath' "$tmp/out"

# --- unreachable cluster: timeout lines within the timeout, exit 1 ---
start=$(date +%s)
"$P" watch --endpoint "https://127.0.0.1:9/json-rpc/12.5" --user admin --insecure --timeout 2 61 62 \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
check "unreachable: exit 1" test "$rc" -eq 1
check "unreachable: within the timeout (took ${took}s)" test "$took" -le 6
check "unreachable: a timeout line per handle" test "$(grep -c '"status": "timeout"' "$tmp/out")" -eq 2
check "insecure: warns" grep -q "WARNING: --insecure" "$tmp/err"

# --- wrong CA: refused quickly with the reason ---
"$P" watch --endpoint "$url" --user admin --timeout 20 71 >"$tmp/out" 2>"$tmp/err"
check "system store: exit 1" test $? -eq 1
check "system store: certificate rejected" grep -q 'certificate_rejected' "$tmp/out"

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
