#!/bin/bash
# HTTP(S) benchmark: netbootd beside nginx (sendfile on, one worker, same
# files, same certificate), in one run, on loopback. Not a test: it prints
# a Markdown table of figures and netbootd/nginx ratios.
#
#   bench/http.sh                 # uses $NETBOOTD or ./netbootd
#   RUNS=5 BIG_RUNS=15 BIG_MB=1024 bench/http.sh
#
# Rows: one 1 GiB file over one connection (HTTP, then HTTPS), wrk -c100 on
# a 1 MiB file, and the peak RSS of the server holding 1000 idle connections.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
NETBOOTD=${NETBOOTD:-$REPO/netbootd}
RUNS=${RUNS:-5}          # wrk rounds (10 s each per server)
BIG_RUNS=${BIG_RUNS:-15} # single-connection rounds: cheap, and the noisiest rows
BIG_MB=${BIG_MB:-1024}
WRK_SECONDS=${WRK_SECONDS:-10}
IDLE=${IDLE:-1000}
NB_PORT=${NB_PORT:-18480}
NB_TLS_PORT=$((NB_PORT + 1))
NG_PORT=$((NB_PORT + 2))
NG_TLS_PORT=$((NB_PORT + 3))
PY=/usr/bin/python3

for t in nginx wrk curl openssl; do
	command -v $t >/dev/null || { echo "bench/http: $t is missing (make deps)" >&2; exit 1; }
done
[ -x "$NETBOOTD" ] || { echo "bench/http: no netbootd at $NETBOOTD" >&2; exit 1; }
ulimit -n 8192

