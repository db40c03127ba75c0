"""Figures of the positional-encoding page: the sinusoidal table; dot products by offset."""

from __future__ import annotations

import numpy as np
from qkv.numpy import sinusoidal_positional_encoding

from qkvdocs.figures import Figure, figure
from qkvdocs.svg import new_figure, to_svg

NUM_POSITIONS = 64
D_MODEL = 64
STARTS = (0, 10, 25, 40)  # positions p whose dot products PE(p) . PE(p + k) are drawn
MAX_OFFSET = 48


def offset_dots(starts=STARTS, max_offset: int = MAX_OFFSET) -> dict[int, np.ndarray]:
    """For each start p: `PE(p) . PE(p + k)` for k = 0 .. max_offset (one array per p)."""
    pe = sinusoidal_positional_encoding(max(starts) + max_offset + 1, D_MODEL)
    # (max_offset + 1, d_model) @ (d_model,) -> (max_offset + 1,)
    return {p: pe[p : p + max_offset + 1] @ pe[p] for p in starts}


TEXT = {
    "en": {
        "position": "position pos",
        "feature": "feature (even: sin, odd: cos)",
        "heat_caption": (
            "The sinusoidal encoding PE for {n} positions and d_model = {d}: one row per position, "
            "one column per feature. Each sine/cosine pair turns at its own frequency, fast on the "
            "left, so slowly on the right that it barely changes over these positions."
        ),
        "heat_alt": (
            "Heat map with positions 0 to {last} down the side and features 0 to {lastf} across. "
            "The left columns alternate quickly between positive and negative values as the "
            "position grows; the stripes get wider to the right, and the rightmost columns are "
            "almost constant: 0 for the sine features and 1 for the cosine features."
        ),
        "offset": "offset k",
        "dot": "PE(p) · PE(p + k)",
        "start": "p = {p}",
        "dot_caption": (
            "Dot product of two encodings against their offset k, drawn from four different "
            "starting positions p (d_model = {d}). The four curves lie on top of each other: the "
            "dot product depends only on the offset, and equals Σᵢ cos(ωᵢ k). It is largest at "
            "k = 0, where it is d_model/2 = {half}."
        ),
        "dot_alt": (
            "Line chart of the dot product against the offset from 0 to {m}. Four curves, for "
            "starting positions {starts}, coincide exactly: they start at {half} and fall off in a "
            "damped, wavy way as the offset grows."
        ),
    },
    "zh": {
        "position": "位置 pos",
        "feature": "特征（偶数：sin，奇数：cos）",
        "heat_caption": (
            "{n} 个位置、d_model = {d} 的正弦位置编码 PE：每行一个位置，每列一个特征。每对 sin/cos "
            "以自己的频率旋转：左侧很快，右侧慢到在这些位置上几乎不变。"
        ),
        "heat_alt": (
            "热图，纵轴为位置 0 到 {last}，横轴为特征 0 到 "
            "{lastf}。左侧各列随位置增加在正负之间快速交替；"
            "越往右条纹越宽，最右侧几列几乎是常数：sin 特征为 0，cos 特征为 1。"
        ),
        "offset": "偏移 k",
        "dot": "PE(p) · PE(p + k)",
        "start": "p = {p}",
        "dot_caption": (
            "两个编码的点积随偏移 k 的变化，从四个不同的起始"
            "位置 p 画出（d_model = {d}）。四条曲线完全重合："
            "点积只取决于偏移，等于 Σᵢ cos(ωᵢ k)。它在 k = 0 处最大，等于 d_model/2 = {half}。"
        ),
        "dot_alt": (
            "点积随偏移（0 到 {m}）变化的折线图。起始位置为 {starts} 的四条曲线完全重合："
            "从 {half} 开始，随偏移增大呈带波动的衰减。"
        ),
    },
}


@figure("positional-encoding-heatmap")
def draw_heatmap(lang: str) -> Figure:
    text = TEXT[lang]
    pe = sinusoidal_positional_encoding(NUM_POSITIONS, D_MODEL)  # (num_positions, d_model)
    fig, ax = new_figure(6.0, 4.2)
    image = ax.imshow(
        pe, cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_xlabel(text["feature"])
    ax.set_ylabel(text["position"])
    fig.colorbar(image, ax=ax, shrink=0.9)
    fmt = {"n": NUM_POSITIONS, "d": D_MODEL, "last": NUM_POSITIONS - 1, "lastf": D_MODEL - 1}
    return Figure(
        to_svg(fig, "positional-encoding-heatmap"),
        text["heat_caption"].format(**fmt),
        text["heat_alt"].format(**fmt),
    )


@figure("positional-encoding-offset")
def draw_offset(lang: str) -> Figure:
    text = TEXT[lang]
    dots = offset_dots()
    offsets = np.arange(MAX_OFFSET + 1)
    fig, ax = new_figure(6.0, 3.2)
    # The curves coincide; the first is a thick line, the others markers at staggered offsets,
    # so that every curve stays visible on top of the others.
    markers = ("o", "s", "^")
    for n, (p, values) in enumerate(dots.items()):
        label = text["start"].format(p=p)
        if n == 0:
            ax.plot(offsets, values, "-", linewidth=4, alpha=0.35, color="0.2", label=label)
        else:
            ax.plot(
                offsets,
                values,
                linestyle="none",
                marker=markers[(n - 1) % len(markers)],
                markersize=4,
                markevery=(n - 1, len(markers)),
                label=label,
            )
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel(text["offset"])
    ax.set_ylabel(text["dot"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fmt = {
        "d": D_MODEL,
        "half": D_MODEL // 2,
        "m": MAX_OFFSET,
        "starts": ", ".join(str(p) for p in STARTS),
    }
    return Figure(
        to_svg(fig, "positional-encoding-offset"),
        text["dot_caption"].format(**fmt),
        text["dot_alt"].format(**fmt),
    )
