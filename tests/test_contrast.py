"""Every colour pair the stylesheets draw text with meets WCAG AA (4.5:1), in both schemes.

Read from the stylesheets themselves, so a new colour that falls short fails here
before anyone squints at it in dark mode. axe-core (tests/test_accessibility.py)
checks the same on real pages; this covers the colours no test page happens to show.
"""
import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parent.parent / "static" / "css"
AA = 4.5
WHITESPACE = {".codehilite .w"}  # Pygments colours whitespace tokens too; there is nothing to read

# (text, background) pairs of variables that pages actually combine.
PAIRS = [("fg", "bg"), ("fg", "surface"), ("muted", "bg"), ("muted", "surface"),
         ("accent", "bg"), ("accent", "surface"), ("accent-fg", "accent"),
         ("danger", "bg"), ("danger", "surface"), ("ok", "bg"), ("ok", "surface"),
         ("supports", "bg"), ("challenges", "bg"), ("question", "bg"), ("evidence", "bg"),
         ("mark-fg", "mark-bg")]


def luminance(hex_colour: str) -> float:
    hex_colour = hex_colour.lstrip("#")
    if len(hex_colour) == 3:
        hex_colour = "".join(c * 2 for c in hex_colour)
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", block))


def schemes() -> dict[str, dict[str, str]]:
    css = (CSS / "site.css").read_text()
    light = _variables(css.split("@media (prefers-color-scheme: dark)")[0])
    dark_block = css.split("@media (prefers-color-scheme: dark)")[1].split("\n}\n")[0]
    return {"light": light, "dark": {**light, **_variables(dark_block)}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("text, background", PAIRS)
def test_site_colours_meet_aa(scheme, text, background):
    colours = schemes()[scheme]
    ratio = contrast(colours[text], colours[background])
    assert ratio >= AA, f"{scheme}: --{text} on --{background} is {ratio:.2f}:1"


def _code_colours(block: str) -> list[tuple[str, str]]:
    return re.findall(r"(\.codehilite \.[\w-]+) \{[^}]*?(?<!background-)color: (#[0-9a-fA-F]{3,6})", block)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_code_highlighting_colours_meet_aa_on_the_code_background(scheme):
    css = (CSS / "code.css").read_text()
    light_block, dark_block = css.split("@media (prefers-color-scheme: dark)")
    block = light_block if scheme == "light" else dark_block
    own = re.search(r"\.codehilite \{ background: (#[0-9a-fA-F]{3,6})", block).group(1)
    short = [f"{rule} {colour}: {contrast(colour, own):.2f}" for rule, colour in _code_colours(block)
             if rule not in WHITESPACE and contrast(colour, own) < AA]
    assert _code_colours(block), "no colours found: has code.css changed shape?"
    assert short == []
