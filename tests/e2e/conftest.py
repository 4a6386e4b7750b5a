"""Fixtures for the QEMU end-to-end tests (see docs/testbed.md).

    def test_x(testbed):            # a fresh Testbed (own netns), torn down after
        vm = testbed.vm("bios")

    def test_y(guest_images):       # the guest kernel/initrd/ISO/GPT image, built once
        ...
"""
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from testbed import Testbed  # noqa: E402


def _sigterm_unwinds(signum, frame):
    # SIGTERM (a CI timeout, `kill`) would end pytest without running finally
    # blocks; raising here unwinds every `with Testbed(...)`, so namespaces and
    # VMs go away. SIGKILL cannot be caught: the next Testbed sweeps those.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _sigterm_unwinds)


def pytest_sessionfinish(session, exitstatus):
    from testbed import sweep_stale_testbeds
    sweep_stale_testbeds()


def _require_root_and_qemu():
    # Missing prerequisites are a broken environment, not a pass: fail loudly.
    if os.geteuid() != 0:
        pytest.fail("e2e tests need root (network namespaces, tap devices)")
    if not shutil.which("qemu-system-x86_64"):
        pytest.fail("qemu-system-x86_64 not found: run `make deps`")


@pytest.fixture
def testbed(request):
    """A Testbed named after the test; everything in it is cleaned up afterwards."""
    _require_root_and_qemu()
    name = re.sub(r"^test_", "", request.node.name)
    with Testbed(name[:20]) as tb:
        yield tb


@pytest.fixture(scope="session")
def guest_images():
    """The guest images (tests/lib/guests.py), built once and cached in build/guest/."""
    from guests import guest
    return guest()
