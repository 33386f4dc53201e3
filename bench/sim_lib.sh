# Sourced by bench/cpu.sh and bench/memory.sh, which set $pollster (the CLI)
# and $scratch_name first: a scratch directory $tmp and standalone
# `pollster sim` processes on loopback, all gone on exit (KEEP=1 keeps the
# directory, to read the logs).
tmp="$(mktemp -d "/tmp/pollster-${scratch_name}.XXXXXX")"
sim_pid=""
sims=0
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a simulator whose jobs run for an hour (more flags: "$@") and sets
# $url to where it serves; exits the script when it does not start.
start_sim() {
  sims=$((sims + 1))
  local out="$tmp/sim-$sims.out"  # a fresh file: never read the last run's URL
  : > "$out"
  "$pollster" sim --listen 127.0.0.1:0 --user admin --password admin --auto-jobs --job-duration 1h \
    "$@" > "$out" 2> "$tmp/sim.err" &
  sim_pid=$!
  url=""
  for _ in $(seq 100); do
    url="$(sed -n 's/^pollster sim: serving //p' "$out")"
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "pollster sim did not start:" >&2
  cat "$tmp/sim.err" >&2
  exit 1
}

stop_sim() {
  kill "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  sim_pid=""
}
