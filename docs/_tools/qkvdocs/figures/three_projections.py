"""Figures of the three-projections page: scores and weights, shared versus separate W."""

from __future__ import annotations

from functools import cache

import numpy as np
from qkv.numpy import (
    init_multi_head_params,
    scaled_dot_product_attention,
    scaled_dot_product_scores,
)

from qkvdocs.figures import Figure, figure
from qkvdocs.svg import new_figure, to_svg
from qkvdocs.toy import TOKENS, toy_embeddings

D_MODEL = 64


@cache
def shared_vs_separate(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Scores and weights of the toy sentence with $W^K = W^Q$ ("shared") and without ("separate").

    One head, $d_k = d_\\text{model}$, weights from `init_multi_head_params` (entries of variance
    1/d_model), unit-variance toy embeddings.
    Returns `{"shared" | "separate": {"scores", "weights"}}`, each `(seq, seq)`.
    """
    x = toy_embeddings(D_MODEL, seed)  # (seq, d_model)
    params = init_multi_head_params(D_MODEL, bias=False, seed=seed)
    result = {}
    for mode, w_k in (("shared", params.w_q), ("separate", params.w_k)):
        q = x @ params.w_q  # (seq, d_model) @ (d_model, d_model) -> (seq, d_model)
        k = x @ w_k
        v = x @ params.w_v
        scores = scaled_dot_product_scores(q, k)  # (seq_q, seq_k)
        _, weights = scaled_dot_product_attention(q, k, v)  # (seq_q, seq_k)
        result[mode] = {"scores": scores, "weights": weights}
    return result


# Formulas are drawn apart from the words: matplotlib's mathtext has no CJK glyphs.
FORMULAS = {"shared": "$W^Q = W^K$", "separate": r"$W^Q \neq W^K$"}

TEXT = {
    "en": {
        "shared": "shared",
        "separate": "separate",
        "scores": "scores",
        "weights": "weights",
        "self": "mean self-weight {value:.2f}",
        "query": "query",
        "key": "key",
        "caption": (
            "The toy sentence through one head at random initialisation (d_model = d_k = {d}). "
            "Left: with one matrix for queries and keys the scores are symmetric, the diagonal "
            "dominates and the weights are close to the identity matrix. Right: with separate "
            "matrices the diagonal is not special. Titles give the mean weight a token gives "
            "itself (uniform attention would give 1/{n} ≈ {u:.2f})."
        ),
        "alt": (
            "Four heat maps over the six tokens of the toy sentence. Top row: scores with shared "
            "and with separate query and key matrices; the shared one is symmetric with a bright "
            "diagonal. Bottom row: the weights; shared gives a near-identity pattern, separate "
            "spreads the weight over several keys."
        ),
    },
    "zh": {
        "shared": "共享",
        "separate": "分开",
        "scores": "分数",
        "weights": "权重",
        "self": "平均自身权重 {value:.2f}",
        "query": "查询",
        "key": "键",
        "caption": (
            "随机初始化时，玩具句子经过一个头（d_model = d_k = {d}）。左：查询和键共用一个矩阵时，"
            "分数矩阵对称，对角线占优，权重接近单位矩阵。"
            "右：查询和键用不同的矩阵时，对角线并不特殊。标题给出每个词元给自己的平均权重"
            "（均匀注意力为 1/{n} ≈ {u:.2f}）。"
        ),
        "alt": (
            "四幅热图，横纵轴都是玩具句子的六个词元。上排：共享与分开的查询、键矩阵得到的分数，"
            "共享时矩阵对称、对角线明亮。下排：权重，共享时接近单位矩阵，分开时权重分散在多个键上。"
        ),
    },
}


@figure("three-projections-shared-vs-separate")
def draw_shared_vs_separate(lang: str) -> Figure:
    text = TEXT[lang]
    data = shared_vs_separate()
    tokens = TOKENS[lang]
    seq = len(tokens)
    fig, axes = new_figure(5.6, 6.0, nrows=2, ncols=2)
    lim = max(float(np.abs(data[m]["scores"]).max()) for m in data)
    for col, mode in enumerate(("shared", "separate")):
        for row, kind in enumerate(("scores", "weights")):
            ax = axes[row, col]
            values = data[mode][kind]
            if kind == "scores":
                ax.imshow(values, cmap="RdBu_r", vmin=-lim, vmax=lim)
                ax.set_title(FORMULAS[mode], fontsize=9)
                ax.text(
                    0.5,
                    1.16,
                    f"{text[mode]}: {text['scores']}",
                    transform=ax.transAxes,
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
            else:
                ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0)
                self_weight = float(np.diag(values).mean())
                ax.set_title(
                    f"{text['weights']}: {text['self'].format(value=self_weight)}", fontsize=9
                )
            ax.set_xticks(range(seq), tokens if row == 1 else [], fontsize=7, rotation=45)
            ax.set_yticks(range(seq), tokens if col == 0 else [], fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel(text["key"], fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(text["query"], fontsize=8)
    fig.subplots_adjust(hspace=0.35, wspace=0.1)
    caption = text["caption"].format(d=D_MODEL, n=seq, u=1 / seq)
    return Figure(to_svg(fig, "three-projections-shared-vs-separate"), caption, text["alt"])
