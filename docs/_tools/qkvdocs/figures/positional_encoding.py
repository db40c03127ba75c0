"""Figures of the positional-encoding page: the sinusoidal table; dot products by offset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qkv import numpy as ref
from qkv.numpy import sinusoidal_positional_encoding

from qkvdocs.checks import claim
from qkvdocs.figures import Figure, figure
from qkvdocs.figures._svg import new_figure, to_svg

from ._kit import max_abs, num

NUM_POSITIONS = 64
D_MODEL = 64
STARTS = (0, 10, 25, 40)  # positions p whose dot products PE(p) . PE(p + k) are drawn
MAX_OFFSET = 48


def offset_dots(starts=STARTS, max_offset: int = MAX_OFFSET) -> dict[int, np.ndarray]:
    """For each start p: `PE(p) . PE(p + k)` for k = 0 .. max_offset (one array per p)."""
    pe = sinusoidal_positional_encoding(max(starts) + max_offset + 1, D_MODEL)
    # (max_offset + 1, d_model) @ (d_model,) -> (max_offset + 1,)
    return {p: pe[p : p + max_offset + 1] @ pe[p] for p in starts}


TEXT = {
    "en": {
        "position": "position pos",
        "feature": "feature (even: sin, odd: cos)",
        "heat_caption": (
            "The sinusoidal encoding PE for {n} positions and d_model = {d}: one row per position, "
            "one column per feature. Each sine/cosine pair turns at its own frequency, fast on the "
            "left, so slowly on the right that it barely changes over these positions."
        ),
        "heat_alt": (
            "Heat map with positions 0 to {last} down the side and features 0 to {lastf} across. "
            "The left columns alternate quickly between positive and negative values as the "
            "position grows; the stripes get wider to the right, and the rightmost columns are "
            "almost constant: 0 for the sine features and 1 for the cosine features."
        ),
        "offset": "offset k",
        "dot": "PE(p) · PE(p + k)",
        "start": "p = {p}",
        "dot_caption": (
            "Dot product of two encodings against their offset k, drawn from four different "
            "starting positions p (d_model = {d}). The four curves lie on top of each other: the "
            "dot product depends only on the offset, and equals Σᵢ cos(ωᵢ k). It is largest at "
            "k = 0, where it is d_model/2 = {half}."
        ),
        "dot_alt": (
            "Line chart of the dot product against the offset from 0 to {m}. Four curves, for "
            "starting positions {starts}, coincide exactly: they start at {half} and fall off in a "
            "damped, wavy way as the offset grows."
        ),
    },
    "zh": {
        "position": "位置 pos",
        "feature": "特征（偶数：sin，奇数：cos）",
        "heat_caption": (
            "{n} 个位置、d_model = {d} 的正弦位置编码 PE：每行一个位置，每列一个特征。每对 sin/cos "
            "以自己的频率旋转：左侧很快，右侧慢到在这些位置上几乎不变。"
        ),
        "heat_alt": (
            "热图，纵轴为位置 0 到 {last}，横轴为特征 0 到 "
            "{lastf}。左侧各列随位置增加在正负之间快速交替；"
            "越往右条纹越宽，最右侧几列几乎是常数：sin 特征为 0，cos 特征为 1。"
        ),
        "offset": "偏移 k",
        "dot": "PE(p) · PE(p + k)",
        "start": "p = {p}",
        "dot_caption": (
            "两个编码的点积随偏移 k 的变化，从四个不同的起始"
            "位置 p 画出（d_model = {d}）。四条曲线完全重合："
            "点积只取决于偏移，等于 Σᵢ cos(ωᵢ k)。它在 k = 0 处最大，等于 d_model/2 = {half}。"
        ),
        "dot_alt": (
            "点积随偏移（0 到 {m}）变化的折线图。起始位置为 {starts} 的四条曲线完全重合："
            "从 {half} 开始，随偏移增大呈带波动的衰减。"
        ),
    },
}


@figure("positional-encoding-heatmap")
def draw_heatmap(lang: str) -> Figure:
    text = TEXT[lang]
    pe = sinusoidal_positional_encoding(NUM_POSITIONS, D_MODEL)  # (num_positions, d_model)
    fig, ax = new_figure(6.0, 4.2)
    image = ax.imshow(
        pe, cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_xlabel(text["feature"])
    ax.set_ylabel(text["position"])
    fig.colorbar(image, ax=ax, shrink=0.9)
    fmt = {"n": NUM_POSITIONS, "d": D_MODEL, "last": NUM_POSITIONS - 1, "lastf": D_MODEL - 1}
    return Figure(
        to_svg(fig, "positional-encoding-heatmap"),
        text["heat_caption"].format(**fmt),
        text["heat_alt"].format(**fmt),
    )


@figure("positional-encoding-offset")
def draw_offset(lang: str) -> Figure:
    text = TEXT[lang]
    dots = offset_dots()
    offsets = np.arange(MAX_OFFSET + 1)
    fig, ax = new_figure(6.0, 3.2)
    # The curves coincide; the first is a thick line, the others markers at staggered offsets,
    # so that every curve stays visible on top of the others.
    markers = ("o", "s", "^")
    for n, (p, values) in enumerate(dots.items()):
        label = text["start"].format(p=p)
        if n == 0:
            ax.plot(offsets, values, "-", linewidth=4, alpha=0.35, color="0.2", label=label)
        else:
            ax.plot(
                offsets,
                values,
                linestyle="none",
                marker=markers[(n - 1) % len(markers)],
                markersize=4,
                markevery=(n - 1, len(markers)),
                label=label,
            )
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel(text["offset"])
    ax.set_ylabel(text["dot"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fmt = {
        "d": D_MODEL,
        "half": D_MODEL // 2,
        "m": MAX_OFFSET,
        "starts": ", ".join(str(p) for p in STARTS),
    }
    return Figure(
        to_svg(fig, "positional-encoding-offset"),
        text["dot_caption"].format(**fmt),
        text["dot_alt"].format(**fmt),
    )


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class PositionalProperties:
    """Result of `positional_properties`.

    Attributes:
        equivariance_error: without positions, largest difference between attention of permuted
            inputs and the permuted attention output (0 up to rounding).
        with_positions_change: the same difference once positional encodings are added (not 0:
            order now matters).
        rotation_error: largest difference between PE(pos + k) and $M_k$ PE(pos), with $M_k$ the
            block rotation built from PE(k) alone, over every pos and every k tried.
        orthogonality_error: largest $|M_k^\\top M_k - I|$.
        offset_spread: over each offset k, the spread (max - min over pos) of PE(pos) · PE(pos + k);
            the largest spread over the offsets tried.
    """

    equivariance_error: float
    with_positions_change: float
    rotation_error: float
    orthogonality_error: float
    offset_spread: float

    @property
    def holds(self) -> bool:
        return (
            self.equivariance_error < 1e-12
            and self.with_positions_change > 1e-3
            and self.rotation_error < 1e-9
            and self.orthogonality_error < 1e-12
            and self.offset_spread < 1e-9
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"无位置信息时置换的最大误差 {num(self.equivariance_error)}（加上位置编码后变化 "
                f"{num(self.with_positions_change)}）；PE(pos+k) 与旋转 M_k PE(pos) 的最大差 "
                f"{num(self.rotation_error)}；点积随 pos 的最大波动 {num(self.offset_spread)}"
            )
        return (
            f"permutation error without positions {num(self.equivariance_error)} (with positions "
            f"added: {num(self.with_positions_change)}); largest difference between PE(pos+k) and "
            f"the rotation M_k PE(pos) {num(self.rotation_error)}; largest spread of the dot "
            "product "
            f"over pos {num(self.offset_spread)}"
        )


def _rotation_from_offset(pe_k: np.ndarray) -> np.ndarray:
    """The matrix $M_k$ with PE(pos + k) = $M_k$ PE(pos), built from the row PE(k) only."""
    d_model = pe_k.shape[-1]
    m = np.zeros((d_model, d_model))
    for i in range(0, d_model, 2):
        s, c = pe_k[i], pe_k[i + 1]  # sin(w k), cos(w k) of this frequency pair
        # sin(w(p+k)) = cos(wk) sin(wp) + sin(wk) cos(wp)
        # cos(w(p+k)) = cos(wk) cos(wp) - sin(wk) sin(wp)
        m[i : i + 2, i : i + 2] = [[c, s], [-s, c]]
    return m


@claim(
    "positional-encoding-rotations",
    title={
        "en": "Positions: equivariance, rotations, offsets",
        "zh": "位置：等变性、旋转与偏移",
    },
    statement={
        "en": "Without positions, permuting the inputs permutes the outputs. With sinusoidal "
        "encodings, PE(pos+k) is a fixed rotation of PE(pos), and PE(pos)·PE(pos+k) "
        "depends only on the offset k.",
        "zh": "没有位置信息时，置换输入只会同样地置换输出。使用正弦位置编码时，PE(pos+k) 是 "
        "PE(pos) 的一个固定旋转，PE(pos)·PE(pos+k) 只取决于偏移 k。",
    },
    contradiction=lambda r: {"offset_spread": 1e-3},
)
def positional_properties(
    num_positions: int = 64, d_model: int = 16, *, offsets: tuple = (1, 2, 5, 10), seed: int = 0
) -> PositionalProperties:
    """attention alone ignores order; sinusoidal encodings encode offsets linearly.

    Args:
        num_positions: positions of the encoding table.
        d_model: model width (even).
        offsets: the offsets k checked.
        seed: seed of the random tokens and parameters.

    Returns:
        A `PositionalProperties`.
    """
    rng = np.random.default_rng(seed)
    # 1. permutation equivariance of multi-head self-attention without positions
    seq = 6
    x = rng.standard_normal((seq, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    perm = rng.permutation(seq)

    def attend(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2)[0]

    equivariance = max_abs(attend(x[perm]), attend(x)[perm])
    pe = ref.sinusoidal_positional_encoding(num_positions, d_model)
    with_positions = max_abs(attend(x[perm] + pe[:seq]), attend(x + pe[:seq])[perm])
    # 2. PE(pos + k) = M_k PE(pos), M_k built from PE(k) alone (so it cannot depend on pos)
    rotation_error, orthogonality_error, spread = 0.0, 0.0, 0.0
    for k in offsets:
        m = _rotation_from_offset(pe[k])
        # (num_positions - k, d_model) @ (d_model, d_model)^T -> (num_positions - k, d_model)
        rotation_error = max(rotation_error, max_abs(pe[k:], pe[:-k] @ m.T))
        orthogonality_error = max(orthogonality_error, max_abs(m.T @ m, np.eye(d_model)))
        # 3. PE(pos) . PE(pos + k) is the same for every pos
        dots = np.sum(pe[:-k] * pe[k:], axis=-1)
        spread = max(spread, float(dots.max() - dots.min()))
    return PositionalProperties(
        equivariance_error=equivariance,
        with_positions_change=with_positions,
        rotation_error=rotation_error,
        orthogonality_error=orthogonality_error,
        offset_spread=spread,
    )
