#!/usr/bin/python3
"""The boot-storm simulator (a benchmark, not a test): N machines network-boot
at once the way their firmware does, against whatever DHCP/TFTP/HTTP stack
answers on the link. It runs inside the clients' network namespace;
bench/storm.sh builds the network, starts the servers and reads their CPU.

Every machine has its own MAC and, once leased, its own address (the
namespace routes the pool to itself, `ip route add local POOL dev lo`, so a
socket can be bound to any leased address):

 1. PXE ROM: DHCP DISCOVER (60 PXEClient:Arch:A, 93 A, 97 its UUID, 55),
    broadcast flag set; 4 tries waiting 4, 8, 16, 32 s (PXE 2.1 spec);
    REQUEST the offered address the same way. Proxy mode: the address from
    the LAN server's OFFER, the boot file from the proxy's.
 2. TFTP of that file from the leased address: blksize 1468 or 1432, every
    fourth machine asks windowsize 4, all ask tsize; the RRQ is sent again
    after 1, 2, 4, 8 s, a silent transfer re-ACKed every 1 s, 6 times.
 3. iPXE: DHCP again with user class "iPXE" (waits 1, 2, 4, 8 s); proxy mode
    then a ProxyDHCPREQUEST to port 4011, as iPXE sends.
 4. HTTP: the script the DHCP answer names, then every kernel/initrd URL in
    it on one keep-alive connection; 15 s to connect, 30 s without a byte
    is a failure (iPXE's timeouts).

Hand-off is the last byte of the last file. One JSON document on stdout:
booted, failures by step, time from first DISCOVER to hand-off
(p50/p95/p99/max), retransmissions and bytes.

    storm.py --machines 1000 --spread 10 --mode server|proxy [--arch 0|7|mix]
"""
import argparse
import asyncio
import fcntl
import json
import os
import random
import re
import resource
import socket
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "tools"))
from dhcppkt import build, ip_bytes, parse  # noqa: E402

PXE_DHCP_WAITS = (4, 8, 16, 32)
IPXE_DHCP_WAITS = (1, 2, 4, 8)
DHCP_NAK_RESTARTS = 4
TFTP_RRQ_WAITS = (1, 2, 4, 8)
TFTP_ACK_WAIT, TFTP_ACK_TRIES = 1.0, 6
HTTP_CONNECT_WAIT, HTTP_IDLE_WAIT = 15.0, 30.0
RECV_BUF = 256 << 10
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
DEVNULL = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; Python names it only on some builds


class StepFailed(Exception):
    def __init__(self, step, why):
        super().__init__(f"{step}: {why}")
        self.step = step
        self.why = why


class Stats:
    def __init__(self):
        self.dhcp_retries = 0
        self.dhcp_naks = 0
        self.tftp_retries = 0
        self.bytes_tftp = 0
        self.bytes_http = 0


STATS = Stats()


# ---- DHCP: one socket on port 68 for every machine, replies matched by xid ----

class DhcpLink(asyncio.DatagramProtocol):
    def __init__(self):
        self.waiting = {}  # xid -> asyncio.Queue
        self.transport = None
        self.sock = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        try:
            r = parse(data)
        except Exception:
            return
        if r["op"] != 2:
            return
        q = self.waiting.get(r["xid"])
        if q:
            r["from"] = addr
            q.put_nowait(r)

    def send(self, pkt, dest, src_ip=None):
        if src_ip is None:
            self.transport.sendto(pkt, dest)
            return
        # From the leased address, as the machine would (IP_PKTINFO picks the source).
        info = struct.pack("I4s4s", 0, ip_bytes(src_ip), b"\0" * 4)
        self.sock.sendmsg([pkt], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, dest)


def pxe_options(m, ipxe, msgtype_opts=()):
    arch = m.arch
    opts = list(msgtype_opts)
    opts += [(60, f"PXEClient:Arch:{arch:05d}:UNDI:{'003016' if arch else '002001'}".encode()),
             (93, struct.pack("!H", arch)), (94, bytes([1, 2, 1])), (97, b"\0" + m.uuid),
             (55, bytes([1, 3, 6, 43, 54, 60, 66, 67, 97, 128, 129, 175]))]
    if ipxe:
        opts.append((77, b"iPXE"))
        opts.append((175, bytes([0xb1, 1, 1])))  # iPXE's feature encapsulation (HTTP)
    return opts


