"""Figures of the page "The Transformer block" (concepts/transformer).

- `transformer-block`: the data flow of one encoder layer and one decoder layer (post-LN, as in the
  paper), every arrow labelled with the shape measured by running the reference's own pieces
  (`multi_head_attention`, `layer_norm`, `feed_forward`) in the order the layers use them on a toy
  batch. The test checks that these steps reproduce `encoder_layer` and `decoder_layer` exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import qkv.numpy as qnp
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..svg import new_figure, to_svg
from . import Figure, figure

BATCH, SOURCE_SEQ, TARGET_SEQ, D_MODEL, NUM_HEADS, D_FF = 2, 6, 4, 8, 2, 32

TEXT = {
    "en": {
        "encoder": "encoder layer (× N)",
        "decoder": "decoder layer (× N)",
        "source": "source embeddings\n+ positions",
        "target": "target embeddings + positions\n(shifted right)",
        "self": "multi-head self-attention",
        "masked": "masked multi-head self-attention",
        "cross": "multi-head cross-attention",
        "norm": "add & LayerNorm",
        "ffn": "feed-forward",
        "memory": "memory",
        "weights": "weights",
        "hidden": "hidden",
        "caption": (
            "One encoder layer and one decoder layer, post-LN as in Vaswani et al. (2017). Each bo"
            "x "
            "is a step of the reference code; each label is the shape that step produced on a toy "
            "batch (batch = {b}, source length {s}, target length {t}, d_model = {d}, {h} heads, "
            "d_ff = {f}), measured when the site is built. Dashed arrows are residual connections. "
            "The encoder output (the memory) supplies the keys and values of the decoder's "
            "cross-attention; the decoder's own self-attention is causal. Every layer returns the "
            "shape it received, which is why layers can be stacked N times."
        ),
        "alt": (
            "Two columns of boxes. Left, the encoder layer: self-attention, add and LayerNorm, "
            "feed-forward, add and LayerNorm. Right, the decoder layer: masked self-attention, add "
            "and LayerNorm, cross-attention fed by the encoder output, add and LayerNorm, "
            "feed-forward, add and LayerNorm. Shapes such as (2, 6, 8) label the arrows."
        ),
    },
    "zh": {
        "encoder": "编码器层（× N）",
        "decoder": "解码器层（× N）",
        "source": "源序列嵌入\n+ 位置编码",
        "target": "目标序列嵌入 + 位置编码\n（右移一位）",
        "self": "多头自注意力",
        "masked": "带掩码的多头自注意力",
        "cross": "多头交叉注意力",
        "norm": "残差相加 & LayerNorm",
        "ffn": "前馈网络",
        "memory": "memory",
        "weights": "权重",
        "hidden": "隐藏层",
        "caption": (
            "一个编码器层和一个解码器层，采用 Vaswani 等人（2017）的 post-LN 结构。每个方框是参"
            "考代码中的"
            "一步；每个标注是这一步在玩具批次上产生的形状（batch = {b}，源序列长度 {s}，目标序"
            "列长度 {t}，"
            "d_model = {d}，{h} 个头，d_ff = {f}），在构建网站时实测得到。虚线箭头是残差连接。编码"
            "器的输出"
            "（memory）为解码器的交叉注意力提供键和值；解码器自己的自注意力是因果的。每一层返回的"
            "形状与收到的相同，所以层可以堆叠 N 次。"
        ),
        "alt": (
            "两列方框。左列编码器层：自注意力、残差相加与 LayerNorm、前馈网络、残差相加与 LayerNor"
            "m。右列"
            "解码器层：带掩码的自注意力、残差相加与 LayerNorm、由编码器输出提供输入的交叉注意力、"
            "残差相加与 "
            "LayerNorm、前馈网络、残差相加与 LayerNorm。箭头上标有 (2, 6, 8) 这样的形状。"
        ),
    },
}


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    source = rng.standard_normal((BATCH, SOURCE_SEQ, D_MODEL))  # (batch, seq_k, d_model)
    target = rng.standard_normal((BATCH, TARGET_SEQ, D_MODEL))  # (batch, seq_q, d_model)
    enc = qnp.init_encoder_layer_params(D_MODEL, D_FF, seed=seed)
    dec = qnp.init_decoder_layer_params(D_MODEL, D_FF, seed=seed + 1)
    return source, target, enc, dec


def _ffn_steps(h, params):
    hidden = (
        h @ params.w_1 + params.b_1
    )  # (batch, seq, d_model) @ (d_model, d_ff) -> (batch, seq, d_ff)
    out = qnp.feed_forward(h, params.w_1, params.b_1, params.w_2, params.b_2)
    return hidden, out


def traced_layers(seed: int = 0) -> dict[str, object]:
    """Run the encoder and decoder layers step by step (post-LN); record each step's shape.

    Returns a dict with `"encoder"` and `"decoder"`: lists of `(step, shape)` in order, and
    `"encoder_out"`, `"decoder_out"`: the final arrays (for comparison with the reference layers),
    plus `"inputs"`: `(source, target, encoder_params, decoder_params)`.
    """
    source, target, enc, dec = _inputs(seed)
    steps_enc = [("source", source.shape)]
    attn, weights = qnp.multi_head_attention(
        source, source, source, enc.self_attn, num_heads=NUM_HEADS
    )
    steps_enc.append(("self", (attn.shape, weights.shape)))
    h = qnp.layer_norm(source + attn, enc.norm1_weight, enc.norm1_bias)
    steps_enc.append(("norm", h.shape))
    hidden, ffn = _ffn_steps(h, enc)
    steps_enc.append(("ffn", (ffn.shape, hidden.shape)))
    memory = qnp.layer_norm(h + ffn, enc.norm2_weight, enc.norm2_bias)
    steps_enc.append(("norm", memory.shape))

    steps_dec = [("target", target.shape)]
    attn, weights = qnp.multi_head_attention(
        target, target, target, dec.self_attn, num_heads=NUM_HEADS, is_causal=True
    )
    steps_dec.append(("masked", (attn.shape, weights.shape)))
    h = qnp.layer_norm(target + attn, dec.norm1_weight, dec.norm1_bias)
    steps_dec.append(("norm", h.shape))
    attn, weights = qnp.multi_head_attention(h, memory, memory, dec.cross_attn, num_heads=NUM_HEADS)
    steps_dec.append(("cross", (attn.shape, weights.shape)))
    h = qnp.layer_norm(h + attn, dec.norm2_weight, dec.norm2_bias)
    steps_dec.append(("norm", h.shape))
    hidden, ffn = _ffn_steps(h, dec)
    steps_dec.append(("ffn", (ffn.shape, hidden.shape)))
    out = qnp.layer_norm(h + ffn, dec.norm3_weight, dec.norm3_bias)
    steps_dec.append(("norm", out.shape))
    return {
        "encoder": steps_enc,
        "decoder": steps_dec,
        "encoder_out": memory,
        "decoder_out": out,
        "inputs": (source, target, enc, dec),
    }


def _fmt(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


COLOURS = {
    "source": "#eeeeee",
    "target": "#eeeeee",
    "self": "#fdd9a0",
    "masked": "#fdd9a0",
    "cross": "#f9c0c0",
    "norm": "#f3f3c0",
    "ffn": "#c6e2f5",
}


def _draw_column(ax, x, steps, t, top_label):
    """Boxes bottom to top at column x; returns the y of the top box and of the cross box."""
    width, height, gap = 3.6, 0.62, 0.5
    y = 0.0
    centres = []
    for index, (kind, shape) in enumerate(steps):
        label = t[kind]
        if isinstance(shape[0], tuple):  # (out shape, side shape)
            out_shape, side_shape = shape
            side = t["hidden"] if kind == "ffn" else t["weights"]
            note = f"{_fmt(out_shape)}\n{side} {_fmt(side_shape)}"
        else:
            note = _fmt(shape)
        ax.add_patch(
            FancyBboxPatch(
                (x - width / 2, y),
                width,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=COLOURS[kind],
                edgecolor="#555555",
                linewidth=0.8,
            )
        )
        ax.text(x, y + height / 2, label, ha="center", va="center", fontsize=7.5, linespacing=1.1)
        ax.text(
            x + width / 2 + 0.12,
            y + height / 2,
            note,
            ha="left",
            va="center",
            fontsize=7,
            color="#333333",
            family="monospace",
        )
        centres.append(y + height / 2)
        if index:
            ax.add_patch(
                FancyArrowPatch(
                    (x, y - gap),
                    (x, y),
                    arrowstyle="-|>",
                    mutation_scale=8,
                    color="#333333",
                    linewidth=0.8,
                )
            )
        y += height + gap
    # residual connections: from each sub-layer's input to its add & norm box
    for index, (kind, _) in enumerate(steps):
        if kind == "norm":
            start = centres[index - 2] + height / 2 + 0.02 if index >= 2 else 0.0
            ax.add_patch(
                FancyArrowPatch(
                    (x - width / 2, start + 0.1),
                    (x - width / 2, centres[index]),
                    connectionstyle="bar,fraction=-0.25",
                    arrowstyle="-|>",
                    mutation_scale=8,
                    linestyle="--",
                    color="#777777",
                    linewidth=0.8,
                )
            )
    ax.text(x, y - gap + 0.25, top_label, ha="center", va="bottom", fontsize=9, weight="bold")
    cross = [c for (kind, _), c in zip(steps, centres, strict=True) if kind == "cross"]
    return centres[-1], (cross[0] if cross else None)


@figure("transformer-block")
def draw_block(lang: str) -> Figure:
    """Data flow of an encoder layer and a decoder layer with measured shapes."""
    t = TEXT[lang]
    traced = traced_layers()
    fig, ax = new_figure(8.6, 6.2)
    enc_top, _ = _draw_column(ax, 0.0, traced["encoder"], t, t["encoder"])
    dec_top, cross_y = _draw_column(ax, 7.6, traced["decoder"], t, t["decoder"])
    # the memory: encoder output (after its shape label) to the decoder's cross-attention
    ax.add_patch(
        FancyArrowPatch(
            (3.1, enc_top),
            (5.8, cross_y),
            arrowstyle="-|>",
            connectionstyle="arc3,rad=-0.2",
            mutation_scale=10,
            color="#c0392b",
            linewidth=1.2,
        )
    )
    ax.text(
        4.45, (enc_top + cross_y) / 2 + 0.45, t["memory"], color="#c0392b", ha="center", fontsize=8
    )
    ax.set_xlim(-2.4, 11.2)
    ax.set_ylim(-0.3, dec_top + 1.2)
    ax.set_axis_off()
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        svg = to_svg(fig, "transformer-block")
    fmt = {"b": BATCH, "s": SOURCE_SEQ, "t": TARGET_SEQ, "d": D_MODEL, "h": NUM_HEADS, "f": D_FF}
    return Figure(svg=svg, caption=t["caption"].format(**fmt), alt=t["alt"])
