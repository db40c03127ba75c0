"""Build-time machinery of the qkv site: figures, check boxes, code includes, glossary.

Not part of the `qkv` package: it runs inside `mkdocs build` (through `docs/_tools/hooks.py`) and in
the tests (`pythonpath` in pyproject.toml puts `docs/_tools` on `sys.path`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

LANGS = ("en", "zh")
MKDOCS_YML = Path(__file__).resolve().parents[3] / "mkdocs.yml"
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def blocks(markdown: str) -> Iterator[tuple[int, str, str]]:
    """(line number, line, kind) for each line of a page, where kind is "fence" (a line that opens
    or closes a fenced code block: an odd number of them leaves one open), "code" (inside one),
    "math" (display math, from a line with an odd number of `$$` outside inline code to the next)
    or "text"."""
    fence = ""
    math = False
    for number, line in enumerate(markdown.split("\n"), start=1):
        match = FENCE.match(line)
        if fence:
            ticks, info = match.groups() if match else ("", "")
            closes = ticks[:1] == fence[0] and len(ticks) >= len(fence) and not info.strip()
            fence = "" if closes else fence
            yield number, line, "fence" if closes else "code"
        elif match:
            fence = match[1]
            yield number, line, "fence"
        else:
            odd = "$$" in line and INLINE_CODE.sub("", line).count("$$") % 2 == 1
            yield number, line, "math" if math or odd else "text"
            math ^= odd


def nav_concepts() -> list[str]:
    """The slugs of the concept pages, in the order of the nav in mkdocs.yml."""
    return re.findall(r"concepts/([\w-]+)\.md", MKDOCS_YML.read_text(encoding="utf-8"))