W=$(mktemp -d /tmp/nbd-bench-http.XXXXXX)
chmod 755 "$W"
NB_PID= NG_PID=
cleanup() {
	[ -n "$NB_PID" ] && kill "$NB_PID" 2>/dev/null || true
	[ -n "$NG_PID" ] && kill "$NG_PID" 2>/dev/null || true
	sleep 0.3
	rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/root" "$W/ng/logs"
echo "preparing ${BIG_MB} MiB and 1 MiB files in $W/root" >&2
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom > "$W/root/big.img"
head -c $((1024 * 1024)) /dev/urandom > "$W/root/1m.bin"
chmod 644 "$W/root"/*
cat "$W/root/big.img" > /dev/null   # both servers read from the page cache

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
chmod 644 "$W/key.pem" "$W/cert.pem"

cat > "$W/ng/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $W/ng/nginx.pid;
error_log $W/ng/logs/error.log warn;
events { worker_connections 4096; use epoll; }
http {
	access_log $W/ng/logs/access.log;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	client_header_timeout 120s;
	default_type application/octet-stream;
	client_body_temp_path $W/ng/tmp;
	proxy_temp_path $W/ng/tmp;
	fastcgi_temp_path $W/ng/tmp;
	uwsgi_temp_path $W/ng/tmp;
	scgi_temp_path $W/ng/tmp;
	server {
		listen 127.0.0.1:$NG_PORT;
		listen 127.0.0.1:$NG_TLS_PORT ssl;
		ssl_certificate $W/cert.pem;
		ssl_certificate_key $W/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $W/root;
	}
}
EOF
mkdir -p "$W/ng/tmp"

nginx -p "$W/ng" -c "$W/ng/nginx.conf" &
NG_PID=$!
"$NETBOOTD" --root "$W/root" --http 127.0.0.1:$NB_PORT --https 127.0.0.1:$NB_TLS_PORT \
	--tls-cert "$W/cert.pem" --tls-key "$W/key.pem" --tftp off --dhcp off \
	--http-idle-timeout 120 --http-max-connections 8192 > "$W/netbootd.log" 2>&1 &
NB_PID=$!
for i in $(seq 50); do
	curl -sf -o /dev/null http://127.0.0.1:$NB_PORT/1m.bin && curl -sf -o /dev/null http://127.0.0.1:$NG_PORT/1m.bin && break
	sleep 0.1
done

# CPU time (user + system clock ticks) of the given pids.
ticks() {
	local total=0 t
	for p in "$@"; do
		t=$(awk '{print $14 + $15}' /proc/$p/stat)
		total=$((total + t))
	done
	echo $total
}
HZ=$(getconf CLK_TCK)

# One download of the big file: "MB/s server-CPU-s-per-GiB client-CPU-s-per-GiB".
# The client's CPU says who set the pace: curl at ~1 CPU s per second of
# transfer is the bottleneck, whatever the server does.
one_conn() {
	local url=$1 s a b; shift
	a=$(ticks "$@")
	s=$(/usr/bin/time -f '%U %S' -o "$W/client.time" curl -sk -o /dev/null -w '%{speed_download}' "$url")
	b=$(ticks "$@")
	$PY -c "
u, k = map(float, open('$W/client.time').read().split()[-2:])
gib = $BIG_MB / 1024
print(f'{$s / 1e6:.0f} {($b - $a) / $HZ / gib:.2f} {(u + k) / gib:.2f}')"
}

# wrk: "requests/s server-CPU-ms-per-request".
wrk_rps() {
	local url=$1 r a b; shift
	a=$(ticks "$@")
	r=$(wrk -t2 -c100 -d${WRK_SECONDS}s "$url" | awk '/Requests\/sec/ {print $2}')
	b=$(ticks "$@")
	$PY -c "print(f'{$r:.0f} {($b - $a) / $HZ * 1000 / ($r * $WRK_SECONDS):.3f}')"
}

# RUNS rounds, each measuring netbootd then nginx back to back, so a busy
# neighbour hits both alike; rows give each server's best (or least) figure
# and the median of the per-round ratios, which drifts least with the load.
# Usage: rounds N FUNC NB_URL NG_URL; sets NB_ROWS and NG_ROWS (one line per round).
rounds() {
	local n=$1 fn=$2 nb_url=$3 ng_url=$4
	NB_ROWS= NG_ROWS=
	for _ in $(seq "$n"); do
		NB_ROWS+="$($fn "$nb_url" "$NB_PID")"$'\n'
		NG_ROWS+="$($fn "$ng_url" "$NG_PID" "$NG_WORKER")"$'\n'
	done
}

# summary COLUMN best|least: "netbootd nginx median-ratio" over the rounds.
summary() {
	$PY - "$1" "$2" "$NB_ROWS" "$NG_ROWS" <<'EOF'
import statistics, sys
col, how = int(sys.argv[1]), sys.argv[2]
nb = [float(l.split()[col]) for l in sys.argv[3].split("\n") if l.strip()]
ng = [float(l.split()[col]) for l in sys.argv[4].split("\n") if l.strip()]
pick = max if how == "best" else min
fmt = (lambda v: f"{v:.0f}") if how == "best" else (lambda v: f"{v:.3g}")
ratios = [a / b for a, b in zip(nb, ng) if b]
print(fmt(pick(nb)), fmt(pick(ng)), f"{statistics.median(ratios):.2f}" if ratios else "-")
EOF
}

# Open IDLE connections, one small request on each, then hold them idle
# (in the background) until the caller has measured; sets HOLD_PID.
hold_idle() {
	local port=$1 ready=$W/idle-ready
	rm -f "$ready"
	$PY - "$port" "$IDLE" "$ready" <<'EOF' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    s.sendall(b"GET /1m.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n\r\n")
for s in socks:
    got = b""
    while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 100:
        got += s.recv(4096)
time.sleep(1)
open(ready, "w").close()
time.sleep(3)
EOF
	HOLD_PID=$!
	while [ ! -e "$ready" ]; do
		kill -0 "$HOLD_PID" 2>/dev/null || { echo "idle client failed" >&2; exit 1; }
		sleep 0.1
	done
}
hwm() {
	local total=0 k
	for p in "$@"; do
		k=$(awk '/VmHWM/ {print $2}' /proc/$p/status)
		total=$((total + k))
	done
	echo $total
}
rss() {
	local total=0 k
	for p in "$@"; do
		k=$(awk '/VmRSS/ {print $2}' /proc/$p/status)
		total=$((total + k))
	done
	echo $total
}

ratio() { $PY -c "print(f'{$1 / $2:.2f}' if $2 else '-')"; }

# Idle connections first, so the peak (VmHWM) is theirs and not a transfer's.
echo "$IDLE idle connections..." >&2
NG_WORKER=$(pgrep -P "$NG_PID" | head -1)
nb_rss0=$(rss "$NB_PID"); ng_rss0=$(rss "$NG_PID" "$NG_WORKER")
hold_idle $NB_PORT; nb_idle=$(rss "$NB_PID"); nb_hwm=$(hwm "$NB_PID"); wait "$HOLD_PID"
hold_idle $NG_PORT; ng_idle=$(rss "$NG_PID" "$NG_WORKER"); ng_hwm=$(hwm "$NG_PID" "$NG_WORKER"); wait "$HOLD_PID"

echo "1 GiB over one HTTP connection, $BIG_RUNS rounds..." >&2
rounds "$BIG_RUNS" one_conn http://127.0.0.1:$NB_PORT/big.img http://127.0.0.1:$NG_PORT/big.img
big=$(summary 0 best); big_cpu=$(summary 1 least); big_client=$(summary 2 least)
echo "1 GiB over one HTTPS connection, $BIG_RUNS rounds..." >&2
rounds "$BIG_RUNS" one_conn https://127.0.0.1:$NB_TLS_PORT/big.img https://127.0.0.1:$NG_TLS_PORT/big.img
tls=$(summary 0 best); tls_cpu=$(summary 1 least); tls_client=$(summary 2 least)
echo "wrk -c100 on 1 MiB, $RUNS rounds..." >&2
rounds "$RUNS" wrk_rps http://127.0.0.1:$NB_PORT/1m.bin http://127.0.0.1:$NG_PORT/1m.bin
wrk=$(summary 0 best); wrk_cpu=$(summary 1 least)
# row TITLE "netbootd nginx ratio"
row() { set -- "$1" $2; echo "| $1 | $2 | $3 | $4 |"; }

cat <<EOF

$(date -u +%F), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); netbootd $(git -C "$REPO" describe --always --dirty 2>/dev/null), $(nginx -v 2>&1 | cut -d' ' -f3)

| row | netbootd | nginx | netbootd / nginx (median of the rounds' ratios) |
|---|---|---|---|
$(row "${BIG_MB} MiB, one HTTP connection: MB/s (best of $BIG_RUNS)" "$big")
$(row "same: server CPU s per GiB (least of $BIG_RUNS; lower is better)" "$big_cpu")
$(row "same: the client's (curl) CPU s per GiB (least of $BIG_RUNS)" "$big_client")
$(row "${BIG_MB} MiB, one HTTPS connection: MB/s (best of $BIG_RUNS)" "$tls")
$(row "same: server CPU s per GiB (least of $BIG_RUNS; lower is better)" "$tls_cpu")
$(row "same: the client's (curl) CPU s per GiB (least of $BIG_RUNS)" "$tls_client")
$(row "wrk -t2 -c100 ${WRK_SECONDS}s on a 1 MiB file: requests/s (best of $RUNS)" "$wrk")
$(row "same: server CPU ms per request (least of $RUNS; lower is better)" "$wrk_cpu")
| $IDLE idle keep-alive connections: peak RSS KiB (nginx: master + worker; lower is better) | $nb_hwm (before: $nb_rss0) | $ng_hwm (before: $ng_rss0) | $(ratio "$nb_hwm" "$ng_hwm") |
EOF
