"""Figures of the matrix-form page: the matrices of one attention layer, drawn to scale."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle
from qkv.numpy import scaled_dot_product_attention, scaled_dot_product_scores

from qkvdocs.figures import Figure, figure
from qkvdocs.svg import new_figure, to_svg
from qkvdocs.toy import TOKENS, toy_embeddings

D_MODEL, D_K, D_V = 8, 4, 4


def matrices(seed: int = 0) -> dict[str, np.ndarray]:
    """Every matrix of one single-head layer on the toy sentence (row convention)."""
    x = toy_embeddings(D_MODEL, seed)  # (seq, d_model)
    rng = np.random.default_rng(seed + 1)
    # Projections scaled so that q, k, v have entries of about unit variance.
    w_q, w_k, w_v = (rng.standard_normal((D_MODEL, d)) / np.sqrt(D_MODEL) for d in (D_K, D_K, D_V))
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (seq, d_model) @ (d_model, d_k) -> (seq, d_k)
    scores = scaled_dot_product_scores(q, k)  # (seq_q, seq_k)
    out, weights = scaled_dot_product_attention(q, k, v)  # (seq_q, d_v), (seq_q, seq_k)
    return {"x": x, "q": q, "k": k, "v": v, "scores": scores, "weights": weights, "out": out}


TEXT = {
    "en": {
        "x": "input",
        "q": "query",
        "k": "key",
        "v": "value",
        "scores": "scores",
        "weights": "weights",
        "out": "out",
        "caption": (
            "The matrices of one attention layer for the {n}-token toy sentence, drawn to scale: "
            "one square per number, colour = value (each block on its own colour scale). The "
            "scores and the weights are seq_q × seq_k = {n} × {n}; each row of the weights sums "
            "to 1."
        ),
        "alt": (
            "Seven heat-map blocks drawn to scale. Top row: the input X, {n} rows by {d} columns, "
            "then Q and K, each {n} by {dk}, and V, {n} by {dv}. Bottom row: the scores, {n} by "
            "{n}, the weights after a row-wise softmax, {n} by {n}, and the output, {n} by {dv}. "
            "Each block is labelled with its dimension names."
        ),
    },
    "zh": {
        "x": "输入",
        "q": "查询",
        "k": "键",
        "v": "值",
        "scores": "分数",
        "weights": "权重",
        "out": "输出",
        "caption": (
            "玩具句子（{n} 个词元）上一层注意力的各个矩阵，按实际尺寸等比例绘制：每个数一个小方格，"
            "颜色表示数值（每个方块各用自己的色标）。分数和权重都是 seq_q × seq_k = {n} × {n}；"
            "权重的每一行之和为 1。"
        ),
        "alt": (
            "七个按比例绘制的热图方块。上排：输入 X（{n} 行 {d} 列），然后是 Q 和 K，各为 {n} 行 "
            "{dk} 列，以及 V（{n} 行 {dv} 列）。下排：分数（{n} × {n}）、按行 softmax 之后的权重"
            "（{n} × {n}）和输出（{n} × {dv}）。每个方块都标有维度名称。"
        ),
    },
}

# Formulas are drawn apart from the words: matplotlib's mathtext has no CJK glyphs.
FORMULAS = {
    "x": "$X$",
    "q": "$Q = XW^Q$",
    "k": "$K = XW^K$",
    "v": "$V = XW^V$",
    "scores": r"$S = QK^\top/\sqrt{d_k}$",
    "weights": r"$P = \mathrm{softmax}(S)$",
    "out": "$O = PV$",
}

DIMS = {
    "x": ("seq", "d_model"),
    "q": ("seq_q", "d_k"),
    "k": ("seq_k", "d_k"),
    "v": ("seq_k", "d_v"),
    "scores": ("seq_q", "seq_k"),
    "weights": ("seq_q", "seq_k"),
    "out": ("seq_q", "d_v"),
}

# Top-left corner (column, row) of each block, in units of one matrix entry.
PLACES = {
    "x": (0, 0),
    "q": (12, 0),
    "k": (19, 0),
    "v": (26, 0),
    "scores": (0, 13),
    "weights": (11, 13),
    "out": (22, 13),
}


@figure("matrix-form-shapes")
def draw_shapes(lang: str) -> Figure:
    text = TEXT[lang]
    mats = matrices()
    fig, ax = new_figure(7.2, 4.8)
    for name, (col, row) in PLACES.items():
        data = mats[name]
        rows, cols = data.shape
        if name == "weights":
            cmap, vmin, vmax = "Blues", 0.0, float(data.max())
        else:
            lim = float(np.abs(data).max())
            cmap, vmin, vmax = "RdBu_r", -lim, lim
        ax.imshow(
            data,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=(col, col + cols, row + rows, row),
            interpolation="nearest",
        )
        ax.add_patch(Rectangle((col, row), cols, rows, fill=False, edgecolor="0.25", linewidth=0.8))
        ax.text(col + cols / 2, row - 0.3, FORMULAS[name], ha="center", va="bottom", fontsize=9)
        ax.text(col + cols / 2, row - 1.8, text[name], ha="center", va="bottom", fontsize=9)
        dim_r, dim_c = DIMS[name]
        ax.text(
            col + cols / 2,
            row + rows + 0.4,
            f"({dim_r}, {dim_c})\n{rows} × {cols}",
            ha="center",
            va="top",
            fontsize=8,
            color="0.3",
        )
    for i, token in enumerate(TOKENS[lang]):
        for name in ("x", "scores"):
            col, row = PLACES[name]
            ax.text(col - 0.3, row + i + 0.5, token, ha="right", va="center", fontsize=7)
    for x_arrow, y_arrow in ((9.0, 3.0), (8.2, 16.0), (19.2, 16.0)):
        ax.annotate(
            "",
            xy=(x_arrow + 2.0, y_arrow),
            xytext=(x_arrow, y_arrow),
            arrowprops={"arrowstyle": "->", "color": "0.35"},
        )
    ax.set_xlim(-2.5, 31)
    ax.set_ylim(22, -3.8)
    ax.set_aspect("equal")
    ax.axis("off")
    sizes = {"n": mats["x"].shape[0], "d": D_MODEL, "dk": D_K, "dv": D_V}
    caption, alt = text["caption"].format(**sizes), text["alt"].format(**sizes)
    return Figure(to_svg(fig, "matrix-form-shapes"), caption, alt)
