#!/usr/bin/env bash
# The main job across processes: a consortium of three hospitals (A, B, C), each running its
# own `medledger serve` with its own SoftHSM2 token and its own replica of the ledger, ordered
# by a three-member etcd cluster over mutual TLS, all on 127.0.0.1 (free ports).
# A stores a dual-verified record, the patient grants B, B's doctor reads it at B's node from
# B's replica, C's auditor sees the read; then B's node is killed (-9) and catches up, the etcd
# leader is killed and writing goes on, and every replica verifies to the same root.
# Everything lives in .medledger/consortium/ (replicas left there for inspection); the script
# stops exactly the processes it started. MEDLEDGER_DEMO_BENCH=1 then measures HTTPS writes
# at A's node through the consortium against A alone on solo ordering (same run).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
# shellcheck source=scripts/demo-lib.sh
. "$root/scripts/demo-lib.sh"
preset="${PRESET:-release}"

die() { echo "UNEXPECTED: $*" >&2; exit 1; }

install_and_build "$root" "$preset"

dir="$root/.medledger/consortium"
hospitals=(a b c)

# Every process this script starts, by PID (etcd members and serve processes); the EXIT trap
# stops these and nothing else. An entry is emptied once its process is reaped.
declare -A etcd_pid=() serve_pid=()
stop_started() {
  local pids=() pid
  for pid in "${serve_pid[@]}" "${etcd_pid[@]}"; do [[ -n $pid ]] && pids+=("$pid"); done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 1 ]] || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_started EXIT

rm -rf "$dir"
mkdir -p "$dir/secrets"
chmod 700 "$dir/secrets"
# etcd and etcdctl also read flags from ETCD_* / ETCDCTL_*: the caller's shell must not change them.
while read -r var; do unset "$var"; done < <(env | grep -o '^ETCD\(CTL\)\?_[A-Za-z0-9_]*' || true)
export ETCDCTL_API=3

# PINs are random, live in 0600 files and reach medledger as file: sources, never argv.
umask 077
openssl rand -hex 12 >"$dir/secrets/so.pin"
for h in "${hospitals[@]}"; do openssl rand -hex 12 >"$dir/secrets/$h.pin"; done
for who in dr-a pat-a dr-b; do openssl rand -hex 6 >"$dir/secrets/$who.pin"; done
umask 022
so_pin="file:$dir/secrets/so.pin"
pin() { echo "file:$dir/secrets/$1.pin"; }

# Each hospital has its own SoftHSM2 token directory (as on its own machine): every command
# touching hospital H's token runs with H's SOFTHSM2_CONF.
for h in "${hospitals[@]}"; do
  mkdir -p "$dir/$h/tokens"
  cat >"$dir/$h/softhsm2.conf" <<CONF
directories.tokendir = $dir/$h/tokens
objectstore.backend = file
log.level = ERROR
CONF
done
with_token() { local h=$1; shift; SOFTHSM2_CONF="$dir/$h/softhsm2.conf" "$@"; }
# node_cli H ARGS...: a node command of hospital H (its data directory, token and PIN).
node_cli() {
  local h=$1; shift
  with_token "$h" "$ml" "$@" --data "$dir/$h/node" --token "hospital-$h" --pin "$(pin "$h")"
}

# ---------------------------------------------------------------------------
# Founding, on one machine with the command line (as in demo.sh, extended to C): the
# founding ledger directory becomes A's replica; B and C start from etcd's copy of it.
# ---------------------------------------------------------------------------
step "Three hospitals: each its own token and CA (the CA key in its token)"
for h in "${hospitals[@]}"; do
  with_token "$h" "$ml" token init --label "hospital-$h" --so-pin "$so_pin" --pin "$(pin "$h")"
  with_token "$h" "$ml" ca init --token "hospital-$h" --pin "$(pin "$h")" --hospital "hospital-$h" \
    --ca-dir "$dir/$h/ca"
done
cat "$dir/a/ca/ca.pem" "$dir/b/ca/ca.pem" "$dir/c/ca/ca.pem" >"$dir/trust.pem"

step "Hospital B's and C's nodes: signing and encryption keys in their tokens, node certificates"
for h in b c; do
  node_cli "$h" node init --hospital "hospital-$h" --ca-dir "$dir/$h/ca" --ledger "$dir/founding"
