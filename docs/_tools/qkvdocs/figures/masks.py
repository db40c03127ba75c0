"""Figures of the page "Masks" (concepts/masks).

- `masks-kinds`: the causal, padding and local masks of the toy sentence side by side, drawn from
  `causal_mask`, `padding_mask` and `local_mask` (True = may attend).
"""

from __future__ import annotations

import warnings

import numpy as np
import qkv.numpy as qnp

from ..svg import new_figure, to_svg
from ..toy import TOKENS
from . import Figure, figure

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
