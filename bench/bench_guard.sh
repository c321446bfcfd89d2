#!/bin/sh
# bench/bench_guard.sh: per-exec latency added by mamori-guard and by fapolicyd
# (POL-5; docs/benchmarks.md), and the time of a full integrity check.
#
#   sudo sh bench/bench_guard.sh            # ROUNDS=5 N=2000 BUILD=build
#
# Conditions: none, mamori-guard (enforce, programs listed), fapolicyd
# (permissive, the programs trusted by an equivalent allow rule), alternated in
# rounds (the order rotates) so the machine's drift cancels. Everything runs on
# a ramfs this script mounts; mamori-guard marks only that mount. fapolicyd is
# configured with watch_fs=ramfs (the only ramfs) and permissive=1 (it never denies), started in
# the foreground by this script, and stopped only by the PID it started; its
# configuration directory is restored on exit.
set -eu

BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
N=${N:-2000}
SPIN_US=${SPIN_US:-0}    # mamori-guard spin_us (docs/guard.md)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/$BUILD
MAMORI=$B/src/cmd/mamori
GUARD=$B/src/cmd/mamori-guard
EXECLAT=$B/bench/bench_execlat

if [ "$(id -u)" != 0 ]; then
    echo "bench_guard: needs root (fanotify); skipped" >&2
    exit 77
fi
[ -x "$EXECLAT" ] && [ -x "$GUARD" ] || { echo "bench_guard: build first (ninja -C $BUILD)" >&2; exit 1; }

W=$(mktemp -d /tmp/mamori-bench-guard.XXXXXX)
MNT=$W/mnt
mkdir "$MNT"
GUARD_PID=
FAPO_PID=
FAPO_BACKUP=