done

step "Hospital A founds the consortium (genesis: A's CA; proposers: A's, B's and C's node keys)"
node_cli a node init --hospital hospital-a --ca-dir "$dir/a/ca" --ledger "$dir/founding" \
  --genesis --consortium demo-consortium --admit-quorum 1 \
  --proposer "$dir/b/node/node-signing.pub.pem" --proposer "$dir/c/node/node-signing.pub.pem"

step "Admitting hospitals B and C (each CA signs its request, A's CA countersigns; quorum 1)"
for h in b c; do
  node_cli "$h" hospital admit-request --out "$dir/$h-admit.json"
  node_cli a hospital admit --request "$dir/$h-admit.json"
  node_cli "$h" node register
done

# ---------------------------------------------------------------------------
# The ordering service: three etcd members, one per hospital, mutual TLS on the client
# and the peer ports. Member H's certificates come from hospital H's CA (deploy/etcd-certs.sh:
# keys made with openssl, CSRs signed in H's token); every member trusts all three CAs.
# ---------------------------------------------------------------------------
step "etcd certificates from each hospital's CA (deploy/etcd-certs.sh)"
for h in "${hospitals[@]}"; do
  trust=()
  for other in "${hospitals[@]}"; do [[ $other == "$h" ]] || trust+=(--trust "$dir/$other/ca/ca.pem"); done
  with_token "$h" bash deploy/etcd-certs.sh --name "etcd-$h" --ip 127.0.0.1 "${trust[@]}" \
    --out "$dir/$h/etcd" --ca-dir "$dir/$h/ca" --token "hospital-$h" --pin "$(pin "$h")" \
    --client-id "etcd-client-$h" --medledger "$ml" | sed 's/^/  /'
done

# Nine free ports on 127.0.0.1 (held together while chosen, so they are distinct).
declare -A client_port peer_port https_port
choose_ports() {
  read -r -a ports < <(python3 - <<'PY'
import socket
held = [socket.socket() for _ in range(9)]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
)
  for i in 0 1 2; do
    h=${hospitals[$i]}
    client_port[$h]=${ports[$i]}
    peer_port[$h]=${ports[$((i + 3))]}
    https_port[$h]=${ports[$((i + 6))]}
  done
  endpoints=() initial_cluster=""
  for h in "${hospitals[@]}"; do
    endpoints+=("https://127.0.0.1:${client_port[$h]}")
    initial_cluster+="${initial_cluster:+,}etcd-$h=https://127.0.0.1:${peer_port[$h]}"
  done
  all_endpoints=$(IFS=,; echo "${endpoints[*]}")
}
# etcdctl with hospital A's etcd client certificate.
ctl() {
  etcdctl --endpoints "$1" --cacert "$dir/a/etcd/ca-bundle.pem" --cert "$dir/a/etcd/client.pem" \
    --key "$dir/a/etcd/client.key" --dial-timeout 2s --command-timeout 5s "${@:2}"
}

start_member() {  # start_member H: etcd-H on its ports (a new member, or its data again)
  local h=$1 e="$dir/$1/etcd"
  etcd --name "etcd-$h" --data-dir "$e/data" \
    --listen-client-urls "https://127.0.0.1:${client_port[$h]}" \
    --advertise-client-urls "https://127.0.0.1:${client_port[$h]}" \
    --listen-peer-urls "https://127.0.0.1:${peer_port[$h]}" \
    --initial-advertise-peer-urls "https://127.0.0.1:${peer_port[$h]}" \
    --initial-cluster "$initial_cluster" --initial-cluster-state new \
    --initial-cluster-token "medledger-demo-$$" \
    --client-cert-auth --trusted-ca-file "$e/ca-bundle.pem" \
    --cert-file "$e/member.pem" --key-file "$e/member.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$e/ca-bundle.pem" \
    --peer-cert-file "$e/member.pem" --peer-key-file "$e/member.key" \
    --logger zap --log-outputs "$e/etcd.log" >"$e/etcd.out" 2>&1 &
  etcd_pid[$h]=$!
}
start_members() {
  for h in "${hospitals[@]}"; do start_member "$h"; done
}
# 0: healthy; 1: a member lost one of its ports to another process (choose again).
wait_healthy() {
  for _ in $(seq 1 150); do
    for h in "${hospitals[@]}"; do
      if ! kill -0 "${etcd_pid[$h]}" 2>/dev/null; then
        grep -q "address already in use" "$dir/$h/etcd/etcd.log" "$dir/$h/etcd/etcd.out" && return 1
        tail -5 "$dir/$h/etcd/etcd.log"
        die "etcd-$h exited"
      fi
    done
    if ctl "$all_endpoints" endpoint health >"$dir/etcd-health.out" 2>&1; then return 0; fi
    sleep 0.2
  done
  cat "$dir/etcd-health.out"
  die "etcd not healthy within 30 s"
}

