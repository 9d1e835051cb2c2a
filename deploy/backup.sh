#!/usr/bin/env bash
# backup.sh: a consistent copy of a medledger ledger while the node keeps serving.
#
#   backup.sh --ledger DIR --dest BACKUP_DIR [--medledger PATH]
#
# LMDB lets one reader copy a snapshot alongside the writer: `mdb_copy -c` (lmdb-utils)
# opens a read transaction and writes a compacted copy of that snapshot, so commits
# made during the copy are simply not in it. The other files of the ledger directory
# (everything but lmdb/) are copied as they are. The copy is then checked with
# `medledger ledger verify` before the script reports success; a copy that does not
# verify is left in BACKUP_DIR.failed for inspection and the script exits non-zero.
set -euo pipefail

ledger=""
dest=""
medledger="${MEDLEDGER:-medledger}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ledger) ledger="$2"; shift 2 ;;
    --dest) dest="$2"; shift 2 ;;
    --medledger) medledger="$2"; shift 2 ;;
    -h|--help) echo "usage: backup.sh --ledger DIR --dest BACKUP_DIR [--medledger PATH]"; exit 0 ;;
    *) echo "backup.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
die() { echo "backup.sh: $*" >&2; exit 1; }
[[ -n "$ledger" && -n "$dest" ]] || die "--ledger and --dest are required"
[[ -f "$ledger/lmdb/data.mdb" ]] || die "$ledger is not a ledger (no lmdb/data.mdb)"
[[ ! -e "$dest" ]] || die "$dest already exists; choose a new backup directory"
command -v mdb_copy >/dev/null || die "mdb_copy not found (apt-get install lmdb-utils)"

umask 077
work="$dest.partial"
rm -rf "$work"
mkdir -p "$work/lmdb"
# Everything beside the LMDB environment (e.g. proposer-key.pem of a software trial).
find "$ledger" -mindepth 1 -maxdepth 1 ! -name lmdb -exec cp -a {} "$work/" \;
mdb_copy -c "$ledger/lmdb" "$work/lmdb"

if ! report=$("$medledger" ledger verify --path "$work"); then
  mv "$work" "$dest.failed"
  die "the copy does not verify; kept in $dest.failed"
fi
sha256sum "$work/lmdb/data.mdb" > "$work/SHA256SUMS"
printf '%s\n' "$report" > "$work/verify.json"
mv "$work" "$dest"
echo "backup of $ledger in $dest verified: $report"
