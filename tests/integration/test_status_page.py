"""The boot timeline as /status.json and /status, the latter rendered by headless
Chromium (Debian's `chromium`) with a screenshot made in the test.

The machines are real DHCP clients (hand-built iPXE requests from a second
network namespace): only machines DHCP has seen have a timeline, so a
script fetched by anyone else adds nothing (docs/security.md)."""
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd  # noqa: E402
from dhcpnet import CLIENT_IP, SERVER_IP, DhcpNet  # noqa: E402

MAC_DONE = "52:54:00:5a:00:01"
MAC_BUSY = "52:54:00:5a:00:02"
MAC_NEVER = "52:54:00:5a:00:03"  # fetches a script without ever asking DHCP
PORT = 8080
IPXE = ["--opt", "60=PXEClient:Arch:00000:UNDI:002001", "--opt", "93=hex:0000",
        "--opt", "77=iPXE", "--opt", "175=hex:b10101"]


def get(net, path):
    """GET from the client namespace (the machine's own address), with curl."""
    r = net.run(net.client_ns, ["curl", "-sS", "--max-time", "10", "-o", "-", "-w",
                                "\n%{content_type}", f"http://{SERVER_IP}:{PORT}/{path}"])
    assert r.returncode == 0, r.stderr
    body, _, ctype = r.stdout.rpartition("\n")
    return ctype, body.encode()


def dhcp(net, mac):
    replies = net.client(["--type", "discover", "--mac", mac] + IPXE)
    assert replies and replies[0]["type"] == "OFFER", replies


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def chromium(args, tmp_path, timeout=180, netns=None):
    exe = shutil.which("chromium")
    if not exe:
        pytest.fail("chromium not installed: run `make deps` (tests/lib/deps.sh lists it)")
    cmd = (["ip", "netns", "exec", netns] if netns else []) + [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}"] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, HOME=str(tmp_path)))


@pytest.fixture
def booted(tmp_path):
    """netbootd in quick mode with proxyDHCP; one machine went all the way,
    one is mid-boot (chromium's test adds it)."""
    kernel, initrd = tmp_path / "vmlinuz", tmp_path / "initrd.img"
    # Text, so curl's output stays a str; sizes as before.
    kernel.write_bytes(b"k" * 300000)
    initrd.write_bytes(b"i" * 120000)
    os.chmod(tmp_path, 0o755)
    with DhcpNet("status") as net:
        with Netbootd(["--kernel", str(kernel), "--initrd", str(initrd), "--cmdline",
                       "console=ttyS0", "--http", f"{SERVER_IP}:{PORT}", "--tftp", "off",
                       "--dhcp", "proxy"], netns=net.server_ns) as nb:
            dhcp(net, MAC_DONE)
            # The script URL carries the MAC: that maps the client's address to the machine.
            get(net, f"boot/{MAC_DONE}.ipxe")
            get(net, "quick/linux")
            get(net, "quick/initrd0")
            yield nb, net


def test_status_json(booted):
    nb, net = booted
    ctype, body = get(net, "status.json")
    assert ctype.startswith("application/json")
    st = json.loads(body)
    assert [m["mac"] for m in st["machines"]] == [MAC_DONE], "only machines DHCP saw"
    (m,) = st["machines"]
    assert m["state"] == "handed-off" and m["profile"] == "quick" and m["ip"] == CLIENT_IP
    assert m["files"] == 3 and m["bytes"] > 420000
    files = [e["path"] for e in m["events"] if e["type"] == "http"]
    assert files == [f"boot/{MAC_DONE}.ipxe", "quick/linux", "quick/initrd0"]
    assert all(e["complete"] for e in m["events"] if e["type"] == "http")
    # One summary line per machine, at hand-off.
    assert nb.log().count(f"{MAC_DONE} {CLIENT_IP} handed off to the OS") == 1
    # Looking at the status does not add to a machine's timeline.
    get(net, "status")
    _, body = get(net, "status.json")
    (m,) = json.loads(body)["machines"]
    assert len([e for e in m["events"] if e["type"] == "http"]) == 3
    # A script fetched under a MAC that never asked DHCP adds no machine.
    get(net, f"boot/{MAC_NEVER}.ipxe")
    _, body = get(net, "status.json")
    assert [m["mac"] for m in json.loads(body)["machines"]] == [MAC_DONE]