step "Starting three etcd members (client and peer ports with client-certificate auth)"
for attempt in 1 2 3; do
  choose_ports
  start_members
  wait_healthy && break
  [[ $attempt -lt 3 ]] || die "etcd: another process took a chosen port three times"
  echo "  a chosen port was taken by another process meanwhile: choosing new ones"
  for h in "${hospitals[@]}"; do
    kill "${etcd_pid[$h]}" 2>/dev/null || true
    wait "${etcd_pid[$h]}" 2>/dev/null || true
    rm -rf "$dir/$h/etcd/data" "$dir/$h/etcd/etcd.log"
  done
done
sed 's/^/  /' "$dir/etcd-health.out"
for h in "${hospitals[@]}"; do echo "  etcd-$h: pid ${etcd_pid[$h]}, client ${client_port[$h]}, peer ${peer_port[$h]}"; done

# ---------------------------------------------------------------------------
# Three `medledger serve` processes, one per hospital: its own token ([token]), node
# ([node]), replica ([ledger] path) and etcd client certificate ([ordering]). Client
# certificates are trusted from the CAs admitted on the ledger, so each hospital's
# system, admin and auditor certificates come from its own CA.
# ---------------------------------------------------------------------------
issue() {  # issue H ROLE ID [SAN]: a P-256 key (0600) and its certificate from hospital H's token CA
  local h=$1 role=$2 id=$3 san=${4:-} tls="$dir/$1/https"
  mkdir -p "$tls"
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/$id.key" 2>/dev/null)
  local ext=()
  [[ -z $san ]] || ext=(-addext "subjectAltName=$san")
  openssl req -new -key "$tls/$id.key" -subj "/CN=$id" "${ext[@]}" -out "$tls/$id.csr"
  with_token "$h" "$ml" ca issue --ca-dir "$dir/$h/ca" --token "hospital-$h" --pin "$(pin "$h")" \
    --csr "$tls/$id.csr" --role "$role" --id "$id" --out "$tls/$id.pem" >/dev/null
  echo "  $id: role $role, $(openssl x509 -in "$tls/$id.pem" -noout -issuer)"
}

step "TLS certificates: each node's server certificate (127.0.0.1) and the callers', each by its hospital CA"
for h in "${hospitals[@]}"; do
  issue "$h" node "node-$h-tls" "IP:127.0.0.1,DNS:localhost"
  cat "$dir/$h/https/node-$h-tls.pem" "$dir/$h/ca/ca.pem" >"$dir/$h/https/server-chain.pem"
done
issue a node his-a
issue a admin admin-a
issue b node his-b
issue b admin admin-b
issue c auditor auditor-c
declare -A replica=([a]="$dir/founding" [b]="$dir/replica-b" [c]="$dir/replica-c")
declare -A reader=([a]=his-a [b]=his-b [c]=auditor-c)  # who reads each node's /v1/ledger routes

for h in "${hospitals[@]}"; do
  mkdir -p "${replica[$h]}"
  endpoint_list=$(printf '"%s", ' "${endpoints[@]}")
  cat >"$dir/$h/serve.toml" <<TOML
[listen]
address = "127.0.0.1"
port = ${https_port[$h]}
[tls]
certificate = "$dir/$h/https/server-chain.pem"
private_key = "$dir/$h/https/node-$h-tls.key"
[log]
level = "info"
file = "$dir/$h/serve.jsonl"
[node]
data_dir = "$dir/$h/node"
[token]
label = "hospital-$h"
pin = "$(pin "$h")"
[ledger]
path = "${replica[$h]}/lmdb"
[ordering]
kind = "etcd"
endpoints = [${endpoint_list%, }]
prefix = "/medledger/demo"
ca_file = "$dir/$h/etcd/ca-bundle.pem"
client_certificate = "$dir/$h/etcd/client.pem"
client_key = "$dir/$h/etcd/client.key"
# One proposer at a time: the lease holder proposes, the others forward to it here.
advertise_url = "https://127.0.0.1:${https_port[$h]}"
TOML
done

