#!/bin/sh
# Install what `make check` needs and a fresh Debian 12 lacks. Idempotent:
# does nothing when every tool is present. Needs root when it must install.
set -e
need=""
have() { command -v "$1" >/dev/null 2>&1; }
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
have cc || need="$need gcc"
have make || need="$need make"
have python3 || need="$need python3"
have curl || need="$need curl"
have tor || need="$need tor"
have postconf || need="$need postfix"
have swaks || need="$need swaks"
have unshare || need="$need util-linux"
have ip || need="$need iproute2"
have mandoc || need="$need mandoc"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "make check needs these packages:$need (run as root, or install them)" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests run their own instances.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
