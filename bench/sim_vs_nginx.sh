#!/usr/bin/env bash
# GetAsyncResult throughput of `pollster sim` against Debian's nginx (one
# worker, TLS, a `return 200` location with the success test vector), measured
# with wrk side by side: 16 keep-alive TLS connections, alternating rounds,
# medians and the ratio sim/nginx. Loopback only; about a minute.
#
#   bench/sim_vs_nginx.sh [path/to/pollster]     (default: build/tools/pollster)
#   env: DURATION=5s ROUNDS=3 CONNS=16 SIM_JOB_DURATION=0
#        (SIM_JOB_DURATION=1h: every answer is a "running" one instead of the
#        complete success answer)
#        INSTRUCTIONS=1: also count user-space instructions per request of
#        each server under valgrind/callgrind (two runs of different lengths,
#        the difference divided by the difference in requests: handshakes
#        and start-up cancel out). Independent of the machine's load; adds
#        about a minute and a half.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
POLLSTER=${1:-$here/../build/tools/pollster}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
SIM_JOB_DURATION=${SIM_JOB_DURATION:-0}

[[ -x "$POLLSTER" ]] || { echo "no pollster executable at $POLLSTER (build it, or pass its path)" >&2; exit 2; }

install_missing() {
  local missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v openssl >/dev/null || missing+=(openssl)
  ((${#missing[@]} == 0)) && return
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 2
  fi
}
install_missing
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
sim_pid=
nginx_pid=
vg_pid=
cleanup() {
  [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null || true
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null || true
  [[ -n "$vg_pid" ]] && kill "$vg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

# Pin servers and wrk on different cores when there are at least two.
pin_server=()
pin_client=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
fi

# One certificate (EC P-256) for both servers: the same TLS work per request.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
chmod 755 "$tmp"
chmod 644 "$tmp"/*.pem

vector='{"id": 1, "result": {"createTime": "2016-01-01T22:29:18Z", "lastUpdateTime": "2016-01-01T22:45:51Z", "result": {"cloneID": 25, "message": "Clone complete.", "volumeID": 47}, "resultType": "Clone", "status": "complete"}}'
nport=$(free_port)
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root;"
cat >"$tmp/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
master_process on;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  client_body_temp_path $tmp/body;
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    location / {
      default_type application/json;
      return 200 '$vector';
    }
  }
}
EOF
"${pin_server[@]}" "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
nginx_pid=$!

"${pin_server[@]}" "$POLLSTER" sim --listen 127.0.0.1:0 --user admin --password admin \
  --cert "$tmp/cert.pem" --key "$tmp/key.pem" --auto-jobs --job-duration "$SIM_JOB_DURATION" \
  >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!

for _ in $(seq 100); do grep -q serving "$tmp/sim.out" 2>/dev/null && break; sleep 0.1; done
sim_url=$(grep -o 'https://[^ ]*' "$tmp/sim.out") || { echo "the simulator did not start:" >&2; cat "$tmp/sim.err" >&2; exit 1; }
nginx_url="https://127.0.0.1:$nport/json-rpc/12.5"
for _ in $(seq 50); do
  curl -sk -o /dev/null "$nginx_url" -d '{}' 2>/dev/null && break
  (exec 3<>"/dev/tcp/127.0.0.1/$nport") 2>/dev/null && break
  sleep 0.1
done

cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"method":"GetAsyncResult","params":{"asyncHandle":1,"keepResult":true},"id":1}'
wrk.headers["Content-Type"] = "application/json-rpc"
wrk.headers["Authorization"] = "Basic YWRtaW46YWRtaW4="
EOF

# Both answer the same request; show one answer of each.
if command -v curl >/dev/null; then
  echo "nginx answers: $(curl -sk "$nginx_url" -u admin:admin -d @<(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$tmp/post.lua"))"
  echo "sim answers:   $(curl -sk "$sim_url" -u admin:admin -d @<(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$tmp/post.lua"))"
fi

# CPU time (user+system, clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
[[ -n "$nginx_worker" ]] || { echo "nginx did not start:" >&2; cat "$tmp/nginx-error.log" >&2; exit 1; }

# url pid -> "requests/s CPU-microseconds-per-request"
run_wrk() {
  local before after out
  before=$(cpu_ticks "$2")
  out=$("${pin_client[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" -s "$tmp/post.lua" "$1")
  after=$(cpu_ticks "$2")
  if grep -q Non-2xx <<<"$out"; then echo "non-2xx answers from $1:" >&2; echo "$out" >&2; exit 1; fi
  awk -v b="$before" -v a="$after" -v hz="$hz" '
    / requests in / {n = $1}
    /^Requests\/sec:/ {rps = $2}
    END {printf "%s %.2f\n", rps, (a - b) / hz * 1e6 / n}' <<<"$out"
}

nginx_rps=()
sim_rps=()
nginx_cpu=()
sim_cpu=()
for r in $(seq "$ROUNDS"); do
  read -r n nc < <(run_wrk "$nginx_url" "$nginx_worker")
  read -r s sc < <(run_wrk "$sim_url" "$sim_pid")
  echo "round $r: nginx $n req/s ($nc us CPU/req), sim $s req/s ($sc us CPU/req)"
  nginx_rps+=("$n")
  sim_rps+=("$s")
  nginx_cpu+=("$nc")
  sim_cpu+=("$sc")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
nm=$(median "${nginx_rps[@]}")
sm=$(median "${sim_rps[@]}")
echo "median nginx: $nm req/s"
echo "median sim:   $sm req/s"
awk -v s="$sm" -v n="$nm" 'BEGIN {printf "ratio sim/nginx: %.2f\n", s / n}'
# Server CPU per request does not depend on what else the machine is doing.
nc=$(median "${nginx_cpu[@]}")
sc=$(median "${sim_cpu[@]}")
echo "median server CPU per request: nginx $nc us, sim $sc us"
awk -v s="$sc" -v n="$nc" 'BEGIN {printf "CPU efficiency ratio nginx/sim: %.2f (above 1: the simulator spends less CPU per answer)\n", n / s}'

if [[ ${INSTRUCTIONS:-0} == 1 ]]; then
  command -v valgrind >/dev/null || { echo "INSTRUCTIONS=1 needs valgrind" >&2; exit 2; }
  # nginx in one process (no master) so that callgrind sees the worker.
  nport2=$(free_port)
  sed -e 's/^master_process on;/master_process off;/' -e "s/127.0.0.1:$nport ssl/127.0.0.1:$nport2 ssl/" \
    -e "s#$tmp/nginx.pid#$tmp/nginx2.pid#" "$tmp/nginx.conf" >"$tmp/nginx2.conf"
  sport2=$(free_port)
  ir_run() {  # port duration command... -> "requests instructions"
    local port=$1 d=$2
    shift 2
    rm -f "$tmp"/cg.out
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/vg.err" &
    vg_pid=$!
    for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    sleep 1
    local n
    n=$(wrk -t1 -c"$CONNS" -d"$d" -s "$tmp/post.lua" "https://127.0.0.1:$port/json-rpc/12.5" | awk '/ requests in / {print $1}')
    kill -TERM "$vg_pid"
    wait "$vg_pid" 2>/dev/null || true
    vg_pid=
    echo "$n $(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out")"
  }
  per_request() { awk '{printf "%.0f", ($4 - $2) / ($3 - $1)}' <<<"$1 $2"; }
  sim_cmd=("$POLLSTER" sim --listen "127.0.0.1:$sport2" --user admin --password admin --cert "$tmp/cert.pem"
    --key "$tmp/key.pem" --auto-jobs --job-duration "$SIM_JOB_DURATION")
  nginx_cmd=("$NGINX" -p "$tmp" -c "$tmp/nginx2.conf" -e "$tmp/nginx-error.log")
  s1=$(ir_run "$sport2" 4s "${sim_cmd[@]}")
  s2=$(ir_run "$sport2" 16s "${sim_cmd[@]}")
  n1=$(ir_run "$nport2" 4s "${nginx_cmd[@]}")
  n2=$(ir_run "$nport2" 16s "${nginx_cmd[@]}")
  si=$(per_request "$s1" "$s2")
  ni=$(per_request "$n1" "$n2")
  echo "user-space instructions per request (callgrind; requests/instructions: sim $s1 / $s2, nginx $n1 / $n2):"
  echo "  nginx $ni, sim $si"
fi
