"""The boot timeline as /status.json and /status, the latter rendered by headless
Chromium (Debian's `chromium`) with a screenshot made in the test."""
import json
import os
import shutil
import socket
import struct
import subprocess
import urllib.request
from pathlib import Path

import pytest

from daemon import Netbootd, free_port

MAC_DONE = "52:54:00:5a:00:01"
MAC_BUSY = "52:54:00:5a:00:02"


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as r:
        return r.headers.get("Content-Type"), r.read()


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def chromium(args, tmp_path, timeout=180):
    exe = shutil.which("chromium")
    if not exe:
        pytest.fail("chromium not installed: run `make deps` (tests/lib/deps.sh lists it)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}"] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, HOME=str(tmp_path)))


@pytest.fixture
def booted(tmp_path):
    """netbootd in quick mode; one machine went all the way, one is mid-boot."""
    kernel, initrd = tmp_path / "vmlinuz", tmp_path / "initrd.img"
    kernel.write_bytes(os.urandom(300000))
    initrd.write_bytes(os.urandom(120000))
    os.chmod(tmp_path, 0o755)
    port = free_port(socket.SOCK_STREAM)
    with Netbootd(["--kernel", str(kernel), "--initrd", str(initrd), "--cmdline", "console=ttyS0",
                   "--http", f"127.0.0.1:{port}", "--tftp", "off", "--dhcp", "off"]) as nb:
        # The script URL carries the MAC: that maps the client (127.0.0.1) to the machine.
        get(port, f"boot/{MAC_DONE}.ipxe")
        get(port, "quick/linux")
        get(port, "quick/initrd0")
        yield nb, port


def test_status_json(booted):
    nb, port = booted
    ctype, body = get(port, "status.json")
    assert ctype.startswith("application/json")
    st = json.loads(body)
    (m,) = [m for m in st["machines"] if m["mac"] == MAC_DONE]
    assert m["state"] == "handed-off" and m["profile"] == "quick" and m["ip"] == "127.0.0.1"
    assert m["files"] == 3 and m["bytes"] > 420000
    assert [e["path"] for e in m["events"]] == [f"boot/{MAC_DONE}.ipxe", "quick/linux", "quick/initrd0"]
    assert all(e["complete"] and e["type"] == "http" for e in m["events"])
    # One summary line per machine, at hand-off.
    assert nb.log().count(f"{MAC_DONE} 127.0.0.1 handed off to the OS") == 1
    # Looking at the status does not add to a machine's timeline.
    get(port, "status")
    _, body = get(port, "status.json")
    (m,) = [m for m in json.loads(body)["machines"] if m["mac"] == MAC_DONE]
    assert len(m["events"]) == 3


def test_status_page_in_headless_chromium(booted, tmp_path):
    nb, port = booted
    # A second machine that is still booting (only its script so far).
    get(port, f"boot/{MAC_BUSY}.ipxe")
    ctype, html = get(port, "status")
    assert ctype == "text/html; charset=utf-8"

    url = f"http://127.0.0.1:{port}/status"
    r = chromium(["--dump-dom", url], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    dom = r.stdout
    assert "netbootd: boot timelines" in dom
    assert MAC_DONE in dom and MAC_BUSY in dom
    assert "handed off to the OS" in dom and "booting" in dom
    assert "quick/initrd0" in dom

    shot = tmp_path / "status.png"
    r = chromium([f"--screenshot={shot}", "--window-size=1200,800", "--hide-scrollbars", url], tmp_path)
    assert r.returncode == 0 and shot.exists(), r.stderr[-3000:]
    data = shot.read_bytes()
    assert png_size(data) == (1200, 800)
    # A blank page compresses to almost nothing; a rendered table of timelines does not.
    assert len(data) > 20000, len(data)
    keep = os.environ.get("NBD_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / "status.png")
