#!/usr/bin/env bash
# Crash campaign: ROUNDS times (default 100), kill `medledger serve` with SIGKILL at a
# random moment under a mixed load (record writes and reads, grants and revocations --
# each revocation rotates the patient's key --, enrolments, reads by a granted
# hospital), check the ledger offline (`medledger ledger verify`), restart the server
# and check that every acknowledged operation is on the ledger with the result it was
# answered with, every acknowledged record reads back, and no enrolment was left half
# done. The set-up is scripts/demo.sh's, in its own directory.
#
#   ./scripts/crash-campaign.sh [ROUNDS]
#   MEDLEDGER_DEMO_BIN=build/release/app/medledger ./scripts/crash-campaign.sh 3   (CI)
#   MEDLEDGER_CRASH_DIR=/tmp/crash ...   where the set-up lives (default .medledger/crash)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
rounds="${1:-100}"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS >= 1]" >&2; exit 2; }
work="${MEDLEDGER_CRASH_DIR:-$root/.medledger/crash}"
preset="${PRESET:-release}"

echo "crash campaign: $rounds rounds in $work (set-up: scripts/demo.sh)"
mkdir -p "$(dirname "$work")"
if ! MEDLEDGER_DEMO_DIR="$work" bash scripts/demo.sh >"$work.setup.log" 2>&1; then
  echo "crash campaign: the set-up failed (scripts/demo.sh); its output:" >&2
  tail -30 "$work.setup.log" >&2
  exit 1
fi
ml="${MEDLEDGER_DEMO_BIN:-$root/build/$preset/app/medledger}"
export SOFTHSM2_CONF="$work/softhsm2.conf"
export MEDLEDGER_DATA_DIR="$work"
acks="$work/acks.jsonl"
: >"$acks"

serve_pid=""
trap '[[ -n $serve_pid ]] && kill -9 "$serve_pid" 2>/dev/null || true' EXIT

# Starts serve on a free port (the demo's serve.toml: port 0); sets $serve_pid and $url.
start_serve() {
  [[ -f $work/serve.jsonl ]] && cat "$work/serve.jsonl" >>"$work/serve-all.jsonl"
  : >"$work/serve.jsonl"
  "$ml" serve --config "$work/serve.toml" >>"$work/serve.out" 2>>"$work/serve.err" &
  serve_pid=$!
  local port=""
  for _ in $(seq 1 600); do
    port=$(grep -o '"event":"listening"[^}]*"port":[0-9]*' "$work/serve.jsonl" | grep -o '[0-9]*$' | tail -1 || true)
    [[ -n $port ]] && break
    kill -0 "$serve_pid" 2>/dev/null || { echo "crash campaign: serve did not restart" >&2; tail -5 "$work/serve.err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $port ]] || { echo "crash campaign: serve did not start listening" >&2; exit 1; }
  url="https://127.0.0.1:$port"
}

verify_offline() {
  if ! "$ml" ledger verify --path "$work/consortium" >"$work/verify.out" 2>&1; then
    echo "crash campaign: FAILED: ledger verify after round $1:" >&2
    cat "$work/verify.out" >&2
    exit 1
  fi
}

start_serve
for round in $(seq 1 "$rounds"); do
  python3 scripts/crash_load.py load "$work" "$url" "$round" "$acks" &
  load_pid=$!
  # A random moment 0.5-4 s into the load: mid-write, mid-enrolment, mid-rotation alike.
  delay=$(python3 -c 'import random; print(f"{random.uniform(0.5, 4.0):.2f}")')
  sleep "$delay"
  kill -9 "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
  wait "$load_pid"
  verify_offline "$round"
  start_serve
  if ! summary=$(python3 scripts/crash_load.py check "$work" "$url" "$acks"); then
    echo "crash campaign: FAILED in round $round (killed after $delay s); the set-up is in $work" >&2
    exit 1
  fi
  verified=$(python3 -c 'import json,sys; v=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("ledger verify", v["status"], "(%d blocks)" % v["blocks"])' "$work/verify.out")
  echo "round $round/$rounds: killed after $delay s; $verified; ${summary#crash_load: }"
done
kill -TERM "$serve_pid"
wait "$serve_pid" || { echo "crash campaign: serve did not stop cleanly" >&2; exit 1; }
serve_pid=""
verify_offline final
echo "crash campaign: $rounds rounds, nothing acknowledged was lost"
