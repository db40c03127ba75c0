"""Figures of the page "Query, key and value" (concepts/query-key-value).

- `query-key-value-flow`: boxes and arrows from the input X through W^q, W^k, W^v to Q, K, V, the
  scores, the weights and the output, each labelled with its shape in dimension names and with the
  shape the reference actually produced on the toy sentence.
- `query-key-value-soft-to-hard`: one query's weights as its scores are sharpened; the soft lookup
  tends to the one-hot hard lookup.
"""

from __future__ import annotations

import math

import numpy as np
import qkv.numpy as qnp
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..svg import new_figure, to_svg
from ..toy import TOKENS, toy_embeddings
from . import Figure, figure

D_MODEL = 8
D_K = 4
D_V = 4


def toy_projections(d_model: int = D_MODEL, d_k: int = D_K, d_v: int = D_V, seed: int = 0):
    """The toy sentence `x (seq, d_model)` and seeded projections `w_q, w_k (d_model, d_k)`,
    `w_v (d_model, d_v)`."""
    x = toy_embeddings(d_model, seed)
    rng = np.random.default_rng(seed + 20)
    w_q = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_k = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_v = rng.standard_normal((d_model, d_v)) / math.sqrt(d_model)
    return x, w_q, w_k, w_v


def flow_shapes(seed: int = 0) -> dict[str, tuple[int, ...]]:
    """Run the toy sentence through Q/K/V and attention; return every tensor's actual shape."""
    x, w_q, w_k, w_v = toy_projections(seed=seed)
    q = x @ w_q  # (seq_q, d_model) @ (d_model, d_k) -> (seq_q, d_k)
    k = x @ w_k  # (seq_k, d_model) @ (d_model, d_k) -> (seq_k, d_k)
    v = x @ w_v  # (seq_k, d_model) @ (d_model, d_v) -> (seq_k, d_v)
    scores = qnp.scaled_dot_product_scores(q, k)
    out, weights = qnp.scaled_dot_product_attention(q, k, v)
    return {
        "x": x.shape,
        "w_q": w_q.shape,
        "w_k": w_k.shape,
        "w_v": w_v.shape,
        "q": q.shape,
        "k": k.shape,
        "v": v.shape,
        "scores": scores.shape,
        "weights": weights.shape,
        "out": out.shape,
    }


# Box layout: name -> (x centre, y centre, symbolic shape, label key).
LAYOUT = {
    "x": (0.8, 2.0, "(seq, d_model)"),
    "w_q": (2.5, 3.4, "(d_model, d_k)"),
    "w_k": (2.5, 2.0, "(d_model, d_k)"),
    "w_v": (2.5, 0.6, "(d_model, d_v)"),
    "q": (4.3, 3.4, "(seq_q, d_k)"),
    "k": (4.3, 2.0, "(seq_k, d_k)"),
    "v": (4.3, 0.6, "(seq_k, d_v)"),
    "scores": (6.3, 2.7, "(seq_q, seq_k)"),
    "weights": (8.3, 2.7, "(seq_q, seq_k)"),
    "out": (8.3, 0.6, "(seq_q, d_v)"),
}
ARROWS = [
    ("x", "w_q"),
    ("x", "w_k"),
    ("x", "w_v"),
    ("w_q", "q"),
    ("w_k", "k"),
    ("w_v", "v"),
    ("q", "scores"),
    ("k", "scores"),
    ("scores", "weights"),
    ("weights", "out"),
    ("v", "out"),
]

