#!/usr/bin/env python3
"""Fails when a figure the README quotes from BENCHMARKS.md is not in BENCHMARKS.md.

A README paragraph (or list item) that names BENCHMARKS.md quotes its latest run: every measured figure in it
(a number with a unit of time, size, rate or ratio: `7.3 ms`, `0.360 s`, `49x`, `35 MiB`,
`189,211 events/s`, `3.2 %`) must appear in BENCHMARKS.md as written. Run by `make lint`, so
that a new benchmark run and the README cannot drift apart unseen.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURE = re.compile(
    r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)\s?(ms|s|x|MiB|MB|GiB|GB|%|events/s)(?![\w/])"
)


def number(text):
    """`1,091` and `1091`, `17.2` and `17.20`: one number."""
    n = text.replace(",", "")
    return n.rstrip("0").rstrip(".") if "." in n else n


def normalized(text):
    """Each figure as (number, unit), spacing and formatting aside (`49x`, `7.3 ms`)."""
    return {(number(n), u) for n, u in FIGURE.findall(text)}


def main():
    bench = (ROOT / "BENCHMARKS.md").read_text()
    known = normalized(bench)
    # Table cells print numbers without their unit (the column says it).
    known_numbers = {number(n) for n in re.findall(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?", bench)}
    readme = (ROOT / "README.md").read_text()
    missing = []
    in_code = False
    paragraph = []
    lines = readme.splitlines()

    def check(block, line_no):
        text = " ".join(block)
        if "BENCHMARKS" not in text:
            return
        for n, u in sorted(normalized(text)):
            # A ratio or figure derived in the README's own words (a share of a build, a
            # per-object cost) is not quoted: only numbers the run printed are checked.
            # A long number matches a table cell (whose column names the unit); a short one
            # must carry its unit, so that 54x is not taken for some other 54.
            in_a_table = sum(c.isdigit() for c in n) >= 4 and n in known_numbers
            if (n, u) not in known and not in_a_table:
                missing.append(f"README.md:{line_no}: {n} {u} is not in BENCHMARKS.md")

    start = 0
    for i, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.strip() == "":
            if paragraph:
                check(paragraph, start)
            paragraph = []
            continue
        # A list item is a paragraph of its own.
        if line.startswith("- ") and paragraph:
            check(paragraph, start)
            paragraph = []
        if not paragraph:
            start = i
        paragraph.append(line)
    if paragraph:
        check(paragraph, start)
    for m in missing:
        print(m)
    if missing:
        print(f"{len(missing)} README figures are not BENCHMARKS.md's: quote its latest run")
        return 1
    print("every figure of the README's paragraphs that cite BENCHMARKS.md is in it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
