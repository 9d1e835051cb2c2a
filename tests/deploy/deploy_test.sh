#!/usr/bin/env bash
# deploy_test.sh MEDLEDGER DEPLOY_DIR: the deploy/ scripts end to end on real parts
# (SoftHSM2 token in a fresh directory, openssl, LMDB, the built medledger).
set -euo pipefail
medledger=$(realpath "$1")
deploy=$(realpath "$2")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

mkdir -p "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/tokens" > "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
unset MEDLEDGER_USER_PIN MEDLEDGER_SO_PIN MEDLEDGER_DATA_DIR || true
etc="$work/etc"

step "provision.sh makes token, CA, node and admin certificates"
"$deploy/provision.sh" --out "$etc" --hospital hospital-a --dns localhost --ip 127.0.0.1 \
  --medledger "$medledger" > "$work/provision.out"
grep -q "provisioned hospital 'hospital-a'" "$work/provision.out" || fail "no provisioning report"
for f in secrets/so-pin secrets/user-pin admin/admin.key; do
  [[ "$(stat -c %a "$etc/$f")" == 600 ]] || fail "$f is not mode 0600"
done
# No PIN appears in what the script printed.
! grep -Fq "$(cat "$etc/secrets/user-pin")" "$work/provision.out" || fail "user PIN printed"
! grep -Fq "$(cat "$etc/secrets/so-pin")" "$work/provision.out" || fail "SO PIN printed"
openssl verify -CAfile "$etc/ca/ca.pem" "$etc/tls/node.crt" >/dev/null || fail "node cert does not chain"
openssl verify -CAfile "$etc/ca/ca.pem" "$etc/admin/admin.crt" >/dev/null || fail "admin cert does not chain"
openssl x509 -in "$etc/tls/node.crt" -noout -subject | grep -q "OU = node" || fail "node cert role"
openssl x509 -in "$etc/admin/admin.crt" -noout -subject | grep -q "OU = admin" || fail "admin cert role"
openssl x509 -in "$etc/tls/node.crt" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" || fail "node SAN"
[[ ! -e "$etc/tls/node.key" ]] || fail "the node TLS key left the token"
# The service user (not root) reads tls.certificate / tls.client_ca there.
[[ "$(stat -c %a "$etc/tls")" == 755 && "$(stat -c %a "$etc/tls/node-chain.pem")" == 644 ]] ||
  fail "tls/ or node-chain.pem not readable by the service user"
# A foreign CA's certificate must not verify against this CA (the check can fail).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/f.key" \
  -subj /CN=foreign -days 1 -out "$work/foreign.pem" 2>/dev/null
! openssl verify -CAfile "$etc/ca/ca.pem" "$work/foreign.pem" >/dev/null 2>&1 || fail "foreign cert verified"

step "provision.sh refuses a second run"
if "$deploy/provision.sh" --out "$etc" --hospital hospital-a --medledger "$medledger" 2>"$work/again.err"; then
  fail "second provisioning succeeded"
fi
grep -q "already exists" "$work/again.err" || fail "second run: no clear refusal"
# A fresh directory but the same token label: refused too (the token exists).
if "$deploy/provision.sh" --out "$work/etc2" --hospital hospital-a --medledger "$medledger" 2>"$work/again2.err"; then
  fail "re-initialising an existing token succeeded"
fi
grep -q "already exists" "$work/again2.err" || fail "existing token: no clear refusal"

step "etcd-certs.sh issues the etcd member and client certificates from the hospital CA"
# Another hospital's CA to trust (self-signed here; any CA certificate will do).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/b-ca.key" \
  -subj /CN=hospital-b-ca -addext basicConstraints=critical,CA:TRUE -days 1 -out "$work/b-ca.pem" 2>/dev/null
etcd_dir="$etc/etcd"
etcd_certs=("$deploy/etcd-certs.sh" --out "$etcd_dir" --ca-dir "$etc/ca" --token hospital-a
  --pin "file:$etc/secrets/user-pin" --name hospital-a --ip 127.0.0.1 --dns localhost
  --trust "$work/b-ca.pem" --medledger "$medledger")