TEXT = {
    "en": {
        "names": {
            "x": "input X",
            "w_q": "$W^q$ (learned)",
            "w_k": "$W^k$ (learned)",
            "w_v": "$W^v$ (learned)",
            "q": "queries Q",
            "k": "keys K",
            "v": "values V",
            "scores": "scores QKᵀ/√d_k",
            "weights": "weights softmax",
            "out": "out = weights·V",
        },
        "toy": "toy: {shape}",
        "caption": (
            "Where Q, K and V come from and where they go. Each box gives the tensor's shape in "
            "dimension names and, below it, the shape the reference produced for the six-token "
            "toy sentence (d_model = {d_model}, d_k = {d_k}, d_v = {d_v}). In self-attention Q, K "
            "and V "
            "are all computed from the same X, so seq_q = seq_k = seq. Only the three W matrices "
            "are learned; everything else is computed."
        ),
        "alt": (
            "Diagram: input X goes through three learned matrices W<sup>q</sup>, W<sup>k</sup>, "
            "W<sup>v</sup> to give Q, K and "
            "V. Q and K combine into the scores, softmax turns them into weights, and the weights "
            "combine V into the output. Each box is labelled with its shape."
        ),
    },
    "zh": {
        "names": {
            "x": "输入 X",
            "w_q": "$W^q$（可学习）",
            "w_k": "$W^k$（可学习）",
            "w_v": "$W^v$（可学习）",
            "q": "查询 Q",
            "k": "键 K",
            "v": "值 V",
            "scores": "分数 QKᵀ/√d_k",
            "weights": "权重 softmax",
            "out": "输出 = 权重·V",
        },
        "toy": "玩具例子：{shape}",
        "caption": (
            "Q、K、V 从哪里来、到哪里去。每个方框写出张量的形状（用维度名表示），下面一行是参考实现"
            "在六个词元的玩具句子上实际得到的形状 (d_model = {d_model}, d_k = {d_k}, d_v = "
            "{d_v})。"
            "在自注意力中，Q、K、V 都由同一个 X 算出，所以 seq_q = seq_k = seq。只有三个 W 矩阵是"
            "学习得到的，其余都是计算出来的。"
        ),
        "alt": (
            "示意图：输入 X 分别乘以三个可学习矩阵 W<sup>q</sup>、W<sup>k</sup>、W<sup>v</sup> 得"
            "到 Q、K、V；Q 与 K 组合成分数，"
            "softmax 把分数变成权重，权重再把 V 组合成输出。每个方框标有形状。"
        ),
    },
}


