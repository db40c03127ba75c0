"""Figures of the scaling page: softmax saturation and the softmax Jacobian against d_k."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import numpy as np
from qkv import numpy as ref
from qkv.numpy import scaled_dot_product_scores, softmax

from qkvdocs.checks import claim
from qkvdocs.figures import Figure, figure
from qkvdocs.figures import _widget as widget
from qkvdocs.figures._svg import new_figure, to_svg

from ._kit import fmt_nums, max_abs

D_KS = tuple(2**i for i in range(11))  # 1, 2, 4, ..., 1024
SEQ_K = 16
KEY_SETS = 32  # independent sets of keys
QUERIES = 16  # queries drawn against each set
DRAWS = KEY_SETS * QUERIES


def softmax_jacobian(weights: np.ndarray) -> np.ndarray:
    """$\\partial p / \\partial s = \\mathrm{diag}(p) - pp^\\top$ for weights `(..., seq_k)`."""
    eye = np.eye(weights.shape[-1])
    # (..., seq_k, 1) * (seq_k, seq_k) - (..., seq_k, 1) * (..., 1, seq_k) -> (..., seq_k, seq_k)
    return weights[..., :, None] * eye - weights[..., :, None] * weights[..., None, :]


@cache
def sweep(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Mean max weight, entropy and Jacobian norms over random draws, for each d_k in `D_KS`.

    Queries and keys have independent standard-normal entries, so unscaled scores have variance d_k.
    Returns `{"scaled" | "unscaled": {"max", "entropy", "jacobian", "grad_q": array (len(D_KS),)}}`,
    where "jacobian" is the mean Frobenius norm of dp/ds and "grad_q" that of dp/dq.
    """
    rng = np.random.default_rng(seed)
    result: dict[str, dict[str, list[float]]] = {
        mode: {"max": [], "entropy": [], "jacobian": [], "grad_q": []}
        for mode in ("scaled", "unscaled")
    }
    for d_k in D_KS:
        query = rng.standard_normal((KEY_SETS, QUERIES, d_k))
        # Keys stored as (sets, d_k, seq_k) and viewed as (sets, seq_k, d_k): the transpose taken
        # inside the score function is then contiguous, which keeps NumPy's batched matmul on BLAS.
        key = np.swapaxes(rng.standard_normal((KEY_SETS, d_k, SEQ_K)), -1, -2)
        for mode, scale in (("scaled", 1 / np.sqrt(d_k)), ("unscaled", 1.0)):
            scores = scaled_dot_product_scores(query, key, scale=scale)  # (sets, queries, seq_k)
            weights = softmax(scores, axis=-1)
            logs = np.log(np.where(weights > 0, weights, 1.0))
            entropy = -(weights * logs).sum(axis=-1)
            jacobian = softmax_jacobian(weights)  # (sets, queries, seq_k, seq_k)
            jac = np.linalg.norm(jacobian, axis=(-2, -1))  # Frobenius norm
            # dp/dq = J @ (scale * K), so |dp/dq|_F^2 = sum((J @ G) * J) with G = scale^2 K K^T.
            # (sets, seq_k, d_k) @ (sets, d_k, seq_k) -> (sets, seq_k, seq_k)
            gram = scale**2 * key @ np.swapaxes(key, -1, -2)
            grad_q = np.sqrt(((jacobian @ gram[:, None]) * jacobian).sum(axis=(-2, -1)))
            result[mode]["max"].append(float(weights.max(axis=-1).mean()))
            result[mode]["entropy"].append(float(entropy.mean()))
            result[mode]["jacobian"].append(float(jac.mean()))
            result[mode]["grad_q"].append(float(grad_q.mean()))
    return {mode: {k: np.array(v) for k, v in series.items()} for mode, series in result.items()}


