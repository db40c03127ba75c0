"""Figures of the page "Self-attention and cross-attention" (concepts/self-vs-cross).

- `self-vs-cross-heatmap`: self-attention weights inside the Chinese toy sentence (6 x 6) beside
  cross-attention weights of a 4-token English target prefix over that source (4 x 6), both computed
  with `qkv.numpy.scaled_dot_product_attention`.

The embeddings are a toy, not a trained model: each Chinese token gets the embedding of the English
word it translates plus a little noise, and the projections are the identity, so a query scores
highest against the key of its translation. The point of the figure is the shapes.
"""

from __future__ import annotations

import numpy as np
import qkv.numpy as qnp

from ..svg import new_figure, to_svg
from ..toy import TOKENS, toy_embeddings
from . import Figure, figure

D_MODEL = 16
NOISE = 0.3
TARGET_LENGTH = 4  # the decoder has written "the cat sat on" so far
# The English word each Chinese toy token translates (这只 猫 坐 在 垫子 上).
ALIGNMENT = ["the", "cat", "sat", "on", "mat", "on"]

TEXT = {
    "en": {
        "self": "self-attention: source → source",
        "cross": "cross-attention: target → source",
        "query": "query",
        "key": "key (source)",
        "caption": (
            "Left: self-attention inside the Chinese source sentence; the weight matrix is "
            "6 × 6 (seq_q = seq_k). Right: cross-attention of the first {t} English target tokens "
            "over the same source; the weight matrix is {t} × 6 (seq_q ≠ seq_k), one row per targe"
            "t "
            "token, each row summing to 1. Toy embeddings (each Chinese token near the embedding o"
            "f "
            "its English translation, identity projections), computed with the reference's "
            "scaled_dot_product_attention; “on” splits its weight between 在 and 上."
        ),
        "alt": (
            "Two heatmaps. Left, 6 by 6, strongest on the diagonal. Right, {t} rows for the Englis"
            "h "
            "tokens the, cat, sat, on and 6 columns for the Chinese tokens; each English token is "
            "darkest at its translation, and on is shared between two columns."
        ),
    },
    "zh": {
        "self": "自注意力：源 → 源",
        "cross": "交叉注意力：目标 → 源",
        "query": "查询",
        "key": "键（源序列）",
        "caption": (
            "左：中文源句内部的自注意力，权重矩阵为 6 × 6（seq_q = seq_k）。右：英文目标序列的前 {"
            "t} 个"
            "词元对同一源句的交叉注意力，权重矩阵为 {t} × 6（seq_q ≠ seq_k），每个目标词元一行，"
            "每行之和为 1。玩具嵌入（每个中文词元取其英文译词的嵌入加少量噪声，投影为单位矩阵），"
            "由参考实现的 scaled_dot_product_attention 算出；“on”的权重分给了“在”和“上”两个字。"
        ),
        "alt": (
            "两幅热图。左图 6×6，对角线最深。右图 {t} 行对应英文词元 the、cat、sat、on，6 列对应中"
            "文"
            "词元；每个英文词元在其译词处最深，on 的权重分在两列上。"
        ),
    },
}


def toy_translation(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Source `(6, D_MODEL)` and target `(TARGET_LENGTH, D_MODEL)` embeddings.

    The source holds the Chinese tokens, each the embedding of the English word it translates (its
    first position in the English sentence) plus noise; the target is the English prefix.
    """
    english = toy_embeddings(D_MODEL, seed)  # (6, d_model), one row per English toy token
    table = {word: english[TOKENS["en"].index(word)] for word in TOKENS["en"]}
    rng = np.random.default_rng(seed + 1)
    source = np.stack([table[word] for word in ALIGNMENT])
    source = source + NOISE * rng.standard_normal(source.shape)  # (seq_k, d_model)
    target = english[:TARGET_LENGTH]  # (seq_q, d_model)
    return source, target


def attention_maps(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Self-attention weights `(6, 6)` of the source and cross weights `(TARGET_LENGTH, 6)`."""
    source, target = toy_translation(seed)
    _, self_weights = qnp.scaled_dot_product_attention(source, source, source)
    _, cross_weights = qnp.scaled_dot_product_attention(target, source, source)
    return np.asarray(self_weights), np.asarray(cross_weights)


@figure("self-vs-cross-heatmap")
def draw_heatmap(lang: str) -> Figure:
    """Self-attention (square) beside cross-attention (rectangular) weights."""
    t = TEXT[lang]
    source_tokens = TOKENS["zh"]
    target_tokens = TOKENS["en"][:TARGET_LENGTH]
    self_weights, cross_weights = attention_maps()
    fig, axes = new_figure(7.6, 3.4, ncols=2, gridspec_kw={"width_ratios": [1, 1], "wspace": 0.5})
    panels = (
        (axes[0], self_weights, source_tokens, t["self"]),
        (axes[1], cross_weights, target_tokens, t["cross"]),
    )
    for ax, weights, rows, title in panels:
        ax.imshow(weights, cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(weights):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > 0.6 else "black",
            )
        ax.set_title(title)
        ax.set_xticks(range(len(source_tokens)), source_tokens)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(t["key"])
        ax.set_ylabel(t["query"])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return Figure(
        svg=to_svg(fig, "self-vs-cross-heatmap"),
        caption=t["caption"].format(t=TARGET_LENGTH),
        alt=t["alt"].format(t=TARGET_LENGTH),
    )
