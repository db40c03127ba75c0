"""Figures of the matrix-form page: the matrices of one attention layer, drawn to scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.patches import Rectangle
from qkv import numpy as ref
from qkv.numpy import scaled_dot_product_attention, scaled_dot_product_scores

from qkvdocs.checks import claim
from qkvdocs.figures import Figure, figure
from qkvdocs.figures._svg import new_figure, to_svg
from qkvdocs.figures._toy import TOKENS, toy_embeddings

from ._kit import fmt_shape, max_abs, num

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


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class ColumnsEqualRows:
    """Result of `columns_equal_rows`.

    Attributes:
        out_error: largest difference between $O = V A'$ (columns) and
            $(\\mathrm{softmax}(Q K^\\top / \\sqrt{d_k}) V)^\\top$ (rows, transposed).
        weights_error: the same for $A'$ against the row weights, transposed.
        column_shapes: shapes of `q_cols`, `weights_cols`, `out_cols`.
        row_shapes: shapes of `query`, `weights`, `out`.
    """

    out_error: float
    weights_error: float
    column_shapes: dict
    row_shapes: dict

    @property
    def holds(self) -> bool:
        transposed = all(
            tuple(reversed(self.column_shapes[c])) == self.row_shapes[w]
            for c, w in (("weights_cols", "weights"), ("out_cols", "out"))
        )
        return self.out_error < 1e-12 and self.weights_error < 1e-12 and transposed

    def shown(self, lang: str) -> str:
        cols = ", ".join(f"{k} {fmt_shape(v)}" for k, v in self.column_shapes.items())
        rows = ", ".join(f"{k} {fmt_shape(v)}" for k, v in self.row_shapes.items())
        if lang == "zh":
            return (
                f"转置后输出的最大差 {num(self.out_error)}，"
                f"权重的最大差 {num(self.weights_error)}；"
                ""
                f"列形式 {cols}；行形式 {rows}"
            )
        return (
            f"largest difference after transposing: outputs {num(self.out_error)}, weights "
            f"{num(self.weights_error)}; columns {cols}; rows {rows}"
        )


@claim(
    "columns-equal-rows",
    title={
        "en": "Columns or rows: the same attention, transposed",
        "zh": "列或行：同一个注意力，只差转置",
    },
    statement={
        "en": "The notes' column convention $O = V\\,\\mathrm{softmax}(K^\\top Q)$ equals the "
        "paper's row convention $\\mathrm{softmax}(Q K^\\top) V$, transposed.",
        "zh": "笔记中的列约定 $O = V\\,\\mathrm{softmax}(K^\\top Q)$ 等于论文的行约定 "
        "$\\mathrm{softmax}(Q K^\\top) V$ 的转置。",
    },
    contradiction=lambda r: {"weights_error": 1e-6},
)
def columns_equal_rows(
    seq: int = 6, d_k: int = 4, d_v: int = 3, *, seed: int = 0
) -> ColumnsEqualRows:
    """the notes' column convention equals the paper's row convention, transposed.

    Args:
        seq: number of tokens.
        d_k: width of queries and keys.
        d_v: width of values.
        seed: seed of the random inputs.

    Returns:
        A `ColumnsEqualRows`.
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq, d_k))
    key = rng.standard_normal((seq, d_k))
    value = rng.standard_normal((seq, d_v))
    # the notes stack tokens as columns: Q is (d_k, seq)
    out_cols, weights_cols = ref.attention_column_form(query.T, key.T, value.T)
    out, weights = ref.scaled_dot_product_attention(query, key, value)
    return ColumnsEqualRows(
        out_error=max_abs(out_cols, out.T),
        weights_error=max_abs(weights_cols, weights.T),
        column_shapes={
            "q_cols": tuple(query.T.shape),
            "weights_cols": tuple(weights_cols.shape),
            "out_cols": tuple(out_cols.shape),
        },
        row_shapes={
            "query": tuple(query.shape),
            "weights": tuple(weights.shape),
            "out": tuple(out.shape),
        },
    )


@dataclass(frozen=True)
class ScoreMatrixShapes:
    """Result of `score_matrix_shapes`.

    Attributes:
        shapes: name -> shape, in the order of the computation.
        row_sum_error: largest |sum of a weight row - 1|.
    """

    shapes: dict
    row_sum_error: float

    @property
    def holds(self) -> bool:
        n = self.shapes["x"][0]
        return (
            self.shapes["scores"] == (n, n)
            and self.shapes["weights"] == (n, n)
            and self.shapes["out"] == (n, self.shapes["v"][1])
            and self.row_sum_error < 1e-12
        )

    def shown(self, lang: str) -> str:
        shapes = ", ".join(f"{k} {fmt_shape(v)}" for k, v in self.shapes.items())
        return shapes


@claim(
    "score-matrix-n-by-n",
    title={"en": "Six tokens, a 6 × 6 score matrix", "zh": "六个词元，6 × 6 的分数矩阵"},
    statement={
        "en": "For n tokens the scores and the weights are n × n whatever the widths; the "
        "output has one refined row per token.",
        "zh": "对 n 个词元，无论向量多宽，分数和权重都是 n × n；输出为每个词元给出一行"
        "经过“提纯”的向量。",
    },
    contradiction=lambda r: {"shapes": {**r.shapes, "scores": (6, 300)}},
)
def score_matrix_shapes(
    seq: int = 6, d_model: int = 300, d_k: int = 64, *, seed: int = 0
) -> ScoreMatrixShapes:
    """note 004's example: six tokens of width 300 give a 6 x 6 score matrix.

    The scores and the weights are n x n for n tokens whatever the widths; the output has one
    "refined" row per token, each a weighted mix of the rows of V.

    Args:
        seq: number of tokens n.
        d_model: embedding width.
        d_k: width of queries and keys (values keep d_model).
        seed: seed of the embeddings and projections.

    Returns:
        A `ScoreMatrixShapes`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    w_q = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_k = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_v = rng.standard_normal((d_model, d_model)) / math.sqrt(d_model)
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (seq, d_model) @ (d_model, d_k) -> (seq, d_k)
    scores = ref.scaled_dot_product_scores(q, k)  # (seq, d_k) @ (d_k, seq) -> (seq, seq)
    out, weights = ref.scaled_dot_product_attention(q, k, v)  # (seq, seq) @ (seq, d_model)
    named = {
        "x": x,
        "w_q": w_q,
        "w_k": w_k,
        "w_v": w_v,
        "q": q,
        "k": k,
        "v": v,
        "scores": scores,
        "weights": weights,
        "out": out,
    }
    return ScoreMatrixShapes(
        shapes={name: tuple(int(s) for s in a.shape) for name, a in named.items()},
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
    )
