"""Figures of the page "Softmax and the weighted sum" (concepts/softmax).

- `softmax-weights`: one head's attention weights in the trained number translator (encoder
  self-attention on an English number), a heatmap with token labels and the value of every cell;
  each row sums to 1.
- `softmax-normalisations`: one query's scores turned into weights by softmax and by a ReLU
  normalisation, side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import qkv.numpy as qnp
from qkv import numbers
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from . import _trained as trained
from . import _widget as widget
from ._kit import max_abs, num
from ._svg import new_figure, to_svg
from ._toy import TOKENS
from .query_key_value import toy_projections

SOFTMAX_LAYER = 0  # the first encoder layer: its input is the embedded English tokens


def trained_weights() -> dict[str, object]:
    """One head's encoder self-attention weights `(seq, seq)` on `trained.PLAIN` in English.

    The head is the sharpest of the first encoder layer on this number (`trained.sharpest_head`).
    """
    maps = trained.maps(trained.PLAIN)
    head = trained.sharpest_head(maps.encoder, SOFTMAX_LAYER)
    return {"tokens": maps.source, "head": head, "weights": maps.encoder[SOFTMAX_LAYER, head]}


TEXT = {
    "en": {
        "xlabel": "key j (token attended to)",
        "ylabel": "query i (token being rebuilt)",
        "caption": (
            "Attention weights α′ of the trained number translator (the model of “Train it "
            "yourself”) on the English tokens of {number}: encoder layer {layer}, head {head} of "
            "{heads}, the sharpest head of that layer on this number. Row i is the softmax of "
            "query i's scores over all {seq} keys, so every row sums to 1; output b<sup>i</sup> is "
            "row i's weighted sum of the value vectors."
        ),
        "alt": (
            "A {seq} by {seq} heatmap of attention weights between the English tokens of "
            "{number}, each cell labelled with its value; every row sums to one."
        ),
    },
    "zh": {
        "xlabel": "键 j（被关注的词元）",
        "ylabel": "查询 i（正在重建的词元）",
        "caption": (
            "训练好的数字翻译模型（即“亲手训练”一页的模型）在{number}的英文词元上的注意力权重 "
            "α′：编码器第 {layer} 层、{heads} 个头中的第 {head} 个头，即该层在这个数上最集中的头。"
            "第 i 行是查询 i 在全部 {seq} 个键上的分数经过 softmax 的结果，所以每行之和为 1；"
            "输出 b<sup>i</sup> 就是用第 i 行对值向量加权求和。"
        ),
        "alt": (
            "一幅 {seq}×{seq} 热力图，显示 {number} 的各个英文词元之间的注意力权重，每格标出数值，"
            "每行之和为 1。"
        ),
    },
}


@figure("softmax-weights")
def draw_weights(lang: str) -> Figure:
    """Heatmap of the toy sentence's attention weights, every cell labelled."""
    t = TEXT[lang]
    data = trained_weights()
    tokens, weights = data["tokens"], data["weights"]
    fig, ax = new_figure(5.6, 4.8)
    image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=max(0.5, float(weights.max())))
    for i in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            value = weights[i, j]
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > 0.6 * image.get_clim()[1] else "black",
            )
    ax.set_xticks(range(len(tokens)), tokens, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_xlabel(t["xlabel"])
    ax.set_ylabel(t["ylabel"])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fmt = {
        "number": f"“{numbers.english(trained.PLAIN)}”",
        "layer": SOFTMAX_LAYER + 1,
        "head": data["head"] + 1,
        "heads": trained.config().num_heads,
        "seq": len(tokens),
    }
    return Figure(
        svg=to_svg(fig, "softmax-weights"),
        caption=t["caption"].format(**fmt),
        alt=t["alt"].format(**fmt),
    )


EXAMPLE_SCORES = (2.0, 1.0, 0.1, -1.0, 0.5, -0.3)


def normalisations(scores=EXAMPLE_SCORES) -> dict[str, np.ndarray]:
    """One row of scores normalised by softmax and by ReLU (clip negatives, divide by the sum)."""
    s = np.asarray(scores, dtype=float)
    relu = np.maximum(s, 0.0)
    return {"scores": s, "softmax": qnp.softmax(s), "relu": relu / relu.sum()}


NORM_TEXT = {
    "en": {
        "titles": {
            "scores": "scores",
            "softmax": "softmax",
            "relu": "ReLU, then divide by the sum",
        },
        "caption": (
            "One row of scores ({scores}) turned into weights two ways. Softmax keeps every key "
            "with a positive weight and preserves their order; a ReLU normalisation sets every "
            "negative score to exactly zero and is linear in the rest. Both rows sum to 1."
        ),
        "alt": (
            "Three bar charts: six raw scores, their softmax weights (all positive), and their "
            "ReLU-normalised weights (zero where the score was negative)."
        ),
    },
    "zh": {
        "titles": {"scores": "分数", "softmax": "softmax", "relu": "ReLU 后除以总和"},
        "caption": (
            "同一行分数 ({scores}) 用两种方法变成权重。softmax 给每个键一个正权重，"
            "并保持它们的大小顺序；"
            "ReLU 归一化把所有负分数变成恰好为 0，其余部分按线性比例分配。两行之和都是 1。"
        ),
        "alt": (
            "三幅柱状图：六个原始分数、它们的 softmax 权重（全部为正）、以及 ReLU "
            "归一化后的权重（原分数为负处为 0）。"
        ),
    },
}


@figure("softmax-normalisations")
def draw_normalisations(lang: str) -> Figure:
    """Bars: raw scores, softmax weights, ReLU-normalised weights."""
    t = NORM_TEXT[lang]
    tokens = TOKENS[lang]
    rows = normalisations()
    fig, axes = new_figure(8.4, 2.6, ncols=3)
    fig.subplots_adjust(wspace=0.3)
    for ax, (name, row) in zip(axes, rows.items(), strict=True):
        colors = ["#c0504d" if value < 0 else "#3b75af" for value in row]
        ax.bar(range(len(tokens)), row, color=colors)
        ax.axhline(0.0, color="#555555", linewidth=0.6)
        ax.set_title(t["titles"][name], fontsize=9)
        ax.set_xticks(range(len(tokens)), tokens, rotation=45)
    scores = ", ".join(f"{value:g}" for value in EXAMPLE_SCORES)
    caption = t["caption"].format(scores=scores)
    return Figure(svg=to_svg(fig, "softmax-normalisations"), caption=caption, alt=t["alt"])


EXPLORE_TEXT = {
    "en": {
        "score": "score s = q·k/√d_k",
        "exp": "exp(s − max s)",
        "weight": "weight = exp / Σ exp",
        "note": "Σ exp(s − max s) = {total:.3f}; the weights sum to {sum:.3f}",
        "caption": (
            "Choose a query token and follow softmax step by step over its six keys: the scaled "
            "scores, their exponentials (after subtracting the row's largest score, which changes "
            "nothing but keeps exp from overflowing), and the weights, each exponential divided by "
            "their sum. The toy sentence of the heatmap above, computed by the reference when the "
            "site is built."
        ),
        "alt": (
            "An interactive table: one button per token to choose the query; for the chosen query, "
            "each key's score, its exponential and its weight (with a bar)."
        ),
    },
    "zh": {
        "score": "分数 s = q·k/√d_k",
        "exp": "exp(s − max s)",
        "weight": "权重 = exp / Σ exp",
        "note": "Σ exp(s − max s) = {total:.3f}；权重之和为 {sum:.3f}",
        "caption": (
            "选一个查询词元，在它的六个键上一步步看 softmax：缩放后的分数、它们的指数（先减去这一行"
            "的最大分数，结果不变，只是让 exp 不溢出），以及权重，即每个指数除以它们的和。"
            "数据是上面热力图的玩具句子，构建网站时由参考实现算出。"
        ),
        "alt": (
            "交互表格：每个词元一个按钮，用来选查询；对选中的查询，"
            "列出每个键的分数、指数和权重（带柱）。"
        ),
    },
}


def softmax_steps(seed: int = 0) -> dict[str, np.ndarray]:
    """Scores, shifted exponentials and weights `(seq_q, seq_k)` of the toy sentence."""
    x, w_q, w_k, _ = toy_projections(seed=seed)
    scores = qnp.scaled_dot_product_scores(x @ w_q, x @ w_k)  # (seq_q, seq_k)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))  # (seq_q, seq_k)
    return {"scores": scores, "exp": shifted, "weights": qnp.softmax(scores, axis=-1)}


@figure("softmax-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: softmax of one query's scores, step by step."""
    t = EXPLORE_TEXT[lang]
    tokens = TOKENS[lang]
    steps = softmax_steps()
    notes = [
        t["note"].format(total=total, sum=row.sum())
        for total, row in zip(steps["exp"].sum(axis=-1), steps["weights"], strict=True)
    ]
    view = {
        "lines": [
            widget.line(t["score"], "value", steps["scores"]),
            widget.line(t["exp"], "value", steps["exp"]),
            widget.line(t["weight"], "weight", steps["weights"]),
        ],
        "note": notes,
    }
    data = {"keys": tokens, "queries": tokens, "query": 2, "controls": [], "views": {"": view}}
    return widget.interactive(data, lang, t["caption"], t["alt"])


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class SoftmaxProperties:
    """Result of `softmax_properties`.

    Attributes:
        row_sum_error: largest |sum of a row - 1| over random rows (float64).
        min_weight: smallest weight seen (all weights are non-negative).
        shift_error: largest change of the weights when every logit of a row gets the same shift.
        huge_logits: the float32 weights of the logits `[1e4, -1e4, 0]`, rounded.
        huge_finite: whether those weights are finite.
        naive_finite: whether the textbook formula `exp(x) / sum(exp(x))` stays finite there.
    """

    row_sum_error: float
    min_weight: float
    shift_error: float
    huge_logits: tuple
    huge_finite: bool
    naive_finite: bool

    @property
    def holds(self) -> bool:
        return (
            self.row_sum_error < 1e-12
            and self.min_weight >= 0
            and self.shift_error < 1e-12
            and self.huge_finite
            and self.huge_logits == (1.0, 0.0, 0.0)
            and not self.naive_finite
        )

    def shown(self, lang: str) -> str:
        logits = ", ".join(f"{w:g}" for w in self.huge_logits)
        if lang == "zh":
            naive = "溢出为 NaN" if not self.naive_finite else "有限"
            return (
                f"行和与 1 的最大差 {num(self.row_sum_error)}；"
                f"平移后的最大变化 {num(self.shift_error)}；"
                ""
                f"float32 下 softmax([1e4, -1e4, 0]) = [{logits}]，朴素公式{naive}"
            )
        naive = "overflows to NaN" if not self.naive_finite else "stays finite"
        return (
            f"largest row-sum error {num(self.row_sum_error)}; largest change under a shift "
            f"{num(self.shift_error)}; softmax([1e4, -1e4, 0]) in float32 = [{logits}], the naive "
            f"formula {naive}"
        )


@claim(
    "softmax-shift-invariance",
    title={"en": "Softmax gives weights, stably", "zh": "softmax 稳定地给出权重"},
    statement={
        "en": "Softmax rows are non-negative and sum to 1, adding the same number to every "
        "score of a row changes nothing, and logits of ±1e4 in float32 give finite "
        "weights.",
        "zh": "softmax 的每一行非负且和为 1；给一行的所有分数加上同一个数，结果不变；"
        "float32 下 ±1e4 的 logits 仍给出有限的权重。",
    },
    contradiction=lambda r: {"shift_error": 1e-3},
)
def softmax_properties(*, seed: int = 0) -> SoftmaxProperties:
    """softmax turns any scores into weights that sum to 1, and does it stably.

    Args:
        seed: seed of the random logits.

    Returns:
        A `SoftmaxProperties`.
    """
    rng = np.random.default_rng(seed)
    logits = 5.0 * rng.standard_normal((64, 10))
    weights = ref.softmax(logits, axis=-1)
    shifted = ref.softmax(logits + 1000.0 * rng.standard_normal((64, 1)), axis=-1)
    huge = np.array([1e4, -1e4, 0.0], dtype=np.float32)
    huge_weights = ref.softmax(huge)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(huge) / np.exp(huge).sum()
    return SoftmaxProperties(
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
        min_weight=float(weights.min()),
        shift_error=max_abs(shifted, weights),
        huge_logits=tuple(round(float(w), 4) for w in huge_weights),
        huge_finite=bool(np.isfinite(huge_weights).all()),
        naive_finite=bool(np.isfinite(naive).all()),
    )


@dataclass(frozen=True)
class LoopEqualsMatrix:
    """Result of `loop_equals_matrix`.

    Attributes:
        out_error: largest difference between the loop's outputs and the matrix form's.
        weights_error: the same for the attention weights.
    """

    out_error: float
    weights_error: float

    @property
    def holds(self) -> bool:
        return self.out_error < 1e-12 and self.weights_error < 1e-12

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return f"输出的最大差 {num(self.out_error)}，权重的最大差 {num(self.weights_error)}"
        return (
            f"largest difference: outputs {num(self.out_error)}, weights {num(self.weights_error)}"
        )


@claim(
    "loop-equals-matrix",
    title={
        "en": "The per-query loop equals the matrix form",
        "zh": "逐个查询的循环等于矩阵形式",
    },
    statement={
        "en": "Computing $b^i = \\sum_j \\alpha'_{i,j} v^j$ one query at a time gives the same "
        "outputs and weights as the matrix form.",
        "zh": "逐个查询计算 $b^i = \\sum_j \\alpha'_{i,j} v^j$，得到的输出和权重与矩阵形式相同。",
    },
    contradiction=lambda r: {"out_error": 1e-6},
)
def loop_equals_matrix(
    seq_q: int = 5, seq_k: int = 7, d_k: int = 4, d_v: int = 3, *, seed: int = 0
) -> LoopEqualsMatrix:
    """the per-query loop $b^i = \\sum_j \\alpha'_{i,j} v^j$ equals the matrix form.

    Args:
        seq_q: number of queries.
        seq_k: number of keys (and values).
        d_k: width of queries and keys.
        d_v: width of values.
        seed: seed of the random inputs.

    Returns:
        A `LoopEqualsMatrix`.
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq_q, d_k))
    key = rng.standard_normal((seq_k, d_k))
    value = rng.standard_normal((seq_k, d_v))
    out_loop, weights_loop = ref.attention_loop(query, key, value)
    out, weights = ref.scaled_dot_product_attention(query, key, value)
    return LoopEqualsMatrix(
        out_error=max_abs(out_loop, out), weights_error=max_abs(weights_loop, weights)
    )
