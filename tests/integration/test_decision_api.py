"""The decision API (issue 16 item 4): netbootd asks GET {api}/v1/boot/MAC
before its config, with a small HTTP service of the test's own standing in
for the user's inventory; answers are cached for decision-api-ttl, and the
config decides when the API has no answer (404), a bad one, or is down."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, free_port  # noqa: E402
from dhcpnet import DhcpNet  # noqa: E402

KERNEL_MAC = "52:54:00:de:00:01"
NAMED_MAC = "52:54:00:de:00:02"
UNKNOWN_MAC = "52:54:00:de:00:03"
GARBAGE_MAC = "52:54:00:de:00:04"
IMAGE_MAC = "52:54:00:de:00:05"
SLOW_MAC = "52:54:00:de:00:06"

ANSWERS = {
    KERNEL_MAC: (200, {"kernel": "vmlinuz", "initrd": ["initrd.img"], "cmdline": "from=api",
                       "message": "rack 4, slot 1"}),
    NAMED_MAC: (200, {"profile": "shell"}),
    GARBAGE_MAC: (200, "{not json"),
    IMAGE_MAC: (200, {"image": "http://198.18.0.9/rescue.iso", "method": "sanboot"}),
}


class Inventory(BaseHTTPRequestHandler):
    asked = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        Inventory.asked.append(self.path)
        mac = self.path.split("/v1/boot/", 1)[-1].split("?", 1)[0]
        if mac == SLOW_MAC:
            time.sleep(4)  # past decision-api-timeout
        code, body = ANSWERS.get(mac, (404, {"error": "unknown"}))
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except BrokenPipeError:
            pass  # netbootd gave up waiting (the slow answer): that is the point

    def log_message(self, *args):
        pass


CONF = """\
[server]
root = {root}
decision-api = http://127.0.0.1:{api}/inventory
decision-api-ttl = 2
decision-api-timeout = 2
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.img
cmdline = from=config
[profile shell]
efi = shell.efi
"""


def root_dir(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for name, data in (("vmlinuz", b"K" * 4096), ("initrd.img", b"I" * 4096),
                       ("shell.efi", b"MZ" + b"E" * 100)):
        (root / name).write_bytes(data)
        os.chmod(root / name, 0o644)
    os.chmod(root, 0o755)
    os.chmod(tmp_path, 0o755)
    return root


def script(port, mac, want=None, timeout=10):
    """The iPXE script for mac, fetched again while it says to wait (as iPXE does)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/boot/{mac}.ipxe", timeout=10) as r:
            text = r.read().decode()
        if "waiting for the decision API" not in text and (want is None or want in text):
            return text
        assert time.monotonic() < deadline, text
        time.sleep(0.2)


def asked(mac):
    return [p for p in Inventory.asked if f"/v1/boot/{mac}" in p]


def test_decisions_cache_and_fallback(tmp_path):
    Inventory.asked = []
    api = ThreadingHTTPServer(("127.0.0.1", 0), Inventory)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    conf = tmp_path / "netbootd.conf"
    conf.write_text(CONF.format(root=root_dir(tmp_path), api=api.server_address[1]))
    os.chmod(conf, 0o644)
    http = free_port(socket.SOCK_STREAM)
    try:
        with Netbootd(["--config", str(conf), "--tftp", "off", "--http", f"127.0.0.1:{http}",
                       "--dhcp", "off"]) as nb:
            # A kernel of the API's: its command line, not the config's.
            s = script(http, KERNEL_MAC, "from=api")
            assert "kernel http://127.0.0.1:" in s and "/vmlinuz" in s and "from=config" not in s
            assert asked(KERNEL_MAC) == [f"/inventory/v1/boot/{KERNEL_MAC}"]
            assert "the API says: rack 4, slot 1" in nb.log()
            # Cached: no second question within the TTL; asked again after it.
            script(http, KERNEL_MAC, "from=api")
            assert len(asked(KERNEL_MAC)) == 1
            time.sleep(2.2)
            script(http, KERNEL_MAC)
            deadline = time.monotonic() + 5
            while len(asked(KERNEL_MAC)) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            # A profile of the config, named by the API.
            assert "shell.efi" in script(http, NAMED_MAC, "shell.efi")
            # An image by URL.
            assert "sanboot" in script(http, IMAGE_MAC, "sanboot")
            # 404 and an unusable answer: the config decides, and says why.
            assert "from=config" in script(http, UNKNOWN_MAC, "from=config")
            assert f"{UNKNOWN_MAC}: the API has no decision (404): the config decides" in nb.log()
            assert "from=config" in script(http, GARBAGE_MAC, "from=config")
            assert f"{GARBAGE_MAC}: the API's answer cannot be used: not a flat JSON object" in nb.log()

            # Too slow: iPXE is told to wait meanwhile, then the config decides.
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/boot/{SLOW_MAC}.ipxe") as r:
                first = r.read().decode()
            assert "waiting for the decision API" in first and "chain --replace" in first, first
            t0 = time.monotonic()
            assert "from=config" in script(http, SLOW_MAC, "from=config", timeout=10)
            assert time.monotonic() - t0 < 4, "the timeout did not apply"
            # The API goes away: the config decides, logged once, nothing hangs.
            api.shutdown()
            api.server_close()
            t0 = time.monotonic()
            assert "from=config" in script(http, "52:54:00:de:00:09", "from=config", timeout=15)
            assert time.monotonic() - t0 < 10
            assert "the API does not answer" in nb.log()
            assert nb.proc.poll() is None
    finally:
        api.server_close()


def test_dhcp_asks_with_the_firmware_arch(tmp_path):
    """A PXE DISCOVER makes netbootd ask at once, with option 93 as ?arch=."""
    Inventory.asked = []
    with DhcpNet("decide") as net:
        # The inventory runs inside the server's namespace, on its loopback.
        api_port = 18099
        srv = Path(__file__).resolve()
        code = ("import sys; sys.path.insert(0, %r); import test_decision_api as t; "
                "from http.server import ThreadingHTTPServer as S; "
                "h = t.Inventory; h.log_message = lambda *a: sys.stdout.write(a[1] %% a[2:] + '\\n') "
                "or sys.stdout.flush(); S(('127.0.0.1', %d), h).serve_forever()"
                % (str(srv.parent), api_port))
        log = tmp_path / "api.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(srv.parents[1] / "lib"),
                                                          str(srv.parents[1] / "tools")]))
        with open(log, "w") as out:
            p = subprocess.Popen(["ip", "netns", "exec", net.server_ns, "/usr/bin/python3", "-c",
                                  code], stdout=out, stderr=out, env=env)
        try:
            conf = tmp_path / "netbootd.conf"
            conf.write_text(CONF.format(root=root_dir(tmp_path), api=api_port))
            os.chmod(conf, 0o644)
            with Netbootd(["--config", str(conf), "--tftp", "off", "--http", "0.0.0.0:8080",
                           "--dhcp", "proxy"], netns=net.server_ns):
                time.sleep(0.5)
                replies = net.client(["--type", "discover", "--mac", KERNEL_MAC, "--opt",
                                      "60=PXEClient:Arch:00007:UNDI:003016", "--opt", "93=hex:0007"])
                assert [r["type"] for r in replies] == ["OFFER"], replies
                deadline = time.monotonic() + 10
                while f"/v1/boot/{KERNEL_MAC}?arch=7" not in log.read_text():
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
        finally:
            p.kill()
            p.wait()
