"""Figures of the multi-head page: d_model split into heads, and each head's own weights."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from matplotlib.patches import Rectangle
from qkv import numpy as ref
from qkv.numpy import init_multi_head_params, multi_head_attention, split_heads

from qkvdocs.checks import claim, max_abs, num
from qkvdocs.figures import Figure, figure
from qkvdocs.svg import new_figure, to_svg
from qkvdocs.toy import TOKENS, toy_embeddings

D_MODEL = 16
NUM_HEADS = 4
HEAD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


@cache
def heads_of_toy(seed: int = 0) -> dict[str, np.ndarray]:
    """The toy sentence through multi-head self-attention at random initialisation.

    Returns `q` `(seq, d_model)` (the projected queries before the split), `q_heads`
    `(heads, seq, d_head)` (the same numbers after `split_heads`) and `weights`
    `(heads, seq_q, seq_k)`.
    """
    x = toy_embeddings(D_MODEL, seed)  # (seq, d_model)
    params = init_multi_head_params(D_MODEL, seed=seed)
    q = x @ params.w_q + params.b_q  # (seq, d_model) @ (d_model, d_model) -> (seq, d_model)
    q_heads = split_heads(q, NUM_HEADS)  # (heads, seq, d_head)
    _, weights = multi_head_attention(x, x, x, params, num_heads=NUM_HEADS)  # (heads, seq, seq)
    return {"q": q, "q_heads": q_heads, "weights": weights}


TEXT = {
    "en": {
        "q": "projected queries $Q = XW^Q$: (seq, d_model) = ({seq}, {d})",
        "head": "head {i}",
        "cols": "columns {a}–{b}",
        "query": "query",
        "key": "key",
        "caption": (
            "Top: the projected queries of the toy sentence, one row per token, d_model = {d} "
            "columns cut into {h} heads of d_head = {dh} columns each (keys and values are cut the "
            "same way). Bottom: the attention weights of each head (rows: queries, columns: keys) "
            "at random initialisation; each head computes its own pattern from its own columns."
        ),
        "alt": (
            "Top: a {seq} by {d} heat map of the projected queries, its columns grouped by "
            "coloured frames into {h} heads of {dh} columns. Bottom: one {seq} by {seq} heat map "
            "of attention weights per head, each with a different pattern."
        ),
    },
    "zh": {
        "q": "投影后的查询 $Q = XW^Q$：(seq, d_model) = ({seq}, {d})",
        "head": "头 {i}",
        "cols": "第 {a}–{b} 列",
        "query": "查询",
        "key": "键",
        "caption": (
            "上：玩具句子投影后的查询，每行一个词元；d_model = {d} 列被切成 {h} 个头，每个头 "
            "d_head = {dh} 列（键和值按同样方式切分）。下：随机初始化时每个头的注意力权重"
            "（行：查询，列：键）；每个头只用自己的列，算出自己的模式。"
        ),
        "alt": (
            "上图：{seq} 行 {d} 列的投影查询热图，各列用彩色框分成 {h} 个头，每个头 {dh} 列。"
            "下图：{h} 幅 {seq} × {seq} 的注意力权重热图，每个头一幅，模式各不相同。"
        ),
    },
}


@figure("multi-head-split")
def draw_split(lang: str) -> Figure:
    text = TEXT[lang]
    data = heads_of_toy()
    tokens = TOKENS[lang]
    seq, d_model = data["q"].shape
    d_head = d_model // NUM_HEADS
    fig, top = new_figure(7.2, 4.6)
    top.set_position((0.1, 0.55, 0.85, 0.34))
    # one axes per head below the queries: (left, bottom, width, height) in figure fractions
    bottom = [fig.add_axes((0.1 + i * 0.225, 0.06, 0.18, 0.36)) for i in range(NUM_HEADS)]
    lim = float(np.abs(data["q"]).max())
    top.imshow(data["q"], cmap="RdBu_r", vmin=-lim, vmax=lim)
    for i in range(NUM_HEADS):
        left = i * d_head - 0.5
        colour = HEAD_COLOURS[i % len(HEAD_COLOURS)]
        top.add_patch(
            Rectangle((left, -0.5), d_head, seq, fill=False, edgecolor=colour, linewidth=2.5)
        )
        top.text(
            left + d_head / 2,
            -0.8,
            text["head"].format(i=i + 1),
            ha="center",
            va="bottom",
            color=colour,
            fontsize=9,
        )
    top.set_yticks(range(seq), tokens, fontsize=7)
    top.set_xticks(
        [i * d_head + (d_head - 1) / 2 for i in range(NUM_HEADS)],
        [text["cols"].format(a=i * d_head, b=(i + 1) * d_head - 1) for i in range(NUM_HEADS)],
        fontsize=7,
    )
    top.set_title(text["q"].format(seq=seq, d=d_model), fontsize=9, pad=18)
    top_weight = float(data["weights"].max())  # one colour scale for every head
    for i, ax in enumerate(bottom):
        ax.imshow(data["weights"][i], cmap="Blues", vmin=0.0, vmax=top_weight)
        ax.set_title(
            text["head"].format(i=i + 1), color=HEAD_COLOURS[i % len(HEAD_COLOURS)], fontsize=9
        )
        # token labels on the first head only: the other heads share its axes
        ax.set_xticks(range(seq), tokens if i == 0 else [], fontsize=6, rotation=90)
        ax.set_yticks(range(seq), tokens if i == 0 else [], fontsize=6)
    bottom[0].set_xlabel(text["key"], fontsize=8)
    bottom[0].set_ylabel(text["query"], fontsize=8)
    sizes = {"seq": seq, "d": d_model, "h": NUM_HEADS, "dh": d_head}
    caption, alt = text["caption"].format(**sizes), text["alt"].format(**sizes)
    return Figure(to_svg(fig, "multi-head-split"), caption, alt)


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class MultiHeadDecomposition:
    """Result of `multi_head_decomposition`.

    Attributes:
        num_heads: the number of heads h used for the comparison.
        split_error: largest difference between multi-head attention and h single-head attentions
            on the column slices of $W^q, W^k, W^v$, concatenated and multiplied by $W^O$.
        one_head_error: largest difference between `num_heads=1` and plain single-head attention
            on the projections.
        parameters: for each h tried, the number of parameters used.
    """

    num_heads: int
    split_error: float
    one_head_error: float
    parameters: dict

    @property
    def holds(self) -> bool:
        return (
            self.split_error < 1e-12
            and self.one_head_error < 1e-12
            and len(self.parameters) >= 3
            and len(set(self.parameters.values())) == 1
        )

    def shown(self, lang: str) -> str:
        params = ", ".join(f"h = {h}: {p}" for h, p in self.parameters.items())
        if lang == "zh":
            return (
                f"h = {self.num_heads} 时与逐头计算的最大差 {num(self.split_error)}；单头的最大差 "
                f"{num(self.one_head_error)}；参数个数 {params}"
            )
        return (
            f"largest difference from {self.num_heads} separate heads {num(self.split_error)}; "
            "one head "
            f"against single-head attention {num(self.one_head_error)}; parameters {params}"
        )


@claim(
    "multi-head-concatenated-heads",
    title={
        "en": "Multi-head = h heads, concatenated and projected",
        "zh": "多头 = h 个头拼接后再投影",
    },
    statement={
        "en": "Multi-head attention equals h single-head attentions on column slices of "
        "$W^q, W^k, W^v$, concatenated and multiplied by $W^O$; one head is plain "
        "attention; the parameter count does not depend on h.",
        "zh": "多头注意力等于在 $W^q, W^k, W^v$ 的列切片上做 h 个单头注意力，拼接后乘以 $W^O$；"
        "一个头就是普通注意力；参数个数与 h 无关。",
    },
)
def multi_head_decomposition(
    num_heads: int = 4, d_model: int = 16, seq: int = 5, *, seed: int = 0
) -> MultiHeadDecomposition:
    """multi-head attention is h independent attentions, concatenated and projected.

    Args:
        num_heads: number of heads h (divides d_model).
        d_model: model width.
        seq: number of tokens.
        seed: seed of the inputs and parameters.

    Returns:
        A `MultiHeadDecomposition`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, seq, d_model))
    params = ref.init_multi_head_params(d_model, bias=True, seed=seed)
    out, _ = ref.multi_head_attention(x, x, x, params, num_heads=num_heads)
    # the same computation, one head at a time
    d_head = d_model // num_heads
    heads = []
    for h in range(num_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        q = x @ params.w_q[:, cols] + params.b_q[cols]  # (2, seq, d_model) @ (d_model, d_head)
        k = x @ params.w_k[:, cols] + params.b_k[cols]
        v = x @ params.w_v[:, cols] + params.b_v[cols]
        heads.append(ref.scaled_dot_product_attention(q, k, v)[0])  # (2, seq, d_head)
    by_hand = np.concatenate(heads, axis=-1) @ params.w_o + params.b_o  # (2, seq, d_model)
    one, _ = ref.multi_head_attention(x, x, x, params, num_heads=1)
    single, _ = ref.scaled_dot_product_attention(
        x @ params.w_q + params.b_q, x @ params.w_k + params.b_k, x @ params.w_v + params.b_v
    )
    # one set of parameters serves every h: heads only decide how its columns are grouped
    size = int(sum(np.asarray(a).size for a in params if a is not None))
    parameters = {}
    for h in (1, 2, 4, 8, 16):
        if d_model % h == 0:
            out_h, weights_h = ref.multi_head_attention(x, x, x, params, num_heads=h)
            if out_h.shape == x.shape and weights_h.shape[-3] == h:
                parameters[h] = size
    return MultiHeadDecomposition(
        num_heads=num_heads,
        split_error=max_abs(out, by_hand),
        one_head_error=max_abs(one, single @ params.w_o + params.b_o),
        parameters=parameters,
    )
