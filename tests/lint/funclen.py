#!/usr/bin/python3
"""No function in src/ or efi/imgboot/ is longer than MAX_LINES unless the
comment right above it says why, in a line starting "Long:". A long
function is where a newcomer gets lost and where bugs hide; most split
into named steps. Exit 1 with one line per function over the limit.

The code style puts a function's opening and closing braces alone in
column 0 (STYLE.md), which is what this relies on.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIRS = [ROOT / "src", ROOT / "efi" / "imgboot"]
MAX_LINES = 80
NAME = re.compile(r"^(?=[A-Za-z_])[^;(]*?\b([A-Za-z_]\w*)\s*\(")


def functions(lines):
    """(name, first line of its signature, body length) for each function."""
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            sig = i - 1
            while sig > 0 and not NAME.match(lines[sig]):
                sig -= 1
            end = i + 1
            while end < len(lines) and not lines[end].startswith("}"):
                end += 1
            m = NAME.match(lines[sig])
            yield (m.group(1) if m else "?"), sig, end - i + 1
            i = end
        i += 1


def explained(lines, sig):
    """Does the comment block just above the signature (and its type line) hold "Long:"?"""
    j = sig - 1
    while j >= 0 and lines[j] and not lines[j].startswith(("}", "#")) and not lines[j].endswith(";"):
        if "Long:" in lines[j]:
            return True
        j -= 1
    return False


def main():
    problems, count = [], 0
    for d in DIRS:
        for f in sorted(d.rglob("*.c")):
            lines = f.read_text().splitlines()
            for name, sig, n in functions(lines):
                count += 1
                if n > MAX_LINES and not explained(lines, sig):
                    problems.append(f"{f.relative_to(ROOT)}:{sig + 1}: {name}() is {n} lines "
                                    f"(over {MAX_LINES}): split it into named steps, or say why "
                                    f"not in a \"Long:\" line of the comment above it")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"funclen: {count} functions, none over {MAX_LINES} lines unexplained")
    return 0


if __name__ == "__main__":
    sys.exit(main())
