"""Server mode (RFC 2131) with real clients: hand-built messages, busybox
udhcpc, perfdhcp, and a kill -9 in the middle of a lease storm."""
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd, default_user  # noqa: E402
from dhcpnet import CLIENT_IP, PY, SERVER_IP, TOOLS, DhcpNet  # noqa: E402

POOL = "198.18.0.10-198.18.7.250"


def ip_in_pool(ip):
    a = int.from_bytes(socket.inet_aton(ip), "big")
    lo, hi = (int.from_bytes(socket.inet_aton(x), "big") for x in POOL.split("-"))
    return lo <= a <= hi


def server_args(root, lease_file, *extra):
    return ["--root", str(root), "--dhcp", "server", "--pool", POOL, "--lease-file",
            str(lease_file), "--tftp", "off", "--http", "off", "--netmask", "255.255.248.0",
            "--router", SERVER_IP, "--dns", "198.18.0.53", "--dns", "198.18.0.54",
            "--domain", "lab.example", "--lease-time", "600"] + list(extra)


def live_leases(path):
    """mac -> ip from the journal, later lines winning, as the server reads it."""
    by_ip, by_mac = {}, {}
    for line in Path(path).read_text().splitlines():
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if f[0] == "L":
            ip, mac = f[1], f[2]
            if mac in by_mac:
                by_ip.pop(by_mac[mac], None)
            by_ip[ip] = mac
            by_mac[mac] = ip
        elif f[0] == "F" and by_ip.get(f[1]) == f[2]:
            del by_ip[f[1]]
            del by_mac[f[2]]
    return by_mac, by_ip


@pytest.fixture
def net():
    with DhcpNet("srv") as n:
        yield n


def test_dora_renew_inform_release_decline(net, tmp_path):
    lease_file = tmp_path / "leases" / "dhcp.leases"
    with Netbootd(server_args(tmp_path, lease_file), netns=net.server_ns) as nb:
        mac = "52:54:00:aa:00:01"
        offer = net.client(["--type", "discover", "--mac", mac])
        assert len(offer) == 1 and offer[0]["type"] == "OFFER", offer
        o = offer[0]
        ip = o["yiaddr"]
        assert ip_in_pool(ip)
        opts = o["options"]
        assert opts["54"] == socket.inet_aton(SERVER_IP).hex()
        assert int(opts["51"], 16) == 600
        assert int(opts["58"], 16) == 300 and int(opts["59"], 16) == 525
        assert opts["1"] == socket.inet_aton("255.255.248.0").hex()
        assert opts["3"] == socket.inet_aton(SERVER_IP).hex()
        assert opts["6"] == (socket.inet_aton("198.18.0.53") + socket.inet_aton("198.18.0.54")).hex()
        assert bytes.fromhex(opts["15"]) == b"lab.example"
        assert "60" not in opts and o["file"] == "", "no boot options for a non-boot client"

        ack = net.client(["--type", "request", "--mac", mac, "--opt", f"50=ip:{ip}",
                          "--opt", f"54=ip:{SERVER_IP}"])
        assert [a["type"] for a in ack] == ["ACK"] and ack[0]["yiaddr"] == ip
        # On disk before the ACK left.
        assert live_leases(lease_file)[0].get(mac) == ip

        # Same client asks again: same address.
        again = net.client(["--type", "discover", "--mac", mac])
        assert again[0]["yiaddr"] == ip

        # RENEWING: unicast from ciaddr, answered by unicast to ciaddr.
        net.run(net.client_ns, ["ip", "addr", "add", f"{ip}/21", "dev", "c0"], check=True)
        renew = net.client(["--type", "request", "--mac", mac, "--ciaddr", ip, "--dest",
                            SERVER_IP, "--bind", f"{ip}:68"])
        assert [a["type"] for a in renew] == ["ACK"] and renew[0]["yiaddr"] == ip

        # INFORM: configuration, no address, no lease time.
        inform = net.client(["--type", "inform", "--mac", mac, "--ciaddr", ip, "--dest",
                             SERVER_IP, "--bind", f"{ip}:68"])
        assert inform[0]["type"] == "ACK" and inform[0]["yiaddr"] == "0.0.0.0"
        assert "51" not in inform[0]["options"] and "1" in inform[0]["options"]

        # INIT-REBOOT with someone else's address: NAK (broadcast).
        other = "52:54:00:aa:00:02"
        nak = net.client(["--type", "request", "--mac", other, "--opt", f"50=ip:{ip}"])
        assert [a["type"] for a in nak] == ["NAK"]
        # SELECTING another server: silence, and the offer is withdrawn.
        o2 = net.client(["--type", "discover", "--mac", other])[0]["yiaddr"]
        assert o2 != ip
        assert net.client(["--type", "request", "--mac", other, "--opt", f"50=ip:{o2}",
                           "--opt", "54=ip:198.18.0.99"], timeout=1) == []

        # RELEASE frees the address in the journal.
        net.client(["--type", "release", "--mac", mac, "--ciaddr", ip, "--dest", SERVER_IP,
                    "--bind", f"{ip}:68", "--opt", f"54=ip:{SERVER_IP}"], timeout=0.5)
        time.sleep(0.3)
        assert mac not in live_leases(lease_file)[0]

        # DECLINE parks the address: the next client gets another one.
        d = "52:54:00:aa:00:03"
        dip = net.client(["--type", "discover", "--mac", d])[0]["yiaddr"]
        assert net.client(["--type", "request", "--mac", d, "--opt", f"50=ip:{dip}",
                           "--opt", f"54=ip:{SERVER_IP}"])[0]["type"] == "ACK"
        net.client(["--type", "decline", "--mac", d, "--opt", f"50=ip:{dip}",
                    "--opt", f"54=ip:{SERVER_IP}"], timeout=0.5)
        time.sleep(0.3)
        assert f"D {dip} " in lease_file.read_text()
        assert "declined" in nb.log()
        for i in range(4, 8):
            got = net.client(["--type", "discover", "--mac", f"52:54:00:aa:00:0{i}"])
            assert got[0]["yiaddr"] != dip


