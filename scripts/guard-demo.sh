#!/bin/sh
# scripts/guard-demo.sh DIR: mamori-guard in enforce mode over DIR (POL-5 demo).
#
# As root: DIR becomes a mount (bind mount onto itself) so the guard marks only
# it; the programs in DIR/bin are listed and signed; the guard starts (at most
# 60 s); a listed program runs; an unlisted program copied in "from USB memory"
# is refused; the refusal is shown from the audit trail. Everything is undone
# on exit. Not root: explains and exits 0.
set -eu
DIR=${1:?usage: guard-demo.sh DIR}
BUILD=${MAMORI_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
MAMORI=$BUILD/src/cmd/mamori
GUARD=$BUILD/src/cmd/mamori-guard
if [ "$(id -u)" != 0 ]; then
    echo "guard demo: skipped (needs root for fanotify; run: sudo sh scripts/guard-demo.sh $DIR)"
    exit 0
fi
mkdir -p "$DIR/bin"
DIR=$(cd "$DIR" && pwd)
W=$(mktemp -d /tmp/mamori-guard-demo.XXXXXX)
GPID=
cleanup() {
    [ -n "$GPID" ] && kill "$GPID" 2>/dev/null && wait "$GPID" 2>/dev/null
    umount "$DIR" 2>/dev/null || umount -l "$DIR" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE
mount --bind "$DIR" "$DIR"
[ -e "$DIR/bin/till" ] || cp /bin/echo "$DIR/bin/till"
"$MAMORI" allowlist build "$DIR" --out "$W/allowlist" 2>/dev/null
PUB=$("$MAMORI" allowlist keygen --key "$W/release.key")
"$MAMORI" allowlist sign --key "$W/release.key" "$W/allowlist"
cat > "$W/guard.ini" <<EOF2
[guard]
mode = enforce
manifest = $W/allowlist
pubkey = $PUB
audit = $W/guard-audit.db
watch = $DIR
alert_log = $W/alerts.log
EOF2
"$GUARD" --config "$W/guard.ini" --max-runtime 60 2>"$W/guard.err" &
GPID=$!
i=0
until grep -q ready "$W/guard.err"; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$W/guard.err"; exit 1; }
    sleep 0.1
done
echo "guard demo: mamori-guard enforcing over $DIR ($(grep -c '^[0-9a-f]\{64\} ' "$W/allowlist") files listed)"
echo "guard demo: listed program:   $("$DIR/bin/till" ok: the till runs)"
cp /bin/true "$W/usb-payload"; printf 'x' >> "$W/usb-payload"   # not in the manifest
cp "$W/usb-payload" "$DIR/bin/payload"; chmod 755 "$DIR/bin/payload"
if "$DIR/bin/payload" 2>"$W/err"; then
    echo "guard demo: FAILED: the unlisted program ran"; exit 1
fi
echo "guard demo: unlisted program: refused ($(tail -n 1 "$W/err" | sed 's/.*: //'))"
sleep 1
echo "guard demo: audit trail: $("$GUARD" --config "$W/guard.ini" --audit-count guard.deny) guard.deny event(s):"
grep guard.deny "$W/alerts.log" | sed 's/^/    /'
rm -f "$DIR/bin/payload"
