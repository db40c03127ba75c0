"""Registry of the site's figures, drawn from the reference code at build time.

A figure is a function `draw(lang) -> Figure` registered under a stable name with `@figure(name)`.
Pages place it with a line `[[figure: name]]`; the build hook calls `render(name, lang)`.
Each page's figures live in `qkvdocs/figures/<page-slug>.py`; this package imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Figure:
    """A drawn figure in one language: inline SVG (or an HTML table), its caption, its alt text;
    for an interactive figure also the data its script draws (`svg` is then the still version
    shown without JavaScript; see _widget.py)."""

    svg: str
    caption: str
    alt: str
    data: dict | None = None


_REGISTRY: dict[str, Callable[[str], Figure]] = {}


def figure(name: str) -> Callable[[Callable[[str], Figure]], Callable[[str], Figure]]:
    """Register `draw(lang) -> Figure` under `name` (unique across the site)."""

    def register(draw: Callable[[str], Figure]) -> Callable[[str], Figure]:
        if name in _REGISTRY:
            raise ValueError(f"figure {name!r} is registered twice")
        _REGISTRY[name] = draw
        return draw

    return register


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except ModuleNotFoundError as exc:  # a page about PyTorch, on a NumPy-only install
            if exc.name != "torch":
                raise


def names() -> list[str]:
    """Every registered figure name, sorted."""
    _load_all()
    return sorted(_REGISTRY)


@cache
def render(name: str, lang: str) -> Figure:
    """Draw figure `name` in `lang` ("en" or "zh"); cached for the length of one build process."""
    _load_all()
    if lang not in ("en", "zh"):
        raise ValueError(f"figure {name!r}: unknown language {lang!r}")
    if name not in _REGISTRY:
        raise KeyError(f"no figure named {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    with warnings.catch_warnings():
        # CJK glyphs are missing from matplotlib's bundled font; browsers draw the text, so only
        # matplotlib's layout estimate is affected (see _svg.py).
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        result = _REGISTRY[name](lang)
    if not isinstance(result, Figure) or not result.caption or not result.alt:
        raise ValueError(
            f"figure {name!r} ({lang}) must return a Figure with a caption and alt text"
        )
    return result
