#!/bin/sh
# The register part of `make demo`: a day at one register with simulated
# devices (item master from data/items.csv, operators with Argon2id
# passwords, the script data/demo/register-day.txt), then the journal.
# Usage: scripts/demo-register.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
m="$build/src/cmd/mamori"
dir=$(mktemp -d "${TMPDIR:-/tmp}/mamori-demo-register.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$m" items import "$top/data/items.csv" --db "$dir/items.db"
mkdir -m 700 "$dir/reg"
for u in "chk checker pass-chk-1" "csh cashier pass-csh-1" "mgr manager pass-mgr-1"; do
    set -- $u
    printf '%s\n' "$3" | "$m" operator add --db "$dir/reg/operators.db" --id "$1" --name "$1" \
        --role "$2" --password-fd 0 >/dev/null
done
"$m" register --dir "$dir/reg" --items "$dir/items.db" --changer --echo \
    --script "$top/data/demo/register-day.txt"
echo "---- electronic journal (mamori journal search) ----"
"$m" journal search --db "$dir/reg/journal.db"