def boot_file(r):
    opts = r["options"]
    if "67" in opts:
        return bytes.fromhex(opts["67"]).split(b"\0", 1)[0].decode("latin-1")
    return r["file"]


def is_proxy_offer(r):
    return r["yiaddr"] == "0.0.0.0" and bytes.fromhex(r["options"].get("60", "")).startswith(b"PXEClient")


async def collect(q, wait, want):
    """Replies from q until want(replies) or wait seconds pass."""
    got = []
    deadline = time.monotonic() + wait
    while not want(got):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            got.append(await asyncio.wait_for(q.get(), left))
        except asyncio.TimeoutError:
            break
    return got


async def dhcp_boot(link, m, ipxe, proxy, server_ip):
    """DISCOVER/OFFER/REQUEST/ACK; returns (leased address, boot file, file server)."""
    waits = IPXE_DHCP_WAITS if ipxe else PXE_DHCP_WAITS
    stage = "ipxe-dhcp" if ipxe else "pxe-dhcp"
    def offers_done(got):
        lan = [r for r in got if r["type"] == "OFFER" and r["yiaddr"] != "0.0.0.0"]
        prx = [r for r in got if r["type"] == "OFFER" and is_proxy_offer(r)]
        return bool(lan) and (bool(prx) or not proxy)

    for _ in range(DHCP_NAK_RESTARTS):
        xid = random.getrandbits(32)  # a new transaction each time, as after a NAK
        q = link.waiting[xid] = asyncio.Queue()
        try:
            done = await dora(link, m, q, xid, ipxe, proxy, waits, stage, offers_done)
            if done:
                ip, ack, prx = done
                src = prx if proxy else ack
                if proxy and ipxe:
                    src = await proxy_request(link, m, q, xid, ip, prx) or prx
                break
        finally:
            del link.waiting[xid]
        STATS.dhcp_naks += 1  # the firmware starts again with a DISCOVER
    else:
        raise StepFailed(stage + "-request", f"NAK {DHCP_NAK_RESTARTS} times")
    name = boot_file(src)
    if not name:
        raise StepFailed(stage + "-request", "no boot file")
    return ip, name, src["siaddr"] if src["siaddr"] != "0.0.0.0" else server_ip


async def dora(link, m, q, xid, ipxe, proxy, waits, stage, offers_done):
    """One DISCOVER..ACK; (address, ACK, proxy OFFER), or None after a NAK."""
    got = []
    for i, wait in enumerate(waits):
        if i:
            STATS.dhcp_retries += 1
        link.send(build("discover", m.mac, xid, pxe_options(m, ipxe), flags=0x8000),
                  ("255.255.255.255", 67))
        got += await collect(q, wait, lambda g: offers_done(got + g))
        if offers_done(got):
            break
    else:
        raise StepFailed(stage + "-discover", "no " + ("proxy " if proxy else "") + "OFFER")
    lan = next(r for r in got if r["type"] == "OFFER" and r["yiaddr"] != "0.0.0.0")
    prx = next((r for r in got if r["type"] == "OFFER" and is_proxy_offer(r)), None)
    ip = lan["yiaddr"]
    sid = bytes.fromhex(lan["options"]["54"])
    req = pxe_options(m, ipxe, [(50, ip_bytes(ip)), (54, sid)])
    for i, wait in enumerate(waits):
        if i:
            STATS.dhcp_retries += 1
        link.send(build("request", m.mac, xid, req, flags=0x8000), ("255.255.255.255", 67))
        # The address's ACK (a proxy also ACKs a broadcast REQUEST, with no address).
        def lan_ack(r):
            return r["type"] == "NAK" or (r["type"] == "ACK" and r["yiaddr"] == ip)
        acks = await collect(q, wait, lambda g: any(lan_ack(r) for r in g))
        ack = next((r for r in acks if lan_ack(r)), None)
        if ack:
            break
    else:
        raise StepFailed(stage + "-request", "no ACK")
    if ack["type"] == "NAK":
        return None
    return ip, ack, prx


