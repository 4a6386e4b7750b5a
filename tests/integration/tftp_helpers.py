"""Helpers for the TFTP integration tests: raw packets and our tftpc client."""
import hashlib
import os
import socket
import struct
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RAW_TIMEOUT = 5.0


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_TFTPC = None


def tftpc_binary():
    """tests/tools/tftpc as the Makefile built it (next to $NETBOOTD), else compiled here."""
    global _TFTPC
    if _TFTPC:
        return _TFTPC
    cands = []
    if os.environ.get("TFTPC"):
        cands.append(Path(os.environ["TFTPC"]))
    nb = os.environ.get("NETBOOTD")
    if nb:
        p = Path(nb).resolve().parent
        cands += [p / "tests/tools/tftpc", p.parent / "tests/tools/tftpc"]
    cands.append(REPO / "build/tests/tools/tftpc")
    src = REPO / "tests/tools/tftpc.c"
    for c in cands:
        if c.exists() and c.stat().st_mtime >= src.stat().st_mtime:
            _TFTPC = str(c)
            return _TFTPC
    out = Path(tempfile.mkdtemp(prefix="tftpc-")) / "tftpc"
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", str(out), str(src)], check=True)
    _TFTPC = str(out)
    return _TFTPC


def tftpc(args, port, name, host="127.0.0.1", timeout=120, netns=None, check=False):
    """Run tftpc; returns its key=value summary as a dict (plus 'rc')."""
    cmd = [tftpc_binary()] + list(args) + [host, str(port), name]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = {"rc": r.returncode, "stderr": r.stderr}
    for tok in r.stdout.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out.setdefault(k, v.strip('"'))
    if check:
        assert r.returncode == 0, out
    return out


def rrq(name, mode="octet", opts=None, op=1):
    p = struct.pack("!H", op) + name.encode() + b"\0" + mode.encode() + b"\0"
    for k, v in (opts or {}).items():
        p += k.encode() + b"\0" + v.encode() + b"\0"
    return p


def parse_pkt(data):
    op = struct.unpack("!H", data[:2])[0]
    if op == 3:
        return ("DATA", struct.unpack("!H", data[2:4])[0]), data[4:]
    if op == 5:
        return ("ERROR", struct.unpack("!H", data[2:4])[0]), data[4:].split(b"\0")[0].decode(errors="replace")
    if op == 6:
        parts = data[2:].split(b"\0")[:-1]
        return ("OACK", None), {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2)}
    if op == 4:
        return ("ACK", struct.unpack("!H", data[2:4])[0]), b""
    return ("?", op), data


def recv_pkt(sock, timeout=None):
    if timeout is not None:
        sock.settimeout(timeout)
    data, addr = sock.recvfrom(70000)
    kind, rest = parse_pkt(data)
    return kind, rest, addr


def raw_request(port, pkt, host="127.0.0.1"):
    """Send one request; return (kind, payload) of the first answer, aborting any transfer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(RAW_TIMEOUT)
    try:
        s.sendto(pkt, (host, port))
        kind, rest, addr = recv_pkt(s)
        if kind[0] in ("DATA", "OACK"):
            s.sendto(struct.pack("!HH", 5, 0) + b"test done\0", addr)
        return kind, rest
    finally:
        s.close()