def test_boot_client_in_server_mode(net, tmp_path):
    with Netbootd(server_args(tmp_path, tmp_path / "l" / "leases"), netns=net.server_ns) as nb:
        r = net.client(["--type", "discover", "--mac", "52:54:00:bb:00:07", "--opt",
                        "60=PXEClient:Arch:00007:UNDI:003016", "--opt", "93=hex:0007"])
        assert len(r) == 1
        r = r[0]
        assert ip_in_pool(r["yiaddr"]) and r["siaddr"] == SERVER_IP
        assert r["file"] == "snponly.efi"
        assert bytes.fromhex(r["options"]["60"]) == b"PXEClient"
        assert "uefi-pxe: OFFER snponly.efi" in nb.log()


def test_relay_in_server_mode(net, tmp_path):
    with Netbootd(server_args(tmp_path, tmp_path / "l" / "leases"), netns=net.server_ns):
        o82 = "010461626364"
        r = net.client(["--type", "discover", "--mac", "52:54:00:cc:00:01", "--giaddr",
                        CLIENT_IP, "--dest", SERVER_IP, "--bind", f"{CLIENT_IP}:67",
                        "--opt", f"82=hex:{o82}"])
        assert len(r) == 1 and r[0]["type"] == "OFFER"
        assert r[0]["from"] == f"{SERVER_IP}:67" and r[0]["options"]["82"] == o82


