"""Figures of the page "LayerNorm versus BatchNorm" (concepts/layernorm-vs-batchnorm).

- `layernorm-vs-batchnorm-axes`: a `(batch, seq, d_model)` block drawn as one `seq x d_model`
  grid per sentence. The highlighted cells are those whose output changes when one input entry
  is nudged, measured with `qkv.numpy.layer_norm` and `qkv.numpy.batch_norm`: that is exactly the
  group that shares one mean and variance. The last sentence is padded, to show that BatchNorm's
  group reaches into padding while LayerNorm's does not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import qkv.numpy as qnp
from matplotlib.patches import Rectangle
from qkv import numpy as ref

from qkvdocs.checks import claim

from . import Figure, figure
from ._kit import max_abs, num
from ._svg import new_figure, to_svg

BATCH, SEQ, D_MODEL = 3, 4, 5
LENGTHS = (4, 4, 2)  # the last sentence has 2 real tokens and 2 padding tokens
PROBE = (1, 2, 3)  # (sentence, token, feature) of the nudged entry

TEXT = {
    "en": {
        "rows": ["LayerNorm", "BatchNorm"],
        "sentence": "sentence {b}",
        "xlabel": "feature (d_model)",
        "ylabel": "token (seq)",
        "caption": (
            "Which entries share one mean and variance. Each grid is one sentence of a "
            "(batch, seq, d_model) = ({b}, {s}, {d}) block; the hatched rows of sentence {last} ar"
            "e "
            "padding. One entry (outlined) is nudged, and every cell whose normalised output moves "
            "is filled, measured with the reference's layer_norm and batch_norm. LayerNorm: only "
            "the nudged token's own features. BatchNorm: the nudged feature in every token of ever"
            "y "
            "sentence, padding included."
        ),
        "alt": (
            "Two rows of three grids. Top row, LayerNorm: one row of one grid is filled. Bottom "
            "row, BatchNorm: the same column is filled in all three grids, including padded rows."
        ),
    },
    "zh": {
        "rows": ["LayerNorm", "BatchNorm"],
        "sentence": "句子 {b}",
        "xlabel": "特征 (d_model)",
        "ylabel": "词元 (seq)",
        "caption": (
            "哪些元素共用同一个均值和方差。每个网格是形状为 (batch, seq, d_model) = ({b}, {s}, {d}"
            ") "
            "的数据块中的一个句子；句子 {last} 中带斜线的行是填充。轻推其中一个元素（加框），归一"
            "化输出随之"
            "变化的格子都被涂色，由参考实现的 layer_norm 和 batch_norm 实测得到。LayerNorm：只有被"
            "推"
            "词元自己的特征。BatchNorm：每个句子每个词元的同一特征，填充也算在内。"
        ),
        "alt": (
            "两行、每行三个网格。上行 LayerNorm：只有一个网格中的一行被涂色。下行 BatchNorm：三个"
            "网格中的"
            "同一列都被涂色，包括填充行。"
        ),
    },
}


def sharing_groups(seed: int = 0) -> dict[str, np.ndarray]:
    """Boolean `(BATCH, SEQ, D_MODEL)` maps: outputs that move when the PROBE entry is nudged."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL))
    for b, length in enumerate(LENGTHS):
        x[b, length:] = 0.0  # padding tokens
    nudged = x.copy()
    nudged[PROBE] += 0.5
    groups = {}
    for name, norm in (("layer", qnp.layer_norm), ("batch", qnp.batch_norm)):
        moved = np.abs(norm(nudged, None, None) - norm(x, None, None))  # (batch, seq, d_model)
        groups[name] = moved > 1e-9
    return groups