start_serve() {  # start_serve H [CONFIG]: starts H's serve and waits until it listens
  local h=$1 config=${2:-$dir/$1/serve.toml}
  : >"$dir/$h/serve.jsonl"
  SOFTHSM2_CONF="$dir/$h/softhsm2.conf" "$ml" serve --config "$config" \
    >"$dir/$h/serve.out" 2>"$dir/$h/serve.err" &
  serve_pid[$h]=$!
  for _ in $(seq 1 600); do
    if grep -q '"event":"listening"' "$dir/$h/serve.jsonl"; then
      echo "  hospital-$h: https://127.0.0.1:${https_port[$h]} (pid ${serve_pid[$h]})"
      return 0
    fi
    if ! kill -0 "${serve_pid[$h]}" 2>/dev/null; then
      wait "${serve_pid[$h]}" || true
      serve_pid[$h]=""
      cat "$dir/$h/serve.err"; tail -5 "$dir/$h/serve.jsonl"
      die "hospital-$h's serve exited"
    fi
    sleep 0.1
  done
  tail -5 "$dir/$h/serve.jsonl"
  die "hospital-$h's serve did not listen within 60 s"
}

step "Starting hospital A's serve first (it puts the founding blocks into etcd), then B's and C's (empty replicas, filled from etcd)"
start_serve a
start_serve b
start_serve c

field() { json_field "$dir/out.json" "$@"; }
# call WHO H METHOD PATH [BODY_FILE]: curl at hospital H's node with WHO's client certificate
# (WHO's hospital is its name's last letter); the answer goes to $dir/out.json, its headers
# to $dir/headers.txt and its HTTP status to $status. The body file is removed after use.
call() {
  local who=$1 h=$2 method=$3 path=$4 body=${5:-}
  local tls="$dir/${who##*-}/https"
  local args=(-sS --max-time 60 --cacert "$dir/trust.pem" --cert "$tls/$who.pem" --key "$tls/$who.key"
              -D "$dir/headers.txt" -o "$dir/out.json" -w '%{http_code}' -X "$method"
              "https://127.0.0.1:${https_port[$h]}$path")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
  status=$(curl "${args[@]}") || die "curl $method $path at hospital-$h failed"
  [[ -z $body ]] || rm -f "$body"
}
error_code() { field error code 2>/dev/null || true; }
expect() {  # expect STATUS: the last answer had this status
  [[ $status == "$1" ]] || die "HTTP $status $(cat "$dir/out.json")  (expected $1)"
  echo "HTTP $status"
}
head_of() {  # head_of H: "height hash" of H's replica (GET /v1/ledger/head)
  call "${reader[$1]}" "$1" GET /v1/ledger/head
  [[ $status == 200 ]] || die "GET /v1/ledger/head at hospital-$1: HTTP $status $(cat "$dir/out.json")"
  echo "$(field height) $(field hash)"
}
same_head() {  # same_head H...: waits (60 s at most) until these replicas have one head; prints it
  local h first
  for _ in $(seq 1 300); do
    first=$(head_of "$1")
    local all=1
    for h in "${@:2}"; do [[ $(head_of "$h") == "$first" ]] || { all=0; break; }; done
    if [[ $all -eq 1 ]]; then
      echo "  $* at height ${first%% *}, block hash ${first#* }"
      return 0
    fi
    sleep 0.2
  done
  for h in "$@"; do echo "  hospital-$h: $(head_of "$h")"; done
  die "the replicas did not reach one head within 60 s"
}

