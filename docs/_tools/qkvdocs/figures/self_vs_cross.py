"""Figures of the page "Self-attention and cross-attention" (concepts/self-vs-cross).

Both show the trained number translator of `qkv.numbers` (see `_trained.py`), its decoder fed
the correct Chinese numeral:

- `self-vs-cross-heatmap`: for "twelve thousand" → 一万二千, the encoder's self-attention (English ×
  English, square) beside the decoder's cross-attention (Chinese × English, rectangular).
- `self-vs-cross-alignment`: cross-attention for three numbers (a plain one, the regrouping
  twelve thousand → 一万二千, and one with 零), one heatmap each.

Every map is one layer's weights averaged over its heads: the last encoder layer for
self-attention, and for cross-attention the decoder layer whose head average is sharpest
(`_trained.cross_layer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qkv import numbers
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from . import _trained as trained
from ._kit import fmt_shape, max_abs, num
from ._svg import new_figure, to_svg

TEXT = {
    "en": {
        "self": "encoder self-attention\nEnglish → English",
        "cross": "cross-attention\nChinese → English",
        "query_en": "query (English token)",
        "query_zh": "query (character written)",
        "key": "key (English token)",
        "caption": (
            "The trained translator on “{text}” → {zh}. Left: self-attention of the last encoder "
            "layer (layer {enc} of {layers}), the average of its {heads} heads: a square "
            "{s} × {s} matrix (seq_q = seq_k), every English token against every English token. "
            "Right: cross-attention of decoder layer {cross} of {layers}, average of its heads: "
            "a {t} × {s} matrix (seq_q ≠ seq_k), one row for each Chinese character the decoder "
            "writes (the last row writes the end token), one column per English token. Each row "
            "sums to 1."
        ),
        "alt": (
            "Two heatmaps. Left, {s} by {s}, English tokens against English tokens. Right, {t} "
            "rows for the Chinese characters {zh} and the end token, {s} columns for the English "
            "tokens."
        ),
        "align_caption": (
            "Cross-attention of the trained translator: decoder layer {cross} of {layers}, "
            "average of its {heads} heads, the decoder fed the correct Chinese numeral. One row "
            "per character written, one column per English token; each row sums to 1. From left "
            "to right: {cases}. The English word each character looks at most: {argmax}."
        ),
        "align_alt": (
            "Three heatmaps, one per number, Chinese characters as rows and English tokens as "
            "columns: {cases}."
        ),
    },
    "zh": {
        "self": "编码器自注意力\n英文 → 英文",
        "cross": "交叉注意力\n中文 → 英文",
        "query_en": "查询（英文词元）",
        "query_zh": "查询（正在写的汉字）",
        "key": "键（英文词元）",
        "caption": (
            "训练好的翻译模型处理“{text}” → {zh}。左：最后一个编码器层（共 {layers} 层中的第 "
            "{enc} 层）的自注意力，取 {heads} 个头的平均：{s} × {s} 的方阵（seq_q = seq_k），每个"
            "英文词元对每个英文词元。右：解码器第 {cross} 层（共 {layers} 层）的交叉注意力，取各头"
            "平均：{t} × {s} 的矩阵（seq_q ≠ seq_k），解码器每写一个汉字占一行（最后一行写的是结束"
            "词元），每个英文词元占一列。每行之和为 1。"
        ),
        "alt": (
            "两幅热图。左图 {s} × {s}，英文词元对英文词元。右图 {t} 行对应汉字 {zh} 和结束词元，"
            "{s} 列对应英文词元。"
        ),
        "align_caption": (
            "训练好的翻译模型的交叉注意力：解码器第 {cross} 层（共 {layers} 层），取 {heads} 个头"
            "的平均，解码器输入的是正确的中文数字。每写一个汉字占一行，每个英文词元占一列；每行之"
            "和为 1。从左到右：{cases}。每个字最关注的英文单词：{argmax}。"
        ),
        "align_alt": "三幅热图，每个数一幅，行是汉字，列是英文词元：{cases}。",
    },
}


def heatmap_data() -> dict[str, object]:
    """What `self-vs-cross-heatmap` draws: the maps of `trained.REGROUP`, the layers chosen."""
    maps = trained.maps(trained.REGROUP)
    enc_layer = trained.config().num_layers - 1
    cross_layer = trained.cross_layer()
    return {
        "maps": maps,
        "enc_layer": enc_layer,
        "cross_layer": cross_layer,
        "self": trained.mean_over_heads(maps.encoder, enc_layer),
        "cross": trained.mean_over_heads(maps.cross, cross_layer),
    }


def _sizes(number: int, maps) -> dict[str, object]:
    cfg = trained.config()
    return {
        "text": numbers.english(number),
        "zh": "".join(maps.target),
        "layers": cfg.num_layers,
        "heads": cfg.num_heads,
        "s": len(maps.source),
        "t": len(trained.written(maps)),
    }


@figure("self-vs-cross-heatmap")
def draw_heatmap(lang: str) -> Figure:
    """Encoder self-attention (square) beside cross-attention (rectangular), trained model."""
    t = TEXT[lang]
    data = heatmap_data()
    maps = data["maps"]
    fig, axes = new_figure(7.6, 3.4, ncols=2, gridspec_kw={"wspace": 0.55})
    trained.heatmap(axes[0], data["self"], maps.source, maps.source)
    trained.heatmap(axes[1], data["cross"], trained.written(maps), maps.source)
    axes[0].set_title(t["self"], fontsize=9)
    axes[1].set_title(t["cross"], fontsize=9)
    axes[0].set_ylabel(t["query_en"])
    axes[1].set_ylabel(t["query_zh"])
    for ax in axes:
        ax.set_xlabel(t["key"])
    fmt = _sizes(trained.REGROUP, maps) | {
        "enc": data["enc_layer"] + 1,
        "cross": data["cross_layer"] + 1,
    }
    return Figure(
        svg=to_svg(fig, "self-vs-cross-heatmap"),
        caption=t["caption"].format(**fmt),
        alt=t["alt"].format(**fmt),
    )


def alignment_data() -> list[tuple[trained.Maps, np.ndarray]]:
    """What `self-vs-cross-alignment` draws: each example's maps and its cross-attention map."""
    layer = trained.cross_layer()
    result = []
    for number in trained.EXAMPLES:
        maps = trained.maps(number)
        result.append((maps, trained.mean_over_heads(maps.cross, layer)))
    return result


