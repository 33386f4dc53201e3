#!/usr/bin/env bash
# pollster watch as an operator runs it, against a standalone `pollster sim`.
# Usage: watch_cli_test.sh PATH/TO/pollster
set -uo pipefail
P=$1
tmp=$(mktemp -d)
simpid=
sim2pid=
cleanup() {
  [ -n "$simpid" ] && kill "$simpid" 2>/dev/null
  [ -n "$sim2pid" ] && kill "$sim2pid" 2>/dev/null
  wait 2>/dev/null; rm -rf "$tmp"
}
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
# A second cluster, whose tasks all fail.
"$P" sim --listen 127.0.0.1:0 --user admin --password pw2 --write-cert "$tmp/cert2.pem" \
  --auto-jobs --job-duration 200ms --fail-ratio 1 >"$tmp/sim2.out" 2>"$tmp/sim2.err" &
sim2pid=$!
for _ in $(seq 100); do grep -q 'https://' "$tmp/sim2.out" 2>/dev/null && break; sleep 0.1; done
url2=$(grep -o 'https://[^ ]*' "$tmp/sim2.out" | head -n1)
[ -n "$url2" ] || { echo "second simulator did not start"; cat "$tmp/sim2.err"; exit 1; }

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
usage "bad timeout" "--timeout" "${W[@]}" --timeout -3 1
usage "timeout 1e10 (issue 9)" "'1e10'" "${W[@]}" --timeout 1e10 1
usage "timeout too long for the clock" "--timeout: '9999999999'" "${W[@]}" --timeout 9999999999 1
usage "timeout unknown unit" "--timeout: '5x'" "${W[@]}" --timeout 5x 1
usage "connections range" "--connections" "${W[@]}" --connections 0 1
usage "pool-size alias range" "5000" "${W[@]}" --pool-size 5000 1
usage "pin names the flag" "--pin-sha256 'zz'" "$P" watch --endpoint "$url" --user admin --pin-sha256 zz 1
usage "plaintext names the flag" "--allow-plaintext" "$P" watch --endpoint "http://127.0.0.1:1/json-rpc/12.5" --user admin 1
check "messages never print engine field names" bash -c "! grep -q 'pin_sha256\|allow_plaintext' '$tmp/err'"
"$P" watch --endpoint "$url" --user admin --pin-sha256 zz 1 2>"$tmp/err" >/dev/null
check "pin message has no engine field name" bash -c "! grep -q 'pin_sha256' '$tmp/err'"
usage "handle NAME: without --clusters" "--clusters" "${W[@]}" east:5
usage "bad purge" "purge" "${W[@]}" --purge sometimes 1
usage "no handles" "handles" "$P" watch --endpoint "$url" --user admin
POLLSTER_PASSWORD= usage "no password" "POLLSTER_PASSWORD" "${W[@]}" 1

# --- handles complete: one JSON line each, exactly once, exit 0 ---
"${W[@]}" --timeout 1m30s --pool-size 2 11 12 13 12 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "complete: exit 0 (got $rc)" test "$rc" -eq 0
check "complete: three lines (duplicate handle once)" test "$(wc -l <"$tmp/out")" -eq 3
check "complete: JSON, asyncHandle first, status complete, result" python3 - "$tmp/out" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    assert line.startswith('{"asyncHandle":'), line
    o = json.loads(line)
    assert o["status"] == "complete" and "result" in o and "resultType" in o, o
    seen.add(o["asyncHandle"])
assert seen == {11, 12, 13}, seen
PY

# --- --stats: what each cluster was sent, one JSON line on stderr at exit ---
"${W[@]}" --stats --fan-in per-handle 14 15 >"$tmp/out" 2>"$tmp/err"
check "stats: exit 0" test $? -eq 0
check "stats: one line, the requests counted" python3 - "$tmp/err" "$url" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"cluster":')]
assert len(lines) == 1, lines
s = lines[0]
assert s["cluster"] == sys.argv[2], s
# per handle: at least one poll each, and each result released once delivered
assert s["releases"] == 2 and s["requests"] >= 4 and s["lists"] == 0, s
PY

# --- handles from standard input ---
printf '21\n\n  22 \t\n# a comment\n23 # clone of 5\n   \n' | "${W[@]}" - >"$tmp/out" 2>"$tmp/err"
check "stdin: exit 0 (blanks, spaces, comments skipped)" test $? -eq 0
check "stdin: three lines" test "$(wc -l <"$tmp/out")" -eq 3
printf '21\nx7\n24\n' | "${W[@]}" - >"$tmp/out" 2>"$tmp/err"
check "stdin: bad line is a usage error" test $? -eq 2
check "stdin: names the line" grep -q "line 2: 'x7'" "$tmp/err"
check "stdin: the good lines are still polled" test "$(wc -l <"$tmp/out")" -eq 2

