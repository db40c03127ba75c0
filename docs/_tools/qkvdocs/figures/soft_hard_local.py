"""Figures of the page "Soft, hard and local attention" (concepts/soft-hard-local).

- `soft-hard-local-weights`: for one query of the toy sentence, the soft weights, Gumbel-softmax
  weights at several temperatures (one shared noise draw) and the hard one-hot weights; beside them
  the banded weight matrix of local attention. Everything is computed with `qkv.numpy`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import qkv.numpy as qnp

from .. import widget
from ..svg import new_figure, to_svg
from ..toy import TOKENS, toy_embeddings
from . import Figure, figure

D_MODEL = 8
QUERY = 2  # "sat" / "坐"
TAUS = (1.0, 0.3, 0.05)
NOISE_SEED = 3
WINDOW = 1

TEXT = {
    "en": {
        "soft": "soft",
        "gumbel": "Gumbel τ = {tau:g}",
        "hard": "hard",
        "left": "weights of the query “{token}”",
        "right": f"local attention (window {WINDOW})",
        "key": "key",
        "query": "query",
        "caption": (
            "Left: how one query of the toy sentence spreads its weight over the six keys. Soft "
            "attention gives every key some weight; hard attention puts all of it on the "
            "best-scoring key. Gumbel-softmax adds one draw of Gumbel noise to the scores and "
            "divides by a temperature τ: as τ shrinks the weights approach a one-hot vector, on "
            "the key that wins after the noise (a sample from the soft weights, not always the "
            "argmax). Right: local attention's weight matrix, zero outside a band of width "
            f"{2 * WINDOW + 1}. Random projections, computed with the reference at build time."
        ),
        "alt": (
            "Left: bar charts over six keys for soft, three Gumbel-softmax temperatures and hard "
            "attention, becoming more peaked from top to bottom. Right: a 6 by 6 heatmap that is "
            "non-zero only on a band around the diagonal."
        ),
    },
    "zh": {
        "soft": "软注意力",
        "gumbel": "Gumbel τ = {tau:g}",
        "hard": "硬注意力",
        "left": "查询“{token}”的权重",
        "right": f"局部注意力（窗口 {WINDOW}）",
        "key": "键",
        "query": "查询",
        "caption": (
            "左：玩具句子中一个查询如何把权重分给六个键。软注意力给每个键一些权重；硬注意力把权重"
            "全部放在得分最高的键上。Gumbel-softmax 给分数加上一次抽取的 Gumbel 噪声，再除以温度 τ"
            "："
            "τ 越小，权重越接近独热向量，落在加噪声后胜出的键上（这是按软权重抽出的样本，"
            f"不一定是 argmax）。右：局部注意力的权重矩阵，在宽度为 {2 * WINDOW + 1} 的带之外为零。"
            "随机投影，构建网站时由参考实现算出。"
        ),
        "alt": (
            "左：软注意力、三个温度的 Gumbel-softmax 和硬注意力在六个键上的柱状图，自上而下越来越"
            "尖。"
            "右：一个 6×6 热图，只有对角线附近的带上非零。"
        ),
    },
}


def projected_toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys and values `(6, D_MODEL)` of the toy sentence under random projections."""
    x = toy_embeddings(D_MODEL, seed)
    rng = np.random.default_rng(seed + 7)
    w_q, w_k, w_v = (rng.standard_normal((D_MODEL, D_MODEL)) / math.sqrt(D_MODEL) for _ in range(3))
    return x @ w_q, x @ w_k, x @ w_v  # (seq, d_model) @ (d_model, d_model) -> (seq, d_model)


