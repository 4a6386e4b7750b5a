#!/bin/bash
# Boot storm (a benchmark, not a test): bench/storm/storm.py boots MACHINES
# simulated machines, all starting within SPREAD seconds, through the whole
# chain (PXE DHCP, TFTP, iPXE DHCP, HTTP script, kernel + initrd), against
#   netbootd-server  netbootd as the DHCP server (leases on disk), TFTP, HTTP
#   netbootd-proxy   netbootd as proxyDHCP beside a LAN DHCP server (Kea,
#                    addresses only, on its own host)
#   reference        the stack people build by hand on the same machine:
#                    dnsmasq (DHCP server + TFTP) and nginx (HTTP)
#   reference-kea    the same with Kea answering DHCP, dnsmasq only TFTP
# and prints one Markdown table: booted, failures by step, time from the
# first DISCOVER to hand-off (p50/p95/p99/max), the servers' CPU seconds and
# peak RSS (every process in the server's namespace), bytes, and netbootd's
# p99 as a ratio of the reference's (lower is better).
#
#   bench/storm.sh                                  # $NETBOOTD or ./netbootd
#   MACHINES=1000 SPREAD=10 KERNEL_MB=8 INITRD_MB=60 ARCH=0 STACKS="netbootd-server reference" bench/storm.sh
#   RELOADS=10 bench/storm.sh      # netbootd: a SIGHUP every second during the storm
#
# Network: namespace <tag>-l holds a bridge; the server (<tag>-s, s0
# 198.18.0.1/16), the LAN's router and DHCP server (<tag>-r, 198.18.0.254/16)
# and the clients (<tag>-c, c0 198.18.0.2/16) hang off it by veth pairs. The
# clients' namespace routes the pool 198.18.4.0/22 to itself (AnyIP), so each
# simulated machine sends from the address it leased; the servers route the
# pool via 198.18.0.2.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
NETBOOTD=${NETBOOTD:-$REPO/netbootd}
MACHINES=${MACHINES:-1000}
SPREAD=${SPREAD:-10}
KERNEL_MB=${KERNEL_MB:-8}
INITRD_MB=${INITRD_MB:-60}
ARCH=${ARCH:-0}
STACKS=${STACKS:-"netbootd-server netbootd-proxy reference reference-kea"}
RELOADS=${RELOADS:-0}
PY=/usr/bin/python3

for t in dnsmasq nginx kea-dhcp4 ip; do
	command -v $t >/dev/null || { echo "bench/storm: $t is missing (make deps)" >&2; exit 1; }
done
[ -x "$NETBOOTD" ] || { echo "bench/storm: no netbootd at $NETBOOTD" >&2; exit 1; }
[ "$MACHINES" -le 1000 ] || { echo "bench/storm: at most 1000 machines (the pool is a /22)" >&2; exit 1; }

TAG=nbd-storm-$$
L=$TAG-l S=$TAG-s R=$TAG-r C=$TAG-c
W=$(mktemp -d /tmp/nbd-storm.XXXXXX)
chmod 755 "$W"
SRV_PIDS=()

stop_servers() {
	for p in "${SRV_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SRV_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SRV_PIDS=()
}
cleanup() {
	stop_servers
	for ns in $C $R $S $L; do ip netns del "$ns" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] && echo "bench/storm: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT

for ns in $L $S $R $C; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$L" link add br0 type bridge
ip -n "$L" link set br0 up
plug() { # ns ifname addr
	ip -n "$L" link add "$2-br" type veth peer name "$2" netns "$1"
	ip -n "$L" link set "$2-br" master br0 up
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
}
plug "$S" s0 198.18.0.1/16
plug "$R" r0 198.18.0.254/16
plug "$C" c0 198.18.0.2/16
ip -n "$C" route add local 198.18.4.0/22 dev lo
# The servers reach the whole pool through the clients' address: one
# neighbour entry, not a thousand (the kernel's table holds 1024 in all).
for ns in $S $R; do
	ip -n "$ns" route add 198.18.4.0/22 via 198.18.0.2
done
POOL_FIRST=198.18.4.1 POOL_LAST=198.18.7.254

# The files: a kernel and an initrd of real sizes (random bytes: nothing compresses).
mkdir -p "$W/root" "$W/ref" "$W/state"
head -c $((KERNEL_MB << 20)) /dev/urandom >"$W/root/vmlinuz"
head -c $((INITRD_MB << 20)) /dev/urandom >"$W/root/initrd.img"
cp "$W/root/vmlinuz" "$W/root/initrd.img" /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/snponly.efi "$W/ref/"
printf '#!ipxe\nkernel http://198.18.0.1/vmlinuz initrd=initrd.img console=ttyS0\ninitrd http://198.18.0.1/initrd.img\nboot\n' >"$W/ref/boot.ipxe"
chmod -R a+rX "$W"

cat >"$W/netbootd.conf" <<EOF
[server]
root = $W/root
interface = s0
tftp = 198.18.0.1:69
http = 198.18.0.1:80
server-addr = 198.18.0.1
lease-file = $W/state/netbootd.leases
netmask = 255.255.0.0
log-level = ${NB_LOG_LEVEL:-info}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
EOF

