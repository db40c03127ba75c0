"""Small pieces the figure modules share: an HTML table, the dress of a token-by-token map, and
the numbers a claim shows."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np


def html_table(head: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A `qkv-table`: `head` the column titles (plain text, escaped here), `rows` the cells of
    each row (HTML, or numbers and other values shown by `str`)."""
    titles = "".join(f"<th>{html.escape(title)}</th>" for title in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="qkv-table"><thead><tr>{titles}</tr></thead><tbody>{body}</tbody></table>'


def token_grid(ax, labels: Sequence[str], *, xlabel: str, linewidth: float = 1.0) -> None:
    """Dress a heat map drawn on `ax` over `labels` × `labels` (one cell per pair of tokens):
    token labels on both axes (tilted on x), `xlabel`, white lines between the cells, no ticks
    and no frame."""
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(xlabel)
    ax.set_xticks(np.arange(-0.5, len(labels)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(labels)), minor=True)
    ax.grid(which="minor", color="white", linewidth=linewidth)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def num(x: float) -> str:
    """A measured number: `0` when exactly zero, integers as such, else three significant digits."""
    x = float(x)
    if x == 0.0:
        return "0"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    if 1e-3 <= abs(x) < 1e3:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_nums(values, fmt=num) -> str:
    return ", ".join(fmt(v) for v in values)


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def max_abs(a, b) -> float:
    """Largest absolute elementwise difference of two arrays, as a Python float."""
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
