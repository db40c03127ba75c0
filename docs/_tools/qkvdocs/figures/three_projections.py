"""Figures of the three-projections page: scores and weights, shared versus separate W."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape

import numpy as np
from qkv import numpy as ref
from qkv.numpy import (
    init_multi_head_params,
    scaled_dot_product_attention,
    scaled_dot_product_scores,
)

from qkvdocs.checks import claim
from qkvdocs.figures import Figure, figure
from qkvdocs.figures import _trained as trained
from qkvdocs.figures._kit import html_table, max_abs, num
from qkvdocs.figures._svg import new_figure, to_svg
from qkvdocs.figures._toy import TOKENS, toy_embeddings

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


TRAINED_TEXT = {
    "en": {
        "kinds": {
            "encoder": "encoder self-attention",
            "decoder": "decoder self-attention",
            "cross": "cross-attention",
        },
        "head": (
            "sub-layer",
            "‖W^Q − W^K‖ / ‖W^Q‖ trained",
            "random",
            "asymmetry of W^Q W^Kᵀ trained",
            "random",
            "mean self-weight trained",
            "random",
        ),
        "row": "{kind}, layer {l}",
        "caption": (
            "The translator's W^Q and W^K, trained and at the seeded random initialisation of "
            "the same architecture (d_model = {d}, {h} heads). Distance: relative Frobenius "
            "distance of the two matrices. Asymmetry: ‖M − Mᵀ‖ / ‖M‖ for each head's "
            "M = W^Q_i (W^K_i)ᵀ, averaged over the heads: 0 means symmetric scores, 2 "
            "antisymmetric ones, and two unrelated random matrices give about √2 ≈ 1.41. Mean "
            "self-weight: the weight a token gives itself, averaged over heads and over the "
            "tokens of {n} sampled numbers (self-attention only; a cross-attention query has no "
            "“itself” among the keys)."
        ),
        "alt": (
            "A table with one row per attention sub-layer and, for the trained and the random "
            "model, the distance between W^Q and W^K, the asymmetry of their product and the mean "
            "self-weight."
        ),
    },
    "zh": {
        "kinds": {
            "encoder": "编码器自注意力",
            "decoder": "解码器自注意力",
            "cross": "交叉注意力",
        },
        "head": (
            "子层",
            "‖W^Q − W^K‖ / ‖W^Q‖（训练后）",
            "随机",
            "W^Q W^Kᵀ 的不对称度（训练后）",
            "随机",
            "平均自身权重（训练后）",
            "随机",
        ),
        "row": "{kind}，第 {l} 层",
        "caption": (
            "翻译模型的 W^Q 与 W^K：训练后的，以及同一结构在固定种子随机初始化时的（d_model = {d}，"
            "{h} 个头）。距离：两个矩阵的相对 Frobenius 距离。不对称度：每个头的 "
            "M = W^Q_i (W^K_i)ᵀ 的 ‖M − Mᵀ‖ / ‖M‖，再对各头取平均：0 表示分数对称，2 表示反对称，"
            "两个互不相关的随机矩阵约为 √2 ≈ 1.41。平均自身"
            "权重：一个词元给自己的权重，在各头和 {n} 个抽样数字的词元上取平均（只对自注意力；"
            "交叉注意力的查询在键中没有“自己”）。"
        ),
        "alt": (
            "一张表，每个注意力子层一行，列出训练后模型和随机模型的 W^Q 与 W^K 之间的距离、"
            "二者乘积的不对称度和平均自身权重。"
        ),
    },
}


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@figure("three-projections-trained")
def draw_trained(lang: str) -> Figure:
    """Table: distance of W^Q from W^K, asymmetry, self-weight; trained against random init."""
    text = TRAINED_TEXT[lang]
    rows = []
    pairs = zip(trained.projection_stats(True), trained.projection_stats(False), strict=True)
    for ours, init in pairs:
        name = text["row"].format(kind=text["kinds"][ours.kind], l=ours.layer + 1)
        cells = (
            ours.distance,
            init.distance,
            ours.asymmetry,
            init.asymmetry,
            ours.self_weight,
            init.self_weight,
        )
        rows.append((escape(name), *(_cell(value) for value in cells)))
    table = html_table(text["head"], rows)
    cfg = trained.config()
    caption = text["caption"].format(d=cfg.d_model, h=cfg.num_heads, n=len(trained.sample()))
    return Figure(table, caption, text["alt"])


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class SharedProjectionEffect:
    """Result of `shared_projection_effect`.

    Attributes:
        seq: tokens per sequence n.
        d_model: model width.
        asymmetry_shared: largest $|S - S^\\top|$ of the score matrix with $W^q = W^k$.
        asymmetry_separate: the same with separate $W^q$, $W^k$.
        self_weight_shared: mean weight a token gives itself, shared $W^q = W^k$.
        self_weight_separate: the same with separate matrices.
        uniform: $1/n$, the self-weight of uniform attention.
    """

    seq: int
    d_model: int
    asymmetry_shared: float
    asymmetry_separate: float
    self_weight_shared: float
    self_weight_separate: float
    uniform: float

    @property
    def holds(self) -> bool:
        return (
            self.asymmetry_shared < 1e-12
            and self.asymmetry_separate > 0.1
            and self.self_weight_shared > 0.9
            and 0.8 <= self.self_weight_separate / self.uniform <= 1.25
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"n = {self.seq}、d_model = {self.d_model}：平均自身权重在共享 W 时为 "
                f"{num(self.self_weight_shared)}，分开时为 {num(self.self_weight_separate)}"
                f"（1/n = {num(self.uniform)}）；"
                f"S − Sᵀ 的最大元素：共享 {num(self.asymmetry_shared)}，"
                ""
                f"分开 {num(self.asymmetry_separate)}"
            )
        return (
            f"n = {self.seq}, d_model = {self.d_model}: mean self-weight "
            f"{num(self.self_weight_shared)} with a shared W, {num(self.self_weight_separate)} "
            "with "
            f"separate ones (1/n = {num(self.uniform)}); "
            f"largest entry of S − Sᵀ: shared {num(self.asymmetry_shared)}, separate "
            f"{num(self.asymmetry_separate)}"
        )


@claim(
    "shared-projection-symmetric",
    title={
        "en": "Shared W^q = W^k: symmetric scores, attention to oneself",
        "zh": "共享 W^q = W^k：分数对称，注意力集中在自身",
    },
    statement={
        "en": "With one matrix for queries and keys the score matrix is symmetric and, at "
        "random initialisation, each token puts almost all its weight on itself; with "
        "separate matrices the self-weight is close to 1/n.",
        "zh": "查询和键共用一个矩阵时，分数矩阵是对称的，"
        "而且在随机初始化下每个词元几乎把全部权重放在自己身上；"
        "用不同的矩阵时，自身权重接近 1/n。",
    },
    contradiction=lambda r: {"self_weight_shared": 0.2},
)
def shared_projection_effect(
    seq: int = 8, d_model: int = 128, *, batch: int = 32, seed: int = 0
) -> SharedProjectionEffect:
    """with $W^q = W^k$ the scores are symmetric and each token attends mostly to itself.

    Random unit-variance tokens, projection matrices from
    [`init_multi_head_params`][qkv.numpy.init_multi_head_params] (one head, no bias). With a
    shared matrix, the score of token i with itself is $\\lVert x_i W \\rVert^2 / \\sqrt{d_k}$,
    a sum of $d_k$ positive terms, while its score with another token is a sum of terms of random
    sign: the diagonal wins and the weights approach the identity matrix. With separate matrices
    the diagonal is no different from the rest and the self-weight is near $1/n$.

    Args:
        seq: tokens per sequence n.
        d_model: model width (the larger, the closer the shared self-weight is to 1).
        batch: number of random sequences averaged over.
        seed: seed of the inputs and the initialisation.

    Returns:
        A `SharedProjectionEffect`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, seq, d_model))
    params = ref.init_multi_head_params(d_model, bias=False, seed=seed)
    shared = params._replace(w_k=params.w_q)
    results = {}
    for name, p in (("shared", shared), ("separate", params)):
        q = x @ p.w_q  # (batch, seq, d_model) @ (d_model, d_model) -> (batch, seq, d_model)
        k = x @ p.w_k
        scores = ref.scaled_dot_product_scores(q, k)  # (batch, seq, seq)
        _, weights = ref.multi_head_attention(x, x, x, p, num_heads=1)  # (batch, 1, seq, seq)
        results[name] = (
            max_abs(scores, np.swapaxes(scores, -1, -2)),
            float(np.diagonal(weights, axis1=-2, axis2=-1).mean()),
        )
    return SharedProjectionEffect(
        seq=seq,
        d_model=d_model,
        asymmetry_shared=results["shared"][0],
        asymmetry_separate=results["separate"][0],
        self_weight_shared=results["shared"][1],
        self_weight_separate=results["separate"][1],
        uniform=1.0 / seq,
    )
