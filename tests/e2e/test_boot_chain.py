"""A `chain` profile: iPXE gets netbootd's script, which chains an iPXE script
on another web server (here python's http.server on the LAN's router host,
as a netboot.xyz-style menu would be), and that script boots kernel + initrd
from there. Proxy mode beside dnsmasq, SeaBIOS + iPXE ROM."""
import shutil

from boot_helpers import boot, mac_re, marker_cmdline, netbootd_args, served, write_conf
from testbed import Testbed as _Testbed


def test_chain_profile_to_another_server(guest_images):
    g = guest_images
    with _Testbed("plan-chain") as tb:
        tb.start_dnsmasq()  # also makes the router host (tb.router_ns, tb.router_ip)
        web = tb.tmp / "elsewhere"
        web.mkdir()
        for f in (g.kernel, g.initrd):
            shutil.copyfile(f, web / f.name)
        base = f"http://{tb.router_ip}:8080"
        cmdline = marker_cmdline(g, "chained")
        (web / "menu.ipxe").write_text(
            "#!ipxe\n"
            "echo chained script from the other server\n"
            f"kernel {base}/{g.kernel.name} {cmdline}\n"
            f"initrd {base}/{g.initrd.name}\n"
            "boot\n")
        httpd = tb.popen(["/usr/bin/python3", "-u", "-m", "http.server", "--bind", tb.router_ip,
                          "--directory", web, "8080"], "elsewhere-http.log", netns=tb.router_ns)
        tb.wait_log("elsewhere-http.log", "Serving HTTP", proc=httpd)
        conf = write_conf(tb, f"""
[default]
profile = remote
[profile remote]
chain = {base}/menu.ipxe
""")
        root = tb.tmp / "root"  # netbootd's own root holds nothing to boot
        root.mkdir()
        tb.tmp.chmod(0o755)
        nb = tb.start_netbootd(netbootd_args(tb, "--root", root, "--config", conf))
        vm = tb.vm("bios")
        boot(vm, cmdline)
        mac = vm.mac.lower()
        # netbootd handed iPXE its own script, which chained the other server's...
        assert served(nb, rf'http: .*"GET /boot/{mac_re(mac)}\.ipxe" 200'), nb.log()[-4000:]
        script = tb.run(["curl", "-sS", f"http://{tb.server_ip}/boot/{mac}.ipxe"]).stdout
        assert f"chain {base}/menu.ipxe" in script, script
        # ...and kernel and initrd came from there, not from netbootd.
        web_log = tb.log_path("elsewhere-http.log").read_text()
        for name in ("menu.ipxe", g.kernel.name, g.initrd.name):
            assert f'"GET /{name} HTTP/1.1" 200' in web_log, web_log[-3000:]
        assert "chained script from the other server" in vm.serial()
        assert not served(nb, rf'"GET /{g.kernel.name}'), nb.log()[-4000:]
        vm.wait_exit(60)