payload_of() { python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$1"; }
# store_record ID VALUE: A's system stores a dual-verified blood-pressure record; a 503
# ORDERING_UNAVAILABLE (etcd electing a leader) is retried after its Retry-After, 10 times at most.
store_record() {
  local id=$1 value=$2 attempt payload
  payload=$(payload_of "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"blood pressure\"},\"valueString\":\"$value\"}")
  for attempt in $(seq 1 10); do
    json "$dir/b.json" record_id="$id" doctor=hospital-a/dr-a patient=hospital-a/pat-a \
      content_type=application/fhir+json payload="$payload" \
      doctor_pin=@"$dir/secrets/dr-a.pin" patient_pin=@"$dir/secrets/pat-a.pin"
    call his-a a POST /v1/records "$dir/b.json"
    if [[ $status == 201 ]]; then
      echo "  $id: HTTP 201 $(field result_name) at height $(field height) (attempt $attempt)"
      return 0
    fi
    local code retry
    code=$(error_code)
    [[ $status == 503 && $code == ORDERING_UNAVAILABLE ]] || die "$id: HTTP $status $(cat "$dir/out.json")"
    retry=$(grep -i '^retry-after:' "$dir/headers.txt" | tr -dc '0-9' || true)
    [[ -n $retry ]] || die "$id: 503 ORDERING_UNAVAILABLE without Retry-After"
    echo "  $id: HTTP 503 ORDERING_UNAVAILABLE, Retry-After: $retry s; retrying"
    sleep "$((retry > 5 ? 5 : retry))"
  done
  die "$id: still ORDERING_UNAVAILABLE after 10 attempts"
}

# ---------------------------------------------------------------------------
# The main job across the three nodes.
# ---------------------------------------------------------------------------
step "GET /healthz at each node (token, ledger, ordering)"
for h in "${hospitals[@]}"; do
  echo "  hospital-$h: $(curl -sS --cacert "$dir/trust.pem" "https://127.0.0.1:${https_port[$h]}/healthz")"
done
step "Every replica holds the founding blocks (GET /v1/ledger/head)"
same_head a b c

step "Admins enrol a doctor and a patient at A's node and a doctor at B's node (POST /v1/persons)"
json "$dir/b.json" role=doctor id=dr-a pin=@"$dir/secrets/dr-a.pin"
call admin-a a POST /v1/persons "$dir/b.json"; expect 201; echo "  $(field principal)"
json "$dir/b.json" role=patient id=pat-a pin=@"$dir/secrets/pat-a.pin"
call admin-a a POST /v1/persons "$dir/b.json"; expect 201; echo "  $(field principal)"
json "$dir/b.json" role=doctor id=dr-b pin=@"$dir/secrets/dr-b.pin"
call admin-b b POST /v1/persons "$dir/b.json"; expect 201; echo "  $(field principal)"

step "A's hospital system stores a dual-verified record at A's node (doctor PIN + patient PIN + node endorsement)"
store_record rec-1 120/80

step "The patient grants hospital B at A's node (the patient key wrapped for B's node key)"
json "$dir/b.json" patient=hospital-a/pat-a grantee=hospital-b patient_pin=@"$dir/secrets/pat-a.pin"
call his-a a POST /v1/grants "$dir/b.json"; expect 201; echo "  receipt: $(field result_name)"
same_head a b c

step "Hospital B's doctor reads the record at B's node (B's replica, B's token key; record.read via etcd)"
json "$dir/b.json" doctor=hospital-b/dr-b doctor_pin=@"$dir/secrets/dr-b.pin" purpose="second opinion"
call his-b b POST /v1/records/rec-1/read "$dir/b.json"; expect 200
echo "  basis: $(field basis)"
echo "  payload: $(field payload | python3 -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.urlsafe_b64decode(s+"="*(-len(s)%4)).decode())')"
read_seq=$(field receipt sequence)
read_tx=$(field receipt tx_id)
echo "  record.read committed at sequence $read_seq, height $(field receipt height), tx $read_tx"
same_head a b c

step "C's replica holds B's record.read (GET /v1/ledger/transactions/$read_seq at C's node)"
call auditor-c c GET "/v1/ledger/transactions/$read_seq"; expect 200
[[ $(field tx_id) == "$read_tx" && $(field result_name) == ACCEPTED ]] ||
  die "C's transaction $read_seq is not B's read: $(cat "$dir/out.json")"
field wire >"$dir/read-tx.json"
python3 - "$dir/read-tx.json" <<'PY' || die "C's transaction $read_seq is not a record.read of rec-1"
import json, sys
tx = json.load(open(sys.argv[1]))
assert tx["type"] == "record.read" and tx["body"]["record"] == "rec-1"
print(f'  {tx["type"]} of {tx["body"]["record"]}, purpose "{tx["body"]["purpose"]}", '
      f'{len(tx["signatures"])} signatures: the same transaction as B\'s receipt')
PY

step "C's auditor exports the patient's audit trail at C's node (POST /v1/audit/export, auditor of hospital C)"
json "$dir/b.json" patient=hospital-a/pat-a
call auditor-c c POST /v1/audit/export "$dir/b.json"; expect 200
grep -q '\\"doctor\\":\\"hospital-b/dr-b\\"\|"doctor":"hospital-b/dr-b"' "$dir/out.json" ||
  die "C's export does not show hospital-b/dr-b's read"
echo "  the export lists the read by hospital-b/dr-b (grant:hospital-b)"

# ---------------------------------------------------------------------------
# Faults: a node killed and restarted, then the etcd leader killed.
# ---------------------------------------------------------------------------
step "kill -9 hospital B's node (pid ${serve_pid[b]}); A keeps writing"
kill -KILL "${serve_pid[b]}"
wait "${serve_pid[b]}" 2>/dev/null || true  # no "Killed" job notice
serve_pid[b]=""
mv "$dir/b/serve.jsonl" "$dir/b/serve.killed.jsonl"
for n in 2 3 4; do store_record "rec-$n" "12$n/8$n"; done

step "Restarting B's node: it reads the blocks it missed from etcd and catches up"
start_serve b
same_head a b c

step "Killing the etcd leader (kill -9); A keeps writing (a 503 ORDERING_UNAVAILABLE while etcd elects is retried after its Retry-After)"
ctl "$all_endpoints" endpoint status -w json >"$dir/etcd-status.json"
leader_endpoint=$(python3 - "$dir/etcd-status.json" <<'PY'
import json, sys
for member in json.load(open(sys.argv[1])):
    if member["Status"]["header"]["member_id"] == member["Status"]["leader"]:
        print(member["Endpoint"])
PY
)
leader=""
for h in "${hospitals[@]}"; do
  [[ $leader_endpoint == "https://127.0.0.1:${client_port[$h]}" ]] && leader=$h
done
[[ -n $leader ]] || die "no etcd leader in $(cat "$dir/etcd-status.json")"
echo "  leader: etcd-$leader ($leader_endpoint, pid ${etcd_pid[$leader]})"
kill -KILL "${etcd_pid[$leader]}"
wait "${etcd_pid[$leader]}" 2>/dev/null || true
etcd_pid[$leader]=""
for n in 5 6 7; do store_record "rec-$n" "13$n/9$n"; done
survivors=()
for h in "${hospitals[@]}"; do [[ $h == "$leader" ]] || survivors+=("https://127.0.0.1:${client_port[$h]}"); done
ctl "$(IFS=,; echo "${survivors[*]}")" endpoint status -w table | sed 's/^/  /'
same_head a b c

# ---------------------------------------------------------------------------
# Shut down, then verify every replica offline from genesis.
# ---------------------------------------------------------------------------
stop_serve() {  # stop_serve H: SIGTERM, and the exit must be clean
  local h=$1 code=0
  kill -TERM "${serve_pid[$h]}"
  wait "${serve_pid[$h]}" || code=$?
  serve_pid[$h]=""
  [[ $code -eq 0 ]] || { cat "$dir/$h/serve.err"; die "hospital-$h's serve exited with $code"; }
  echo "  hospital-$h: exited cleanly"
}
stop_members() {
  for h in "${hospitals[@]}"; do
    [[ -n ${etcd_pid[$h]} ]] || continue
    kill -TERM "${etcd_pid[$h]}"
    wait "${etcd_pid[$h]}" || true
    etcd_pid[$h]=""
    echo "  etcd-$h: stopped"
  done
}
step "Stopping the three nodes (SIGTERM: in-flight requests finish, then each exits)"
for h in "${hospitals[@]}"; do stop_serve "$h"; done
step "Stopping the surviving etcd members"
stop_members

step "medledger ledger verify on every replica (hashes, signatures, every contract decision, state)"
declare -A verified
for h in "${hospitals[@]}"; do
  "$ml" ledger verify --path "${replica[$h]}" >"$dir/$h/verify.json"
  verified[$h]=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["status"], v["blocks"], v["root"], v["tip_hash"])' "$dir/$h/verify.json")
  read -r ok blocks vroot tip <<<"${verified[$h]}"
  echo "  hospital-$h ${replica[$h]#"$root"/}: $ok, $blocks blocks, root $vroot, tip $tip"