def test_relay_on_another_network_gets_no_address(net, tmp_path):
    """RFC 2131 §4.3.1: a relayed client's address comes from giaddr's network.
    The one pool is on 198.18.0.0/21; a relay on 198.19.5.0/24 (reachable, so a
    wrong OFFER would arrive) must get nothing, and the log must say why."""
    net.run(net.client_ns, ["ip", "addr", "add", "198.19.5.1/24", "dev", "c0"], check=True)
    net.run(net.server_ns, ["ip", "route", "add", "198.19.5.0/24", "via", CLIENT_IP], check=True)
    try:
        with Netbootd(server_args(tmp_path, tmp_path / "l" / "leases"), netns=net.server_ns) as nb:
            mac = "52:54:00:cc:00:02"
            for _ in range(2):
                r = net.client(["--type", "discover", "--mac", mac, "--giaddr", "198.19.5.1",
                                "--dest", SERVER_IP, "--bind", "198.19.5.1:67"], timeout=1.5)
                assert r == [], r
            warn = [l for l in nb.log().splitlines()
                    if f"warn dhcp: {mac} via relay 198.19.5.1: no OFFER" in l]
            assert len(warn) == 1 and "not on the relay's network (netmask 255.255.248.0)" in warn[0], \
                nb.log()[-2000:]
            # The same relay host, giaddr on the pool's network: an address.
            r = net.client(["--type", "discover", "--mac", mac, "--giaddr", CLIENT_IP,
                            "--dest", SERVER_IP, "--bind", f"{CLIENT_IP}:67"])
            assert len(r) == 1 and ip_in_pool(r[0]["yiaddr"]), r
    finally:
        net.run(net.server_ns, ["ip", "route", "del", "198.19.5.0/24"])
        net.run(net.client_ns, ["ip", "addr", "del", "198.19.5.1/24", "dev", "c0"])


