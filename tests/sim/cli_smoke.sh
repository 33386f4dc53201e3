#!/usr/bin/env bash
# `pollster sim` end to end: flags, the printed URL and fingerprint, the
# written certificate verifying a request, SIGUSR1 stats, clean SIGTERM exit.
# Loopback only; bounded by the ctest TIMEOUT and the waits below.
set -euo pipefail
POLLSTER=${1:?usage: cli_smoke.sh path/to/pollster}
tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bad values: exit 2 with a one-line reason.
set +e
"$POLLSTER" sim --listen 127.0.0.1:0 --user u --password p --fail-ratio 2 2>"$tmp/err"
rc=$?
set -e
[[ $rc == 2 ]] || fail "bad --fail-ratio exited $rc, not 2"
[[ $(wc -l <"$tmp/err") == 1 ]] || fail "reason is not one line: $(cat "$tmp/err")"

"$POLLSTER" sim --listen 127.0.0.1:0 --user u --password p --write-cert "$tmp/cert.pem" \
  --job-duration 0 --other-results 3 --pretty --service-time 1ms --service-time-per-kib 10us \
  >"$tmp/out" 2>"$tmp/stderr" &
pid=$!
for _ in $(seq 100); do grep -q "serving" "$tmp/out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'https://[^ ]*' "$tmp/out") || fail "no URL printed: $(cat "$tmp/out" "$tmp/stderr")"
sha=$(sed -n 's/.*certificate sha256 \([0-9a-f]\{64\}\).*/\1/p' "$tmp/out")
[[ -n "$sha" ]] || fail "no sha256 printed"
want=$(openssl x509 -in "$tmp/cert.pem" -outform der | sha256sum | cut -c1-64)
[[ "$sha" == "$want" ]] || fail "printed sha256 $sha, certificate has $want"

if command -v curl >/dev/null; then
  answer=$(curl -sS --fail --max-time 5 --cacert "$tmp/cert.pem" -u u:p "$url" \
    -H 'Content-Type: application/json-rpc' -d '{"method":"GetAPI","id":1}')
  [[ "$answer" == *'"currentVersion": "12.5"'* ]] || fail "GetAPI (--pretty) answered: $answer"
  list=$(curl -sS --fail --max-time 5 --cacert "$tmp/cert.pem" -u u:p "$url/" -d '{"method":"ListAsyncResults"}')
  [[ $(grep -c '"asyncResultID"' <<<"$list") == 3 ]] || fail "--other-results 3 listed: $list"
  [[ "$list" == *'"id": null'* ]] || fail "no id: $list"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$tmp/cert.pem" -u u:wrong "$url" -d '{}')
  [[ "$code" == 401 ]] || fail "wrong password gave HTTP $code"
fi

kill -USR1 "$pid"
for _ in $(seq 50); do grep -q requests_by_method "$tmp/stderr" && break; sleep 0.1; done
grep -q requests_by_method "$tmp/stderr" || fail "SIGUSR1 printed no stats"
if command -v curl >/dev/null; then
  grep -q '"service_time_ns":[1-9]' "$tmp/stderr" || fail "--service-time counted nothing: $(cat "$tmp/stderr")"
fi
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=
[[ $rc == 0 ]] || fail "SIGTERM exit status $rc"
grep -q "pollster sim: stats" "$tmp/stderr" || fail "no stats at exit"

# --jobs N --jobs-out FILE: N jobs exist before serving, each written as a
# line with its handle and when it completes (what bench/gentleness reads).
set +e
"$POLLSTER" sim --listen 127.0.0.1:0 --user u --password p --jobs-out "$tmp/none" 2>"$tmp/err"
rc=$?
set -e
[[ $rc == 2 ]] || fail "--jobs-out without --jobs exited $rc, not 2"
grep -q -- "--jobs-out needs --jobs" "$tmp/err" || fail "unclear reason: $(cat "$tmp/err")"
before=$(date +%s)
"$POLLSTER" sim --listen 127.0.0.1:0 --user u --password p --write-cert "$tmp/cert2.pem" \
  --jobs 3 --job-duration 1h --jobs-out "$tmp/jobs" >"$tmp/out2" 2>"$tmp/stderr2" &
pid=$!
for _ in $(seq 100); do grep -q "serving" "$tmp/out2" 2>/dev/null && break; sleep 0.1; done
[[ $(wc -l <"$tmp/jobs") == 3 ]] || fail "--jobs 3 wrote: $(cat "$tmp/jobs")"
python3 - "$tmp/jobs" "$before" <<'PY' || fail "--jobs-out lines: $(cat "$tmp/jobs")"
import json, sys
jobs = [json.loads(l) for l in open(sys.argv[1])]
before = int(sys.argv[2])
assert len({j["handle"] for j in jobs}) == 3, jobs
# a 1 h job completes an hour after it was created, on the wall clock
assert all(before + 3590 <= j["completes_at"] <= before + 3700 for j in jobs), jobs
PY
if command -v curl >/dev/null; then
  url=$(grep -o 'https://[^ ]*' "$tmp/out2")
  h=$(sed -n '1s/.*"handle":\([0-9]*\).*/\1/p' "$tmp/jobs")
  answer=$(curl -sS --fail --max-time 5 --cacert "$tmp/cert2.pem" -u u:p "$url" \
    -d "{\"method\":\"GetAsyncResult\",\"params\":{\"asyncHandle\":$h,\"keepResult\":true},\"id\":1}")
  [[ "$answer" == *'"status":"running"'* ]] || fail "job $h of --jobs answered: $answer"
fi
kill -TERM "$pid"
wait "$pid" || fail "SIGTERM exit status $?"
pid=
echo "ok"