@figure("layernorm-vs-batchnorm-axes")
def draw_axes(lang: str) -> Figure:
    """The statistics groups of LayerNorm and BatchNorm on a padded batch."""
    t = TEXT[lang]
    groups = sharing_groups()
    fig, axes = new_figure(7.6, 4.4, nrows=2, ncols=BATCH)
    colours = {"layer": "#1f77b4", "batch": "#ff7f0e"}
    for row, (name, group) in enumerate(groups.items()):
        for b in range(BATCH):
            ax = axes[row][b]
            for s in range(SEQ):
                for f in range(D_MODEL):
                    filled = bool(group[b, s, f])
                    ax.add_patch(
                        Rectangle(
                            (f, SEQ - 1 - s),
                            1,
                            1,
                            facecolor=colours[name] if filled else "#f2f2f2",
                            edgecolor="white",
                            linewidth=1.5,
                            hatch="///" if s >= LENGTHS[b] else None,
                        )
                    )
            if b == PROBE[0]:
                s, f = PROBE[1], PROBE[2]
                ax.add_patch(
                    Rectangle((f, SEQ - 1 - s), 1, 1, fill=False, edgecolor="black", linewidth=2)
                )
            ax.set_xlim(0, D_MODEL)
            ax.set_ylim(0, SEQ)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if row == 0:
                ax.set_title(t["sentence"].format(b=b + 1))
            if row == 1:
                ax.set_xlabel(t["xlabel"])
            if b == 0:
                ax.set_ylabel(f"{t['rows'][row]}\n{t['ylabel']}")
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
    fmt = {"b": BATCH, "s": SEQ, "d": D_MODEL, "last": BATCH}
    return Figure(
        svg=to_svg(fig, "layernorm-vs-batchnorm-axes"),
        caption=t["caption"].format(**fmt),
        alt=t["alt"],
    )


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class NormIndependence:
    """Result of `norm_independence`.

    Attributes:
        layer_norm_batch_change: largest change of sentence 0's LayerNorm output between the
            sentence alone and the sentence in a batch of other sentences.
        layer_norm_padding_change: the same between the sentence alone and the sentence followed by
            padding tokens (real tokens only).
        batch_norm_batch_change: the same as the first, for BatchNorm (training mode).
        batch_norm_padding_change: the same as the second, for BatchNorm.
    """

    layer_norm_batch_change: float
    layer_norm_padding_change: float
    batch_norm_batch_change: float
    batch_norm_padding_change: float

    @property
    def holds(self) -> bool:
        return (
            self.layer_norm_batch_change < 1e-12
            and self.layer_norm_padding_change < 1e-12
            and self.batch_norm_batch_change > 0.1
            and self.batch_norm_padding_change > 0.1
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"同一句子的输出变化：层归一化为 {num(self.layer_norm_batch_change)}（换批次）、"
                f"{num(self.layer_norm_padding_change)}（加填充）；批归一化为 "
                f"{num(self.batch_norm_batch_change)}（换批次）、"
                f"{num(self.batch_norm_padding_change)}（加填充）"
            )
        return (
            f"change of one sentence's output: LayerNorm {num(self.layer_norm_batch_change)} "
            "(batch), "
            f"{num(self.layer_norm_padding_change)} (padding); BatchNorm "
            f"{num(self.batch_norm_batch_change)} (batch), {num(self.batch_norm_padding_change)} "
            f"(padding)"
        )


@claim(
    "layernorm-ignores-batch",
    title={
        "en": "LayerNorm ignores the batch; BatchNorm does not",
        "zh": "层归一化与批次无关，批归一化则不然",
    },
    statement={
        "en": "A sentence's LayerNorm output is the same alone, in a batch, or followed by "
        "padding; its BatchNorm output (training mode) changes in both cases.",
        "zh": "一个句子的层归一化输出，无论单独计算、放在一个批次里、还是后面跟着填充，都相同；"
        "它的批归一化输出（训练模式）在后两种情况下都会改变。",
    },
    contradiction=lambda r: {"batch_norm_batch_change": 0.0},
)
def norm_independence(
    seq: int = 5, d_model: int = 8, *, batch: int = 4, seed: int = 0
) -> NormIndependence:
    """LayerNorm normalises each token over its features; BatchNorm each feature over the
    batch.

    So a sentence's LayerNorm output is the same whatever else is in the batch and however much
    padding follows it; its BatchNorm output (training mode) changes with both, because the mean
    and variance of each feature are taken over every token of every sentence, padding included.

    Args:
        seq: tokens per sentence.
        d_model: number of features.
        batch: sentences in the batch.
        seed: seed of the sentences.

    Returns:
        A `NormIndependence`.
    """
    rng = np.random.default_rng(seed)
    sentence = rng.standard_normal((1, seq, d_model)) + 1.0
    others = 2.0 * rng.standard_normal((batch - 1, seq, d_model)) - 1.0
    in_batch = np.concatenate([sentence, others])  # (batch, seq, d_model)
    padded = np.concatenate([sentence, np.zeros((1, 3, d_model))], axis=1)  # (1, seq + 3, d_model)
    weight, bias = np.ones(d_model), np.zeros(d_model)
    changes = {}
    for name, norm in (("layer", ref.layer_norm), ("batch", ref.batch_norm)):
        alone = norm(sentence, weight, bias)
        changes[name] = (
            max_abs(norm(in_batch, weight, bias)[:1], alone),
            max_abs(norm(padded, weight, bias)[:, :seq], alone),
        )
    return NormIndependence(
        layer_norm_batch_change=changes["layer"][0],
        layer_norm_padding_change=changes["layer"][1],
        batch_norm_batch_change=changes["batch"][0],
        batch_norm_padding_change=changes["batch"][1],
    )
