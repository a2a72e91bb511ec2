#!/bin/sh
# Install what `make bench` needs and a fresh Debian 12 lacks: the tools it
# measures against (torsocks, proxychains4), the measuring tools (valgrind,
# strace) and gnuplot for the plot. Idempotent: does nothing when all are
# present. Needs root when it must install.
set -e
need=""
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || need="$need python3"
have valgrind || need="$need valgrind"
have strace || need="$need strace"
have torsocks || need="$need torsocks"
have proxychains4 || need="$need proxychains4"
have gnuplot || need="$need gnuplot-nox"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "make bench needs these packages:$need (run as root, or install them)" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
