#!/usr/bin/python3
"""Craft DHCP requests by hand and collect the replies (tests only).

As a library: build(), parse(). As a command, run inside a network namespace:

    dhcppkt.py --iface c0 --type discover --mac 52:54:00:00:00:01 \
        --opt 60=PXEClient:Arch:00007:UNDI:003016 --opt 93=hex:0007 [--dest IP] \
        [--port 67] [--bind IP:PORT] [--giaddr IP] [--ciaddr IP] [--timeout 2]

prints one JSON object per reply received within the timeout.
"""
import argparse
import json
import random
import socket
import struct
import sys
import time

COOKIE = bytes([99, 130, 83, 99])
TYPES = {"discover": 1, "offer": 2, "request": 3, "decline": 4, "ack": 5, "nak": 6,
         "release": 7, "inform": 8}
TYPE_NAMES = {v: k.upper() for k, v in TYPES.items()}


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.replace("-", ":").split(":"))


def ip_bytes(ip):
    return socket.inet_aton(ip or "0.0.0.0")


def build(msgtype, mac, xid=None, opts=(), ciaddr=None, giaddr=None, flags=0, op=1,
          htype=1, hlen=6, file=b"", sname=b"", raw_options=None, end=True):
    """A BOOTREQUEST; opts is a list of (code, bytes) in order (53 first automatically)."""
    if xid is None:
        xid = random.getrandbits(32)
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, htype, hlen, 0, xid, 0, flags,
                      ip_bytes(ciaddr), ip_bytes(None), ip_bytes(None), ip_bytes(giaddr),
                      mac_bytes(mac).ljust(16, b"\0"), sname.ljust(64, b"\0"),
                      file.ljust(128, b"\0"))
    body = COOKIE
    if raw_options is not None:
        body += raw_options
    else:
        if msgtype:
            body += bytes([53, 1, TYPES[msgtype] if isinstance(msgtype, str) else msgtype])
        for code, val in opts:
            body += bytes([code, len(val)]) + val
        if end:
            body += b"\xff"
    pkt = hdr + body
    return pkt.ljust(300, b"\0") if end and raw_options is None else pkt


def parse_options(data, out):
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            break
        ln = data[i + 1]
        out.setdefault(code, data[i + 2:i + 2 + ln])
        i += 2 + ln


def parse(pkt):
    """A reply as a dict with header fields and options {code: bytes}."""
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file) = struct.unpack("!BBBBIHH4s4s4s4s16s64s128s", pkt[:236])
    assert pkt[236:240] == COOKIE, "bad cookie"
    opts = {}
    parse_options(pkt[240:], opts)
    return {
        "op": op, "xid": xid, "flags": flags,
        "ciaddr": socket.inet_ntoa(ciaddr), "yiaddr": socket.inet_ntoa(yiaddr),
        "siaddr": socket.inet_ntoa(siaddr), "giaddr": socket.inet_ntoa(giaddr),
        "chaddr": ":".join(f"{b:02x}" for b in chaddr[:hlen]),
        "file": file.split(b"\0", 1)[0].decode("latin-1"),
        "type": TYPE_NAMES.get(opts.get(53, b"\0")[0], "?"),
        "options": {str(k): v.hex() for k, v in opts.items()},
        "len": len(pkt),
    }


def opt_value(text):
    if text.startswith("hex:"):
        return bytes.fromhex(text[4:])
    if text.startswith("ip:"):
        return socket.inet_aton(text[3:])
    return text.encode()


