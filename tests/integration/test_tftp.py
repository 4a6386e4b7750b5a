"""TFTP server against real clients on loopback: tftp-hpa's tftp, curl, atftp,
and our own tests/tools/tftpc (windowsize, duplicate ACKs, wrong TIDs, probes).
Every download is checked byte for byte (sha256) against the source file.

The loss test (tc netem in two network namespaces) is in test_tftp_netem.py.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon import Netbootd, free_port  # noqa: E402
from tftp_helpers import (RAW_TIMEOUT, parse_pkt, rrq, tftpc, tftpc_binary, raw_request,  # noqa: E402
                          recv_pkt, sha256)


BIG = 3 * 1024 * 1024 + 123        # not a multiple of any block size
EXACT = 512 * 64                   # a multiple of 512: ends with an empty DATA


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("tftp")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "big.bin").write_bytes(os.urandom(BIG))
    (root / "exact.bin").write_bytes(os.urandom(EXACT))
    (root / "empty.bin").write_bytes(b"")
    (root / "sub" / "g.bin").write_bytes(os.urandom(5000))
    (root / "text.txt").write_bytes(b"first\nsecond\r\nthird\rlast")
    (root / "denied.bin").write_bytes(b"secret")
    os.chmod(root / "denied.bin", 0)
    # Escapes: a sibling directory sharing the prefix, a symlink out, a
    # symlinked directory out.
    private = base / "root-private"
    private.mkdir()
    (private / "secret").write_bytes(b"TOP SECRET\n")
    os.symlink(private / "secret", root / "link-out")
    os.symlink(private, root / "linkdir")
    os.symlink("big.bin", root / "link-in")       # inside the root: allowed
    # The daemon drops to "nobody": the tree must be readable by it.
    for p in [base, root, root / "sub", private]:
        os.chmod(p, 0o755)
    return root


@pytest.fixture(scope="module")
def server(tree):
    port = free_port()
    nb = Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off",
                   "--dhcp", "off", "--tftp-max-per-client", "200"])
    nb.start()
    nb.port = port
    yield nb
    nb.stop()


def wait_log(nb, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, nb.log())
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in log:\n{nb.log()[-3000:]}")


# ---- real clients --------------------------------------------------------

def test_tftp_hpa_octet(server, tree, tmp_path):
    out = tmp_path / "out"
    subprocess.run(["tftp", "127.0.0.1", str(server.port), "-m", "binary", "-c", "get", "big.bin", str(out)],
                   check=True, timeout=60, capture_output=True)
    assert sha256(out) == sha256(tree / "big.bin")


def test_tftp_hpa_netascii(server, tree, tmp_path):
    out = tmp_path / "out"
    subprocess.run(["tftp", "127.0.0.1", str(server.port), "-m", "ascii", "-c", "get", "text.txt", str(out)],
                   check=True, timeout=30, capture_output=True)
    # tftp-hpa turns CR LF back into LF and CR NUL into CR: the round trip is exact.
    assert out.read_bytes() == (tree / "text.txt").read_bytes()


@pytest.mark.parametrize("name", ["exact.bin", "empty.bin", "sub/g.bin", "/sub/g.bin", "\\sub\\g.bin",
                                  "link-in"])
def test_tftp_hpa_names(server, tree, tmp_path, name):
    out = tmp_path / "out"
    subprocess.run(["tftp", "127.0.0.1", str(server.port), "-m", "binary", "-c", "get", name, str(out)],
                   check=True, timeout=30, capture_output=True)
    src = {"link-in": "big.bin"}.get(name, name.replace("\\", "/").lstrip("/"))
    assert sha256(out) == sha256(tree / src)


@pytest.mark.parametrize("blksize", [8, 512, 1468, 8192, 65464])
def test_curl_blksize(server, tree, tmp_path, blksize):
    out = tmp_path / "out"
    subprocess.run(["curl", "-sS", "--fail", "--tftp-blksize", str(blksize), "-o", str(out),
                    f"tftp://127.0.0.1:{server.port}/big.bin" if blksize >= 512
                    else f"tftp://127.0.0.1:{server.port}/sub/g.bin"],
                   check=True, timeout=120, capture_output=True)
    src = tree / ("big.bin" if blksize >= 512 else "sub/g.bin")
    assert sha256(out) == sha256(src)


def test_curl_missing_file(server):
    r = subprocess.run(["curl", "-sS", f"tftp://127.0.0.1:{server.port}/nope.bin", "-o", "/dev/null"],
                       timeout=30, capture_output=True, text=True)
    assert r.returncode == 68, r.stderr  # CURLE_TFTP_NOTFOUND: curl got our ERROR 1


@pytest.mark.parametrize("opts", [[], ["blksize 1468"], ["blksize 1468", "windowsize 8"],
                                  ["blksize 1468", "windowsize 64", "tsize 0"]])
def test_atftp(server, tree, tmp_path, opts):
    out = tmp_path / "out"
    cmd = ["atftp", "-g", "-r", "big.bin", "-l", str(out)]
    for o in opts:
        cmd += ["--option", o]
    subprocess.run(cmd + ["127.0.0.1", str(server.port)], check=True, timeout=60, capture_output=True)
    assert sha256(out) == sha256(tree / "big.bin")


@pytest.mark.parametrize("window", [1, 8, 64])
@pytest.mark.parametrize("blksize", [512, 1468])
def test_tftpc_windowsize(server, tree, tmp_path, window, blksize):
    out = tmp_path / "out"
    r = tftpc(["-b", str(blksize), "-w", str(window), "-t", "-o", str(out)], server.port, "big.bin")
    assert r["ok"] == "1", r
    assert r["windowsize"] == str(window) and r["blksize"] == str(blksize)
    assert r["tsize"] == str(BIG)
    assert sha256(out) == sha256(tree / "big.bin")


def test_rollover_33mib_blksize_512(server, tree, tmp_path):
    """> 32 MiB at blksize 512: the block number wraps 65535 -> 0 (twice over 65536 blocks)."""
    src = tree / "rollover.bin"
    src.write_bytes(os.urandom(33 * 1024 * 1024 + 77))
    try:
        out = tmp_path / "out"
        # tftp-hpa's client (lock-step, default 512) and ours with a window.
        subprocess.run(["tftp", "127.0.0.1", str(server.port), "-m", "binary", "-c", "get", "rollover.bin",
                        str(out)], check=True, timeout=240, capture_output=True)
        assert sha256(out) == sha256(src)
        r = tftpc(["-b", "512", "-w", "16", "-c", str(src)], server.port, "rollover.bin", timeout=240)
        assert r["ok"] == "1" and r["mismatches"] == "0", r
        assert int(r["data_pkts"]) == (src.stat().st_size // 512) + 1
    finally:
        src.unlink()


# ---- protocol behaviour --------------------------------------------------

def test_sorcerers_apprentice_duplicate_acks(server, tree):
    """Every ACK sent twice: the server must not answer duplicates with DATA (RFC 1123 4.2.3.1)."""
    r = tftpc(["-d", "-c", str(tree / "big.bin")], server.port, "big.bin")
    assert r["ok"] == "1", r
    blocks = BIG // 512 + 1
    assert int(r["data_pkts"]) == blocks, r
    assert r["dup_data"] == "0"
    r = tftpc(["-d", "-b", "1468", "-w", "8", "-c", str(tree / "big.bin")], server.port, "big.bin")
    assert r["ok"] == "1", r
    assert int(r["data_pkts"]) == BIG // 1468 + 1 and r["dup_data"] == "0", r


def test_wrong_tid_gets_error5_and_transfer_continues(server, tree):
    r = tftpc(["-x", "-b", "1468", "-c", str(tree / "big.bin")], server.port, "big.bin")
    assert r["wrongtid_error"] == "5", r
    assert r["ok"] == "1" and r["mismatches"] == "0", r


def test_wrq_refused_with_error2(server, tmp_path):
    code, msg = raw_request(server.port, rrq("upload.bin", op=2))
    assert code == ("ERROR", 2), (code, msg)
    f = tmp_path / "up"
    f.write_bytes(b"data")
    r = subprocess.run(["tftp", "127.0.0.1", str(server.port), "-c", "put", str(f), "upload.bin"],
                       timeout=30, capture_output=True, text=True)
    assert "Error code 2" in r.stdout + r.stderr


@pytest.mark.parametrize("name,code", [
    ("nope.bin", 1),
    ("/etc/passwd", 1),                 # leading / is the root: root/etc/passwd does not exist
    ("../root-private/secret", 2),
    ("sub/../../root-private/secret", 2),
    ("..\\root-private\\secret", 2),
    ("\\..\\root-private\\secret", 2),
    ("/../root-private/secret", 2),
    ("link-out", 2),                    # symlink out of the root
    ("linkdir/secret", 2),              # symlinked directory out of the root
    ("sub", 2),                         # a directory
    ("denied.bin", 2),                  # unreadable
])
def test_path_escapes_and_errors(server, name, code):
    got, msg = raw_request(server.port, rrq(name))
    assert got == ("ERROR", code), (name, got, msg)


def test_nul_trick(server):
    # "big.bin\0../x\0": the name ends at the first NUL, so the mode is
    # "../x" (unknown): ERROR 4, never the file, never a crash.
    got, _ = raw_request(server.port, b"\x00\x01big.bin\x00../root-private/secret\x00")
    assert got == ("ERROR", 4)
    # With "octet" after it, "octet" is an option name without a value: malformed, dropped.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.sendto(b"\x00\x01big.bin\x00../root-private/secret\x00octet\x00", ("127.0.0.1", server.port))
        with pytest.raises(socket.timeout):
            s.recvfrom(70000)
    finally:
        s.close()


def test_options_only_accepted_are_echoed(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(RAW_TIMEOUT)
    try:
        # Only unknown options: no OACK, DATA 1 at once (RFC 2347).
        s.sendto(rrq("sub/g.bin", opts={"foo": "bar", "multicast": ""}), ("127.0.0.1", server.port))
        kind, payload, _ = recv_pkt(s)
        assert kind == ("DATA", 1) and len(payload) == 512
        # Invalid values are not echoed; valid ones are, capped.
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2.settimeout(RAW_TIMEOUT)
        s2.sendto(rrq("sub/g.bin", opts={"blksize": "4", "timeout": "0", "windowsize": "1000", "tsize": "0",
                                          "foo": "1"}), ("127.0.0.1", server.port))
        kind, opts, addr = recv_pkt(s2)
        assert kind == ("OACK", None)
        assert opts == {"windowsize": "64", "tsize": "5000"}, opts
        # DATA only after ACK 0: before it, only OACK retransmissions arrive.
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            try:
                kind, _, _ = recv_pkt(s2, timeout=max(0.05, t_end - time.monotonic()))
            except socket.timeout:
                break
            assert kind == ("OACK", None), kind
        s2.sendto(struct.pack("!HH", 4, 0), addr)
        kind, payload, _ = recv_pkt(s2)
        assert kind == ("DATA", 1) and len(payload) == 512
        s2.sendto(struct.pack("!HHH", 5, 0, 0), addr)  # abort
        s2.close()
        s3 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s3.settimeout(RAW_TIMEOUT)
        s3.sendto(rrq("sub/g.bin", opts={"BLKSIZE": "99999", "TimeOut": "3"}), ("127.0.0.1", server.port))
        kind, opts, addr = recv_pkt(s3)
        assert kind == ("OACK", None)
        # Loopback MTU 65536: the path cap is above the protocol maximum.
        assert opts == {"blksize": "65464", "timeout": "3"}, opts
        s3.sendto(struct.pack("!HHH", 5, 0, 0) + b"bye\x00", addr)
        s3.close()
    finally:
        s.close()


def test_malformed_requests_are_dropped(server, tree):
    bad = [
        b"", b"\x00", b"\x00\x01", b"\x00\x01a",                  # 0-3 bytes
        b"\x00\x01big.bin\x00",                                     # no mode
        b"\x00\x01big.bin",                                         # no terminator
        b"\x00\x01\x00octet\x00",                                   # empty name
        b"\x00\x01big.bin\x00octet\x00blksize\x00",                 # option without value
        b"\x00\x01big.bin\x00octet\x00blksize",                     # unterminated option
        b"\x00\x01" + b"A" * 600 + b"\x00octet\x00",               # more than 512 bytes
        b"\x00\x01" + b"A" * 5000,                                  # huge
        b"\x00\x01x\x00octet\x00" + b"a\x001\x00" * 40,             # too many options
        b"\x00\x04\x00\x01", b"\x00\x05\x00", b"\x00\x09junk",      # not requests
    ]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        for pkt in bad:
            s.sendto(pkt, ("127.0.0.1", server.port))
        for _ in bad:
            try:
                data, _ = s.recvfrom(70000)
            except socket.timeout:
                break
            assert data[:2] != b"\x00\x03", "DATA for a malformed request"
    finally:
        s.close()
    wait_log(server, r"dropped a malformed 600\d?-byte|dropped a malformed 513-byte")
    wait_log(server, r"dropped a malformed 0-byte request")
    # Still alive and serving.
    r = tftpc(["-c", str(tree / "sub/g.bin")], server.port, "sub/g.bin")
    assert r["ok"] == "1"


def test_ovmf_tsize_probe_is_normal(server, tree):
    r = tftpc(["-P", "-b", "1468", "-w", "4"], server.port, "big.bin")
    assert r["tsize"] == str(BIG), r
    m = wait_log(server, r".* (\w+) tftp: 127\.0\.0\.1:\d+ \"big\.bin\" .*size probe.*")
    assert m.group(1) == "info", m.group(0)
    assert "failed" not in m.group(0)


def test_one_log_line_per_transfer(server, tree):
    r = tftpc(["-b", "1468", "-w", "8", "-t", "-c", str(tree / "exact.bin")], server.port, "exact.bin")
    assert r["ok"] == "1"
    m = wait_log(server, r"info tftp: 127\.0\.0\.1:\d+ \"exact\.bin\" (\d+)/(\d+) bytes, octet "
                         r"blksize=1468 tsize windowsize=8, [\d.]+ s, [\d.]+ MB/s, \d+ retransmits: complete")
    assert m.group(1) == m.group(2) == str(EXACT)


def test_concurrent_transfers(server, tree):
    r = tftpc(["-n", "150", "-b", "1468", "-w", "4", "-c", str(tree / "sub/g.bin")], server.port, "sub/g.bin",
              timeout=120)
    assert r["ok"] == "150" and r["failed"] == "0", r


def test_ipv6_loopback(tree, tmp_path):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    port = s.getsockname()[1]
    s.close()
    with Netbootd(["--root", str(tree), "--tftp", f"[::1]:{port}", "--http", "off", "--dhcp", "off"]):
        out = tmp_path / "out6"
        subprocess.run(["curl", "-sS", "--fail", "--tftp-blksize", "1428", "-o", str(out),
                        f"tftp://[::1]:{port}/big.bin"], check=True, timeout=60, capture_output=True)
        assert sha256(out) == sha256(tree / "big.bin")


def test_generated_documents(tmp_path):
    """Per-machine documents come from memory (files_open's generators), not the disk."""
    root = tmp_path / "root"
    root.mkdir()
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(os.urandom(4096))
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    os.chmod(kernel, 0o644)
    port = free_port()
    with Netbootd(["--root", str(root), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off",
                   "--kernel", str(kernel), "--cmdline", "console=ttyS0"]) as nb:
        out = tmp_path / "script"
        subprocess.run(["tftp", "127.0.0.1", str(port), "-m", "binary", "-c", "get",
                        "boot/52-54-00-12-34-56.ipxe", str(out)], check=True, timeout=30, capture_output=True)
        text = out.read_bytes()
        assert text.startswith(b"#!ipxe"), text[:200]
        assert not (root / "boot").exists()
        # The same document with options and a window, and in netascii.
        r = tftpc(["-b", "1468", "-w", "4", "-t", "-o", str(tmp_path / "s2")], port, "boot/52:54:00:12:34:56.ipxe")
        assert r["ok"] == "1" and r["tsize"] == str(len(text)), r
        assert (tmp_path / "s2").read_bytes() == text
        subprocess.run(["tftp", "127.0.0.1", str(port), "-m", "ascii", "-c", "get", "boot/52-54-00-12-34-56.ipxe",
                        str(tmp_path / "s3")], check=True, timeout=30, capture_output=True)
        assert (tmp_path / "s3").read_bytes() == text
        # The quick-mode kernel is served by its stable name, from outside the root.
        subprocess.run(["tftp", "127.0.0.1", str(port), "-m", "binary", "-c", "get", "quick/linux",
                        str(tmp_path / "k")], check=True, timeout=30, capture_output=True)
        assert sha256(tmp_path / "k") == sha256(kernel)
        wait_log(nb, r'"boot/52-54-00-12-34-56\.ipxe" \d+/\d+ bytes, octet, .*: complete')


def test_request_flood_from_one_address(tree):
    """300 unanswered RRQs from one address (as a spoofed flood would look):
    the per-client limit answers the excess with ERROR, and other clients are
    served at once."""
    port = free_port()
    with Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off"]) as nb:
        socks = []
        try:
            for _ in range(300):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.5", 0))
                s.setblocking(False)
                socks.append(s)
                s.sendto(rrq("big.bin", opts={"blksize": "1468"}), ("127.0.0.1", port))
            r = tftpc(["-S", "127.0.0.6", "-b", "1468", "-w", "8", "-c", str(tree / "big.bin")], port, "big.bin")
            assert r["ok"] == "1", r
            time.sleep(0.5)
            answers = {"OACK": 0, "ERROR": 0}
            for s in socks:
                try:
                    kind, _, _ = parse_reply(s.recv(70000))
                    answers[kind] = answers.get(kind, 0) + 1
                except BlockingIOError:
                    pass
            # Exactly the per-client limit (32) got a transfer; every other request an ERROR.
            assert answers["OACK"] == 32 and answers["ERROR"] == 268, answers
            assert nb.log().count("too many transfers from your address") == 268
        finally:
            for s in socks:
                s.close()


def parse_reply(data):
    kind, rest = parse_pkt(data)
    return kind[0], rest, None


# ---- limits (own server: small limits) -----------------------------------

def test_limits_answer_with_an_error(tree):
    port = free_port()
    with Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off",
                   "--tftp-max-transfers", "2", "--tftp-max-per-client", "1", "--tftp-retries", "1"]) as nb:
        held = []
        try:
            # Transfer 1 from 127.0.0.1, never acknowledged: it stays open.
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.settimeout(RAW_TIMEOUT)
            held.append(a)
            a.sendto(rrq("big.bin"), ("127.0.0.1", port))
            assert recv_pkt(a)[0] == ("DATA", 1)
            # Same address, another port: per-client limit.
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b.settimeout(RAW_TIMEOUT)
            held.append(b)
            b.sendto(rrq("big.bin"), ("127.0.0.1", port))
            kind, msg, _ = recv_pkt(b)
            assert kind == ("ERROR", 0) and "too many" in msg, (kind, msg)
            # Another address: allowed (2 of 2).
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.bind(("127.0.0.2", 0))
            c.settimeout(RAW_TIMEOUT)
            held.append(c)
            c.sendto(rrq("big.bin"), ("127.0.0.1", port))
            assert recv_pkt(c)[0] == ("DATA", 1)
            # A third address: the global limit.
            d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            d.bind(("127.0.0.3", 0))
            d.settimeout(RAW_TIMEOUT)
            held.append(d)
            d.sendto(rrq("big.bin"), ("127.0.0.1", port))
            kind, msg, _ = recv_pkt(d)
            assert kind == ("ERROR", 0) and "busy" in msg, (kind, msg)
            # Unanswered transfers end (the first packet is never resent by
            # our timer), logged as failures; then the slots are free again.
            wait_log(nb, r"warn tftp: 127\.0\.0\.1:\d+ \"big\.bin\" 0/\d+ bytes.*no answer to the first packet", timeout=15)
            wait_log(nb, r"warn tftp: 127\.0\.0\.2:\d+ \"big\.bin\" 0/\d+ bytes.*no answer to the first packet", timeout=15)
            r = tftpc(["-c", str(tree / "sub/g.bin")], port, "sub/g.bin")
            assert r["ok"] == "1", r
        finally:
            for s in held:
                s.close()


