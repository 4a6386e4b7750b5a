"""imgboot.efi's pure parsers on the host (no VM): load options, key=value
documents, PXE's cached DHCP packets and URLs, with hostile and random inputs
under ASan+UBSan. The C tests are efi/imgboot/test_host.c; this runs them in
`make check` (they take about a second)."""
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_imgboot_host_parsers():
    if not Path("/usr/include/efi/efi.h").exists():
        raise AssertionError("gnu-efi headers missing: run `make deps`")
    out = Path(tempfile.mkdtemp(prefix="imgboot-host-"))
    try:
        r = subprocess.run(["make", "-s", "-C", str(REPO / "efi" / "imgboot"),
                            f"HOSTDIR={out}", "host-test"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "0 failures" in r.stdout, r.stdout
    finally:
        shutil.rmtree(out, ignore_errors=True)
