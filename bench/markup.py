"""Benchmark: the Markdown renderer on real reviews, before and after, and hostile shapes.

Run by ``make bench`` (or ``.venv/bin/python bench/markup.py [-n 200] [--rounds 3]``).

1. Real text: ``-n`` reviews sampled (fixed seed) from
   ``../shared/data/openreview_neurips2023_reviews.jsonl.gz``, each rendered by
   the renderer on ``main`` (``git show main:forum/markup.py`` loaded into a
   temporary module) and by this one, alternating in the same run so machine
   load falls on both alike. Per review the fastest of ``--rounds`` CPU times
   (``time.thread_time``) counts; prints p50/p90/max per renderer and the ratio.
   Target (issue 14): p50 no slower than before.
2. CommonMark / GFM spec examples passed, before and after.
3. Each pathological shape of issue 14 under the default CPU budget: CPU
   seconds and whether it rendered or was refused. Target: none above 1 s.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(1000)  # what a worker thread has; deep input must not need more

from forum.markup import RenderTooComplex, render_markdown  # noqa: E402

REVIEWS = ROOT / ".." / "shared" / "data" / "openreview_neurips2023_reviews.jsonl.gz"
SHAPE_LIMIT = 50_000  # characters: the body length limit
SHAPES = {
    "[ x50000": "[" * 50000,
    "[( x25000": "[(" * 25000,
    "[a]( x12500": "[a](" * 12500,
    "* x50000": "*" * 50000,
    "*a x25000": "*a" * 25000,
    "_a x25000": "_a" * 25000,
    "` x50000": "`" * 50000,
    "``a` x12500": "``a`" * 12500,
    "< x50000": "<" * 50000,
    "a\\n=\\n x12500": "a\n=\n" * 12500,
    "# h\\n x10000": "# h\n" * 10000,
    "list 1,000 deep": "".join("  " * i + "- a\n" for i in range(1000)),
    "quotes 5,000 deep": ">" * 5000 + " a",
    "$a$ x10000": "$a$ " * 10000,
    "5,000 distinct formulas": "".join(f"$a_{{{i}}}$ " for i in range(5000)),
    "3,000 link definitions": "".join(f"[l{i}]: http://x.org/{i}\n" for i in range(1500))
                              + "".join(f"[l{i}] " for i in range(1500)),
    "&amp; x10000": "&amp;" * 10000,
    "& x50000": "&" * 50000,
    "- a\\n x12500": "- a\n" * 12500,
    "table of 5,000 rows": "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 5000,
    "50 KB code block": "```python\n" + "x = 1\n" * 8000 + "```",
}


def load_main_renderer():
    """``render_markdown`` of the main branch, or None when git or the file is unavailable."""
    done = subprocess.run(["git", "show", "main:forum/markup.py"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    module = types.ModuleType("markup_main")
    exec(compile(done.stdout, "markup_main.py", "exec"), module.__dict__)
    return module.render_markdown


def sample_reviews(n: int) -> list[str]:
    with gzip.open(REVIEWS, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    return random.Random(14).sample(texts, n)


def cpu_seconds(render, text: str) -> tuple[float, bool]:
    start = time.thread_time()
    try:
        render(text)
        refused = False
    except RenderTooComplex:
        refused = True
    return time.thread_time() - start, refused


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def real_text(n: int, rounds: int, before) -> None:
    reviews = sample_reviews(n)
    for text in reviews[:5]:  # warm both (Pygments lexers, per-thread tools)
        render_markdown(text)
        before and before(text)
    best_after = [float("inf")] * n
    best_before = [float("inf")] * n
    refused = 0
    for _ in range(rounds):
        for i, text in enumerate(reviews):
            if before:
                best_before[i] = min(best_before[i], cpu_seconds(before, text)[0])
            seconds, was_refused = cpu_seconds(render_markdown, text)
            best_after[i] = min(best_after[i], seconds)
            refused += was_refused
    print(f"Real reviews: {n} sampled, {statistics.mean(len(t) for t in reviews):,.0f} characters "
          f"on average, best of {rounds} rounds, CPU ms per review")
    print(f"  {'':10} {'p50':>8} {'p90':>8} {'max':>8} {'mean':>8}")
    rows = [("before", best_before)] if before else []
    for name, values in rows + [("after", best_after)]:
        ms = [v * 1000 for v in values]
        print(f"  {name:10} {percentile(ms, .5):8.2f} {percentile(ms, .9):8.2f} {max(ms):8.2f} "
              f"{statistics.mean(ms):8.2f}")
    if before:
        ratio = percentile(best_after, .5) / percentile(best_before, .5)
        print(f"  after/before p50: {ratio:.2f} (target <= 1.00: {'met' if ratio <= 1 else 'MISSED'})")
    print(f"  refused by the CPU budget: {refused // rounds} of {n}")


def conformance(before) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "markup"))
    from spec_examples import COMMONMARK, GFM, passing, read_examples

    for path, extension_only in ((COMMONMARK, False), (GFM, True)):
        if not path.exists():
            print(f"{path.name}: absent, skipped")
            continue
        examples = [e for e in read_examples(path) if not e.is_raw_html and (e.extension or not extension_only)]
        after = len(passing(examples, render_markdown))
        was = len(passing(examples, before)) if before else None
        print(f"{path.name} (raw HTML excluded{', extensions only' if extension_only else ''}): "
              f"before {was}/{len(examples)}, after {after}/{len(examples)} "
              f"= {after / len(examples):.1%}")


def shapes() -> None:
    print("Pathological shapes, default budget (0.5 s CPU), CPU seconds:")
    worst = 0.0
    for name, text in SHAPES.items():
        seconds, refused = cpu_seconds(render_markdown, text[:SHAPE_LIMIT])
        worst = max(worst, seconds)
        print(f"  {name:26} {seconds:6.3f}  {'refused (422)' if refused else 'rendered'}")
    print(f"  worst case: {worst:.3f} s (target <= 1 s: {'met' if worst <= 1 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="reviews to render")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    before = load_main_renderer()
    if before is None:
        print("main's forum/markup.py is not available: 'before' columns are skipped")
    real_text(args.n, args.rounds, before)
    conformance(before)
    shapes()


if __name__ == "__main__":
    main()
