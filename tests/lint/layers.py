#!/usr/bin/python3
"""Every layer of src/ points down (docs/architecture.md): a file includes
headers of its own directory or of a lower layer, never a higher one or a
sibling. Exit 1 with one line per upward or sideways include.

    util  <  wire, image  <  model  <  boot, store  <  dhcp, dhcp6, tftp, http, cli, api (+ daemon.h)  <  reload  <  main.c
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
RANK = {"util": 0, "wire": 1, "image": 1, "model": 2, "boot": 3, "store": 3,
        "dhcp": 4, "dhcp6": 4, "tftp": 4, "http": 4, "cli": 4, "api": 4, "daemon.h": 4, "reload": 5,
        "main.c": 6}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def unit(path):
    """The layer a file of src/ belongs to: its directory, or its own name at the top."""
    rel = path.relative_to(SRC) if path.is_absolute() else Path(path)
    if len(rel.parts) == 1 and rel.stem == "reload":
        return "reload"  # reload.c and reload.h: one unit at the top, below main.c
    return rel.parts[0]


def main():
    problems = []
    for f in sorted(SRC.rglob("*.[ch]")):
        me = unit(f)
        if me not in RANK:
            problems.append(f"{f.relative_to(SRC.parent)}: not in any layer (add it to tests/lint/layers.py)")
            continue
        for n, line in enumerate(f.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            them = unit(Path(m.group(1)))
            if them not in RANK:
                problems.append(f"{f.relative_to(SRC.parent)}:{n}: includes {m.group(1)}, in no layer")
            elif them == me:
                continue
            elif RANK[them] > RANK[me]:
                problems.append(f"{f.relative_to(SRC.parent)}:{n}: {me} includes {m.group(1)}, "
                                f"a higher layer ({them})")
            elif RANK[them] == RANK[me] and them != "daemon.h":
                problems.append(f"{f.relative_to(SRC.parent)}:{n}: {me} includes {m.group(1)}, "
                                f"a sibling ({them}): share through a lower layer")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) against the layering (tests/lint/layers.py)")
        return 1
    print(f"layers: {sum(1 for _ in SRC.rglob('*.[ch]'))} files, every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