async def proxy_request(link, m, q, xid, ip, offer):
    """iPXE's ProxyDHCPREQUEST to port 4011 after the LAN server's ACK."""
    server = socket.inet_ntoa(bytes.fromhex(offer["options"].get("54", "")) or b"\0\0\0\0")
    if server == "0.0.0.0":
        return None
    req = build("request", m.mac, xid, pxe_options(m, True), ciaddr=ip)
    for i, wait in enumerate(IPXE_DHCP_WAITS):
        if i:
            STATS.dhcp_retries += 1
        link.send(req, (server, 4011), src_ip=ip)
        def boot_ack(r):  # from the boot server's port, not a late ACK to the broadcast
            return r["type"] == "ACK" and r["from"][1] == 4011
        got = await collect(q, wait, lambda g: any(boot_ack(r) for r in g))
        ack = next((r for r in got if boot_ack(r)), None)
        if ack:
            return ack
    raise StepFailed("ipxe-proxy-request", "no ACK from port 4011")


# ---- TFTP, from the machine's own address ------------------------------------

async def recv_from(loop, sock, wait):
    return await asyncio.wait_for(loop.sock_recvfrom(sock, 65536), wait)


def oack_options(data):
    parts = data[2:].split(b"\0")
    return {parts[i].decode().lower(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2)}


async def tftp_get(m, ip, server, name):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind((ip, 0))
    try:
        opts = [b"blksize", str(m.blksize).encode(), b"tsize", b"0"]
        if m.window > 1:
            opts += [b"windowsize", str(m.window).encode()]
        rrq = b"\0\1" + name.encode() + b"\0octet\0" + b"\0".join(opts) + b"\0"
        first = None
        for i, wait in enumerate(TFTP_RRQ_WAITS):
            if i:
                STATS.tftp_retries += 1
            await loop.sock_sendto(sock, rrq, (server, 69))
            try:
                first = await recv_from(loop, sock, wait)
                break
            except asyncio.TimeoutError:
                continue
        if first is None:
            raise StepFailed("tftp", f"no answer to the RRQ for {name}")
        return await tftp_receive(loop, sock, m, first)
    finally:
        sock.close()


async def tftp_receive(loop, sock, m, first):
    data, peer = first
    blksize, window, tsize = 512, 1, None
    if data[:2] == b"\0\5":
        raise StepFailed("tftp", "ERROR " + data[4:].split(b"\0", 1)[0].decode("latin-1"))
    if data[:2] == b"\0\6":
        o = oack_options(data)
        blksize = int(o.get("blksize", 512))
        window = int(o.get("windowsize", 1))
        tsize = int(o["tsize"]) if "tsize" in o else None
        await loop.sock_sendto(sock, b"\0\4\0\0", peer)
        pkt = None
    else:
        pkt = data
    expect, got, since_ack, tries = 1, 0, 0, 0
    last_ack = b"\0\4\0\0"
    while True:
        if pkt is None:
            try:
                pkt, src = await recv_from(loop, sock, TFTP_ACK_WAIT)
            except asyncio.TimeoutError:
                tries += 1
                STATS.tftp_retries += 1
                if tries > TFTP_ACK_TRIES:
                    raise StepFailed("tftp", f"stalled at block {expect}")
                await loop.sock_sendto(sock, last_ack, peer)
                continue
            if src != peer:
                continue
        op, blk = struct.unpack("!HH", pkt[:4])
        if op == 5:
            raise StepFailed("tftp", "ERROR " + pkt[4:].split(b"\0", 1)[0].decode("latin-1"))
        if op != 3:
            pkt = None
            continue
        if blk != expect & 0xFFFF:
            # A gap or a repeat: say where we are, the server resends from there.
            await loop.sock_sendto(sock, last_ack, peer)
            since_ack = 0
            pkt = None
            continue
        tries = 0
        n = len(pkt) - 4
        got += n
        since_ack += 1
        last = n < blksize
        if last or since_ack >= window:
            last_ack = struct.pack("!HH", 4, blk)
            await loop.sock_sendto(sock, last_ack, peer)
            since_ack = 0
        expect += 1
        pkt = None
        if last:
            break
    if tsize is not None and got != tsize:
        raise StepFailed("tftp", f"{got} bytes, tsize said {tsize}")
    STATS.bytes_tftp += got
    return got


# ---- HTTP, one keep-alive connection per server, iPXE's timeouts ---------------

URL = re.compile(r"^http://([^/:]+)(?::(\d+))?(/\S*)$")


