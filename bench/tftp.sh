#!/bin/sh
# TFTP benchmark: netbootd vs tftp-hpa vs dnsmasq (see docs/benchmarks.md).
#   bench/tftp.sh            full run (100 MiB files, 200 and 1000 concurrent)
#   bench/tftp.sh --quick    smoke run
# Needs root (a private network namespace), tftpd-hpa and dnsmasq-base.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
# NETBOOTD / TFTPC: use these binaries instead of building them.
if [ -z "${NETBOOTD:-}" ] || [ -z "${TFTPC:-}" ]; then
	make -s B="$B" "$B/netbootd" "$B/tests/tools/tftpc" >/dev/null
fi
NETBOOTD=${NETBOOTD:-$PWD/$B/netbootd}
TFTPC=${TFTPC:-$PWD/$B/tests/tools/tftpc}
ulimit -n 65536 2>/dev/null || true
exec /usr/bin/python3 bench/tftp_bench.py --netbootd "$NETBOOTD" --tftpc "$TFTPC" "$@"
