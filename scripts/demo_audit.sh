#!/bin/sh
# Audit part of the demo (issue 5): show the trail, verify it offline, tamper
# with one byte of a copy of the database and show `mamori audit verify`
# naming the entry, then a cash reconciliation with one planted discrepancy.
#
# usage: scripts/demo_audit.sh [BUILD_DIR] [AUDIT_DB]
#   AUDIT_DB: the demo day's audit log (default: a fresh log in a temp dir).
# The database itself is never modified: the tampering happens on a copy.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
m="$build/src/cmd/mamori"
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-demo-audit-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
db=${2:-}
if [ -z "$db" ]; then
    db="$work/audit.db"
    "$m" audit keys --export "$work/verifier.json" --db "$db" >/dev/null
    "$m" audit reconcile --day "$top/data/demo/cash-day.json" --record --db "$db" >/dev/null || true
else
    # the verifier export made when the log was created (moved off the terminal here)
    "$m" audit keys --export "$work/verifier.json" --db "$db" >/dev/null
fi
echo "== the audit trail (last 15 entries)"
"$m" audit show --db "$db" | tail -n 15
echo
echo "== offline verification with the exported keys"
"$m" audit verify --db "$db" --keys "$work/verifier.json"
echo
echo "== an insider edits one byte of the database file (a copy)"
cp "$db" "$work/tampered.db"
[ -f "$db-wal" ] && cp "$db-wal" "$work/tampered.db-wal"
cp "$db.seal" "$work/tampered.db.seal"
python3 - "$work/tampered.db" <<'PY'
import sqlite3, sys
path = sys.argv[1]
con = sqlite3.connect(path)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
data = bytearray(open(path, "rb").read())
at = data.rfind(b'"pid":')
if at < 0:
    at = data.rfind(b'"amount":')
pos = at + 7
old = data[pos]
data[pos] = old ^ 0x01
open(path, "wb").write(bytes(data))
print(f"   changed byte at offset {pos}: {old:#04x} -> {data[pos]:#04x}")
PY
if "$m" audit verify --db "$work/tampered.db" --keys "$work/verifier.json"; then
    echo "demo: the tampering was NOT detected" >&2
    exit 1
fi
echo
echo "== cash reconciliation of the day (journal vs change machine log vs cassette counts)"
"$m" audit reconcile --day "$top/data/demo/cash-day.json" || true
