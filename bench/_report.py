"""The one speed table: every bench adds its rows, ``make bench`` prints them together.

A bench calls ``row(bench, measure, value, target=..., met=...)`` for each
figure worth keeping. When ``BENCH_REPORT`` names a file (``make bench`` sets
one), the row is appended to it as a JSON line; otherwise nothing is written
and the bench's own printout is all there is. ``python bench/_report.py FILE``
prints the collected rows as the Markdown table that README's "Speed" section
holds, headed with the date and the load average, since on a shared machine a
figure means little without them. Ratios against a baseline measured in the
same run (``/healthz``, the previous code) are the figures to compare across
days; absolute times move with the machine.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone

ENV = "BENCH_REPORT"


def row(bench: str, measure: str, value: str, *, target: str = "", met: bool | None = None) -> None:
    """Record one figure for the speed table (a no-op outside ``make bench``)."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"bench": bench, "measure": measure, "value": value,
                              "target": target, "met": met}) + "\n")


def table(lines: list[str]) -> str:
    rows = [json.loads(line) for line in lines if line.strip()]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    out = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench` on "
           f"{os.cpu_count()} CPUs, load average {load} (1, 5, 15 min).", "",
           "| bench | measure | value | target | |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        verdict = "" if r["met"] is None else ("met" if r["met"] else "missed")
        out.append(f"| {r['bench']} | {r['measure']} | {r['value']} | {r['target']} | {verdict} |")
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/_report.py ROWS.jsonl")
    with open(sys.argv[1], encoding="utf-8") as source:
        print(table(source.readlines()))
