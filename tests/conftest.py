import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))


@pytest.fixture(autouse=True)
def _world_readable_tmp(request):
    """netbootd drops to 'nobody' after binding; pytest makes its temp dirs
    0700, which nobody cannot enter. Open up tmp_path and its parents (under
    /tmp only) so a root served from tmp_path is readable after the drop."""
    if "tmp_path" not in request.fixturenames:
        yield
        return
    tmp = request.getfixturevalue("tmp_path")
    p = Path(tmp)
    while str(p).startswith("/tmp/") and p != Path("/tmp"):
        try:
            os.chmod(p, 0o755)
        except OSError:
            pass
        p = p.parent
    yield
