"""Figures of the multi-head page: d_model split into heads, and each head's own weights."""

from __future__ import annotations

from functools import cache

import numpy as np
from matplotlib.patches import Rectangle
from qkv.numpy import init_multi_head_params, multi_head_attention, split_heads

from qkvdocs import widget
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


EXPLORE_TEXT = {
    "en": {
        "head": "head",
        "weight": "weight of head {i}",
        "mean": "mean over the heads",
        "caption": (
            "Choose a head and a query token: the head's weights over the keys, beside the mean "
            "of all {h} heads. The toy sentence through the multi-head layer above (d_model = {d}, "
            "{h} heads, random initialisation), computed by the reference when the site is built; "
            "each head spreads its weight its own way."
        ),
        "alt": (
            "An interactive table: buttons to choose one of {h} heads and one query token; for "
            "the choice, a bar and a number for each key's weight in that head and the mean over "
            "the heads."
        ),
    },
    "zh": {
        "head": "头",
        "weight": "头 {i} 的权重",
        "mean": "各头的平均",
        "caption": (
            "选一个头和一个查询词元：这个头在各个键上的权重，旁边是全部 {h} 个头的平均。"
            "玩具句子经过上面的多头层（d_model = {d}，{h} 个头，随机初始化），"
            "构建网站时由参考实现算出；每个头按自己的方式分配权重。"
        ),
        "alt": (
            "交互表格：按钮用来选 {h} 个头中的一个和一个查询词元；对选中的组合，每个键在这个头中的"
            "权重和各头平均权重以柱和数字显示。"
        ),
    },
}


def toy_head_weights() -> tuple[dict[str, list[str]], np.ndarray]:
    """The interactive figure's data source: token labels per language and the weights
    `(heads, seq_q, seq_k)` of the toy layer. Another source (a trained model's heads) can take
    its place: `draw_explore` only needs this pair."""
    return TOKENS, heads_of_toy()["weights"]


@figure("multi-head-explore")
def draw_explore(lang: str, source=toy_head_weights) -> Figure:
    """Interactive: a head selector and a query selector over the heads' weights."""
    t = EXPLORE_TEXT[lang]
    labels, weights = source()
    tokens = labels[lang]
    heads = weights.shape[0]
    mean = weights.mean(axis=0)  # (seq_q, seq_k)
    views = {
        str(h): {
            "lines": [
                widget.line(t["weight"].format(i=h + 1), "weight", weights[h]),
                widget.line(t["mean"], "weight", mean),
            ]
        }
        for h in range(heads)
    }
    data = {
        "keys": tokens,
        "queries": tokens,
        "query": 1,
        "controls": [widget.choice_control("head", t["head"], range(1, heads + 1))],
        "views": views,
    }
    numbers = {"h": heads, "d": D_MODEL}
    return widget.interactive(
        data, lang, t["caption"].format(**numbers), t["alt"].format(**numbers)
    )