TEXT = {
    "en": {
        "scaled": "scaled by 1/√d_k",
        "unscaled": "unscaled",
        "uniform": f"uniform over {SEQ_K} keys",
        "max": "mean of the largest weight",
        "entropy": "mean entropy of the weights (nats)",
        "jacobian": "mean ‖∂p/∂s‖ = ‖diag(p) − ppᵀ‖",
        "grad_q": "mean ‖∂p/∂q‖ (misleading)",
        "sat_caption": (
            f"Softmax saturation: {DRAWS} random queries against {SEQ_K} random keys with "
            "unit-variance entries, for each d_k. Unscaled, the largest weight tends to 1 and the "
            "entropy to 0 (one key takes everything); scaled, both stay where they are at d_k = 1."
        ),
        "sat_alt": (
            "Two line charts against d_k from {d_min} to {d_max} on a log axis. Left: the mean "
            "largest weight climbs from {max_first:.2f} to {max_un:.2f} without scaling and ends "
            "at {max_sc:.2f} with scaling. Right: the mean entropy falls to {ent_un:.2f} without "
            "scaling and ends at {ent_sc:.2f} with scaling."
        ),
        "jac_caption": (
            "Left: the size of the softmax Jacobian ∂p/∂s "
            "= diag(p) − ppᵀ (Frobenius norm, mean over "
            "the same draws). Unscaled it shrinks as d_k grows: the weights stop responding to the "
            "scores, so little gradient reaches W<sup>Q</sup> and W<sup>K</sup>. Scaled it stays "
            "flat. Right: the "
            "derivative with respect to the query, ∂p/∂q = J·K·scale, grows unscaled only because "
            "the keys get longer with d_k; it is not the quantity to judge saturation by."
        ),
        "jac_alt": (
            "Two line charts against d_k on a log axis. Left: the mean Frobenius norm of the "
            "softmax Jacobian; the scaled curve stays flat, ending at {jac_sc:.2f}, the unscaled "
            "curve falls to {jac_un:.2f}. Right: the mean norm of the derivative with respect to "
            "the query; the unscaled curve rises to {grad_un:.2f}, above the flat scaled one."
        ),
    },
    "zh": {
        "scaled": "除以 √d_k",
        "unscaled": "不缩放",
        "uniform": f"{SEQ_K} 个键上均匀分布",
        "max": "最大权重的均值",
        "entropy": "权重的平均熵 (nats)",
        "jacobian": "‖∂p/∂s‖ = ‖diag(p) − ppᵀ‖ 的均值",
        "grad_q": "‖∂p/∂q‖ 的均值（有误导性）",
        "sat_caption": (
            f"softmax 饱和：对每个 d_k，取 {DRAWS} 个随机"
            f"查询和 {SEQ_K} 个随机键（各分量方差为 1）。"
            "不缩放时，最大权重趋于 1、熵趋于 0（一个键拿走全"
            "部权重）；缩放后，两者都保持在 d_k = 1 时的水平。"
        ),
        "sat_alt": (
            "两幅折线图，横轴为 d_k（{d_min} 到 {d_max}，对数刻度）。左图：不缩放时最大权重的均值"
            "从 {max_first:.2f} 升到 {max_un:.2f}，缩放时最后为 {max_sc:.2f}。右图：不缩放时"
            "平均熵降到 {ent_un:.2f}，缩放时最后为 {ent_sc:.2f}。"
        ),
        "jac_caption": (
            "左：softmax 雅可比矩阵 ∂p/∂s = diag(p) − ppᵀ "
            "的大小（Frobenius 范数，对同一批样本取均值）。"
            "不缩放时它随 d_k 增大而缩小：权重不再随分数变化"
            "，传到 W<sup>Q</sup> 和 W<sup>K</sup> 的梯度很少。缩放后它保持平稳。"
            "右：对查询的导数 ∂p/∂q = J·K·scale，不缩放时反而变大，只是因为键随 d_k 变长；"
            "不应该用它来判断是否饱和。"
        ),
        "jac_alt": (
            "两幅折线图，横轴为 d_k（对数刻度）。左图：softmax 雅可比矩阵 Frobenius 范数的均值，"
            "缩放的曲线保持平稳，最后为 {jac_sc:.2f}；不缩放的曲线降到 {jac_un:.2f}。"
            "右图：对查询导数的范数均值，不缩放的曲线升到 {grad_un:.2f}，高于平稳的缩放曲线。"
        ),
    },
}

STYLE = {
    "scaled": {"color": "#1f77b4", "marker": "o"},
    "unscaled": {"color": "#d62728", "marker": "s"},
}


def _plot(ax, data, key: str, text: dict[str, str]) -> None:
    for mode in ("unscaled", "scaled"):
        ax.plot(D_KS, data[mode][key], label=text[mode], markersize=4, **STYLE[mode])
    ax.set_xscale("log", base=2)
    ax.set_xticks(D_KS[::2], [str(d) for d in D_KS[::2]])
    ax.set_xlabel("d_k")
    ax.set_ylabel(text[key])
    ax.grid(alpha=0.3)