def test_blksize_cap_setting_and_shutdown_log(tree):
    port = free_port()
    nb = Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off",
                   "--tftp-max-blksize", "1024", "--tftp-max-windowsize", "4"])
    with nb:
        r = tftpc(["-b", "1468", "-w", "16", "-c", str(tree / "big.bin")], port, "big.bin")
        assert r["ok"] == "1" and r["blksize"] == "1024" and r["windowsize"] == "4", r
        # A transfer still open at shutdown gets its log line too.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(RAW_TIMEOUT)
        try:
            s.sendto(rrq("big.bin"), ("127.0.0.1", port))
            assert recv_pkt(s)[0] == ("DATA", 1)
            assert nb.stop() == 0
        finally:
            s.close()
        assert re.search(r'"big\.bin" 0/\d+ bytes.*: failed: server shutting down', nb.log()), nb.log()[-2000:]


def test_first_packet_is_sent_once_per_request(tree):
    """Reflection hardening (docs/security.md): until the client answers, the
    first DATA goes out once per request received, never resent by our timer
    (a spoofed RRQ gets one packet, not three: it was 3 before issue 11), and
    a client that repeats its request gets it again, once."""
    port = free_port()
    with Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off",
                   "--tftp-retries", "2"]) as nb:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(RAW_TIMEOUT)
        try:
            s.sendto(rrq("big.bin"), ("127.0.0.1", port))
            assert recv_pkt(s)[0] == ("DATA", 1)
            s.sendto(rrq("big.bin"), ("127.0.0.1", port))  # the client's own retransmit
            assert recv_pkt(s)[0] == ("DATA", 1)
            wait_log(nb, r"no answer to the first packet", timeout=20)
            n = 0
            s.settimeout(0.5)
            while True:
                try:
                    data, _ = s.recvfrom(70000)
                except socket.timeout:
                    break
                n += 1
            assert n == 0, f"{n} more packets after the two answers"
        finally:
            s.close()