stop_guard() {
    if [ -n "$GUARD_PID" ]; then
        kill "$GUARD_PID" 2>/dev/null || true
        wait "$GUARD_PID" 2>/dev/null || true
        GUARD_PID=
    fi
}
stop_fapo() {
    if [ -n "$FAPO_PID" ]; then
        kill "$FAPO_PID" 2>/dev/null || true
        wait "$FAPO_PID" 2>/dev/null || true
        FAPO_PID=
    fi
}
cleanup() {
    stop_guard
    stop_fapo
    if [ -n "$FAPO_BACKUP" ] && [ -d "$FAPO_BACKUP" ]; then
        rm -rf /etc/fapolicyd && cp -a "$FAPO_BACKUP" /etc/fapolicyd
    fi
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

# ramfs, not tmpfs: fapolicyd marks every mount of its watch_fs types, and no
# other ramfs is mounted here (checked below), so it sees this mount only.
mount -t ramfs -o mode=0755 ramfs "$MNT"
printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' > "$W/hello.c"
cc -O2 -o "$MNT/hello_dyn" "$W/hello.c"
cc -O2 -static -o "$MNT/hello_static" "$W/hello.c"

# The signed manifest and the guard's configuration.
"$MAMORI" allowlist build "$MNT" --out "$W/allowlist" 2>/dev/null
PUB=$("$MAMORI" allowlist keygen --key "$W/release.key")
"$MAMORI" allowlist sign --key "$W/release.key" "$W/allowlist"
cat > "$W/guard.ini" <<EOF
[guard]
mode = enforce
manifest = $W/allowlist
pubkey = $PUB
audit = $W/audit.db
watch = $MNT
alert_log = $W/alerts.log
spin_us = $SPIN_US
EOF

# fapolicyd from Debian, permissive, trusting exactly the two programs.
FAPO=${FAPOLICYD:-yes}   # FAPOLICYD=no skips it
if [ "$FAPO" = yes ] && ! command -v fapolicyd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q fapolicyd >/dev/null 2>&1 || FAPO=no
fi
command -v fapolicyd >/dev/null 2>&1 || FAPO=no
if [ "$FAPO" = yes ] && [ "$(grep -c ' ramfs ' /proc/mounts)" != 1 ]; then
    echo "bench_guard: another ramfs is mounted; fapolicyd would watch it too: skipping fapolicyd" >&2
    FAPO=no
fi
FAPO_VERSION=$(dpkg-query -W -f '${Version}' fapolicyd 2>/dev/null || echo none)
if [ "$FAPO" = yes ]; then
    FAPO_BACKUP=$W/fapolicyd.etc
    cp -a /etc/fapolicyd "$FAPO_BACKUP"
    rm -rf /etc/fapolicyd/rules.d/* 2>/dev/null || true
    cat > /etc/fapolicyd/fapolicyd.conf <<EOF
permissive = 1
nice_val = 0
q_size = 1024
uid = root
gid = root
do_stat_report = 0
detailed_report = 0
db_max_size = 50
subj_cache_size = 1549
obj_cache_size = 8191
watch_fs = ramfs
trust = file
integrity = sha256
syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
allow_filesystem_mark = 0
EOF
    : > /etc/fapolicyd/fapolicyd.trust
    for p in "$MNT/hello_dyn" "$MNT/hello_static"; do
        echo "$p $(stat -c %s "$p") $(sha256sum "$p" | cut -d' ' -f1)" >> /etc/fapolicyd/fapolicyd.trust
    done
    # The equivalent rule set: trusted files run, everything else would be
    # denied (permissive: only reported). Libraries outside watch_fs are not seen.
    cat > /etc/fapolicyd/fapolicyd.rules <<EOF
allow perm=any all : trust=1
deny_audit perm=any all : all
EOF
    cp /etc/fapolicyd/fapolicyd.rules /etc/fapolicyd/compiled.rules
fi

start_cond() {
    case $1 in
    none) ;;
    guard)
        GERR=$W/guard.$r.err
        "$GUARD" --config "$W/guard.ini" --max-runtime 600 --stats 2>"$GERR" &
        GUARD_PID=$!
        i=0
        until grep -q "ready" "$GERR" 2>/dev/null; do
            i=$((i + 1)); [ $i -gt 100 ] && { echo "guard did not start" >&2; cat "$GERR" >&2; exit 1; }
            sleep 0.1
        done
        ;;
    fapolicyd)
        fapolicyd --permissive --debug-deny 2>"$W/fapo.err" &
        FAPO_PID=$!
        i=0
        until grep -q "Starting to listen for events" "$W/fapo.err" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 600 ] || ! kill -0 "$FAPO_PID" 2>/dev/null; then
                echo "fapolicyd did not start:" >&2; tail -5 "$W/fapo.err" >&2; FAPO_PID=; return 1
            fi
            sleep 0.1
        done
        ;;
    esac
}
stop_cond() {
    case $1 in guard) stop_guard ;; fapolicyd) stop_fapo ;; esac
}

CONDS="none guard"
[ "$FAPO" = yes ] && CONDS="none guard fapolicyd"
: > "$W/results"
r=1
while [ $r -le "$ROUNDS" ]; do
    # rotate the order each round
    set -- $CONDS
    k=$(( (r - 1) % $# ))
    while [ $k -gt 0 ]; do c=$1; shift; set -- "$@" "$c"; k=$((k - 1)); done
    for c in "$@"; do
        if ! start_cond "$c"; then
            CONDS=$(echo "$CONDS" | sed "s/ $c//"); FAPO=failed; continue
        fi
        for prog in hello_static hello_dyn; do
            line=$("$EXECLAT" "$N" "$MNT/$prog") || { echo "exec failures under $c: $line" >&2; exit 1; }
            echo "$r $c $prog $line" >> "$W/results"
        done
        stop_cond "$c"
    done
    r=$((r + 1))
done

echo "# machine"
lscpu | head -n 15 | sed 's/^/    /'
echo "# kernel $(uname -r); fapolicyd $FAPO_VERSION ($FAPO); rounds=$ROUNDS n=$N per program per round; mamori-guard spin_us=$SPIN_US"
echo
echo "| program | condition | p50 µs (median of rounds) | p99 µs | added p50 µs vs none | added p99 µs vs none |"
echo "|---|---|---|---|---|---|"
for prog in hello_static hello_dyn; do
    base50=$(awk -v p=$prog '$2=="none" && $3==p {sub("p50_us=","",$5); print $5}' "$W/results" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    base99=$(awk -v p=$prog '$2=="none" && $3==p {sub("p99_us=","",$6); print $6}' "$W/results" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    for c in $CONDS; do
        m50=$(awk -v p=$prog -v c=$c '$2==c && $3==p {sub("p50_us=","",$5); print $5}' "$W/results" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
        m99=$(awk -v p=$prog -v c=$c '$2==c && $3==p {sub("p99_us=","",$6); print $6}' "$W/results" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
        echo "| $prog | $c | $m50 | $m99 | $(echo "$m50 - $base50" | bc) | $(echo "$m99 - $base99" | bc) |"
    done
done
echo
echo "mamori-guard decision times (inside the daemon, last round):"
grep -h "stats:" "$W/guard.$ROUNDS.err" | sed 's/^/    /'

# Full integrity check of the installed project.
DEST=$W/install
DESTDIR=$DEST meson install -C "$B" --quiet >/dev/null 2>&1 || true
if [ -d "$DEST" ]; then
    "$MAMORI" allowlist build "$DEST" --out "$W/install.manifest" 2>/dev/null
    "$MAMORI" allowlist sign --key "$W/release.key" "$W/install.manifest"
    files=$(grep -c '^[0-9a-f]\{64\} ' "$W/install.manifest")
    bytes=$(du -sb "$DEST" | cut -f1)
    t0=$(date +%s%N)
    "$MAMORI" integrity check --manifest "$W/install.manifest" --pub "$PUB" "$DEST" >/dev/null 2>&1
    t1=$(date +%s%N)
    "$MAMORI" integrity check --manifest "$W/install.manifest" --pub "$PUB" "$DEST" >/dev/null 2>&1
    t2=$(date +%s%N)
    echo
    echo "integrity check of the installed project ($files files, $bytes bytes):" \
         "first run $(( (t1 - t0) / 1000000 )) ms, second run $(( (t2 - t1) / 1000000 )) ms"
fi