# --- stdin is polled as it arrives: a line is out before stdin ends ---
mkfifo "$tmp/in"
"${W[@]}" - <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
wpid=$!
exec 3>"$tmp/in"
printf '  81  \n' >&3
for _ in $(seq 100); do grep -q '"asyncHandle":81' "$tmp/out" && break; sleep 0.1; done
check "stdin streaming: 81 reported while stdin is still open" grep -q '"asyncHandle":81' "$tmp/out"
printf '82\n' >&3
exec 3>&-
wait "$wpid"
check "stdin streaming: exit 0" test $? -eq 0
check "stdin streaming: both" test "$(wc -l <"$tmp/out")" -eq 2

# --- environment variables stand in for flags ---
POLLSTER_ENDPOINT="$url" POLLSTER_USER=admin POLLSTER_TIMEOUT=20s "$P" watch --ca-file "$tmp/cert.pem" 91 \
  >"$tmp/out" 2>"$tmp/err"
check "env: POLLSTER_ENDPOINT/USER/TIMEOUT: exit 0" test $? -eq 0
POLLSTER_ENDPOINT="$url" POLLSTER_USER=admin POLLSTER_TIMEOUT=1e10 "$P" watch --ca-file "$tmp/cert.pem" 91 \
  >"$tmp/out" 2>"$tmp/err"
check "env: bad POLLSTER_TIMEOUT is a usage error" test $? -eq 2

# --- several clusters from a --clusters file ---
cat >"$tmp/clusters.json" <<JSON
{"clusters": {
  "east": {"endpoint": "$url", "user": "admin", "password_env": "POLLSTER_PASSWORD", "ca_file": "$tmp/cert.pem", "pool_size": 2},
  "west": {"endpoint": "$url2", "user": "admin", "password_env": "WEST_PW", "ca_file": "$tmp/cert2.pem", "rate": 100}
}}
JSON
C=("$P" watch --clusters "$tmp/clusters.json" --timeout 20s)
export WEST_PW=pw2
"${C[@]}" east:101 east:102 >"$tmp/out" 2>"$tmp/err"
check "clusters: all succeeded: exit 0" test $? -eq 0
check "clusters: cluster right after asyncHandle" python3 - "$tmp/out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for line in lines:
    keys = [k for k, _ in json.loads(line, object_pairs_hook=lambda kv: kv)]
    assert keys[:2] == ["asyncHandle", "cluster"], keys
    assert json.loads(line)["cluster"] == "east", line
PY
"${C[@]}" west:101 west:102 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "clusters: every task failed: exit 3 (got $rc)" test "$rc" -eq 3
check "clusters: west lines say west" test "$(grep -c '"cluster":"west"' "$tmp/out")" -eq 2
"${C[@]}" east:104 west:104 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "clusters: one failed task among successes: exit 3 (got $rc)" test "$rc" -eq 3
check "clusters: one line per cluster" test "$(grep -c '"asyncHandle":104' "$tmp/out")" -eq 2
"${C[@]}" --timeout 2s east:106 west:106 >/dev/null 2>&1
"${C[@]}" --timeout 2s --purge on-read east:106 >/dev/null 2>&1
"${C[@]}" --timeout 5s east:106 west:107 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "clusters: a gone handle beats a failed task: exit 1 (got $rc)" test "$rc" -eq 1
printf 'east:105\nwest:105\n' | "${C[@]}" - >"$tmp/out" 2>"$tmp/err"
check "clusters: stdin NAME:HANDLE" test "$(wc -l <"$tmp/out")" -eq 2
usage "clusters: unknown cluster name" "'north'" "${C[@]}" north:1
usage "clusters: bare handle with several clusters" "NAME:HANDLE" "${C[@]}" 7
printf '{"clusters": {"east": {"endpoint": "%s", "user": "admin", "password_env": "POLLSTER_PASSWORD", "poolsize": 2}}}' "$url" >"$tmp/bad.json"
usage "clusters: unknown member named" '"poolsize"' "$P" watch --clusters "$tmp/bad.json" east:1
printf '{"clusters": {"east": {"endpoint": "%s", "user": "admin"}}}' "$url" >"$tmp/bad.json"
usage "clusters: no password source" "password_env" "$P" watch --clusters "$tmp/bad.json" east:1
printf '{"clusters": {"east": {"endpoint": "%s", "user": "admin", "password_env": "NOPE_NOT_SET"}}}' "$url" >"$tmp/bad.json"
usage "clusters: password_env not set" "NOPE_NOT_SET" "$P" watch --clusters "$tmp/bad.json" east:1
printf '{"clusters": {"east": {"endpoint": "%s", "user": "admin", "password_env": "POLLSTER_PASSWORD", "pin_sha256": "zz"}}}' "$url" >"$tmp/bad.json"
usage "clusters: bad pin names the member" '"pin_sha256"' "$P" watch --clusters "$tmp/bad.json" east:1
printf '{"clusters": ' >"$tmp/bad.json"
usage "clusters: not JSON" "not JSON" "$P" watch --clusters "$tmp/bad.json" east:1

