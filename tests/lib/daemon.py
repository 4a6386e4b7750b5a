"""Start and stop netbootd (or a peer server) for a test, by PID, with its log kept.

    with Netbootd(["--root", str(root), "--tftp", f"127.0.0.1:{port}",
                   "--http", "off", "--dhcp", "off"]) as nb:
        ...
        assert "something" in nb.log()

The binary is $NETBOOTD (the Makefile points integration tests at the
ASan+UBSan build, e2e at the plain one), else ./netbootd. A sanitizer report
in the log fails the test at stop().
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def netbootd_binary():
    return os.environ.get("NETBOOTD") or str(REPO / "netbootd")


def default_user():
    """Who netbootd runs as without --user: the system user netbootd when it
    exists (make install makes it), else nobody."""
    import pwd
    try:
        return pwd.getpwnam("netbootd")
    except KeyError:
        return pwd.getpwnam("nobody")


def free_port(kind=socket.SOCK_DGRAM, host="127.0.0.1"):
    """A port that was free a moment ago (bind to 0 and let it go)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Netbootd:
    def __init__(self, args, netns=None, binary=None, ready=" ready: ", timeout=20, env=None):
        self.args = list(args)
        self.netns = netns
        self.binary = binary or netbootd_binary()
        self.ready = ready
        self.timeout = timeout
        self.env = env
        self.proc = None
        self.logfile = tempfile.NamedTemporaryFile(prefix="netbootd-", suffix=".log", delete=False)

    def command(self):
        cmd = [self.binary] + self.args
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return cmd

    def start(self):
        env = dict(os.environ)
        # Leaks are checked by the unit tests; the daemon exits via _exit paths too.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(self.command(), stdout=self.logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.ready and self.ready in self.log():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"netbootd exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        if self.ready:
            self.stop()
            raise RuntimeError(f"netbootd not ready after {self.timeout}s:\n{self.log()}")
        return self

    def log(self):
        try:
            return Path(self.logfile.name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, check_sanitizers=True):
        """SIGTERM, wait, SIGKILL if needed. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        if check_sanitizers:
            log = self.log()
            for marker in SANITIZER_MARKERS:
                assert marker not in log, f"sanitizer report in netbootd log:\n{log[-6000:]}"
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(check_sanitizers=exc[0] is None)
        try:
            os.unlink(self.logfile.name)
        except OSError:
            pass
        return False


def run_netbootd(args, timeout=10, netns=None):
    """Run netbootd to completion (for --check-config, bad flags...)."""
    cmd = [netbootd_binary()] + list(args)
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