def test_status_cli_prints_the_machines_table(booted):
    """`netbootd status --server URL` (the operator's terminal) shows the same
    machines as /status.json, one line each, and says plainly when the server
    cannot be asked."""
    nb, net = booted
    exe = os.environ["NETBOOTD"]
    r = net.run(net.client_ns, [exe, "status", "--server", f"http://{SERVER_IP}:{PORT}"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("1 machine: 0 up, 1 handed off, 0 booting"), lines
    assert lines[1].split()[:5] == ["MAC", "IP", "FIRMWARE", "PROFILE", "STATE"], lines
    (row,) = [line for line in lines[2:] if line.strip()]
    cols = row.split()
    assert cols[:5] == [MAC_DONE, CLIENT_IP, "ipxe", "quick", "handed-off"], row
    assert cols[6] == "3" and row.endswith("http quick/initrd0"), row
    # --json is the document itself, for scripts.
    r = net.run(net.client_ns, [exe, "status", "--json", "--server", f"http://{SERVER_IP}:{PORT}/"])
    st = json.loads(r.stdout)
    assert r.returncode == 0 and [m["mac"] for m in st["machines"]] == [MAC_DONE]
    assert st["summary"]["machines"] == 1 and st["summary"]["handed_off"] == 1, st["summary"]
    # The same at a glance for Prometheus.
    _, body = get(net, "metrics")
    assert b'netbootd_machines{state="handed-off"} 1\n' in body
    assert b'netbootd_machines{state="failed"} 0\n' in body
    # Nobody listening: exit 1 and why; a bad URL: exit 2.
    r = net.run(net.client_ns, [exe, "status", "--server", f"http://{SERVER_IP}:1"])
    assert r.returncode == 1 and "Connection refused" in r.stderr, (r.returncode, r.stderr)
    r = net.run(net.client_ns, [exe, "status", "--server", "ftp://x"])
    assert r.returncode == 2 and "only http://" in r.stderr


def test_status_cli_refused_outside_status_allow(tmp_path):
    """status-allow applies to the text table too, and the client says what to do."""
    os.chmod(tmp_path, 0o755)
    with DhcpNet("stallow") as net:
        with Netbootd(["--root", str(tmp_path), "--http", f"{SERVER_IP}:{PORT}", "--tftp", "off",
                       "--dhcp", "off", "--status-allow", "127.0.0.0/8"], netns=net.server_ns):
            r = net.run(net.client_ns, [os.environ["NETBOOTD"], "status", "--server",
                                        f"http://{SERVER_IP}:{PORT}"])
            assert r.returncode == 1 and "status-allow" in r.stderr, r.stderr


def test_status_page_in_headless_chromium(booted, tmp_path):
    nb, net = booted
    # A second machine that is still booting (its DHCP and its script so far).
    dhcp(net, MAC_BUSY)
    get(net, f"boot/{MAC_BUSY}.ipxe")
    ctype, html = get(net, "status")
    assert ctype == "text/html; charset=utf-8"

    url = f"http://{SERVER_IP}:{PORT}/status"
    r = chromium(["--dump-dom", url], tmp_path, netns=net.client_ns)
    assert r.returncode == 0, r.stderr[-3000:]
    dom = r.stdout
    assert "netbootd: boot timelines" in dom
    assert MAC_DONE in dom and MAC_BUSY in dom
    assert "handed off to the OS" in dom and "booting" in dom
    assert "quick/initrd0" in dom

    shot = tmp_path / "status.png"
    r = chromium([f"--screenshot={shot}", "--window-size=1200,800", "--hide-scrollbars", url], tmp_path,
                 netns=net.client_ns)
    assert r.returncode == 0 and shot.exists(), r.stderr[-3000:]
    data = shot.read_bytes()
    assert png_size(data) == (1200, 800)
    # A blank page compresses to almost nothing; a rendered table of timelines does not.
    assert len(data) > 20000, len(data)
    keep = os.environ.get("NBD_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / "status.png")