def _numbers(data) -> dict[str, float]:
    """The values the alt texts quote, read from the sweep."""
    scaled, unscaled = data["scaled"], data["unscaled"]
    return {
        "d_min": D_KS[0],
        "d_max": D_KS[-1],
        "max_first": unscaled["max"][0],
        "max_un": unscaled["max"][-1],
        "max_sc": scaled["max"][-1],
        "ent_un": unscaled["entropy"][-1],
        "ent_sc": scaled["entropy"][-1],
        "jac_un": unscaled["jacobian"][-1],
        "jac_sc": scaled["jacobian"][-1],
        "grad_un": unscaled["grad_q"][-1],
    }


@figure("scaling-saturation")
def draw_saturation(lang: str) -> Figure:
    text = TEXT[lang]
    data = sweep()
    fig, (ax_max, ax_ent) = new_figure(7.6, 3.2, ncols=2)
    _plot(ax_max, data, "max", text)
    ax_max.axhline(1 / SEQ_K, color="0.5", linestyle=":", label=text["uniform"])
    ax_max.set_ylim(0, 1.02)
    _plot(ax_ent, data, "entropy", text)
    ax_ent.axhline(np.log(SEQ_K), color="0.5", linestyle=":", label=text["uniform"])
    ax_ent.set_ylim(0, np.log(SEQ_K) * 1.05)
    ax_max.legend(fontsize=8, loc="center left")
    fig.subplots_adjust(wspace=0.32)
    alt = text["sat_alt"].format(**_numbers(data))
    return Figure(to_svg(fig, "scaling-saturation"), text["sat_caption"], alt)


@figure("scaling-jacobian")
def draw_jacobian(lang: str) -> Figure:
    text = TEXT[lang]
    data = sweep()
    fig, (ax_jac, ax_grad) = new_figure(7.6, 3.2, ncols=2)
    _plot(ax_jac, data, "jacobian", text)
    ax_jac.set_ylim(0, None)
    ax_jac.legend(fontsize=8)
    _plot(ax_grad, data, "grad_q", text)
    ax_grad.set_ylim(0, None)
    fig.subplots_adjust(wspace=0.32)
    alt = text["jac_alt"].format(**_numbers(data))
    return Figure(to_svg(fig, "scaling-jacobian"), text["jac_caption"], alt)


EXPLORE_KEYS = 8  # keys of the interactive figure, k1 ... k8
EXPLORE_TEXT = {
    "en": {
        "d_k": "d_k",
        "raw": "q·k",
        "scaled": "q·k/√d_k",
        "w_raw": "softmax(q·k)",
        "w_scaled": "softmax(q·k/√d_k)",
        "note": (
            "spread (standard deviation) of the scores: {sd_raw:.2f} unscaled, {sd_scaled:.2f} "
            "scaled; largest weight: {max_raw:.3f} unscaled, {max_scaled:.3f} scaled"
        ),
        "caption": (
            "Move the d_k slider: one random query against {n} random keys, all entries drawn with "
            "variance 1 (a fresh draw for every d_k). The dot products spread like √d_k, so "
            "without the scale the softmax piles nearly all the weight on one key as d_k grows; "
            "divided by √d_k the scores keep a spread near 1 and the weights stay spread out. "
            "Computed by the reference when the site is built."
        ),
        "alt": (
            "An interactive table with a d_k slider from 1 to 1024: for {n} keys, the unscaled "
            "and scaled scores and the softmax weights of both, with bars."
        ),
    },
    "zh": {
        "d_k": "d_k",
        "raw": "q·k",
        "scaled": "q·k/√d_k",
        "w_raw": "softmax(q·k)",
        "w_scaled": "softmax(q·k/√d_k)",
        "note": (
            "分数的离散程度（标准差）：不缩放 {sd_raw:.2f}，缩放 {sd_scaled:.2f}；"
            "最大权重：不缩放 {max_raw:.3f}，缩放 {max_scaled:.3f}"
        ),
        "caption": (
            "拖动 d_k 滑块：一个随机查询对 {n} 个随机键，所有分量方差为 1（每个 d_k 重新抽取）。"
            "点积的离散程度随 √d_k 增长，所以不缩放时，d_k 越大，softmax 越是把几乎全部权重压到一个"
            "键上；除以 √d_k 后，分数的标准差保持在 1 左右，权重依然分散。"
            "构建网站时由参考实现算出。"
        ),
        "alt": (
            "交互表格，带一个从 1 到 1024 的 d_k 滑块：{n} 个键的不缩放分数、缩放分数，"
            "以及两者的 softmax 权重（带柱）。"
        ),
    },
}