def strongest_words() -> list[list[tuple[str, str]]]:
    """For each example, `(character, English word with its largest weight)` per character."""
    return [
        [
            (character, maps.source[int(weights[t].argmax())])
            for t, character in enumerate(maps.target)
        ]
        for maps, weights in alignment_data()
    ]


@figure("self-vs-cross-alignment")
def draw_alignment(lang: str) -> Figure:
    """Cross-attention of three numbers, Chinese characters × English tokens, trained model."""
    t = TEXT[lang]
    data = alignment_data()
    widths = [len(maps.source) for maps, _ in data]
    fig, axes = new_figure(
        9.6, 3.6, ncols=len(data), gridspec_kw={"width_ratios": widths, "wspace": 0.45}
    )
    cases = []
    for ax, number, (maps, weights) in zip(axes, trained.EXAMPLES, data, strict=True):
        trained.heatmap(ax, weights, trained.written(maps), maps.source, numbers_in_cells=False)
        zh = "".join(maps.target)
        ax.set_title(zh, fontsize=10)
        cases.append(f"“{numbers.english(number)}” → {zh}")
    axes[0].set_ylabel(t["query_zh"])
    axes[len(axes) // 2].set_xlabel(t["key"])
    cfg = trained.config()
    sep = "; " if lang == "en" else "；"
    comma = ", " if lang == "en" else "、"
    fmt = {
        "argmax": sep.join(
            comma.join(f"{c} → {w}" for c, w in looks) for looks in strongest_words()
        ),
        "cross": trained.cross_layer() + 1,
        "layers": cfg.num_layers,
        "heads": cfg.num_heads,
        "cases": sep.join(cases),
    }
    return Figure(
        svg=to_svg(fig, "self-vs-cross-alignment"),
        caption=t["align_caption"].format(**fmt),
        alt=t["align_alt"].format(**fmt),
    )


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class CrossAttentionShapes:
    """Result of `cross_attention_shapes`.

    Attributes:
        target_shape: shape of the decoder-side input (seq_q, d_model).
        source_shape: shape of the encoder output (seq_k, d_model).
        weights_shape: shape of the per-head weights (heads, seq_q, seq_k).
        out_shape: shape of the output (seq_q, d_model): one vector per target token.
        row_sum_error: largest |sum of a weight row - 1|.
        target_isolation: largest change of output 0 when the other target tokens change (0: each
            target token reads only the source).
    """

    target_shape: tuple
    source_shape: tuple
    weights_shape: tuple
    out_shape: tuple
    row_sum_error: float
    target_isolation: float

    @property
    def holds(self) -> bool:
        seq_q, d_model = self.target_shape
        seq_k = self.source_shape[0]
        return (
            seq_q != seq_k
            and self.weights_shape[-2:] == (seq_q, seq_k)
            and self.out_shape == (seq_q, d_model)
            and self.row_sum_error < 1e-12
            and self.target_isolation < 1e-12
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"目标 {fmt_shape(self.target_shape)}，源 {fmt_shape(self.source_shape)} → 权重 "
                f"{fmt_shape(self.weights_shape)}，输出 {fmt_shape(self.out_shape)}；行和误差 "
                f"{num(self.row_sum_error)}"
            )
        return (
            f"target {fmt_shape(self.target_shape)}, source {fmt_shape(self.source_shape)} → "
            "weights "
            f"{fmt_shape(self.weights_shape)}, output {fmt_shape(self.out_shape)}; row-sum error "
            f"{num(self.row_sum_error)}"
        )


@claim(
    "cross-attention-shapes",
    title={"en": "Cross-attention with seq_q ≠ seq_k", "zh": "seq_q ≠ seq_k 的交叉注意力"},
    statement={
        "en": "Queries from the target and keys and values from the source give a "
        "seq_q × seq_k weight matrix and one output per target token.",
        "zh": "查询来自目标序列、键和值来自源序列时，权重矩阵为 seq_q × seq_k，"
        "每个目标词元得到一个输出。",
    },
    contradiction=lambda r: {"row_sum_error": 1e-3},
)
def cross_attention_shapes(
    seq_q: int = 3, seq_k: int = 5, d_model: int = 8, *, num_heads: int = 2, seed: int = 0
) -> CrossAttentionShapes:
    """cross-attention: queries from the target, keys and values from the source.

    Args:
        seq_q: target length.
        seq_k: source length (different from seq_q).
        d_model: model width.
        num_heads: number of heads.
        seed: seed of inputs and parameters.

    Returns:
        A `CrossAttentionShapes`.
    """
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((seq_q, d_model))
    source = rng.standard_normal((seq_k, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    out, weights = ref.multi_head_attention(target, source, source, params, num_heads=num_heads)
    changed = target.copy()
    changed[1:] = rng.standard_normal((seq_q - 1, d_model))
    out_changed, _ = ref.multi_head_attention(changed, source, source, params, num_heads=num_heads)
    return CrossAttentionShapes(
        target_shape=tuple(target.shape),
        source_shape=tuple(source.shape),
        weights_shape=tuple(weights.shape),
        out_shape=tuple(out.shape),
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
        target_isolation=max_abs(out_changed[0], out[0]),
    )
