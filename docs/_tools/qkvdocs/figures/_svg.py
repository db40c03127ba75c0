"""Turn a matplotlib figure into inline SVG that suits the site.

- text stays text (`svg.fonttype = "none"`), so Chinese labels need no font at build time;
- element ids get a per-figure prefix, so two figures on one page never share an id;
- metadata (title, date, creator) is dropped, so it does not reach the search index.
"""

from __future__ import annotations

import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402

FONT_STACK = (
    "-apple-system, 'Segoe UI', 'Noto Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', "
    "'PingFang SC', 'Microsoft YaHei', 'Helvetica Neue', Arial, sans-serif"
)

MONO_STACK = "ui-monospace, 'SFMono-Regular', 'Noto Sans Mono CJK SC', Menlo, Consolas, monospace"


def _stack_for(declaration: str) -> str:
    """The site's font stack that matches matplotlib's family (monospace or sans-serif)."""
    return MONO_STACK if "monospace" in declaration else FONT_STACK


def _font_stack(match: re.Match) -> str:
    return f"font-family: {_stack_for(match.group(0))}"


STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "qkv",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def new_figure(width: float = 6.4, height: float = 3.6, **subplots_kwargs):
    """`plt.subplots` under the site's style; returns `(fig, axes)`."""
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width, height), **subplots_kwargs)


def _tight_bbox(fig):
    """What `bbox_inches="tight"` crops to, measured without the draw savefig makes first for it
    (a third of the time a figure takes); "tight" itself where that draw is needed: with a layout
    engine, or without matplotlib's `_get_renderer`. The result differs from "tight" in the sixth
    decimal of a coordinate at most."""
    try:
        from matplotlib.backend_bases import _get_renderer
    except ImportError:
        return "tight"
    if fig.get_layout_engine() is not None:
        return "tight"
    renderer = _get_renderer(fig, FigureCanvasSVG(fig).print_svg)
    return fig.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])


def to_svg(fig, prefix: str) -> str:
    """Serialise `fig` to an inline `<svg>` element with ids prefixed by `prefix`, then close it."""
    buf = io.StringIO()
    with plt.rc_context(STYLE), warnings.catch_warnings():
        # CJK glyphs are not in matplotlib's bundled font; the browser draws them, so only the
        # layout estimate is affected.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        metadata = {"Date": None, "Creator": None}
        fig.savefig(buf, format="svg", bbox_inches=_tight_bbox(fig), metadata=metadata)
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and doctype
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<title>.*?</title>", "", text, flags=re.S)
    slug = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    ids = set(re.findall(r'id="([^"]+)"', text))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{slug}-{old}"
        text = text.replace(f'id="{old}"', f'id="{new}"')
        text = text.replace(f"#{old})", f"#{new})").replace(f'"#{old}"', f'"#{new}"')
    text = re.sub(r'font-family:\s*[^;"]+', _font_stack, text)
    text = re.sub(r'font-family="[^"]*"', lambda m: f'font-family="{_stack_for(m.group(0))}"', text)
    return text.replace("<svg ", '<svg class="qkv-figure" role="img" ', 1)
