#!/bin/sh
# Install the Debian packages mamori needs (as root), or say exactly which are
# missing (as anyone else). Used by `make deps`, which `make demo` and
# `make check` run first.
set -eu
PKGS="build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
libsodium-dev libssl-dev libsqlite3-dev sqlite3 libcbor-dev libjansson-dev
libmicrohttpd-dev libcurl4-openssl-dev libinih-dev libcmocka-dev
python3 python3-pytest python3-cbor2 python3-nacl openssl iproute2 util-linux"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "mamori: missing Debian packages:$missing" >&2
    echo "mamori: install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "mamori: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
