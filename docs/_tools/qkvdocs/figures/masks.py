"""Figures of the page "Masks" (concepts/masks).

- `masks-kinds`: the causal, padding and local masks of the toy sentence side by side, drawn from
  `causal_mask`, `padding_mask` and `local_mask` (True = may attend).
"""

from __future__ import annotations

import warnings

import numpy as np
import qkv.numpy as qnp

from .. import widget
from ..svg import new_figure, to_svg
from ..toy import TOKENS
from . import Figure, figure
from .query_key_value import toy_projections

# The padded example: the toy sentence cut to its first REAL_LENGTH tokens, padded back to 6.
REAL_LENGTH = 4
WINDOW = 1

TEXT = {
    "en": {
        "titles": ["causal", f"padding (length {REAL_LENGTH})", f"local (window {WINDOW})"],
        "xlabel": "key",
        "ylabel": "query",
        "pad": "<pad>",
        "caption": (
            "The three masks for a six-token sentence, drawn from the reference functions. A dark "
            "cell (row i, column j) is True: query i may attend to key j; a light cell is masked "
            "and its score becomes −∞ before the softmax. Causal: each token sees itself and the "
            f"past. Padding: only the first {REAL_LENGTH} tokens are real, so the last two keys "
            "are hidden from every query. Local: each token sees neighbours at distance at most "
            f"{WINDOW}."
        ),
        "alt": (
            "Three 6 by 6 boolean grids. Causal: filled on and below the diagonal. Padding: the "
            f"first {REAL_LENGTH} columns filled, the last two empty. Local: a band of width three "
            "around the diagonal."
        ),
    },
    "zh": {
        "titles": ["因果", f"填充（长度 {REAL_LENGTH}）", f"局部（窗口 {WINDOW}）"],
        "xlabel": "键",
        "ylabel": "查询",
        "pad": "<pad>",
        "caption": (
            "一个六词元句子的三种掩码，由参考实现的函数画出。深色格（第 i 行第 j 列）为 True："
            "查询 i 可以关注键 j；浅色格被遮住，它的分数在 softmax 之前变为 −∞。因果掩码：每个"
            f"词元看得到自己和过去。填充掩码：只有前 {REAL_LENGTH} 个词元是真实的，最后两个键"
            f"对所有查询都不可见。局部掩码：每个词元只看距离不超过 {WINDOW} 的邻居。"
        ),
        "alt": (
            f"三个 6×6 布尔网格。因果：对角线及其下方涂满。填充：前 {REAL_LENGTH} 列涂满，最后两列"
            "为空。"
            "局部：沿对角线宽度为 3 的带。"
        ),
    },
}


def mask_examples(seq: int = 6) -> list[np.ndarray]:
    """The causal, padding and local masks, each broadcast to `(seq, seq)`."""
    causal = qnp.causal_mask(seq)
    padding = qnp.padding_mask(np.array([REAL_LENGTH]), seq)[0]  # (1, seq_k)
    padding = np.broadcast_to(padding, (seq, seq))  # (1, seq_k) -> (seq_q, seq_k)
    local = qnp.local_mask(seq, window=WINDOW)
    return [np.asarray(causal), np.asarray(padding), np.asarray(local)]


