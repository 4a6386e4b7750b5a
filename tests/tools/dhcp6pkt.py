#!/usr/bin/python3
"""A DHCPv6 client for tests (RFC 8415, RFC 5970 boot options): builds one
message, sends it to ff02::1:2 on --iface from port 546 (or unicast to --to),
and prints each reply as a JSON line:

    {"type": "ADVERTISE", "xid": "...", "options": {"2": "hex", ...},
     "ia_na": {"iaid": "...", "t1": N, "t2": N, "addrs": [["2001:db8::5", 600, 600]],
               "status": null}, "status": null, "bootfile_url": "...", "from": "fe80::..."}

Options can be added raw with --opt CODE=HEX. --relay LINKADDR wraps the
message in a RELAY-FORW (and unwraps the RELAY-REPL) as a relay agent on that
link would, sent from port 547.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

TYPES = {"solicit": 1, "advertise": 2, "request": 3, "confirm": 4, "renew": 5, "rebind": 6,
         "reply": 7, "release": 8, "decline": 9, "information-request": 11,
         "relay-forw": 12, "relay-repl": 13}
NAMES = {v: k.upper() for k, v in TYPES.items()}


def opt(code, data):
    return struct.pack("!HH", code, len(data)) + data


def parse_opts(data):
    out = []
    i = 0
    while i + 4 <= len(data):
        code, ln = struct.unpack("!HH", data[i:i + 4])
        out.append((code, data[i + 4:i + 4 + ln]))
        i += 4 + ln
    return out


def status_of(data):
    return {"code": struct.unpack("!H", data[:2])[0], "message": data[2:].decode(errors="replace")}


def parse_ia_na(data):
    iaid, t1, t2 = data[:4], *struct.unpack("!II", data[4:12])
    ia = {"iaid": iaid.hex(), "t1": t1, "t2": t2, "addrs": [], "status": None}
    for code, val in parse_opts(data[12:]):
        if code == 5:
            a = socket.inet_ntop(socket.AF_INET6, val[:16])
            pref, valid = struct.unpack("!II", val[16:24])
            ia["addrs"].append([a, pref, valid])
        elif code == 13:
            ia["status"] = status_of(val)
    return ia


def decode(msg):
    mtype = msg[0]
    if mtype in (12, 13):
        return None
    r = {"type": NAMES.get(mtype, str(mtype)), "xid": msg[1:4].hex(), "options": {},
         "ia_na": None, "status": None, "bootfile_url": None, "vendor_class": None}
    for code, val in parse_opts(msg[4:]):
        r["options"].setdefault(str(code), val.hex())
        if code == 3:
            r["ia_na"] = parse_ia_na(val)
        elif code == 13:
            r["status"] = status_of(val)
        elif code == 59:
            r["bootfile_url"] = val.decode()
        elif code == 16:
            ent = struct.unpack("!I", val[:4])[0]
            n = struct.unpack("!H", val[4:6])[0]
            r["vendor_class"] = [ent, val[6:6 + n].decode(errors="replace")]
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--type", required=True, choices=sorted(TYPES))
    ap.add_argument("--mac", default="52:54:00:12:34:56")
    ap.add_argument("--duid", help="client DUID hex (default DUID-LL of --mac)")
    ap.add_argument("--xid", default=None)
    ap.add_argument("--ia", action="store_true", help="add an IA_NA (IAID 1)")
    ap.add_argument("--ia-addr", help="with --ia: an IAADDR naming this address")
    ap.add_argument("--server-id", help="hex DUID of the server (option 2)")
    ap.add_argument("--arch", type=int, help="option 61 (client architecture)")
    ap.add_argument("--vendor-class", help="option 16 class string, enterprise 343")
    ap.add_argument("--user-class", help="option 15 class string")
    ap.add_argument("--oro", default="59,60,23", help="option 6 codes (empty: none)")
    ap.add_argument("--opt", action="append", default=[], help="CODE=HEX raw option")
    ap.add_argument("--relay", help="act as a relay on this link address")
    ap.add_argument("--to", help="unicast destination instead of ff02::1:2")
    ap.add_argument("--port", type=int, default=547)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--raw", help="send these hex bytes as the whole message")
    a = ap.parse_args()

    mac = bytes.fromhex(a.mac.replace(":", ""))
    duid = bytes.fromhex(a.duid) if a.duid else struct.pack("!HH", 3, 1) + mac
    xid = bytes.fromhex(a.xid) if a.xid else os.urandom(3)
    body = opt(1, duid) + opt(8, b"\x00\x00")
    if a.server_id:
        body += opt(2, bytes.fromhex(a.server_id))
    if a.oro:
        body += opt(6, b"".join(struct.pack("!H", int(c)) for c in a.oro.split(",")))
    if a.arch is not None:
        body += opt(61, struct.pack("!H", a.arch))
    if a.vendor_class:
        vc = a.vendor_class.encode()
        body += opt(16, struct.pack("!IH", 343, len(vc)) + vc)
    if a.user_class:
        uc = a.user_class.encode()
        body += opt(15, struct.pack("!H", len(uc)) + uc)
    if a.ia:
        inner = b""
        if a.ia_addr:
            inner = opt(5, socket.inet_pton(socket.AF_INET6, a.ia_addr) + struct.pack("!II", 0, 0))
        body += opt(3, struct.pack("!III", 1, 0, 0) + inner)
    for o in a.opt:
        code, hexval = o.split("=", 1)
        body += opt(int(code), bytes.fromhex(hexval))
    msg = bytes([TYPES[a.type]]) + xid + body
    if a.raw:
        msg = bytes.fromhex(a.raw)

    ifindex = socket.if_nametoindex(a.iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    if a.relay:
        link = socket.inet_pton(socket.AF_INET6, a.relay)
        peer = socket.inet_pton(socket.AF_INET6, "fe80::5054:ff:fe12:3456")
        msg = bytes([12, 0]) + link + peer + opt(9, msg) + opt(79, struct.pack("!H", 1) + mac)
        s.bind(("::", 547))
    else:
        s.bind(("::", 546))
    dest = a.to or "ff02::1:2"
    for _ in range(50):  # the link-local address may still be tentative (DAD)
        try:
            s.sendto(msg, (dest, a.port, 0, ifindex))
            break
        except OSError:
            time.sleep(0.1)
    got = 0
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        data, addr = s.recvfrom(4096)
        if a.relay:
            if data[0] != 13:
                continue
            inner = dict(parse_opts(data[34:])).get(9)
            if inner is None:
                continue
            data = inner
        d = decode(data)
        if d is None or d["xid"] != xid.hex():
            continue
        d["from"] = addr[0].split("%")[0]
        print(json.dumps(d), flush=True)
        got += 1
        if a.count and got >= a.count:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