"${etcd_certs[@]}" > "$work/etcd-certs.out"
! grep -Fq "$(cat "$etc/secrets/user-pin")" "$work/etcd-certs.out" || fail "etcd-certs.sh printed the PIN"
for f in member.key client.key; do
  [[ "$(stat -c %a "$etcd_dir/$f")" == 600 ]] || fail "etcd $f is not mode 0600"
done
for f in member client; do
  openssl verify -CAfile "$etc/ca/ca.pem" "$etcd_dir/$f.pem" >/dev/null || fail "etcd $f.pem does not chain"
  openssl x509 -in "$etcd_dir/$f.pem" -noout -ext extendedKeyUsage |
    grep -q "TLS Web Server Authentication, TLS Web Client Authentication" || fail "etcd $f.pem EKUs"
done
openssl x509 -in "$etcd_dir/member.pem" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" ||
  fail "etcd member SAN"
[[ $(grep -c 'BEGIN CERTIFICATE' "$etcd_dir/ca-bundle.pem") -eq 2 ]] || fail "CA bundle lacks a CA"
if "${etcd_certs[@]}" 2>"$work/etcd-again.err"; then fail "etcd-certs.sh replaced existing keys"; fi
grep -q "already exists" "$work/etcd-again.err" || fail "etcd-certs.sh: no clear refusal"
if "$deploy/etcd-certs.sh" --out "$work/etcd-x" --ca-dir "$etc/ca" --token hospital-a --pin 1234 \
   --name x --ip 127.0.0.1 --medledger "$medledger" 2>"$work/etcd-pin.err"; then
  fail "etcd-certs.sh took a PIN value in argv"
fi
grep -q "never the PIN itself" "$work/etcd-pin.err" || fail "etcd-certs.sh: no PIN refusal"

step "an etcd member runs on etcd-member.service's flags, etcd.env.example and those certificates"
unit="$deploy/etcd-member.service"
read -r -a ports < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cport=${ports[0]} pport=${ports[1]} mport=${ports[2]}
sed -e "s#192.0.2.10:2379,https://127.0.0.1:2379#127.0.0.1:$cport#" -e "s#192.0.2.10:2379#127.0.0.1:$cport#" \
    -e "s#^ETCD_INITIAL_CLUSTER=.*#ETCD_INITIAL_CLUSTER=hospital-a=https://127.0.0.1:$pport#" \
    -e "s#192.0.2.10:2380#127.0.0.1:$pport#" -e "s#127.0.0.1:2381#127.0.0.1:$mport#" \
    -e "s#^ETCD_LOG_OUTPUTS=.*#ETCD_LOG_OUTPUTS=stderr#" "$deploy/etcd.env.example" > "$work/etcd.env"
! grep -q '192\.0\.2\.' "$work/etcd.env" || fail "etcd.env rewrite left an example address"
# ExecStart with its continuation lines; the credential and /etc paths moved to the temp dir.
read -r -a etcd_cmd < <(awk '/^ExecStart=/ { f = 1; sub(/^ExecStart=/, "") }
  f { c = sub(/ *\\$/, ""); printf "%s ", $0; if (!c) { print ""; exit } }' "$unit" |
  sed -e "s#%d/#$etcd_dir/#g" -e "s#/etc/medledger/etcd/#$etcd_dir/#g" -e "s#/var/lib/medledger-etcd#$work/etcd-data#")
[[ "${etcd_cmd[0]}" == /usr/bin/etcd && " ${etcd_cmd[*]} " == *" --client-cert-auth "* &&
   " ${etcd_cmd[*]} " == *" --peer-client-cert-auth "* ]] || fail "unit ExecStart: ${etcd_cmd[*]}"
