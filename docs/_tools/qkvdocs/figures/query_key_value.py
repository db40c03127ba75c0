"""Figures of the page "Query, key and value" (concepts/query-key-value).

- `query-key-value-flow`: boxes and arrows from the input X through W^q, W^k, W^v to Q, K, V, the
  scores, the weights and the output, each labelled with its shape in dimension names and with the
  shape the reference actually produced on the toy sentence.
- `query-key-value-soft-to-hard`: one query's weights as its scores are sharpened; the soft lookup
  tends to the one-hot hard lookup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import qkv.numpy as qnp
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from ._kit import num
from ._svg import new_figure, to_svg
from ._toy import TOKENS, toy_embeddings

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


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class SoftLookupLimit:
    """Result of `soft_lookup_limit`.

    Attributes:
        sharpness: the multipliers c applied to the scores.
        distance: for each c, the largest distance between the soft lookup's output and the value
            stored under the best-matching key (the hard lookup).
        max_weight: for each c, the smallest (over queries) top attention weight.
    """

    sharpness: tuple
    distance: tuple
    max_weight: tuple

    @property
    def holds(self) -> bool:
        d = self.distance
        return (
            all(a > b for a, b in pairwise(d)) and d[-1] < 1e-6 and self.max_weight[-1] > 1 - 1e-6
        )

    def shown(self, lang: str) -> str:
        pairs = ", ".join(
            f"c = {num(c)}: {num(d)}" for c, d in zip(self.sharpness, self.distance, strict=True)
        )
        if lang == "zh":
            return f"软查找输出与硬查找结果的最大距离（分数乘以 c）：{pairs}"
        return f"largest distance between soft and hard lookup (scores times c): {pairs}"


@claim(
    "soft-lookup-limit",
    title={"en": "Hard lookup is the limit of soft lookup", "zh": "硬查找是软查找的极限"},
    statement={
        "en": "As the scores are multiplied by a growing factor c, the soft key-value lookup "
        "returns the value stored under the best-matching key, exactly what a hard "
        "lookup returns.",
        "zh": "把分数乘以越来越大的因子 c，软的键值查找就返回最匹配的键所存的值，"
        "正是硬查找的结果。",
    },
    contradiction=lambda r: {"distance": tuple(reversed(r.distance))},
)
def soft_lookup_limit(
    sharpness: tuple = (1.0, 4.0, 16.0, 64.0, 256.0),
    *,
    num_keys: int = 8,
    d_k: int = 4,
    seed: int = 0,
) -> SoftLookupLimit:
    """hard key-value lookup is the one-hot limit of soft lookup.

    A memory of `num_keys` unit-length keys and their values; queries are noisy copies of some
    keys. Attention with scores multiplied by c (`scale=c / sqrt(d_k)`) returns a weighted mix of
    values; as c grows the weights become one-hot and the output becomes the value of the
    best-matching key, which is what a dictionary lookup returns.

    Args:
        sharpness: the multipliers c to try, increasing.
        num_keys: number of stored key-value pairs.
        d_k: width of keys and queries.
        seed: seed of the random memory.

    Returns:
        A `SoftLookupLimit`.
    """
    rng = np.random.default_rng(seed)
    key = rng.standard_normal((num_keys, d_k))
    key /= np.linalg.norm(key, axis=-1, keepdims=True)
    value = rng.standard_normal((num_keys, 3))
    query = key + 0.1 * rng.standard_normal((num_keys, d_k))
    # the hard lookup: the value stored under the key with the highest score
    best = np.argmax(query @ key.T, axis=-1)
    hard = value[best]
    distance, max_weight = [], []
    for c in sharpness:
        out, weights = ref.scaled_dot_product_attention(query, key, value, scale=c / math.sqrt(d_k))
        distance.append(float(np.linalg.norm(out - hard, axis=-1).max()))
        max_weight.append(float(weights.max(axis=-1).min()))
    return SoftLookupLimit(
        sharpness=tuple(float(c) for c in sharpness),
        distance=tuple(distance),
        max_weight=tuple(max_weight),
    )
