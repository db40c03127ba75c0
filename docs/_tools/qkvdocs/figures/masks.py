"""Figures of the page "Masks" (concepts/masks).

- `masks-kinds`: the causal, padding and local masks of the toy sentence side by side, drawn from
  `causal_mask`, `padding_mask` and `local_mask` (True = may attend).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import qkv.numpy as qnp
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from . import _widget as widget
from ._kit import max_abs, num, token_grid
from ._svg import new_figure, to_svg
from ._toy import TOKENS
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
        token_grid(ax, labels, xlabel=t["xlabel"])
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


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class MaskProperties:
    """Result of `mask_properties`.

    Attributes:
        causal_leak: largest gradient of any output t with respect to any input after t, under the
            causal mask (must be 0).
        causal_dependence: smallest gradient norm of an output t with respect to an input at or
            before t (positive: the mask lets the past through).
        unmasked_leak: the largest future gradient without the mask (positive, for contrast).
        padding_change: largest change of the real tokens' outputs between a sentence alone and the
            same sentence padded in a batch with a longer one, with random padding values.
    """

    causal_leak: float
    causal_dependence: float
    unmasked_leak: float
    padding_change: float

    @property
    def holds(self) -> bool:
        return (
            self.causal_leak == 0.0
            and self.causal_dependence > 1e-6
            and self.unmasked_leak > 1e-3
            and self.padding_change < 1e-12
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"输出 t 对 t 之后输入的最大梯度 {num(self.causal_leak)}（无掩码时 "
                f"{num(self.unmasked_leak)}）；对之前输入的最小梯度 {num(self.causal_dependence)}；"
                f"填充使真实词元输出的最大变化 {num(self.padding_change)}"
            )
        return (
            f"largest gradient of output t with respect to inputs after t {num(self.causal_leak)} "
            f"(without the mask {num(self.unmasked_leak)}); smallest with respect to inputs up "
            "to t "
            f"{num(self.causal_dependence)}; largest change of real tokens under padding "
            f"{num(self.padding_change)}"
        )


def _jacobian_norms(f, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Norms of $\\partial f(x)_t / \\partial x_s$ by central differences: (seq, seq)."""
    seq, width = x.shape
    norms = np.zeros((seq, seq))
    for s in range(seq):
        for c in range(width):
            bump = np.zeros_like(x)
            bump[s, c] = step
            d_out = (f(x + bump) - f(x - bump)) / (2 * step)  # (seq, d): d out_t / d x_{s,c}
            norms[:, s] += np.sum(d_out**2, axis=-1)
    return np.sqrt(norms)


@claim(
    "masks-no-future-no-padding",
    title={"en": "Masks: no future, no padding", "zh": "掩码：看不到未来，也看不到填充"},
    statement={
        "en": "Under a causal mask the gradient of output t with respect to every input after "
        "t is exactly 0; with a padding mask the real tokens' outputs do not change.",
        "zh": "使用因果掩码时，输出 t 对 t 之后每个输入的梯度恰好为 0；使用填充掩码时，"
        "真实词元的输出不变。",
    },
    contradiction=lambda r: {"causal_leak": 1e-17},
)
def mask_properties(seq: int = 6, d_model: int = 4, *, seed: int = 0) -> MaskProperties:
    """a causal mask stops the future leaking in; a padding mask makes padding invisible.

    Causality is checked by gradient: the Jacobian of self-attention (with random projections)
    is measured by central differences, and every entry above the diagonal (output t, input after
    t) must be exactly 0.

    Args:
        seq: number of tokens.
        d_model: model width.
        seed: seed of inputs and parameters.

    Returns:
        A `MaskProperties`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    mask = ref.causal_mask(seq)

    def causal(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2, mask=mask)[0]

    def unmasked(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2)[0]

    grads = _jacobian_norms(causal, x)
    future = np.triu(np.ones((seq, seq), dtype=bool), k=1)
    # padding: sentence 0 has 3 real tokens; alone versus padded next to a sentence of `seq`
    length = 3
    alone, _ = ref.multi_head_attention(x[:length], x[:length], x[:length], params, num_heads=2)
    batch = np.stack([x, rng.standard_normal((seq, d_model))])
    batch[0, length:] = 100.0 * rng.standard_normal((seq - length, d_model))  # padding values
    pad = ref.padding_mask(np.array([length, seq]), seq)  # (2, 1, seq)
    padded, _ = ref.multi_head_attention(batch, batch, batch, params, num_heads=2, mask=pad)
    return MaskProperties(
        causal_leak=float(grads[future].max()),
        causal_dependence=float(grads[~future].min()),
        unmasked_leak=float(_jacobian_norms(unmasked, x)[future].max()),
        padding_change=max_abs(padded[0, :length], alone),
    )
