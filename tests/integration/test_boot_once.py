"""The booted OS reports in, and boot-once (issue 16 item 5), through the real
daemon and hand-built DHCP from a second namespace: GET /api/v1/booted moves
the machine to "up"; a boot-once host is then sent to its local disk (UEFI:
no offer; iPXE: a script that boots the disk; BIOS PXE: iPXE for that
script), across a restart; DELETE from a status-allow network, or boot-once
turned off in the config, makes it network-boot again."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd  # noqa: E402
from dhcpnet import CLIENT_IP, SERVER_IP, DhcpNet  # noqa: E402

MAC = "52:54:00:0e:00:01"
STRANGER = "52:54:00:0e:00:99"
PORT = 8080

CONF = """\
[server]
root = {root}
dhcp = proxy
tftp = off
http = 0.0.0.0:{port}
status-allow = 127.0.0.1
boot-once-file = {state}
[default]
profile = linux
[profile linux]
kernel = vmlinuz
initrd = initrd.img
[host {mac}]
profile = linux
boot-once = {once}
"""


def uefi(arch=7):
    return ["--opt", f"60=PXEClient:Arch:{arch:05d}:UNDI:003016", "--opt", f"93=hex:{arch:04x}"]


def offers(net, *extra, mac=MAC):
    return [r for r in net.client(["--type", "discover", "--mac", mac] + list(extra))
            if r["type"] == "OFFER"]


def curl(ns, url, *args):
    """(status, body) of an HTTP call made from inside namespace ns."""
    r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "10",
                        "-w", "\n%{http_code}", *args, url], capture_output=True, text=True)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def test_booted_report_and_boot_once(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(b"K" * 4096)
    (root / "initrd.img").write_bytes(b"I" * 4096)
    state = tmp_path / "state" / "boot-once"
    conf = tmp_path / "netbootd.conf"

    def write(once="yes"):
        conf.write_text(CONF.format(root=root, port=PORT, state=state, mac=MAC, once=once))

    write()
    tmp_path.chmod(0o755)
    for p in (root, root / "vmlinuz", root / "initrd.img", conf):
        p.chmod(0o755 if p.is_dir() else 0o644)
    base = f"http://{SERVER_IP}:{PORT}"
    with DhcpNet("once") as net:
        nb = Netbootd(["--config", str(conf)], netns=net.server_ns).start()
        try:
            # First boot: UEFI PXE is offered iPXE; its REQUEST names its address.
            assert [o["file"] for o in offers(net, *uefi())] == ["snponly.efi"]
            ack = net.client(["--type", "request", "--mac", MAC, "--opt", f"50=ip:{CLIENT_IP}"]
                             + uefi())
            assert [a["type"] for a in ack] == ["ACK"], ack

            # Another machine's report from this address: refused (not status-allow).
            code, body = curl(net.client_ns, f"{base}/api/v1/booted/{STRANGER}")
            assert code == 403, body
            # The OS reports in from its own address, no MAC needed.
            code, body = curl(net.client_ns, f"{base}/api/v1/booted")
            assert code == 200, body
            assert json.loads(body) == {"mac": MAC, "state": "up", "boot_once": True}
            assert state.read_text().splitlines()[1].startswith(MAC + " ")
            code, body = curl(net.server_ns, f"http://127.0.0.1:{PORT}/status.json")
            st = json.loads(body)
            assert st["summary"]["up"] == 1
            assert [m["state"] for m in st["machines"] if m["mac"] == MAC] == ["up"]
            code, body = curl(net.server_ns, f"http://127.0.0.1:{PORT}/metrics")
            assert 'netbootd_machines{state="up"} 1' in body

            # Booted once: UEFI firmware is not offered anything; iPXE gets a
            # script that boots the disk; BIOS PXE gets iPXE for that script.
            assert offers(net, *uefi()) == []
            assert offers(net, "--opt", "60=HTTPClient:Arch:00016:UNDI:003016",
                          "--opt", "93=hex:0010") == []
            ipxe = offers(net, *uefi(), "--opt", "77=iPXE")
            assert len(ipxe) == 1 and ipxe[0]["file"].endswith(f"/boot/{MAC}.ipxe"), ipxe
            code, script = curl(net.client_ns, ipxe[0]["file"])
            assert code == 200
            assert "sanboot --no-describe --drive 0x80 ||\nexit\n" in script
            assert "kernel" not in script
            assert [o["file"] for o in offers(net, *uefi(0))] == ["undionly.kpxe"]
            assert "boot-once: it booted already" in nb.log()

            # A restart remembers.
            nb.stop()
            nb = Netbootd(["--config", str(conf)], netns=net.server_ns).start()
            assert "boot-once: 1 machine booted already" in nb.log()
            assert offers(net, *uefi()) == []

            # A reset needs a status-allow network: not the machine's, but the server's own.
            code, body = curl(net.client_ns, f"{base}/api/v1/booted/{MAC}", "-X", "DELETE")
            assert code == 403, body
            code, body = curl(net.server_ns, f"http://127.0.0.1:{PORT}/api/v1/booted/{MAC}",
                              "-X", "DELETE")
            assert code == 200 and json.loads(body)["was_booted"] is True, body
            assert [o["file"] for o in offers(net, *uefi())] == ["snponly.efi"]

            # Booted again, then boot-once turned off and on in the config:
            # the record is dropped, the machine network-boots again.
            code, body = curl(net.server_ns, f"http://127.0.0.1:{PORT}/api/v1/booted/{MAC}")
            assert code == 200 and json.loads(body)["boot_once"] is True, body
            assert offers(net, *uefi()) == []
            for once in ("no", "yes"):
                write(once)
                nb.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while nb.log().count(" applied: ") < (1 if once == "no" else 2):
                    assert time.monotonic() < deadline, nb.log()[-3000:]
                    time.sleep(0.05)
            assert "no longer boot-once in the configuration" in nb.log()
            assert [o["file"] for o in offers(net, *uefi())] == ["snponly.efi"]
            # A machine netbootd knows nothing of: 404.
            code, _ = curl(net.server_ns, f"http://127.0.0.1:{PORT}/api/v1/booted/{STRANGER}")
            assert code == 404
            # Other methods than the API's: 405 as before.
            code, _ = curl(net.server_ns, f"http://127.0.0.1:{PORT}/vmlinuz", "-X", "DELETE")
            assert code == 405
        finally:
            nb.stop()
