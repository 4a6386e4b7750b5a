"""Pool exhaustion in server mode (issue 11 item 7, docs/security.md), each
as the attack it stops, with real DHCP exchanges between two namespaces:

- a flood of DISCOVERs from made-up MACs (no REQUEST) fills a small pool with
  OFFERs: a real client must still get an address (the oldest OFFER is taken
  back);
- one machine completing DORA for 120 made-up MACs: dhcp-lease-rate bounds
  how many addresses it takes; without the limit it takes the whole pool
  (the control);
- dhcp-known-only: a MAC without a [host] section gets no answer at all.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from daemon import Netbootd  # noqa: E402
from dhcpnet import PY, SERVER_IP, TOOLS, DhcpNet  # noqa: E402


def server_args(root, pool, *extra):
    return ["--root", str(root), "--dhcp", "server", "--pool", pool, "--lease-file",
            str(root / "leases" / "dhcp.leases"), "--tftp", "off",
            "--http", "off", "--netmask", "255.255.255.0", "--lease-time", "3600"] + list(extra)


def dora(net, mac):
    offer = net.client(["--type", "discover", "--mac", mac])
    if not offer or offer[0]["type"] != "OFFER":
        return None
    ip = offer[0]["yiaddr"]
    ack = net.client(["--type", "request", "--mac", mac, "--opt", f"50=ip:{ip}",
                      "--opt", f"54=ip:{SERVER_IP}"])
    return ip if [a["type"] for a in ack] == ["ACK"] else None


def churn(net, tmp_path, clients, seconds, prefix):
    """DORA for `clients` made-up MACs as fast as the server answers."""
    r = net.run(net.client_ns, [PY, str(TOOLS / "dhcppkt.py"), "--iface", "c0", "--churn",
                                "--clients", str(clients), "--window", "16", "--duration",
                                str(seconds), "--mac-prefix", prefix,
                                "--out", str(tmp_path / f"acked-{prefix}")], timeout=seconds + 60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_discover_flood_does_not_starve_a_real_client(tmp_path):
    with DhcpNet("pool-flood") as net:
        with Netbootd(server_args(tmp_path, "198.18.0.10-198.18.0.14"), netns=net.server_ns) as nb:
            # 20 made-up MACs DISCOVER and never REQUEST: 5 addresses, all offered.
            offered = set()
            for i in range(20):
                got = net.client(["--type", "discover", "--mac", f"02:66:00:00:00:{i:02x}"])
                assert [o["type"] for o in got] == ["OFFER"], (i, nb.log())
                offered.add(got[0]["yiaddr"])
            assert len(offered) == 5
            # The real client still gets an address, within the OFFER hold (60 s).
            ip = dora(net, "52:54:00:c0:ff:ee")
            assert ip in offered, nb.log()
            assert "pool exhausted" not in nb.log()


def test_lease_rate_bounds_one_machine_with_many_macs(tmp_path):
    pool = "198.18.0.10-198.18.0.109"  # 100 addresses
    with DhcpNet("pool-rate") as net:
        # 2 new clients a second, bursts of 20: about 20 + 2 x 4 s in the churn below.
        with Netbootd(server_args(tmp_path, pool, "--dhcp-lease-rate", "2", "--interface", "s0"),
                      netns=net.server_ns) as nb:
            r = churn(net, tmp_path, 120, 4, "02:77:00:00")
            assert 20 <= r["acked"] <= 40, (r, nb.log())
            assert "faster than dhcp-lease-rate 2/s (burst 20) on s0" in nb.log()


def test_without_lease_rate_one_machine_takes_the_pool(tmp_path):
    """The control: with the limit off, the same churn exhausts the pool."""
    pool = "198.18.0.10-198.18.0.109"
    with DhcpNet("pool-norate") as net:
        with Netbootd(server_args(tmp_path, pool, "--dhcp-lease-rate", "0"),
                      netns=net.server_ns) as nb:
            r = churn(net, tmp_path, 120, 4, "02:78:00:00")
            assert r["acked"] == 100, (r, nb.log())


def test_known_only_answers_listed_hosts_alone(tmp_path):
    conf = tmp_path / "netbootd.conf"
    conf.write_text(f"""[server]
root = {tmp_path}
dhcp = server
pool = 198.18.0.10-198.18.0.20
netmask = 255.255.255.0
tftp = off
http = off
dhcp-known-only = yes
lease-file = {tmp_path}/leases/dhcp.leases

[host 52:54:00:00:aa:01]
hostname = known1
""")
    with DhcpNet("pool-known") as net:
        with Netbootd(["--config", str(conf)], netns=net.server_ns) as nb:
            assert net.client(["--type", "discover", "--mac", "52:54:00:00:aa:02"]) == []
            assert "52:54:00:00:aa:02 DISCOVER: not answered: not a known host " \
                   "(dhcp-known-only)" in nb.log()
            assert dora(net, "52:54:00:00:aa:01") is not None, nb.log()