def test_tftpc_binary_exists():
    assert Path(tftpc_binary()).exists()


def test_missing_last_ack_is_not_a_failed_transfer(tree):
    """A client that ACKs every block but the last (GRUB does, for a large
    initrd that then boots) has the file: the transfer ends as complete,
    after the usual retries, with a line that says the last ACK never came.
    A client that stops earlier still fails."""
    port = free_port()
    with Netbootd(["--root", str(tree), "--tftp", f"127.0.0.1:{port}", "--http", "off", "--dhcp", "off",
                   "--tftp-retries", "1", "--tftp-timeout", "1"]) as nb:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(RAW_TIMEOUT)
        try:
            s.sendto(rrq("sub/g.bin"), ("127.0.0.1", port))  # 5000 bytes: blocks 1..10
            for block in range(1, 11):
                (kind, n), _, tid = recv_pkt(s)
                assert kind == "DATA" and n == block
                if block < 10:
                    s.sendto(struct.pack("!HH", 4, block), tid)
            wait_log(nb, r'"sub/g\.bin" 5000/5000 bytes.*: complete \(the client never '
                         r'acknowledged the last block\)', timeout=20)
            assert not re.search(r'warn tftp: .*"sub/g\.bin"', nb.log())
            # Stopping after block 3 is a real failure.
            s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s2.settimeout(RAW_TIMEOUT)
            s2.sendto(rrq("sub/g.bin"), ("127.0.0.1", port))
            for block in range(1, 4):
                (kind, n), _, tid = recv_pkt(s2)
                s2.sendto(struct.pack("!HH", 4, block), tid)
            wait_log(nb, r'warn tftp: .*"sub/g\.bin" 1536/5000 bytes.*failed: timed out', timeout=20)
            s2.close()
        finally:
            s.close()