@figure("masks-kinds")
def draw_kinds(lang: str) -> Figure:
    """Causal, padding and local masks of the toy sentence, side by side."""
    t = TEXT[lang]
    tokens = TOKENS[lang]
    masks = mask_examples(len(tokens))
    fig, axes = new_figure(8.4, 3.3, ncols=3)
    for index, (ax, mask, title) in enumerate(zip(axes, masks, t["titles"], strict=True)):
        labels = list(tokens)
        if index == 1:  # the padded sentence: real tokens, then padding
            labels = tokens[:REAL_LENGTH] + [t["pad"]] * (len(tokens) - REAL_LENGTH)
        ax.imshow(mask, cmap="Blues", vmin=-0.3, vmax=1.2)
        ax.set_title(title)
        ax.set_xticks(range(len(labels)), labels, rotation=45)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(t["xlabel"])
        ax.set_xticks(np.arange(-0.5, len(labels)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(labels)), minor=True)
        ax.grid(which="minor", color="white", linewidth=1)
        ax.tick_params(which="both", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[0].set_ylabel(t["ylabel"])
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
    return Figure(svg=to_svg(fig, "masks-kinds"), caption=t["caption"], alt=t["alt"])


EXPLORE_TEXT = {
    "en": {
        "causal": "causal",
        "padding": f"padding (length {REAL_LENGTH})",
        "local": f"local (window {WINDOW})",
        "score": "score",
        "before": "weight, no mask",
        "after": "weight, masked",
        "empty": "every key is masked for this query: its weights are all zero",
        "caption": (
            "Switch the causal, padding and local masks on and off (several at once combine: a "
            "key stays visible only if every mask allows it) and choose a query token. Masked "
            "keys turn grey: their score becomes −∞ before the softmax, so their weight is exactly "
            "0, and the remaining weights are renormalised to sum to 1 again. Padding treats the "
            f"last {6 - REAL_LENGTH} tokens as padding. The toy sentence, computed by the "
            "reference when the site is built."
        ),
        "alt": (
            "An interactive table: on/off buttons for the causal, padding and local masks and one "
            "button per query token; for the choice, each key's score and its weight without and "
            "with the masks, masked keys greyed out."
        ),
    },
    "zh": {
        "causal": "因果",
        "padding": f"填充（长度 {REAL_LENGTH}）",
        "local": f"局部（窗口 {WINDOW}）",
        "score": "分数",
        "before": "权重（无掩码）",
        "after": "权重（加掩码）",
        "empty": "这个查询的所有键都被屏蔽：它的权重全为零",
        "caption": (
            "打开或关闭因果、填充和局部掩码（同时打开几个时取交集：只有每个掩码都允许的键才可见），"
            "再选一个查询词元。被屏蔽的键变灰：它的分数在 softmax 之前变为 −∞，权重恰好为 0，"
            f"其余权重重新归一化，和仍为 1。填充掩码把最后 {6 - REAL_LENGTH} 个词元当作填充。"
            "玩具句子，构建网站时由参考实现算出。"
        ),
        "alt": (
            "交互表格：因果、填充、局部三个掩码的开关按钮，以及每个查询词元一个按钮；对选中的组合，"
            "列出每个键的分数、无掩码和加掩码时的权重，被屏蔽的键显示为灰色。"
        ),
    },
}


def combined_mask(causal: bool, padding: bool, local: bool, seq: int = 6) -> np.ndarray:
    """The masks switched on, combined with "and" into one `(seq, seq)` mask (True = may attend)."""
    mask = np.ones((seq, seq), dtype=bool)
    for on, kind in zip((causal, padding, local), mask_examples(seq), strict=True):
        if on:
            mask = mask & kind
    return mask


@figure("masks-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: mask toggles; which weights vanish, how the rest renormalise."""
    t = EXPLORE_TEXT[lang]
    tokens = TOKENS[lang]
    x, w_q, w_k, w_v = toy_projections()
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (seq, d_model) @ (d_model, d_k) -> (seq, d_k)
    scores = qnp.scaled_dot_product_scores(q, k)  # (seq_q, seq_k)
    _, plain = qnp.scaled_dot_product_attention(q, k, v)  # (seq_q, seq_k)
    controls = [
        widget.toggle_control(name, t[name], value=int(name == "causal"))
        for name in ("causal", "padding", "local")
    ]
    views = {}
    for key, switches in widget.settings(controls):
        mask = combined_mask(*(bool(s) for s in switches), seq=len(tokens))
        _, weights = qnp.scaled_dot_product_attention(q, k, v, mask=mask)
        views[key] = {
            "lines": [
                widget.line("mask", "mask", mask),
                widget.line(t["score"], "value", scores),
                widget.line(t["before"], "weight", plain, masked=False),
                widget.line(t["after"], "weight", weights),
            ],
            "note": [t["empty"] if not row.any() else "" for row in mask],
        }
    data = {"keys": tokens, "queries": tokens, "query": 3, "controls": controls, "views": views}
    return widget.interactive(data, lang, t["caption"], t["alt"])