def _socket(iface, bind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if iface:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    host, _, port = bind.rpartition(":")
    s.bind((host, int(port)))
    return s


def churn(a):
    """DORA for many MACs, a window of them in flight; each ACK is written (and
    flushed) to a.out as "mac ip" the moment it arrives. Runs a.duration seconds,
    whatever the server does meanwhile (it may be killed)."""
    s = _socket(a.iface, a.bind)
    s.setblocking(False)
    out = open(a.out, "a")
    prefix = a.mac_prefix
    state = {}   # xid -> (mac, stage, sent_at)
    next_mac = 0
    acked = 0
    deadline = time.monotonic() + a.duration

    def mac_of(i):
        return f"{prefix}:{(i >> 8) & 255:02x}:{i & 255:02x}"

    def send(mac, xid, typ, opts):
        try:
            s.sendto(build(typ, mac, xid, opts, giaddr=a.giaddr, flags=0x8000),
                     (a.dest, a.port))
        except OSError:
            pass
    while time.monotonic() < deadline:
        now = time.monotonic()
        for xid in [x for x, v in state.items() if now - v[2] > 1.0]:
            del state[xid]   # lost (server down?): move on to new MACs
        while len(state) < a.window and next_mac < a.clients:
            mac = mac_of(next_mac)
            next_mac += 1
            xid = random.getrandbits(32)
            state[xid] = (mac, "discover", now)
            send(mac, xid, "discover", [])
        if next_mac >= a.clients and not state:
            break
        try:
            data, _ = s.recvfrom(4096)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        try:
            r = parse(data)
        except Exception:
            continue
        v = state.get(r["xid"])
        if not v or r["chaddr"] != v[0]:
            continue
        mac = v[0]
        if r["type"] == "OFFER" and v[1] == "discover":
            state[r["xid"]] = (mac, "request", time.monotonic())
            send(mac, r["xid"], "request", [(54, bytes.fromhex(r["options"]["54"])),
                                            (50, socket.inet_aton(r["yiaddr"]))])
        elif r["type"] == "ACK" and v[1] == "request":
            out.write(f"{mac} {r['yiaddr']}\n")
            out.flush()
            acked += 1
            del state[r["xid"]]
        elif r["type"] == "NAK":
            del state[r["xid"]]
    out.close()
    print(json.dumps({"acked": acked, "started": next_mac}))
    return 0


def verify(a):
    """For every "mac ip" line of a.verify: an INIT-REBOOT REQUEST must get an
    ACK for that same ip. Prints {"ok": n, "bad": [...]}."""
    pairs = [line.split() for line in open(a.verify) if line.strip()]
    s = _socket(a.iface, a.bind)
    s.settimeout(0.2)
    pending = {}
    for mac, ip in pairs:
        pending[random.getrandbits(32)] = (mac, ip, 0)
    results = {}
    for attempt in range(5):
        todo = [(x, v) for x, v in pending.items() if x not in results]
        if not todo:
            break
        for i, (xid, (mac, ip, _)) in enumerate(todo):
            s.sendto(build("request", mac, xid, [(50, socket.inet_aton(ip))], giaddr=a.giaddr,
                           flags=0x8000), (a.dest, a.port))
            if i % 32 == 31:
                time.sleep(0.002)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                data, _ = s.recvfrom(4096)
            except socket.timeout:
                continue
            r = parse(data)
            if r["xid"] in pending:
                results[r["xid"]] = (r["type"], r["yiaddr"])
    bad = []
    ok = 0
    for xid, (mac, ip, _) in pending.items():
        got = results.get(xid)
        if got and got[0] == "ACK" and got[1] == ip:
            ok += 1
        else:
            bad.append([mac, ip, got])
    print(json.dumps({"ok": ok, "bad": bad}))
    return 0


def capture(a, pkt):
    """Send pkt from UDP port 68, then print the DHCP replies seen on a packet
    socket with their IP destination and link type (host = unicast to us)."""
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    cap.bind((a.iface, 0))
    s = _socket(a.iface, a.bind)
    s.sendto(pkt, (a.dest, a.port))
    deadline = time.monotonic() + a.timeout
    names = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
    while time.monotonic() < deadline:
        cap.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, addr = cap.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == 4 or len(data) < 28 or data[9] != 17:
            continue
        ihl = (data[0] & 15) * 4
        sport, dport = struct.unpack("!HH", data[ihl:ihl + 4])
        if dport != 68:
            continue
        r = parse(data[ihl + 8:])
        r["ip_dst"] = socket.inet_ntoa(data[16:20])
        r["ip_src"] = socket.inet_ntoa(data[12:16])
        r["link"] = names.get(addr[2], str(addr[2]))
        r["link_src"] = addr[4].hex(":")
        print(json.dumps(r), flush=True)
        if a.count:
            break
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface")
    ap.add_argument("--type", default="discover")
    ap.add_argument("--mac", default="52:54:00:12:34:56")
    ap.add_argument("--xid", type=lambda s: int(s, 0))
    ap.add_argument("--opt", action="append", default=[])
    ap.add_argument("--raw", help="hex of the whole packet instead")
    ap.add_argument("--dest", default="255.255.255.255")
    ap.add_argument("--port", type=int, default=67)
    ap.add_argument("--bind", default="0.0.0.0:68")
    ap.add_argument("--giaddr")
    ap.add_argument("--ciaddr")
    # Set by default: a UDP socket cannot receive the link-layer unicast that
    # RFC 2131 §4.1 prescribes otherwise (see --capture).
    ap.add_argument("--no-broadcast-flag", dest="broadcast_flag", action="store_false")
    ap.add_argument("--capture", action="store_true",
                    help="receive replies as IP packets on a packet socket (sees unicasts to "
                         "our MAC for an address we do not have); implies no broadcast flag")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--count", type=int, default=0, help="stop after N replies")
    ap.add_argument("--churn", action="store_true", help="DORA for --clients MACs")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--mac-prefix", default="02:00:00:00")
    ap.add_argument("--out")
    ap.add_argument("--verify", help="file of 'mac ip' lines to check")
    a = ap.parse_args(argv)
    if a.churn:
        return churn(a)
    if a.verify:
        return verify(a)

    opts = []
    for o in a.opt:
        code, _, val = o.partition("=")
        opts.append((int(code), opt_value(val)))
    if a.capture:
        a.broadcast_flag = False
    if a.raw:
        pkt = bytes.fromhex(a.raw)
    else:
        pkt = build(a.type, a.mac, a.xid, opts, ciaddr=a.ciaddr, giaddr=a.giaddr,
                    flags=0x8000 if a.broadcast_flag else 0)
    if a.capture:
        return capture(a, pkt)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if a.iface:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    host, _, port = a.bind.rpartition(":")
    s.bind((host, int(port)))
    s.sendto(pkt, (a.dest, a.port))
    deadline = time.monotonic() + a.timeout
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, src = s.recvfrom(4096)
        except socket.timeout:
            break
        try:
            r = parse(data)
        except Exception as e:  # a broken reply is a test failure: show it
            r = {"error": repr(e), "hex": data.hex()}
        r["from"] = f"{src[0]}:{src[1]}"
        print(json.dumps(r), flush=True)
        n += 1
        if a.count and n >= a.count:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