class Http:
    def __init__(self, ip):
        self.ip = ip
        self.conns = {}
        self.buf = bytearray(RECV_BUF)
        self.pipe_r, self.pipe_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.fcntl(self.pipe_w, F_SETPIPE_SZ, 1 << 20)

    async def conn(self, host, port):
        loop = asyncio.get_running_loop()
        s = self.conns.get((host, port))
        if s:
            return s
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((self.ip, 0))
        try:
            await asyncio.wait_for(loop.sock_connect(s, (host, port)), HTTP_CONNECT_WAIT)
        except (OSError, asyncio.TimeoutError) as e:
            s.close()
            raise StepFailed("http-connect", f"{host}:{port}: {e or 'timeout'}")
        self.conns[(host, port)] = s
        return s

    def close(self):
        for s in self.conns.values():
            s.close()
        os.close(self.pipe_r)
        os.close(self.pipe_w)

    async def get(self, url, step, keep=False):
        """GET url; the body when keep, else its length."""
        m = URL.match(url)
        if not m:
            raise StepFailed(step, f"not an http:// URL: {url}")
        host, port, path = m.group(1), int(m.group(2) or 80), m.group(3)
        loop = asyncio.get_running_loop()
        s = await self.conn(host, port)
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: iPXE/1.21.1\r\n"
               "Connection: keep-alive\r\n\r\n").encode()
        try:
            await asyncio.wait_for(loop.sock_sendall(s, req), HTTP_IDLE_WAIT)
            head = b""
            while b"\r\n\r\n" not in head:
                n = await asyncio.wait_for(loop.sock_recv_into(s, self.buf), HTTP_IDLE_WAIT)
                if n == 0:
                    raise StepFailed(step, "connection closed before the headers")
                head += bytes(self.buf[:n])
            head, rest = head.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            if status != 200:
                raise StepFailed(step, f"{path}: HTTP {status}")
            length = next((int(h.split(":", 1)[1]) for h in lines[1:]
                           if h.lower().startswith("content-length:")), None)
            if length is None:
                raise StepFailed(step, f"{path}: no Content-Length")
            body = bytearray(rest) if keep else None
            got = len(rest)
            while got < length and keep:
                n = await asyncio.wait_for(loop.sock_recv_into(s, self.buf), HTTP_IDLE_WAIT)
                if n == 0:
                    raise StepFailed(step, f"{path}: closed after {got} of {length} bytes")
                body += self.buf[:n]
                got += n
            if got < length:
                got += await self.drain(s, length - got, step, path)
        except asyncio.TimeoutError:
            raise StepFailed(step, f"{path}: {HTTP_IDLE_WAIT:.0f} s without a byte")
        except OSError as e:
            raise StepFailed(step, f"{path}: {e}")
        STATS.bytes_http += got
        return bytes(body) if keep else got


    async def drain(self, s, left, step, path):
        """Throw away left bytes of body without copying them into Python:
        splice(2) socket -> pipe -> /dev/null, so the simulator's one core
        goes to the machines' protocol work, not to memcpy."""
        loop = asyncio.get_running_loop()
        fd, got = s.fileno(), 0
        while got < left:
            try:
                n = os.splice(fd, self.pipe_w, min(left - got, 1 << 20),
                              flags=os.SPLICE_F_NONBLOCK | os.SPLICE_F_MOVE)
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
                try:
                    await asyncio.wait_for(ready, HTTP_IDLE_WAIT)
                finally:
                    loop.remove_reader(fd)
                continue
            if n == 0:
                raise StepFailed(step, f"{path}: closed after {left - got} bytes were missing")
            got += n
            while n:
                n -= os.splice(self.pipe_r, DEVNULL, n, flags=os.SPLICE_F_MOVE)
        return got


def script_urls(text):
    """The files an iPXE script fetches (kernel, initrd, imgfetch, module)."""
    urls = []
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in ("kernel", "initrd", "imgfetch", "module", "chain"):
            urls += [w for w in words[1:] if w.startswith("http://")][:1]
    return urls


# ---- one machine -----------------------------------------------------------------

class Machine:
    def __init__(self, i, arch):
        self.mac = "02:5b:%02x:%02x:%02x:%02x" % (os.getpid() & 0xFF, (i >> 16) & 0xFF,
                                                  (i >> 8) & 0xFF, i & 0xFF)
        self.uuid = random.randbytes(16)
        self.arch = arch
        self.blksize = 1432 if i % 2 else 1468
        self.window = 4 if i % 4 == 3 else 1
        self.start = self.end = None
        self.failed = None
        self.steps = {}