def _edge(
    a: tuple[float, float], b: tuple[float, float], half_w: float = 0.72, half_h: float = 0.38
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Start and end points on the borders of two boxes centred at a and b."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    scale = 1.0 / max(abs(dx) / half_w, abs(dy) / half_h)
    return (ax + dx * scale, ay + dy * scale), (bx - dx * scale, by - dy * scale)


@figure("query-key-value-flow")
def draw_flow(lang: str) -> Figure:
    """Boxes and arrows: X -> W -> Q, K, V -> scores -> weights -> out, with shapes."""
    t = TEXT[lang]
    shapes = flow_shapes()
    fig, ax = new_figure(9.0, 4.2)
    ax.set_xlim(-0.1, 9.2)
    ax.set_ylim(-0.1, 4.1)
    ax.set_axis_off()
    learned = {"w_q", "w_k", "w_v"}
    for name, (cx, cy, symbolic) in LAYOUT.items():
        face = "#fde7c8" if name in learned else "#dbe8f6"
        ax.add_patch(
            FancyBboxPatch(
                (cx - 0.72, cy - 0.38),
                1.44,
                0.76,
                boxstyle="round,pad=0.02",
                facecolor=face,
                edgecolor="#4a5a70",
                linewidth=1.0,
            )
        )
        ax.text(
            cx,
            cy + 0.18,
            t["names"][name],
            ha="center",
            va="center",
            fontsize=8.5,
            fontweight="bold",
        )
        ax.text(cx, cy - 0.02, symbolic, ha="center", va="center", fontsize=8, family="monospace")
        ax.text(
            cx,
            cy - 0.22,
            t["toy"].format(shape=shapes[name]),
            ha="center",
            va="center",
            fontsize=7.5,
            color="#555555",
        )
    for start, end in ARROWS:
        p0, p1 = _edge(LAYOUT[start][:2], LAYOUT[end][:2])
        ax.add_patch(
            FancyArrowPatch(
                p0, p1, arrowstyle="-|>", mutation_scale=10, color="#4a5a70", linewidth=1.0
            )
        )
    caption = t["caption"].format(d_model=D_MODEL, d_k=D_K, d_v=D_V)
    return Figure(svg=to_svg(fig, "query-key-value-flow"), caption=caption, alt=t["alt"])


SHARPNESS = (1.0, 5.0, 25.0, 100.0)
QUERY = 1  # "cat" / "猫"


def soft_to_hard(query: int = QUERY, sharpness: tuple[float, ...] = SHARPNESS, seed: int = 0):
    """One query's attention weights with its scores multiplied by each sharpness, then the hard
    (one-hot argmax) weights; returns `(list of weight rows, hard row)`."""
    x, w_q, w_k, _ = toy_projections(seed=seed)
    scores = qnp.scaled_dot_product_scores(x @ w_q, x @ w_k)[query]  # (seq_k,)
    rows = [qnp.softmax(beta * scores) for beta in sharpness]
    hard = np.zeros_like(scores)
    hard[np.argmax(scores)] = 1.0
    return rows, hard


SOFT_TEXT = {
    "en": {
        "soft": "soft, scores × {beta:g}",
        "hard": "hard (one-hot)",
        "ylabel": "weight",
        "caption": (
            "Soft lookup becomes hard lookup. The weights of the query “{token}” over the six "
            "keys, "
            "with its scores multiplied by {betas} and finally the one-hot argmax. As the scores "
            "are "
            "sharpened, softmax puts more and more weight on the best-matching key, and in the "
            "limit it reads exactly one value, like a dictionary lookup."
        ),
        "alt": (
            "Five bar charts of one query's weights over six keys: spread out at sharpness 1, "
            "concentrating on one key at higher sharpness, and a single bar of height 1 for hard "
            "attention."
        ),
    },
    "zh": {
        "soft": "软查找，分数 × {beta:g}",
        "hard": "硬查找（one-hot）",
        "ylabel": "权重",
        "caption": (
            "软查找趋向硬查找。查询“{token}”在六个键上的权重：分数分别乘以 {betas}，最后是 "
            "one-hot 的 argmax。"
            "分数越尖锐，softmax 就把越多的权重放在最匹配的键上；在极限情况下它只读取一个值，"
            "就像查字典。"
        ),
        "alt": (
            "五幅柱状图，显示一个查询在六个键上的权重：倍数为 1 时较分散，"
            "倍数变大时集中到一个键上，硬注意力只有一根高度为 1 的柱子。"
        ),
    },
}


@figure("query-key-value-soft-to-hard")
def draw_soft_to_hard(lang: str) -> Figure:
    """Bars of one query's weights as the scores are sharpened, ending with the hard lookup."""
    t = SOFT_TEXT[lang]
    tokens = TOKENS[lang]
    rows, hard = soft_to_hard()
    fig, axes = new_figure(10.0, 2.6, ncols=len(rows) + 1, sharey=True)
    fig.subplots_adjust(wspace=0.12)
    panels = [(t["soft"].format(beta=beta), row) for beta, row in zip(SHARPNESS, rows, strict=True)]
    panels.append((t["hard"], hard))
    for ax, (title, row) in zip(axes, panels, strict=True):
        ax.bar(range(len(tokens)), row, color="#3b75af")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(tokens)), tokens, rotation=45)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel(t["ylabel"])
    betas = ", ".join(f"{beta:g}" for beta in SHARPNESS)
    caption = t["caption"].format(token=tokens[QUERY], betas=betas)
    return Figure(svg=to_svg(fig, "query-key-value-soft-to-hard"), caption=caption, alt=t["alt"])