# ExecStartPre's URL check (systemd's $$ is the shell's $): passes here, refuses http://.
url_check=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'$/\1/p" "$unit" | sed 's/\$\$/$/g')
[[ -n "$url_check" ]] || fail "unit lacks the https URL check"
(set -a; . "$work/etcd.env"; sh -c "$url_check") || fail "URL check refused the example"
if (set -a; . "$work/etcd.env"; ETCD_LISTEN_CLIENT_URLS=https://127.0.0.1:1,http://127.0.0.1:2 \
    sh -c "$url_check") 2>/dev/null; then fail "URL check took an http:// URL"; fi
if (set -a; . "$work/etcd.env"; unset ETCD_LISTEN_PEER_URLS; sh -c "$url_check") 2>/dev/null; then
  fail "URL check took an unset URL"
fi
if [[ -x /usr/bin/etcd && -x /usr/bin/etcdctl ]]; then
  (set -a; . "$work/etcd.env"; exec "${etcd_cmd[@]}") 2>"$work/etcd.log" &
  etcd_pid=$!
  pids+=("$etcd_pid")
  ctl=(/usr/bin/etcdctl --endpoints "https://127.0.0.1:$cport" --cacert "$etcd_dir/ca-bundle.pem" --dial-timeout 1s)
  with_cert=(--cert "$etcd_dir/client.pem" --key "$etcd_dir/client.key")
  for _ in $(seq 100); do
    "${ctl[@]}" "${with_cert[@]}" endpoint health >/dev/null 2>&1 && break
    kill -0 "$etcd_pid" 2>/dev/null || { tail -5 "$work/etcd.log" >&2; fail "etcd exited"; }
    sleep 0.1
  done
  "${ctl[@]}" "${with_cert[@]}" put medledger/probe ok >/dev/null || fail "etcd refused the node's client certificate"
  [[ "$("${ctl[@]}" "${with_cert[@]}" get medledger/probe --print-value-only)" == ok ]] || fail "etcd get"
  if "${ctl[@]}" --command-timeout 2s get medledger/probe >/dev/null 2>&1; then
    fail "etcd served a client without a certificate"
  fi
  curl -sS --max-time 5 "http://127.0.0.1:$mport/health" | grep -q '"health":"true"' || fail "etcd /health"
  kill -TERM "$etcd_pid"
  wait "$etcd_pid" || true
  pids=()
  # Every key of the example is an etcd flag, and none is overridden by the unit's.
  ! grep -Eiq 'unrecognized environment|shadowed' "$work/etcd.log" ||
    fail "etcd.env.example: $(grep -Ei 'unrecognized environment|shadowed' "$work/etcd.log" | head -3)"
else
  echo "etcd not installed: skipping the live member (deploy/install-deps.sh installs it)"
fi

step "the example config loads: serve starts on it (paths moved to the temp dir) and stops on SIGTERM"
mkdir -p "$work/ledger-serve"
sed -e "s#/etc/medledger/tls/node-chain.pem#$etc/tls/node-chain.pem#" \
    -e "s#/etc/medledger/tls/node.key#$etc/tls/node.key#" \
    -e "s#/etc/medledger/tls/client-ca.pem#$etc/tls/client-ca.pem#" \
    -e "s#/var/lib/medledger/ledger#$work/ledger-serve#" \
    -e "s#/run/credentials/medledger.service/user-pin#$etc/secrets/user-pin#" \
    -e "s#^port = 8443#port = 0#" -e "s#^address = .*#address = \"127.0.0.1\"#" \
    -e "s#^label = .*#label = \"hospital-a\"#" \
    "$deploy/medledger.example.toml" > "$work/medledger.toml"