def test_busybox_udhcpc_gets_an_address(tmp_path):
    script = tmp_path / "udhcpc.sh"
    out = tmp_path / "udhcpc.out"
    script.write_text(f'#!/bin/sh\necho "$1 ip=$ip subnet=$subnet router=$router dns=$dns '
                      f'domain=$domain serverid=$serverid lease=$lease" >> {out}\n')
    script.chmod(0o755)
    with DhcpNet("udhcpc", client_addr=False) as n:
        with Netbootd(server_args(tmp_path, tmp_path / "l" / "leases"), netns=n.server_ns) as nb:
            r = n.run(n.client_ns, ["busybox", "udhcpc", "-i", "c0", "-f", "-q", "-n", "-t", "5",
                                    "-T", "1", "-s", str(script)], timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr + nb.log()
            text = out.read_text()
            m = re.search(r"bound ip=(\S+) subnet=255.255.248.0 router=198.18.0.1 "
                          r"dns=198.18.0.53 198.18.0.54 domain=lab.example "
                          r"serverid=198.18.0.1 lease=600", text)
            assert m, text
            assert ip_in_pool(m.group(1))
            by_mac, _ = live_leases(tmp_path / "l" / "leases")
            assert m.group(1) in by_mac.values()


def perfdhcp(n, rate, seconds, clients, base=None):
    cmd = ["perfdhcp", "-4", "-r", str(rate), "-R", str(clients), "-p", str(seconds)]
    if base:
        cmd += ["-b", f"mac={base}"]
    return cmd + ["-l", "c0", SERVER_IP]


def test_perfdhcp_against_server_mode(net, tmp_path):
    lease_file = tmp_path / "l" / "leases"
    with Netbootd(server_args(tmp_path, lease_file), netns=net.server_ns) as nb:
        # ~6000 exchanges over 300 clients: enough journal records to compact.
        r = net.run(net.client_ns, perfdhcp(net, 600, 10, 300), timeout=90)
        text = r.stdout
        sent = [int(x) for x in re.findall(r"sent packets: (\d+)", text)]
        recv = [int(x) for x in re.findall(r"received packets: (\d+)", text)]
        assert len(sent) == 2 and sent[0] > 0, text + r.stderr
        # Correctness, not speed: nearly every exchange completes at a modest rate.
        assert recv[1] >= 0.8 * sent[1], text
        assert "non unique addresses: 0" in text
        assert "rejected leases: 0" in text
        by_mac, _ = live_leases(lease_file)
        assert len(by_mac) >= min(300, recv[1]) * 0.8
        assert nb.proc.poll() is None
        # Compaction (temp file + rename) worked after the privilege drop: the
        # lease directory netbootd created and the file belong to its user,
        # and the journal is far shorter than the ACKs it recorded.
        nobody = default_user().pw_uid
        assert lease_file.parent.stat().st_uid == nobody
        assert lease_file.stat().st_uid == nobody
        print("perfdhcp ACKs", recv[1], "journal lines", len(lease_file.read_text().splitlines()))
        if recv[1] > 5500:
            assert len(lease_file.read_text().splitlines()) < recv[1] / 2
        assert "compaction failed" not in nb.log()
        assert not (lease_file.parent / (lease_file.name + ".tmp")).exists()


def test_kill9_during_churn_keeps_every_acked_lease(net, tmp_path):
    lease_file = tmp_path / "leases" / "dhcp.leases"
    acked = tmp_path / "acked.txt"
    args = server_args(tmp_path, lease_file)
    nb = Netbootd(args, netns=net.server_ns).start()
    try:
        load = subprocess.Popen(["ip", "netns", "exec", net.client_ns] +
                                perfdhcp(net, 300, 6, 400), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        churn = subprocess.Popen(["ip", "netns", "exec", net.client_ns, PY,
                                  str(TOOLS / "dhcppkt.py"), "--iface", "c0", "--churn",
                                  "--clients", "600", "--window", "24", "--duration", "6",
                                  "--mac-prefix", "02:00:00:00", "--out", str(acked)],
                                 stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        # Kill while ACKs are flowing.
        while time.monotonic() < deadline:
            if acked.exists() and len(acked.read_text().splitlines()) >= 100:
                break
            time.sleep(0.05)
        nb.kill9()
        churn_out = churn.communicate(timeout=60)[0]
        load.communicate(timeout=60)
    finally:
        nb.stop(check_sanitizers=False)
    log1 = nb.log()
    for marker in ("ERROR: AddressSanitizer", "runtime error:"):
        assert marker not in log1
    pairs = [line.split() for line in acked.read_text().splitlines()]
    assert len(pairs) >= 100, churn_out
    # The client saw each MAC ACKed once with one address; no address twice.
    ips = [ip for _, ip in pairs]
    assert len(set(ips)) == len(ips), "an address was ACKed to two clients"

    with Netbootd(args, netns=net.server_ns) as nb2:
        assert "active leases loaded" in nb2.log()
        by_mac, _ = live_leases(lease_file)
        for mac, ip in pairs:
            assert by_mac.get(mac) == ip, f"ACKed lease {mac} {ip} lost after kill -9"
        # And the server itself agrees: INIT-REBOOT for each gets its ACK.
        r = net.run(net.client_ns, [PY, str(TOOLS / "dhcppkt.py"), "--iface", "c0",
                                    "--verify", str(acked)], timeout=120)
        v = json.loads(r.stdout)
        assert v["ok"] == len(pairs), v["bad"][:5]
        # New clients never get an address that was ACKed before the crash.
        fresh = tmp_path / "fresh.txt"
        r = net.run(net.client_ns, [PY, str(TOOLS / "dhcppkt.py"), "--iface", "c0", "--churn",
                                    "--clients", "200", "--window", "16", "--duration", "15",
                                    "--mac-prefix", "02:00:00:01", "--out", str(fresh)],
                    timeout=60)
        new_ips = [line.split()[1] for line in fresh.read_text().splitlines()]
        assert len(new_ips) == 200, r.stdout
        assert not set(new_ips) & set(ips), "an address ACKed before the crash was given again"
        assert len(set(new_ips)) == len(new_ips)


def test_corrupt_lease_file_keeps_valid_leases(net, tmp_path):
    d = tmp_path / "l"
    d.mkdir()
    lease_file = d / "leases"
    exp = int(time.time()) + 3600
    lease_file.write_text(
        "# netbootd leases v1\n"
        f"L 198.18.0.20 52:54:00:dd:00:01 {exp}\n"
        "L 198.18.0.21 not-a-mac 123\n"
        f"L 10.0.0.1 52:54:00:dd:00:09 {exp}\n"
        "\x00garbage\xff\n"
        f"L 198.18.0.22 52:54:00:dd:00:02 {exp}\n"
        f"L 198.18.0.23 52:54:00:dd:00:03 {exp}")  # truncated by a crash: no newline
    with Netbootd(server_args(tmp_path, lease_file), netns=net.server_ns) as nb:
        log = nb.log()
        assert f"lease file {lease_file}:3: bad MAC address" in log
        assert f"lease file {lease_file}:4: address outside the pool" in log
        assert f"lease file {lease_file}:5:" in log
        assert f"lease file {lease_file}:7: truncated" in log
        assert "2 active leases loaded" in log
        for mac, ip in (("52:54:00:dd:00:01", "198.18.0.20"), ("52:54:00:dd:00:02", "198.18.0.22")):
            r = net.client(["--type", "request", "--mac", mac, "--opt", f"50=ip:{ip}"])
            assert r and r[0]["type"] == "ACK" and r[0]["yiaddr"] == ip
        # The rewritten file holds only the valid leases.
        by_mac, _ = live_leases(lease_file)
        assert set(by_mac) == {"52:54:00:dd:00:01", "52:54:00:dd:00:02"}


def test_host_fixed_address(net, tmp_path):
    conf = tmp_path / "netbootd.conf"
    conf.write_text("[host 52:54:00:ee:00:01]\naddress = 198.18.0.10\n\n"
                    "[host 52:54:00:ee:00:02]\naddress = 198.18.9.9\n")
    lease_file = tmp_path / "l" / "leases"
    with Netbootd(server_args(tmp_path, lease_file, "--config", str(conf)),
                  netns=net.server_ns):
        # 198.18.0.10 is the first pool address, but it is kept for its host.
        other = net.client(["--type", "discover", "--mac", "52:54:00:ee:00:09",
                            "--opt", "50=ip:198.18.0.10"])
        assert other[0]["yiaddr"] != "198.18.0.10"
        for mac, ip in (("52:54:00:ee:00:01", "198.18.0.10"), ("52:54:00:ee:00:02", "198.18.9.9")):
            o = net.client(["--type", "discover", "--mac", mac])
            assert o[0]["yiaddr"] == ip, o
            a = net.client(["--type", "request", "--mac", mac, "--opt", f"50=ip:{ip}",
                            "--opt", f"54=ip:{SERVER_IP}"])
            assert a[0]["type"] == "ACK" and a[0]["yiaddr"] == ip
        # Someone else asking for the fixed address by INIT-REBOOT: NAK.
        n = net.client(["--type", "request", "--mac", "52:54:00:ee:00:09",
                        "--opt", "50=ip:198.18.0.10"])
        assert n[0]["type"] == "NAK"


def test_unicast_to_chaddr_without_broadcast_flag(net, tmp_path):
    """RFC 2131 §4.1: no giaddr, no ciaddr, broadcast bit clear: OFFER and ACK
    go to chaddr (Ethernet unicast) and yiaddr (IP); with the bit set, or for
    a NAK, broadcast."""
    link = net.run(net.client_ns, ["cat", "/sys/class/net/c0/address"], check=True)
    mac = link.stdout.strip()
    with Netbootd(server_args(tmp_path, tmp_path / "l" / "leases"), netns=net.server_ns):
        offer = net.client(["--type", "discover", "--mac", mac, "--capture"])
        assert len(offer) == 1, offer
        o = offer[0]
        assert o["type"] == "OFFER" and o["link"] == "host", o
        assert o["ip_dst"] == o["yiaddr"] and ip_in_pool(o["yiaddr"]) and o["ip_src"] == SERVER_IP
        ack = net.client(["--type", "request", "--mac", mac, "--capture", "--opt",
                          f"50=ip:{o['yiaddr']}", "--opt", f"54=ip:{SERVER_IP}"])
        assert ack[0]["type"] == "ACK" and ack[0]["link"] == "host"
        assert ack[0]["ip_dst"] == o["yiaddr"]
        # Broadcast bit set: broadcast.
        b = net.client(["--type", "discover", "--mac", mac])
        assert b[0]["type"] == "OFFER" and b[0]["flags"] == 0x8000
        nak = net.client(["--type", "request", "--mac", mac, "--capture",
                          "--opt", "50=ip:198.18.7.251"])
        assert nak[0]["type"] == "NAK" and nak[0]["link"] == "broadcast"
        assert nak[0]["ip_dst"] == "255.255.255.255"
