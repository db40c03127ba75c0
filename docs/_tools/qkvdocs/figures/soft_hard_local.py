"""Figures of the page "Soft, hard and local attention" (concepts/soft-hard-local).

- `soft-hard-local-weights`: for one query of the toy sentence, the soft weights, Gumbel-softmax
  weights at several temperatures (one shared noise draw) and the hard one-hot weights; beside them
  the banded weight matrix of local attention. Everything is computed with `qkv.numpy`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import qkv.numpy as qnp
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from . import _widget as widget
from ._kit import max_abs, num
from ._svg import new_figure, to_svg
from ._toy import TOKENS, toy_embeddings

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


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class SoftHardLocal:
    """Result of `soft_hard_local`.

    Attributes:
        hard_is_argmax_one_hot: hard weights equal the one-hot of the argmax of the scores.
        hard_out_error: largest difference between the hard output and the selected values.
        taus: the Gumbel-softmax temperatures tried, decreasing.
        gumbel_distance: for each tau, the mean L1 distance between a Gumbel-softmax weight row and
            the one-hot of its own argmax (0 = exactly one-hot).
        local_error: largest difference between local attention and global attention with the
            band mask |i - j| <= window.
        seq: sequence length n of the local comparison.
        window: the window w.
        band_entries: number of (query, key) pairs local attention scores: mask entries that are
            True, at most n (2w + 1).
        full_entries: number of pairs global attention scores: n^2.
    """

    hard_is_argmax_one_hot: bool
    hard_out_error: float
    taus: tuple
    gumbel_distance: tuple
    local_error: float
    seq: int
    window: int
    band_entries: int
    full_entries: int

    @property
    def holds(self) -> bool:
        d = self.gumbel_distance
        return (
            self.hard_is_argmax_one_hot
            and self.hard_out_error < 1e-12
            and all(a > b for a, b in pairwise(d))
            and d[-1] < 0.05
            and self.local_error < 1e-12
            and self.band_entries <= self.seq * (2 * self.window + 1) < self.full_entries
        )

    def shown(self, lang: str) -> str:
        gumbel = ", ".join(
            f"τ = {t:g}: {num(d)}" for t, d in zip(self.taus, self.gumbel_distance, strict=True)
        )
        n, w = self.seq, self.window
        if lang == "zh":
            hard = "是" if self.hard_is_argmax_one_hot else "否"
            return (
                f"硬注意力权重等于 argmax 的独热向量：{hard}；"
                f"Gumbel-softmax 与独热向量的平均 L1 距离 {gumbel}；"
                f"局部注意力与带状掩码全局注意力的最大差 {num(self.local_error)}，n = {n}、"
                f"w = {w} 时计算 {self.band_entries} 个分数，n(2w+1) = {n * (2 * w + 1)}，"
                f"n² = {self.full_entries}"
            )
        hard = "yes" if self.hard_is_argmax_one_hot else "no"
        return (
            f"hard weights equal the argmax one-hot: {hard}; mean L1 distance of Gumbel-softmax "
            f"weights to one-hot {gumbel}; local against banded global attention "
            f"{num(self.local_error)}, scoring {self.band_entries} pairs for n = {n}, w = {w} "
            f"(n(2w+1) = {n * (2 * w + 1)}, n² = {self.full_entries})"
        )


@claim(
    "hard-gumbel-local",
    title={
        "en": "Hard, Gumbel-softmax and local attention",
        "zh": "硬注意力、Gumbel-softmax 与局部注意力",
    },
    statement={
        "en": "Hard attention is the one-hot of the argmax; Gumbel-softmax weights approach "
        "one-hot as τ → 0; local attention equals global attention with a band mask "
        "and scores only about n(2w+1) of the n² pairs.",
        "zh": "硬注意力是 argmax 的独热向量；τ → 0 时 Gumbel-softmax 的权重趋于独热；"
        "局部注意力等于加了带状掩码的全局注意力，只计算 n² 对中约 n(2w+1) 对的分数。",
    },
    contradiction=lambda r: {"gumbel_distance": tuple(sorted(r.gumbel_distance))},
)
def soft_hard_local(
    taus: tuple = (10.0, 1.0, 0.1, 0.01), *, seq: int = 64, window: int = 2, seed: int = 0
) -> SoftHardLocal:
    """hard attention, its Gumbel-softmax relaxation, and local attention.

    Args:
        taus: Gumbel-softmax temperatures, decreasing.
        seq: sequence length n for local attention.
        window: local window w.
        seed: seed of inputs and of the Gumbel noise.

    Returns:
        A `SoftHardLocal`.
    """
    rng = np.random.default_rng(seed)
    d_k = 4
    query = rng.standard_normal((8, d_k))
    key = rng.standard_normal((10, d_k))
    value = rng.standard_normal((10, 3))
    # hard: the argmax one-hot of the same scores soft attention uses
    hard_out, hard_weights = ref.hard_attention(query, key, value)
    scores = ref.scaled_dot_product_scores(query, key)
    one_hot = np.eye(key.shape[0])[np.argmax(scores, axis=-1)]
    # Gumbel-softmax: many samples of the same rows at each temperature
    many = np.broadcast_to(query, (64, *query.shape))
    distance = []
    for tau in taus:
        _, weights = ref.gumbel_softmax_attention(
            many, key, value, tau=tau, generator=np.random.default_rng(seed)
        )
        nearest = np.eye(key.shape[0])[np.argmax(weights, axis=-1)]
        distance.append(float(np.abs(weights - nearest).sum(axis=-1).mean()))
    # local attention against global attention with a band mask
    x = rng.standard_normal((seq, d_k))
    band = ref.local_mask(seq, window=window)
    local_out, _ = ref.local_attention(x, x, x, window=window)
    global_out, _ = ref.scaled_dot_product_attention(x, x, x, mask=band)
    return SoftHardLocal(
        hard_is_argmax_one_hot=bool(np.array_equal(hard_weights, one_hot)),
        hard_out_error=max_abs(hard_out, one_hot @ value),
        taus=tuple(float(t) for t in taus),
        gumbel_distance=tuple(distance),
        local_error=max_abs(local_out, global_out),
        seq=seq,
        window=window,
        band_entries=int(np.asarray(band).sum()),
        full_entries=seq * seq,
    )
