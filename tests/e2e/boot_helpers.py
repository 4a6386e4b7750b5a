"""Shared steps of the boot-chain e2e tests (tests/e2e/test_boot_*.py).

Each test owns its Testbed (namespace nbd-plan-<name>-<hex>), starts netbootd
inside it, boots one or two QEMU guests and asserts what the guest printed
(NETBOOT-OK <cmdline>) and, where the route matters, which files netbootd
served, from its own log and from /status.json.
"""
import json
import re
import time


# Appended to the guest's command line so the test can tell it came from netbootd's profile.
# (g.cmdline already carries no_timer_check: see guests.CMDLINE_BASE.)
def marker_cmdline(g, tag):
    return f"{g.cmdline} netbootd.profile={tag}"


def netbootd_args(tb, *extra, dhcp="proxy"):
    args = ["--dhcp", dhcp, "--interface", tb.bridge,
            "--tftp", f"{tb.server_ip}:69", "--http", f"{tb.server_ip}:80",
            "--log-level", "info"]
    if dhcp == "server":
        p = tb.subnet_prefix
        args += ["--pool", f"{p}.100-{p}.150", "--lease-file", str(tb.tmp / "leases"),
                 "--netmask", tb.netmask]
    return args + [str(x) for x in extra]


def write_conf(tb, text):
    """A netbootd.conf(5) file in the testbed's temp dir."""
    path = tb.tmp / "netbootd.conf"
    path.write_text(text)
    return path


def status_json(tb):
    """GET /status.json from inside the namespace (curl, a real client)."""
    r = tb.run(["curl", "-sS", "--max-time", "10", f"http://{tb.server_ip}/status.json"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def machine(status, mac):
    for m in status["machines"]:
        if m["mac"] == mac.lower():
            return m
    raise AssertionError(f"{mac} not in /status.json: {json.dumps(status)[:3000]}")


# GRUB's TFTP may end a file without its final ACK reaching netbootd (RFC
# 1350 allows it): the guest boots at once, and netbootd logs that transfer,
# complete, only after its retransmits run out (1+2+4+8+8+8+8 s by default).
# Wait this long before asserting on a GRUB chain's last file.
GRUB_LAST_FILE_WAIT = 90


def wait_handoff(tb, nb, mac, timeout=30):
    """The timeline logs one summary line per machine at hand-off; wait for it."""
    deadline = time.monotonic() + timeout
    pat = re.compile(re.escape(mac.lower()) + r" \S+ handed off to the OS: [^\n]*(?=\n)")
    while time.monotonic() < deadline:
        m = pat.search(nb.log())
        if m:
            return m.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no hand-off line for {mac}\n" + tb.diagnostics())


def boot(vm, expect_cmdline, timeout=300):
    """The guest booted and its /proc/cmdline holds the profile's command line."""
    r = vm.wait_guest(timeout=timeout)
    assert expect_cmdline in r.cmdline, f"cmdline {r.cmdline!r} lacks {expect_cmdline!r}"
    return r


def mac_re(mac):
    """A MAC as it appears in a logged request target (iPXE escapes ':' as %3A)."""
    return "(?::|%3[Aa])".join(mac.lower().split(":"))


def screenshot_status(tb, name="status.png"):
    """Headless Chromium inside the namespace renders /status; returns the PNG path.
    Copied to $NBD_SCREENSHOT_DIR when set (to look at it)."""
    import os
    import shutil
    shot = tb.tmp / name
    r = tb.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={tb.tmp / 'chromium'}", f"--screenshot={shot}",
                "--window-size=1200,800", "--hide-scrollbars", f"http://{tb.server_ip}/status"],
               timeout=180, env=dict(os.environ, HOME=str(tb.tmp)))
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("NBD_SCREENSHOT_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copyfile(shot, os.path.join(keep, name))
    return shot


def served(nb, pattern):
    """Lines of netbootd's log matching a regex (file served, DHCP answer...)."""
    return [l for l in nb.log().splitlines() if re.search(pattern, l)]