cat >"$W/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 4096; use epoll; }
http {
	access_log $W/nginx-access.log;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	types { text/plain ipxe; }
	default_type application/octet-stream;
	server { listen 198.18.0.1:80; root $W/ref; }
}
EOF

kea_conf() { # iface leasefile log [boot]: Kea with memfile leases; boot adds PXE/iPXE classes
	local classes=
	if [ -n "${4:-}" ]; then
		classes='"client-classes": [
    { "name": "ipxe", "test": "option[77].hex == '"'iPXE'"'",
      "boot-file-name": "http://198.18.0.1/boot.ipxe" },
    { "name": "efi64", "test": "not member('"'ipxe'"') and option[93].hex == 0x0007",
      "next-server": "198.18.0.1", "boot-file-name": "snponly.efi" },
    { "name": "bios", "test": "not member('"'ipxe'"') and option[93].hex == 0x0000",
      "next-server": "198.18.0.1", "boot-file-name": "undionly.kpxe" } ],'
	fi
	cat <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$1" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0, "name": "$2" },
    "valid-lifetime": 3600,
    $classes
    "subnet4": [ { "subnet": "198.18.0.0/16", "pools": [ { "pool": "$POOL_FIRST - $POOL_LAST" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$3" } ] } ] } }
JSON
}

start_kea() { # ns iface [boot]
	kea_conf "$2" "$W/state/kea-$2.leases" "$W/kea-$2.log" "${3:-}" >"$W/kea-$2.json"
	KEA_PIDFILE_DIR=$W/state KEA_LOCKFILE_DIR=$W/state \
		ip netns exec "$1" kea-dhcp4 -c "$W/kea-$2.json" >>"$W/kea-$2.log" 2>&1 &
	SRV_PIDS+=($!)
}

start_stack() { # stack
	rm -rf "$W/state"/*
	case "$1" in
	netbootd-server)
		ip netns exec "$S" "$NETBOOTD" --config "$W/netbootd.conf" --dhcp server \
			--pool $POOL_FIRST-$POOL_LAST >"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		;;
	netbootd-proxy)
		start_kea "$R" r0 # the LAN's own DHCP server: addresses only, no PXE
		ip netns exec "$S" "$NETBOOTD" --config "$W/netbootd.conf" --dhcp proxy \
			>"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		;;
	reference)
		# dnsmasq as a PXE admin would set it up: its TFTP server with room for
		# the storm (--tftp-max; its default of 50 fails one at once), iPXE
		# told apart by its user class.
		ip netns exec "$S" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=s0 \
			--bind-interfaces --except-interface=lo --dhcp-range=$POOL_FIRST,$POOL_LAST,255.255.0.0,1h \
			--dhcp-leasefile="$W/state/dnsmasq.leases" --dhcp-authoritative --no-ping \
			--dhcp-lease-max=4096 --dhcp-userclass=set:ipxe,iPXE \
			--dhcp-match=set:efi64,option:client-arch,7 \
			--dhcp-boot=tag:ipxe,http://198.18.0.1/boot.ipxe \
			--dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi,,198.18.0.1 \
			--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,198.18.0.1 \
			--enable-tftp --tftp-root="$W/ref" --tftp-max=2000 \
			--log-facility=- >"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		ip netns exec "$S" nginx -c "$W/nginx.conf" >>"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		;;
	reference-kea)
		# The same, with Kea answering DHCP (PXE and iPXE by client class) and
		# dnsmasq serving only TFTP: a hand-built stack whose DHCP holds.
		start_kea "$S" s0 boot
		ip netns exec "$S" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=s0 \
			--bind-interfaces --except-interface=lo --enable-tftp --tftp-root="$W/ref" \
			--tftp-max=2000 --log-facility=- >"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		ip netns exec "$S" nginx -c "$W/nginx.conf" >>"$W/server.log" 2>&1 &
		SRV_PIDS+=($!)
		;;
	*)
		echo "bench/storm: unknown stack $1 (netbootd-server netbootd-proxy reference reference-kea)" >&2
		exit 2
		;;
	esac
	sleep 2
	for p in "${SRV_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || { echo "bench/storm: $1 did not start:" >&2; cat "$W/server.log" >&2; exit 1; }
	done
}

ns_cpu_ticks() { # utime+stime of every process in the server's namespace
	local t=0
	for p in $(ip netns pids "$S"); do
		t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)))
	done
	echo $t
}
ns_hwm_kib() { # the sum of each process's peak RSS
	local k=0
	for p in $(ip netns pids "$S"); do
		k=$((k + $(awk '/^VmHWM/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
	done
	echo $k
}

HZ=$(getconf CLK_TCK)
declare -A RESULT CPU RSS MODE_OF
MODE_OF=([netbootd-server]=server [netbootd-proxy]=proxy [reference]=server [reference-kea]=server)
for stack in $STACKS; do
	start_stack "$stack"
	c0=$(ns_cpu_ticks)
	if [ "$RELOADS" -gt 0 ] && [ "${stack#netbootd}" != "$stack" ]; then
		nbpid=${SRV_PIDS[-1]}
		(for i in $(seq "$RELOADS"); do sleep 1; kill -HUP "$nbpid" 2>/dev/null || true; done) &
		HUPPER=$!
	fi
	ip netns exec "$C" $PY "$REPO/bench/storm/storm.py" --machines "$MACHINES" \
		--spread "$SPREAD" --mode "${MODE_OF[$stack]}" --arch "$ARCH" >"$W/$stack.json"
	[ -n "${HUPPER:-}" ] && { wait "$HUPPER" || true; HUPPER=; }
	c1=$(ns_cpu_ticks)
	RESULT[$stack]=$W/$stack.json
	CPU[$stack]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz}')
	RSS[$stack]=$(( $(ns_hwm_kib) / 1024 ))
	if [ "${stack#netbootd}" != "$stack" ]; then
		ip netns exec "$C" curl -sS --max-time 20 http://198.18.0.1/status.txt \
			-o "$W/$stack.status" || true
		grep -c "reload: .* applied" "$W/server.log" >"$W/$stack.reloads" || true
		cp "$W/server.log" "$W/$stack.log"
	fi
	stop_servers
	sleep 1
done

$PY - "$W" "$MACHINES" "$SPREAD" "$KERNEL_MB" "$INITRD_MB" "$ARCH" "$RELOADS" \
	"$(git -C "$REPO" describe --always --dirty 2>/dev/null)" "$(dnsmasq --version | head -1 | cut -d' ' -f3)" \
	"$(nginx -v 2>&1 | cut -d/ -f2)" "$STACKS" "${CPU[*]@K}" "${RSS[*]@K}" <<'EOF'
import json, os, sys
w, n, spread, kmb, imb, arch, reloads, rev, dnsv, ngv, stacks = sys.argv[1:12]
def kv(s):
    t = s.replace('"', '').split()
    return dict(zip(t[0::2], t[1::2]))
cpu, rss = kv(sys.argv[12]), kv(sys.argv[13])
res = {s: json.load(open(f"{w}/{s}.json")) for s in stacks.split()}
print(f"Boot storm: {n} machines starting within {spread} s, arch {arch}, kernel {kmb} MiB + "
      f"initrd {imb} MiB; netbootd {rev}, dnsmasq {dnsv}, nginx {ngv}; "
      f"{os.cpu_count()} CPUs" + (f"; a SIGHUP reload every second, {reloads} in all" if int(reloads) else ""))
print()
print("| stack | booted | failed (by step) | hand-off p50 / p95 / p99 / max s (booted machines) | p99, a failure counted as never | DHCP retransmits / NAKs, TFTP retransmits | server CPU s | server peak RSS MiB | GB moved | simulator CPU s, loop lag max s |")
print("|---|---|---|---|---|---|---|---|---|---|")
def p99_all(r):
    """p99 over every machine, a failed one never handing off: None means never."""
    return r["handoff_s"]["p99_all"]
for s, r in res.items():
    h = r["handoff_s"]
    f = ", ".join(f"{k} {v}" for k, v in r["failures_by_step"].items()) or "-"
    gb = (r["bytes_tftp"] + r["bytes_http"]) / 1e9
    pa = p99_all(r)
    print(f"| {s} | {r['booted']} | {r['failed']} ({f}) | {h['p50']} / {h['p95']} / {h['p99']} / {h['max']} "
          f"| {pa if pa is not None else 'never (over 1 % failed)'} "
          f"| {r['dhcp_retransmits']} / {r['dhcp_naks']}, {r['tftp_retransmits']} | {cpu.get(s)} | {rss.get(s)} "
          f"| {gb:.1f} | {r['simulator_cpu_s']}, {r['simulator_loop_lag_s']['max']} |")
print()
for ref in ("reference", "reference-kea"):
    if ref not in res:
        continue
    for s in res:
        if not s.startswith("netbootd"):
            continue
        a, b = p99_all(res[s]), p99_all(res[ref])
        if a is not None and b is not None:
            print(f"{s} p99 / {ref} p99: {a / b:.2f} (lower is better)")
        elif a is not None:
            print(f"{s} p99 / {ref} p99: {s} {a} s, {ref} never ({res[ref]['failed']} machines failed)")
        else:
            print(f"{s} p99 / {ref} p99: {s} never ({res[s]['failed']} machines failed)")
for s, r in res.items():
    for step, ex in r["failure_examples"].items():
        print(f"{s}, first {step} failure: {ex}")
    p = os.path.join(w, f"{s}.status")
    if os.path.exists(p):
        print(f"{s} /status.txt: {open(p).readline().strip()}")
    p = os.path.join(w, f"{s}.reloads")
    if os.path.exists(p) and int(reloads):
        print(f"{s}: {open(p).read().strip()} reloads applied during the storm")
EOF