# Only the paths, address and port differ from the shipped example.
[[ $(diff "$deploy/medledger.example.toml" "$work/medledger.toml" | grep -c '^>') -le 7 ]] || fail "rewrite changed too much"
"$medledger" serve --config "$work/medledger.toml" 2>"$work/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
port=""
for _ in $(seq 100); do
  port=$(grep -o '"event":"listening"[^}]*"port":[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)
  [[ -n "$port" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "serve exited on the example config"; }
  sleep 0.1
done
[[ -n "$port" ]] || fail "serve did not listen"
health=$(curl -sS --max-time 5 --cacert "$etc/ca/ca.pem" "https://127.0.0.1:$port/healthz")
echo "$health" | grep -q '"status"' || fail "healthz: $health"
whoami=$(curl -sS --max-time 5 --cacert "$etc/ca/ca.pem" --cert "$etc/admin/admin.crt" --key "$etc/admin/admin.key" \
  "https://127.0.0.1:$port/v1/whoami")
echo "$whoami" | grep -q '"admin"' || fail "admin certificate not accepted: $whoami"
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "serve did not exit 0 on SIGTERM"
pids=()
grep -q '"event":"stopped"' "$work/serve.log" || fail "no graceful stop"
# And a misspelt key in that file is refused with CONFIG_INVALID (exit 3).
sed 's/^max_connections/max_conections/' "$work/medledger.toml" > "$work/bad.toml"
set +e; "$medledger" serve --config "$work/bad.toml" 2>"$work/bad.err"; rc=$?; set -e
{ [[ $rc -eq 3 ]] && grep -q CONFIG_INVALID "$work/bad.err"; } || fail "bad config: rc=$rc $(cat "$work/bad.err")"

step "backup.sh copies a ledger while another process appends; restore.sh restores it"
pin="file:$etc/secrets/user-pin"
"$medledger" key generate --token hospital-a --pin "$pin" --label node-proposer >/dev/null
ledger="$work/ledger"
"$medledger" ledger init --contract kv --path "$ledger" --token hospital-a --pin "$pin" \
  --proposer-key node-proposer --hospital hospital-a --ca-cert "$etc/ca/ca.pem" >/dev/null
kv_put() {  # a canonical record.put of the kv contract (docs/transactions.md)
  local nonce
  nonce=$(openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n')
  printf '{"body":{"key":"%s","value":"%s"},"nonce":"%s","signatures":[],"time":1700000000000,"type":"record.put"}\n' \
    "$1" "$2" "$nonce" > "$3"
}
append() {
  kv_put "$1" "$2" "$work/tx-$1.json"
  "$medledger" ledger append --path "$ledger" --tx "$work/tx-$1.json" --token hospital-a --pin "$pin" \
    --proposer-key node-proposer >/dev/null
}
for i in 1 2 3; do append "patient-$i" "value-$i"; done
# The writer keeps appending until told to stop.
( i=4; while [[ ! -e "$work/stop-writer" ]]; do append "patient-$i" "value-$i"; i=$((i + 1)); done ) &
writer=$!
pids+=("$writer")
sleep 0.3
"$deploy/backup.sh" --ledger "$ledger" --dest "$work/backup" --medledger "$medledger" > "$work/backup.out"
sleep 0.2  # the writer goes on after the copy too: the live ledger must end up longer
touch "$work/stop-writer"
wait "$writer" || fail "the concurrent writer failed"
pids=()
grep -q "verified" "$work/backup.out" || fail "backup not verified"
[[ -f "$work/backup/lmdb/data.mdb" && -f "$work/backup/SHA256SUMS" ]] || fail "backup incomplete"
live_blocks=$("$medledger" ledger verify --path "$ledger" | grep -o '"blocks":[0-9]*' | grep -o '[0-9]*')
copy_blocks=$("$medledger" ledger verify --path "$work/backup" | grep -o '"blocks":[0-9]*' | grep -o '[0-9]*')
echo "live ledger: $live_blocks blocks; backup: $copy_blocks blocks"
[[ $copy_blocks -ge 4 ]] || fail "backup lacks the blocks committed before it"
[[ $live_blocks -gt $copy_blocks ]] || fail "the writer did not append during/after the copy"
if "$deploy/backup.sh" --ledger "$ledger" --dest "$work/backup" --medledger "$medledger" 2>/dev/null; then
  fail "backup overwrote an existing backup"
fi

# Relative paths, as an operator types them in the backup's directory.
(cd "$work" && "$deploy/restore.sh" --backup backup --ledger restored --medledger "$medledger") > "$work/restore.out"
"$medledger" ledger verify --path "$work/restored" | grep -q "\"blocks\":$copy_blocks" || fail "restored ledger differs"
# A tampered backup is refused.
cp -a "$work/backup" "$work/tampered"
printf 'x' | dd of="$work/tampered/lmdb/data.mdb" bs=1 seek=5000 conv=notrunc 2>/dev/null
if "$deploy/restore.sh" --backup "$work/tampered" --ledger "$work/restored2" --medledger "$medledger" 2>/dev/null; then
  fail "a tampered backup was restored"
fi
[[ ! -e "$work/restored2" ]] || fail "tampered restore left a ledger"

step "restore.sh refuses to replace a ledger that a running process holds open, unless --force"
python3 - "$ledger/lmdb/data.mdb" "$work/holding" <<'PY' &
import sys, time, os
f = open(sys.argv[1], 'rb')          # a process with the ledger open, like a running node
open(sys.argv[2], 'w').close()
while os.path.exists(sys.argv[2]): time.sleep(0.05)
PY
holder=$!
pids+=("$holder")
for _ in $(seq 50); do [[ -e "$work/holding" ]] && break; sleep 0.1; done
if "$deploy/restore.sh" --backup "$work/backup" --ledger "$ledger" --medledger "$medledger" 2>"$work/refused.err"; then
  fail "restore replaced a ledger in use"
fi
grep -q "running process" "$work/refused.err" || fail "no clear refusal: $(cat "$work/refused.err")"
"$deploy/restore.sh" --backup "$work/backup" --ledger "$ledger" --force --medledger "$medledger" > "$work/forced.out"
ls -d "$ledger".replaced-* >/dev/null || fail "the replaced ledger was not kept"
rm -f "$work/holding"
wait "$holder" || true
pids=()

step "the systemd unit carries the hardening keys"
unit="$deploy/medledger.service"
for key in 'User=medledger' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
           'CapabilityBoundingSet=$' 'LimitCORE=0' 'MemoryDenyWriteExecute=yes' \
           'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
           'ReadWritePaths=.*/var/lib/medledger/ledger' 'ReadWritePaths=.*/var/lib/medledger/tokens' \
           'LoadCredential=user-pin:' \
           'ExecStart=/usr/local/bin/medledger serve --config /etc/medledger/medledger.toml'; do
  grep -Eq "^$key" "$unit" || fail "unit lacks $key"
done
grep -q 'pin = "file:/run/credentials/medledger.service/user-pin"' "$deploy/medledger.example.toml" ||
  fail "example config does not read the PIN from the credential"
if command -v systemd-analyze >/dev/null; then
  # Only the binary's absence is acceptable here (it is not installed in the test).
  out=$(systemd-analyze verify "$unit" 2>&1 || true)
  other=$(echo "$out" | grep -v '/usr/local/bin/medledger' | grep -v '^$' || true)
  [[ -z "$other" ]] || fail "systemd-analyze verify: $other"
fi

step "the etcd member unit carries the hardening keys and TLS on both ports"
unit="$deploy/etcd-member.service"
for key in 'DynamicUser=yes' 'StateDirectory=medledger-etcd' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
           'ProtectHome=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=$' 'LimitCORE=0' \
           'MemoryDenyWriteExecute=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
           'SystemCallFilter=@system-service' 'EnvironmentFile=/etc/medledger/etcd.env' \
           'LoadCredential=member.key:/etc/medledger/etcd/member.key' 'Conflicts=etcd.service' \
           '  --client-cert-auth' '  --peer-client-cert-auth' '  --key-file %d/member.key' \
           '  --peer-key-file %d/member.key'; do
  grep -Eq "^$key" "$unit" || fail "etcd unit lacks $key"
done
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$unit" 2>&1 || true)
  # Only a missing etcd binary is acceptable (etcd-server not installed).
  other=$(echo "$out" | grep -v '/usr/bin/etcd' | grep -v '^$' || true)
  [[ -z "$other" ]] || fail "systemd-analyze verify etcd-member.service: $other"
fi
echo "deploy_test: all checks passed"
