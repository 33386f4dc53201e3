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
echo "ok"