def weight_rows(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights `(seq_k,)` of query QUERY: soft, Gumbel at each of TAUS (same noise), hard."""
    q, k, v = projected_toy(seed)
    query = q[QUERY : QUERY + 1]  # (1, d_model)
    rows = {}
    _, weights = qnp.scaled_dot_product_attention(query, k, v)
    rows["soft"] = np.asarray(weights)[0]
    for tau in TAUS:
        generator = np.random.default_rng(NOISE_SEED)  # the same noise for every temperature
        _, weights = qnp.gumbel_softmax_attention(query, k, v, tau=tau, generator=generator)
        rows[f"gumbel {tau:g}"] = np.asarray(weights)[0]
    _, weights = qnp.hard_attention(query, k, v)
    rows["hard"] = np.asarray(weights)[0]
    return rows


def local_weights(seed: int = 0, window: int = WINDOW) -> np.ndarray:
    """Dense weights `(seq, seq)` of local attention with `window` on the toy sentence."""
    q, k, v = projected_toy(seed)
    _, band = qnp.local_attention(q, k, v, window=window)  # (seq_q, 2 * window + 1), band form
    seq = q.shape[0]
    dense = np.zeros((seq, seq))
    for i in range(seq):
        for t in range(2 * window + 1):
            j = i - window + t  # slot t of query i holds key i - window + t
            if 0 <= j < seq:
                dense[i, j] = band[i, t]
    return dense


@figure("soft-hard-local-weights")
def draw_weights(lang: str) -> Figure:
    """Soft, Gumbel-softmax and hard weights for one query; local attention's band."""
    t = TEXT[lang]
    tokens = TOKENS[lang]
    rows = weight_rows()
    labels = [t["soft"], *(t["gumbel"].format(tau=tau) for tau in TAUS), t["hard"]]
    fig, axes = new_figure(8.4, 4.6, ncols=2, gridspec_kw={"width_ratios": [1.2, 1]})
    left, right = axes
    # left: one bar chart per row, stacked vertically on one axis
    left.set_axis_off()
    left.set_title(t["left"].format(token=tokens[QUERY]))
    height = 1.0 / len(rows)
    for index, (label, weights) in enumerate(zip(labels, rows.values(), strict=True)):
        inset = left.inset_axes(
            (0.32, 1 - (index + 1) * height + 0.15 * height, 0.68, 0.7 * height)
        )
        inset.bar(range(len(tokens)), weights, color="#1f77b4" if index else "#ff7f0e")
        inset.set_ylim(0, 1)
        inset.set_yticks([])
        inset.set_xticks(
            range(len(tokens)), tokens if index == len(rows) - 1 else [""] * len(tokens)
        )
        inset.tick_params(length=0)
        for spine in ("top", "right", "left"):
            inset.spines[spine].set_visible(False)
        left.text(
            0.0, 1 - (index + 0.5) * height, label, transform=left.transAxes, ha="left", va="center"
        )
    # right: the band of local attention
    band = local_weights()
    right.imshow(band, cmap="Blues", vmin=0, vmax=1)
    right.set_title(t["right"])
    right.set_xticks(range(len(tokens)), tokens, rotation=45)
    right.set_yticks(range(len(tokens)), tokens)
    right.set_xlabel(t["key"])
    right.set_ylabel(t["query"])
    right.tick_params(length=0)
    for spine in right.spines.values():
        spine.set_visible(False)
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
    return Figure(svg=to_svg(fig, "soft-hard-local-weights"), caption=t["caption"], alt=t["alt"])


EXPLORE_TAUS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
EXPLORE_WINDOWS = (0, 1, 2, 3, 4, 5)
EXPLORE_TEXT = {
    "en": {
        "tau": "temperature τ",
        "window": "window w",
        "soft": "soft",
        "gumbel": "Gumbel-softmax",
        "hard": "hard",
        "local": "local",
        "caption": (
            "Choose a query token, then move the sliders. The temperature τ changes only the "
            "Gumbel-softmax row (one fixed draw of noise for every τ): large τ flattens the "
            "weights towards uniform, small τ pushes them towards a one-hot on the key that wins "
            "after the noise. The window w changes only the local row: keys farther than w from "
            "the query get weight 0 and the rest share the weight; from w = 5 on every key is in "
            "the window and local equals soft attention. Computed by the reference when the site "
            "is built."
        ),
        "alt": (
            "An interactive table with one button per query token, a temperature slider and a "
            "window slider: for the choice, a bar and a number for each key's weight under soft, "
            "Gumbel-softmax, hard and local attention."
        ),
    },
    "zh": {
        "tau": "温度 τ",
        "window": "窗口 w",
        "soft": "软注意力",
        "gumbel": "Gumbel-softmax",
        "hard": "硬注意力",
        "local": "局部注意力",
        "caption": (
            "选一个查询词元，再拖动滑块。温度 τ 只改变 Gumbel-softmax 这一行（每个 τ 用同一次抽取"
            "的噪声）：τ 大时权重趋于均匀，τ 小时权重趋于独热向量，落在加噪声后胜出的键上。窗口 w "
            "只改变局部注意力这一行：与查询距离超过 w 的键权重为 0，其余的键分享权重；w 达到 5 "
            "时所有键都在窗口内，局部注意力就等于软注意力。构建网站时由参考实现算出。"
        ),
        "alt": (
            "交互表格：每个查询词元一个按钮，一个温度滑块和一个窗口滑块；对选中的组合，"
            "每个键在软注意力、Gumbel-softmax、硬注意力和局部注意力下的权重以柱和数字显示。"
        ),
    },
}


def explore_rows(seed: int = 0) -> dict[str, object]:
    """Weights `(seq_q, seq_k)` of the toy sentence: soft, hard, Gumbel-softmax at each of
    EXPLORE_TAUS (the same noise draw for every temperature), local at each of EXPLORE_WINDOWS."""
    q, k, v = projected_toy(seed)
    _, soft = qnp.scaled_dot_product_attention(q, k, v)
    _, hard = qnp.hard_attention(q, k, v)
    gumbel = []
    for tau in EXPLORE_TAUS:
        generator = np.random.default_rng(NOISE_SEED)  # the same noise for every temperature
        gumbel.append(qnp.gumbel_softmax_attention(q, k, v, tau=tau, generator=generator)[1])
    local = [local_weights(seed, window) for window in EXPLORE_WINDOWS]
    return {"soft": soft, "hard": hard, "gumbel": gumbel, "local": local}


@figure("soft-hard-local-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: a temperature slider for Gumbel-softmax, a window slider for local attention."""
    t = EXPLORE_TEXT[lang]
    tokens = TOKENS[lang]
    rows = explore_rows()
    controls = [
        widget.range_control("tau", t["tau"], [f"{tau:g}" for tau in EXPLORE_TAUS], value=4),
        widget.range_control("window", t["window"], EXPLORE_WINDOWS, value=1),
    ]
    views = {}
    for key, (i_tau, i_window) in widget.settings(controls):
        views[key] = {
            "lines": [
                widget.line(t["soft"], "weight", rows["soft"]),
                widget.line(t["gumbel"], "weight", rows["gumbel"][i_tau]),
                widget.line(t["hard"], "weight", rows["hard"]),
                widget.line(t["local"], "weight", rows["local"][i_window]),
            ]
        }
    data = {"keys": tokens, "queries": tokens, "query": QUERY, "controls": controls, "views": views}
    return widget.interactive(data, lang, t["caption"], t["alt"])