# --- password file, and its permissions warning ---
printf 'pw\n' >"$tmp/pw"; chmod 644 "$tmp/pw"
POLLSTER_PASSWORD= "${W[@]}" --password-file "$tmp/pw" 31 >"$tmp/out" 2>"$tmp/err"
check "password file: exit 0" test $? -eq 0
check "password file: warns when readable by others" grep -q "readable by other" "$tmp/err"

# --- wrong password: failed at once, exit 1 ---
POLLSTER_PASSWORD=nope "${W[@]}" 41 42 >"$tmp/out" 2>"$tmp/err"
check "unauthorized: exit 1" test $? -eq 1
check "unauthorized: two failed lines" test "$(grep -c '"status":"failed"' "$tmp/out")" -eq 2
check "unauthorized: says so" grep -q unauthorized "$tmp/out"
check "password not in output" bash -c "! grep -q nope '$tmp/out' '$tmp/err'"

# --- gone: a handle the cluster does not know (purged by a first watch) ---
"${W[@]}" --purge on-read 51 >/dev/null 2>&1
"${W[@]}" 51 >"$tmp/out" 2>"$tmp/err"
check "gone: exit 1" test $? -eq 1
check "gone: status gone with the method error" grep -q '"status":"gone","error":{.*xDBNoSuchPath' "$tmp/out"

# --- unreachable cluster: timeout lines within the timeout, exit 1 ---
start=$(date +%s)
"$P" watch --endpoint "https://127.0.0.1:9/json-rpc/12.5" --user admin --insecure --timeout 2 61 62 \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
check "unreachable: exit 1" test "$rc" -eq 1
check "unreachable: within the timeout (took ${took}s)" test "$took" -le 6
check "unreachable: a timeout line per handle" test "$(grep -c '"status":"timeout"' "$tmp/out")" -eq 2
check "unreachable: timeout lines carry the last error" test "$(grep -c 'last error: .*connect' "$tmp/out")" -eq 2
check "unreachable: the cause on stderr, once" test "$(grep -c '127.0.0.1:9/json-rpc/12.5: connect_failed: .*; retrying' "$tmp/err")" -eq 1
check "insecure: warns" grep -q "WARNING: --insecure" "$tmp/err"

# --- SIGINT / SIGTERM: every handle still reported, exit 130, a second signal is not fatal ---
for sig in INT TERM; do
  "$P" watch --endpoint "https://127.0.0.1:9/json-rpc/12.5" --user admin --insecure --timeout 1m 63 64 65 \
    >"$tmp/out" 2>"$tmp/err" &
  wpid=$!
  for _ in $(seq 100); do grep -q 'retrying' "$tmp/err" && break; sleep 0.1; done
  kill -"$sig" "$wpid"; kill -"$sig" "$wpid" 2>/dev/null
  wait "$wpid"
  rc=$?
  check "SIG$sig: exit 130 (got $rc)" test "$rc" -eq 130
  check "SIG$sig: a cancelled line per handle" test "$(grep -c '"status":"cancelled"' "$tmp/out")" -eq 3
  # (three waits: auto lists, so the last error may be the list's)
  check "SIG$sig: cancelled lines carry the last error" test "$(grep -c -E 'last error: (ListAsyncResults: )?connect' "$tmp/out")" -eq 3
done

# --- wrong CA: refused quickly with the reason ---
"$P" watch --endpoint "$url" --user admin --timeout 20 71 >"$tmp/out" 2>"$tmp/err"
check "system store: exit 1" test $? -eq 1
check "system store: certificate rejected" grep -q 'certificate_rejected' "$tmp/out"

# --- on a terminal: the status line is cleared before each result, and fits the width ---
check "terminal: status line cleared before results, within 40 columns" python3 - "$P" "$url" "$tmp/cert.pem" <<'PY'
import fcntl, os, pty, struct, subprocess, sys, termios, time
P, url, ca = sys.argv[1:4]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
p = subprocess.Popen([P, "watch", "--endpoint", url, "--user", "admin", "--ca-file", ca,
                      "--timeout", "20s", "131", "132", "133"],
                     stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
out = b""
deadline = time.time() + 30
while time.time() < deadline:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    out += chunk
rc = p.wait(timeout=30)
text = out.decode()
assert rc == 0, (rc, text)
clear = "\r\x1b[K"
assert clear in text, repr(text)  # a status line was drawn
results = 0
for segment in text.split(clear):
    # A segment is what was written after one clear: a status text (no
    # newline), or lines. A result line must begin a segment (or follow a
    # newline): never after status text on the same line.
    for i, line in enumerate(segment.split("\r\n")):
        if '{"asyncHandle"' in line:
            assert line.startswith('{"asyncHandle"'), repr(segment)
            results += 1
    if "\n" not in segment:
        assert len(segment) <= 39, repr(segment)  # status text within the width
assert results == 3, (results, repr(text))
PY

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
