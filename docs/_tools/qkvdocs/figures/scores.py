"""Figures of the page "Relevance scores" (concepts/scores).

- `scores-compared`: the four score functions of notes 001/003 (dot product, cosine, additive,
  bilinear) applied to the toy sentence, each token scoring every token.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import qkv.numpy as qnp
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from ._kit import max_abs, num
from ._svg import new_figure, to_svg
from ._toy import TOKENS, toy_embeddings

D_MODEL = 8
D_HIDDEN = 8


def score_maps(d_model: int = D_MODEL, seed: int = 0) -> dict[str, np.ndarray]:
    """Scores `(seq, seq)` of the toy sentence against itself for each of the four functions.

    The query and key are the raw embeddings (no projections), so the two parameter-free functions
    show what plain similarity gives; additive and bilinear use seeded random parameters.
    """
    x = toy_embeddings(d_model, seed)
    rng = np.random.default_rng(seed + 10)
    w_q = rng.standard_normal((d_model, D_HIDDEN)) / math.sqrt(d_model)
    w_k = rng.standard_normal((d_model, D_HIDDEN)) / math.sqrt(d_model)
    v = rng.standard_normal(D_HIDDEN) / math.sqrt(D_HIDDEN)
    weight = rng.standard_normal((d_model, d_model)) / math.sqrt(d_model)
    return {
        "dot": qnp.dot_product_scores(x, x),
        "cosine": qnp.cosine_scores(x, x),
        "additive": qnp.additive_scores(x, x, w_q, w_k, v),
        "bilinear": qnp.bilinear_scores(x, x, weight),
    }


TEXT = {
    "en": {
        "titles": {
            "dot": "Dot product  q·k",
            "cosine": "Cosine  q·k / (‖q‖‖k‖)",
            "additive": "Additive  vᵀtanh(qW_q + kW_k)",
            "bilinear": "Bilinear  qWkᵀ",
        },
        "xlabel": "key",
        "ylabel": "query",
        "caption": (
            "The four score functions on the toy sentence, every token scoring every token (raw "
            "embeddings, d_model = {d}; additive and bilinear with seeded random parameters). Each "
            "panel has its own colour scale, since the functions live on different ranges. The two "
            "parameter-free ones are symmetric (score(a, b) = score(b, a)). With the cosine every "
            "token scores highest against itself; in the dot product the long vector of “{long}” "
            "takes the top score in {taken} other rows as well, the length effect that the cosine "
            "divides out. The two with parameters are not symmetric, and training could reshape "
            "them. Scaled dot product is the dot product divided by √d_k: the same picture with a "
            "smaller range."
        ),
        "alt": (
            "Four 6 by 6 heatmaps of scores between the tokens of “the cat sat on the mat”: dot "
            "product, cosine, additive and bilinear. Dot product and cosine are symmetric with a "
            "bright diagonal; additive and bilinear are not symmetric."
        ),
    },
    "zh": {
        "titles": {
            "dot": "点积  q·k",
            "cosine": "余弦  q·k / (‖q‖‖k‖)",
            "additive": "加性  vᵀtanh(qW_q + kW_k)",
            "bilinear": "双线性  qWkᵀ",
        },
        "xlabel": "键 (key)",
        "ylabel": "查询 (query)",
        "caption": (
            "四种打分函数作用在玩具句子上，每个词元给每个词元打分（原始嵌入，d_model = {d}；"
            "加性和双线性用固定种子的随机参数）。各函数的取值范围不同，所以每幅子图有自己的色标。"
            "两个无参数的函数是对称的 (score(a, b) = score(b, a))。用余弦时每个词元"
            "与自己的分数最高；用点积时，“{long}”这个很长的向量还在另外 {taken} 行拿到最高分，"
            "这正是余弦除掉的长度效应。两个带参数的函数不对称，"
            "训练可以重塑它们。缩放点积就是点积除以 √d_k：图案相同，范围更小。"
        ),
        "alt": (
            "四幅 6×6 热力图，显示“这只猫坐在垫子上”各词元之间的分数："
            "点积、余弦、加性、双线性。点积和余弦对称且对角线最亮；加性和双线性不对称。"
        ),
    },
}


@figure("scores-compared")
def draw_scores(lang: str) -> Figure:
    """Four heatmaps: dot product, cosine, additive and bilinear scores on the toy sentence."""
    t = TEXT[lang]
    tokens = TOKENS[lang]
    maps = score_maps()
    fig, axes = new_figure(8.0, 7.0, nrows=2, ncols=2)
    fig.subplots_adjust(wspace=0.35, hspace=0.45)
    for ax, (name, scores) in zip(axes.flat, maps.items(), strict=True):
        image = ax.imshow(scores, cmap="viridis")
        ax.set_title(t["titles"][name], fontsize=10)
        ax.set_xticks(range(len(tokens)), tokens, rotation=45)
        ax.set_yticks(range(len(tokens)), tokens)
        ax.set_xlabel(t["xlabel"])
        ax.set_ylabel(t["ylabel"])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.colorbar(image, ax=ax, shrink=0.8)
    # the longest embedding, and the other rows where it beats the query's own dot product
    longest = int(np.linalg.norm(toy_embeddings(D_MODEL), axis=-1).argmax())
    taken = sum(1 for i, best in enumerate(maps["dot"].argmax(axis=-1)) if best == longest != i)
    caption = t["caption"].format(d=D_MODEL, long=tokens[longest], taken=taken)
    return Figure(svg=to_svg(fig, "scores-compared"), caption=caption, alt=t["alt"])


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class ScoreFunctions:
    """Result of `score_functions`.

    Attributes:
        max_error: per score function, the largest difference from its one-line formula.
        shapes: per score function, the shape of the returned scores.
        parameters: per score function, how many numbers it takes beyond `query` and `key`
            (the trainable parameters it needs).
    """

    max_error: dict
    shapes: dict
    parameters: dict

    @property
    def holds(self) -> bool:
        free = ("dot", "scaled dot", "cosine")
        return (
            max(self.max_error.values()) < 1e-12
            and all(self.parameters[k] == 0 for k in free)
            and self.parameters["additive"] > 0
            and self.parameters["bilinear"] > 0
            and len(set(self.shapes.values())) == 1
        )

    def shown(self, lang: str) -> str:
        errors = num(max(self.max_error.values()))
        params = ", ".join(f"{k} {v}" for k, v in self.parameters.items())
        if lang == "zh":
            return f"五个分数函数与公式的最大差 {errors}；参数个数：{params}"
        return f"largest difference from the formulas {errors}; parameters: {params}"


def _parameter_count(function, arrays: dict) -> int:
    """Sizes of the array arguments a score function takes beyond `query` and `key`."""
    names = [
        name
        for name, p in inspect.signature(function).parameters.items()
        if name not in ("query", "key") and p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    return int(sum(np.asarray(arrays[name]).size for name in names))


@claim(
    "score-functions",
    title={
        "en": "Every score function; parameter-free ones cannot learn",
        "zh": "所有分数函数；无参数的相似度无法学习",
    },
    statement={
        "en": "Dot product, scaled dot product, cosine, additive and bilinear scores each "
        "match their formula; the first three take no parameters, so training has "
        "nothing to adjust in them.",
        "zh": "点积、缩放点积、余弦、加性和双线性分数都与各自的公式一致；前三者没有参数，"
        "训练时没有可调整的东西。",
    },
    contradiction=lambda r: {"parameters": {**r.parameters, "cosine": 5}},
)
def score_functions(
    seq_q: int = 3, seq_k: int = 5, d_k: int = 4, *, hidden: int = 6, seed: int = 0
) -> ScoreFunctions:
    """every score function, checked against its formula, and what each can learn.

    Dot product $q \\cdot k$, scaled dot product $q \\cdot k / \\sqrt{d_k}$, cosine
    $q \\cdot k / (\\lVert q \\rVert \\lVert k \\rVert)$, additive $v^\\top \\tanh(W_q q + W_k k)$
    and bilinear $q^\\top W k$. The parameter count comes from each function's signature: the
    similarities without parameters take nothing but `query` and `key`, so training has nothing to
    change in them.

    Args:
        seq_q: number of queries.
        seq_k: number of keys.
        d_k: width of queries and keys.
        hidden: hidden width of the additive score.
        seed: seed of the random inputs.

    Returns:
        A `ScoreFunctions`.
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq_q, d_k))
    key = rng.standard_normal((seq_k, d_k))
    w_q = rng.standard_normal((d_k, hidden))
    w_k = rng.standard_normal((d_k, hidden))
    v = rng.standard_normal(hidden)
    weight = rng.standard_normal((d_k, d_k))
    arrays = {"w_q": w_q, "w_k": w_k, "v": v, "weight": weight}
    norms_q = np.linalg.norm(query, axis=-1, keepdims=True)
    norms_k = np.linalg.norm(key, axis=-1, keepdims=True)
    cases: dict[str, tuple[Any, tuple, np.ndarray]] = {
        "dot": (ref.dot_product_scores, (query, key), query @ key.T),
        "scaled dot": (ref.scaled_dot_product_scores, (query, key), query @ key.T / math.sqrt(d_k)),
        "cosine": (ref.cosine_scores, (query, key), (query / norms_q) @ (key / norms_k).T),
        "additive": (
            ref.additive_scores,
            (query, key, w_q, w_k, v),
            np.tanh((query @ w_q)[:, None, :] + (key @ w_k)[None, :, :]) @ v,
        ),
        "bilinear": (ref.bilinear_scores, (query, key, weight), query @ weight @ key.T),
    }
    max_error, shapes, parameters = {}, {}, {}
    for name, (function, args, expected) in cases.items():
        scores = function(*args)
        max_error[name] = max_abs(scores, expected)
        shapes[name] = tuple(int(s) for s in scores.shape)
        parameters[name] = _parameter_count(function, arrays)
    return ScoreFunctions(max_error=max_error, shapes=shapes, parameters=parameters)