async def boot(link, m, a, delay):
    await asyncio.sleep(delay)
    m.start = time.monotonic()
    step_t = m.start
    http = None

    def mark(name):
        nonlocal step_t
        now = time.monotonic()
        m.steps[name] = now - step_t
        step_t = now

    try:
        ip, name, server = await dhcp_boot(link, m, False, a.mode == "proxy", a.server)
        mark("pxe-dhcp")
        await tftp_get(m, ip, server, name)
        mark("tftp")
        ip, script_url, _ = await dhcp_boot(link, m, True, a.mode == "proxy", a.server)
        mark("ipxe-dhcp")
        http = Http(ip)
        text = (await http.get(script_url, "http-script", keep=True)).decode("latin-1")
        urls = script_urls(text)
        if not urls:
            raise StepFailed("http-script", "no kernel/initrd in the script")
        mark("http-script")
        for u in urls:
            await http.get(u, "http-files")
        mark("http-files")
        m.end = time.monotonic()
    except StepFailed as e:
        m.failed = e
    except Exception as e:  # a bug here, not the server's: say so, count it
        m.failed = StepFailed("simulator", repr(e))
    finally:
        if http:
            http.close()


async def loop_lag(out, every=0.1):
    """How late the simulator's loop wakes from a 100 ms sleep, every 100 ms."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(every)
        out.append(time.monotonic() - t - every)


def pct_all(times, failed, p):
    v = pct(times + [float("inf")] * failed, p)
    return None if v is None or v == float("inf") else v


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    x = v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
    return x if x == float("inf") else round(x, 3)


async def main_async(a):
    loop = asyncio.get_running_loop()
    # Up to four descriptors a machine (DHCP is shared; TFTP, HTTP, a pipe).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    sock.bind(("0.0.0.0", 68))
    _, link = await loop.create_datagram_endpoint(DhcpLink, sock=sock)
    link.sock = sock  # the transport's wrapper has no sendmsg (IP_PKTINFO)
    archs = {"0": [0], "7": [7], "mix": [0, 7]}[a.arch]
    machines = [Machine(i, archs[i % len(archs)]) for i in range(a.machines)]
    rnd = random.Random(a.seed)
    t0 = time.monotonic()
    lags = []
    lag_task = asyncio.ensure_future(loop_lag(lags))
    await asyncio.gather(*(boot(link, m, a, rnd.uniform(0, a.spread)) for m in machines))
    wall = time.monotonic() - t0
    lag_task.cancel()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ok = [m for m in machines if not m.failed]
    times = [m.end - m.start for m in ok]
    fails = {}
    examples = {}
    for m in machines:
        if m.failed:
            fails[m.failed.step] = fails.get(m.failed.step, 0) + 1
            examples.setdefault(m.failed.step, f"{m.mac}: {m.failed.why}")
    step_p99 = {}
    for s in ("pxe-dhcp", "tftp", "ipxe-dhcp", "http-script", "http-files"):
        step_p99[s] = pct([m.steps[s] for m in machines if s in m.steps], 99)
    return {
        "mode": a.mode, "arch": a.arch, "machines": a.machines, "spread_s": a.spread,
        "booted": len(ok), "failed": a.machines - len(ok), "failures_by_step": fails,
        "failure_examples": examples,
        "handoff_s": {"p50": pct(times, 50), "p95": pct(times, 95), "p99": pct(times, 99),
                      "max": round(max(times), 3) if times else None,
                      # Over every machine, a failed one never handing off (None: never).
                      "p99_all": pct_all(times, a.machines - len(ok), 99)},
        "step_p99_s": step_p99, "wall_s": round(wall, 3),
        "dhcp_retransmits": STATS.dhcp_retries, "dhcp_naks": STATS.dhcp_naks, "tftp_retransmits": STATS.tftp_retries,
        "bytes_tftp": STATS.bytes_tftp, "bytes_http": STATS.bytes_http,
        # The simulator's own health: if its loop is late, its timeouts are too.
        "simulator_cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
        "simulator_loop_lag_s": {"p99": pct(lags, 99), "max": round(max(lags), 3) if lags else None},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machines", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=10.0, help="machines start within this many s")
    ap.add_argument("--mode", choices=("server", "proxy"), default="server")
    ap.add_argument("--arch", choices=("0", "7", "mix"), default="0",
                    help="option 93: 0 BIOS, 7 UEFI x64, mix: alternate")
    ap.add_argument("--server", default="198.18.0.1", help="the boot server, when DHCP names none")
    ap.add_argument("--iface", default="c0")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    json.dump(asyncio.run(main_async(a)), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