done
[[ ${verified[a]} == "${verified[b]}" && ${verified[b]} == "${verified[c]}" ]] ||
  die "the replicas differ"
echo "  all three replicas: the same blocks, root and tip"

# ---------------------------------------------------------------------------
# MEDLEDGER_DEMO_BENCH=1: HTTPS writes at A's node through the consortium (three replicas,
# three etcd members) against A's node alone on solo ordering (a copy of A's replica), on
# this machine in the same run (docs/PERFORMANCE.md, "Consortium on etcd").
# ---------------------------------------------------------------------------
if [[ ${MEDLEDGER_DEMO_BENCH:-0} == 1 ]]; then
  bench_seconds=${MEDLEDGER_DEMO_BENCH_SECONDS:-15}
  # Enough connections in flight to fill the consortium's blocks (its writes wait ~60 ms).
  bench_connections=${MEDLEDGER_DEMO_BENCH_CONNECTIONS:-128}
  bench() {  # bench NAME ARGS...: medledger bench at A's node, its JSON report to bench-NAME.json
    local name=$1; shift
    "$ml" bench --url "https://127.0.0.1:${https_port[a]}" --cacert "$dir/trust.pem" \
      --cert "$dir/a/https/his-a.pem" --key "$dir/a/https/his-a.key" \
      --doctor hospital-a/dr-a --patient hospital-a/pat-a \
      --doctor-pin "$(pin dr-a)" --patient-pin "$(pin pat-a)" --sessions 8 \
      --connections "$bench_connections" \
      --duration "$bench_seconds" --warmup 50 --mix 1:0 --json --quiet "$@" >"$dir/bench-$name.json"
  }
  writes_per_s() { json_field "$dir/bench-$1.json" operations writes throughput_per_s; }
  step "Benchmark: the consortium (three nodes on etcd), writes at A's node, ${bench_seconds} s each"
  for h in "${hospitals[@]}"; do start_member "$h"; done
  wait_healthy || die "etcd: a port was taken while restarting"
  for h in "${hospitals[@]}"; do start_serve "$h"; done
  bench consortium-max --max
  rate=$(python3 -c 'import sys; print(round(0.8 * float(sys.argv[1]), 1))' "$(writes_per_s consortium-max)")
  bench consortium-rate --rate "$rate"
  for h in "${hospitals[@]}"; do stop_serve "$h"; done
  stop_members
  step "Benchmark: A's node alone on solo ordering (a copy of A's replica), the same load"
  rm -rf "$dir/solo" && mkdir -p "$dir/solo" && cp -a "${replica[a]}/lmdb" "$dir/solo/lmdb"
  sed -e "s|^path = \".*\"|path = \"$dir/solo/lmdb\"|" -e '/^\[ordering\]/,$d' \
    "$dir/a/serve.toml" >"$dir/a/serve-solo.toml"
  start_serve a "$dir/a/serve-solo.toml"
  bench solo-max --max
  bench solo-rate --rate "$rate"
  stop_serve a
  python3 - "$dir" "$rate" <<'PY'
import json, sys
d, rate = sys.argv[1], sys.argv[2]
def w(name):
    return json.load(open(f"{d}/bench-{name}.json"))["operations"]["writes"]
cmax, smax, crate, srate = w("consortium-max"), w("solo-max"), w("consortium-rate"), w("solo-rate")
print(f"  writes/s, closed loop: consortium {cmax['throughput_per_s']:.0f}, solo {smax['throughput_per_s']:.0f}"
      f" = {cmax['throughput_per_s'] / smax['throughput_per_s']:.2f}x solo")
for name, r in (("consortium", crate), ("solo", srate)):
    l = r["latency_ms"]
    print(f"  at {rate}/s (80% of the consortium's maximum), {name}: p50 {l['p50']:.1f} ms,"
          f" p99 {l['p99']:.1f} ms, {r['errors']} error(s) of {r['count']}")
PY
fi

step "Done: everything is under ${dir#"$root"/} (replicas: founding/, replica-b/, replica-c/)"
