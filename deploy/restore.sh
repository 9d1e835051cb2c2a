#!/usr/bin/env bash
# restore.sh: put a verified backup (from backup.sh) in place as a ledger directory.
#
#   restore.sh --backup BACKUP_DIR --ledger DIR [--force] [--medledger PATH]
#
# Verifies the backup first (checksum, then `medledger ledger verify`). Refuses to
# replace a ledger that a running process has open (a medledger serve or any other
# holder of DIR/lmdb/data.mdb) unless --force; stop the service first. An existing
# ledger directory is never deleted: it is moved to DIR.replaced-<time>.
set -euo pipefail

backup=""
ledger=""
force=0
medledger="${MEDLEDGER:-medledger}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backup) backup="$2"; shift 2 ;;
    --ledger) ledger="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --medledger) medledger="$2"; shift 2 ;;
    -h|--help) echo "usage: restore.sh --backup BACKUP_DIR --ledger DIR [--force] [--medledger PATH]"; exit 0 ;;
    *) echo "restore.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
die() { echo "restore.sh: $*" >&2; exit 1; }
[[ -n "$backup" && -n "$ledger" ]] || die "--backup and --ledger are required"
# Absolute from here on: the checksum check runs from / (SHA256SUMS holds absolute paths).
backup=$(realpath -m -- "$backup")
ledger=$(realpath -m -- "$ledger")
[[ -f "$backup/lmdb/data.mdb" ]] || die "$backup is not a ledger backup (no lmdb/data.mdb)"

# Who has the ledger open: any process with data.mdb among its open files or mappings.
holders() {
  local data pid
  data=$(realpath -m "$1/lmdb/data.mdb")
  [[ -e "$data" ]] || return 0
  local fd held
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    held=0
    for fd in "/proc/$pid/fd/"*; do
      [[ "$(readlink "$fd" 2>/dev/null)" == "$data" ]] && { held=1; break; }
    done
    [[ $held -eq 1 ]] || ! grep -Fq -- " $data" "/proc/$pid/maps" 2>/dev/null || held=1
    [[ $held -eq 0 ]] || echo "$pid"
  done
}

if [[ -f "$backup/SHA256SUMS" ]]; then
  (cd / && sed "s#  .*/lmdb/data.mdb#  $(realpath "$backup")/lmdb/data.mdb#" "$backup/SHA256SUMS" | sha256sum -c --quiet -) ||
    die "checksum of $backup/lmdb/data.mdb does not match SHA256SUMS"
fi
"$medledger" ledger verify --path "$backup" >/dev/null || die "$backup does not verify; not restored"

if [[ -e "$ledger" ]]; then
  running=$(holders "$ledger" | tr '\n' ' ')
  if [[ -n "$running" && $force -eq 0 ]]; then
    die "$ledger is open by running process(es): $running- stop the service (systemctl stop medledger) or pass --force"
  fi
  aside="$ledger.replaced-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$ledger" "$aside"
  echo "previous ledger moved to $aside"
fi

umask 077
staging="$ledger.restoring"
rm -rf "$staging"
mkdir -p "$staging"
find "$backup" -mindepth 1 -maxdepth 1 ! -name SHA256SUMS ! -name verify.json -exec cp -a {} "$staging/" \;
mv "$staging" "$ledger"
report=$("$medledger" ledger verify --path "$ledger") || die "restored ledger in $ledger does not verify"
echo "restored $backup to $ledger: $report"
