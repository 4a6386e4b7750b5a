"""A userspace stand-in for `tc netem` when the kernel has no sch_netem.

Run inside the server namespace: creates TUN devices tunS (here, SERVER_IP)
and tunC (moved into the client namespace, CLIENT_IP) and forwards IP packets
between them with netem-like impairment: LOSS % dropped, DUP % sent twice,
and every packet but REORDER % held for DELAY ms (so the immediate ones
overtake the held ones: netem's "reorder" model). Prints READY when wired.

    ip netns exec SRV python3 tftp_impair.py SRV CLI SERVER_IP CLIENT_IP [loss dup reorder delay_ms]
"""
import fcntl
import heapq
import os
import random
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def sh(*cmd):
    subprocess.run(cmd, check=True)


def main():
    srv_ns, cli_ns, srv_ip, cli_ip = sys.argv[1:5]
    loss, dup, reorder, delay = (float(x) for x in (sys.argv[5:9] or ["5", "5", "25", "2"]))
    fs, fc = tun("tunS"), tun("tunC")
    sh("ip", "link", "set", "tunC", "netns", cli_ns)
    sh("ip", "addr", "add", f"{srv_ip}/24", "dev", "tunS")
    sh("ip", "link", "set", "tunS", "up")
    sh("ip", "-n", cli_ns, "addr", "add", f"{cli_ip}/24", "dev", "tunC")
    sh("ip", "-n", cli_ns, "link", "set", "tunC", "up")
    print("READY", flush=True)
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    held = []  # (due, seq, fd, packet)
    seq = 0
    other = {fs: fc, fc: fs}
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, out, pkt = heapq.heappop(held)
            try:
                os.write(out, pkt)
            except OSError:
                pass
        timeout = max(0.0, held[0][0] - now) if held else 0.5
        r, _, _ = select.select([fs, fc], [], [], timeout)
        for fd in r:
            while True:
                try:
                    pkt = os.read(fd, 70000)
                except BlockingIOError:
                    break
                if rng.random() * 100 < loss:
                    continue
                copies = 2 if rng.random() * 100 < dup else 1
                for _ in range(copies):
                    if rng.random() * 100 < reorder:
                        try:
                            os.write(other[fd], pkt)
                        except OSError:
                            pass
                    else:
                        seq += 1
                        heapq.heappush(held, (time.monotonic() + delay / 1000.0, seq, other[fd], pkt))


if __name__ == "__main__":
    main()