def explore_draw(d_k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The query `(1, d_k)` and keys `(EXPLORE_KEYS, d_k)` of the interactive figure at `d_k`."""
    rng = np.random.default_rng([seed, d_k])
    return rng.standard_normal((1, d_k)), rng.standard_normal((EXPLORE_KEYS, d_k))


def explore_rows(d_k: int) -> dict[str, np.ndarray]:
    """Unscaled and scaled scores and their softmax weights `(EXPLORE_KEYS,)` at `d_k`."""
    query, key = explore_draw(d_k)
    raw = scaled_dot_product_scores(query, key, scale=1.0)[0]  # (seq_k,)
    scaled = scaled_dot_product_scores(query, key)[0]  # scale 1/sqrt(d_k)
    return {"raw": raw, "scaled": scaled, "w_raw": softmax(raw), "w_scaled": softmax(scaled)}


@figure("scaling-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: a d_k slider; scores and weights with and without the 1/sqrt(d_k)."""
    text = EXPLORE_TEXT[lang]
    views = {}
    for index, d_k in enumerate(D_KS):
        rows = explore_rows(d_k)
        note = text["note"].format(
            sd_raw=rows["raw"].std(),
            sd_scaled=rows["scaled"].std(),
            max_raw=rows["w_raw"].max(),
            max_scaled=rows["w_scaled"].max(),
        )
        lines = [
            widget.line(text[name], "weight" if name.startswith("w_") else "value", rows[name])
            for name in ("raw", "scaled", "w_raw", "w_scaled")
        ]
        views[str(index)] = {"lines": lines, "note": [note]}
    data = {
        "keys": [f"k{j + 1}" for j in range(EXPLORE_KEYS)],
        "queries": None,
        "query": 0,
        "controls": [widget.range_control("d_k", text["d_k"], D_KS, value=4)],
        "views": views,
    }
    alt = text["alt"].format(n=EXPLORE_KEYS)
    return widget.interactive(data, lang, text["caption"].format(n=EXPLORE_KEYS), alt)


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class ScalingEffect:
    """Result of `scaling_effect`.

    Attributes:
        d_k: the key widths tried.
        variance_ratio: for each d_k, the sample variance of $q \\cdot k$ divided by d_k, for
            q and k with independent unit-variance entries (close to 1).
        jacobian_unscaled: for each d_k, the mean Frobenius norm of the softmax Jacobian
            $\\mathrm{diag}(p) - p p^\\top$ at the scores $q \\cdot k$.
        jacobian_scaled: the same at the scores $q \\cdot k / \\sqrt{d_k}$.
        jacobian_formula_error: largest difference between the measured Jacobian (central finite
            differences of [`softmax`][qkv.numpy.softmax]) and $\\mathrm{diag}(p) - p p^\\top$.
    """

    d_k: tuple
    variance_ratio: tuple
    jacobian_unscaled: tuple
    jacobian_scaled: tuple
    jacobian_formula_error: float

    @property
    def holds(self) -> bool:
        u, s = self.jacobian_unscaled, self.jacobian_scaled
        return (
            all(0.9 <= v <= 1.1 for v in self.variance_ratio)
            and all(a > b for a, b in pairwise(u))
            and u[-1] < 0.5 * u[0]
            and max(s) / min(s) < 1.25
            and self.jacobian_formula_error < 1e-6
        )

    def shown(self, lang: str) -> str:
        ratios = fmt_nums(self.variance_ratio)
        unscaled = fmt_nums(self.jacobian_unscaled)
        scaled = fmt_nums(self.jacobian_scaled)
        dks = ", ".join(str(d) for d in self.d_k)
        if lang == "zh":
            return (
                f"d_k = {dks} 时 Var(q·k)/d_k = {ratios}；softmax 雅可比矩阵的平均 Frobenius 范数："
                f"不缩放 {unscaled}，缩放 {scaled}"
            )
        return (
            f"for d_k = {dks}: Var(q·k)/d_k = {ratios}; mean Frobenius norm of the softmax "
            f"Jacobian: unscaled {unscaled}, scaled {scaled}"
        )


def _softmax_jacobian(scores: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Jacobian of softmax over the last axis, by central differences: (*batch, n, n)."""
    n = scores.shape[-1]
    columns = []
    for j in range(n):
        bump = np.zeros(n)
        bump[j] = step
        # column j: d softmax(s) / d s_j
        columns.append((ref.softmax(scores + bump) - ref.softmax(scores - bump)) / (2 * step))
    return np.stack(columns, axis=-1)  # (*batch, n) x n -> (*batch, n, n); [i, j] = d p_i / d s_j


@claim(
    "scaling-keeps-softmax-responsive",
    title={
        "en": "Scaling by √d_k keeps softmax responsive",
        "zh": "除以 √d_k 让 softmax 保持灵敏",
    },
    statement={
        "en": "With unit-variance entries, $q \\cdot k$ has variance $d_k$. Unscaled, the "
        "softmax Jacobian $\\mathrm{diag}(p) - p p^\\top$ shrinks toward 0 as $d_k$ "
        "grows; divided by $\\sqrt{d_k}$ it keeps its size.",
        "zh": "各分量方差为 1 时，$q \\cdot k$ 的方差为 $d_k$。不缩放时，softmax 的雅可比矩阵 "
        "$\\mathrm{diag}(p) - p p^\\top$ 随 $d_k$ 增大趋向 0；除以 $\\sqrt{d_k}$ 后"
        "它的大小保持不变。",
    },
    contradiction=lambda r: {"jacobian_unscaled": (0.3,) * len(r.jacobian_unscaled)},
)
def scaling_effect(
    d_k: tuple = (4, 16, 64, 256),
    *,
    seq_k: int = 16,
    num_queries: int = 512,
    num_samples: int = 4000,
    seed: int = 0,
) -> ScalingEffect:
    """why divide by $\\sqrt{d_k}$.

    With unit-variance entries, $q \\cdot k$ has variance $d_k$: the unscaled scores spread out
    as d_k grows, softmax saturates toward one-hot, and its Jacobian
    $\\mathrm{diag}(p) - p p^\\top$ (the factor every gradient through the weights is multiplied
    by) shrinks toward 0. Divided by
    $\\sqrt{d_k}$ the scores keep unit variance and the Jacobian keeps its size. The Jacobian is
    measured with respect to the scores, not the query: the gradient with respect to q also carries
    the factor k, which grows with d_k and hides the saturation.

    Args:
        d_k: key widths to try, increasing.
        seq_k: number of keys each query scores.
        num_queries: queries per d_k for the Jacobian, each with its own `seq_k` keys.
        num_samples: (q, k) pairs per d_k for the variance.
        seed: seed of the random vectors.

    Returns:
        A `ScalingEffect`.
    """
    rng = np.random.default_rng(seed)
    variance_ratio: list[float] = []
    unscaled: list[float] = []
    scaled: list[float] = []
    formula_error = 0.0
    for width in d_k:
        q = rng.standard_normal((num_samples, width))
        k = rng.standard_normal((num_samples, width))
        variance_ratio.append(float(np.var(np.sum(q * k, axis=-1)) / width))
        # each query scores its own fresh set of keys, so the mean is over queries and key sets
        query = rng.standard_normal((num_queries, 1, width))
        key = rng.standard_normal((num_queries, seq_k, width))
        for scale, norms in ((1.0, unscaled), (1.0 / math.sqrt(width), scaled)):
            # (num_queries, 1, width) @ (num_queries, width, seq_k) -> (num_queries, seq_k)
            scores = ref.scaled_dot_product_scores(query, key, scale=scale)[:, 0]
            jacobian = _softmax_jacobian(scores)  # (num_queries, seq_k, seq_k)
            p = ref.softmax(scores)
            formula = p[:, :, None] * np.eye(seq_k) - p[:, :, None] * p[:, None, :]
            formula_error = max(formula_error, max_abs(jacobian, formula))
            norms.append(float(np.linalg.norm(jacobian, axis=(-2, -1)).mean()))
    return ScalingEffect(
        d_k=tuple(int(w) for w in d_k),
        variance_ratio=tuple(variance_ratio),
        jacobian_unscaled=tuple(unscaled),
        jacobian_scaled=tuple(scaled),
        jacobian_formula_error=formula_error,
    )
