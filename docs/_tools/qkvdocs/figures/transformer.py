"""Figures and tables of the page "The Transformer block" (concepts/transformer).

- `transformer-block`: the trained number translator of `qkv.numbers`, tokens in to tokens out:
  embedding and positions, one encoder layer and one decoder layer (pre-LN, as the model is
  built; the stacks repeat them), the final LayerNorms, the output head and the softmax. Every
  label is the shape that step produced when the site was built, running the model on one number
  step by step with the reference's own pieces (`trained.traced_model`). The test checks that
  these steps reproduce `encode` and `decode` exactly.
- `transformer-parameters`: the model's parameters, counted from the checkpoint by component
  (`trained.parameter_counts`).
- `transformer-decode-speed`: decoding with and without the key/value cache, from the decode
  benchmark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from qkv import numbers

from qkvdocs.checks import claim

from . import Figure, figure
from . import _trained as trained
from ._kit import html_table, num
from ._svg import new_figure, to_svg

TRACE_NUMBER = trained.REGROUP
ROOT = Path(__file__).resolve().parents[4]

TEXT = {
    "en": {
        "encoder": "encoder",
        "decoder": "decoder",
        "src_tokens": "English token ids",
        "tgt_tokens": "Chinese token ids, shifted right",
        "embed": "embedding × √d_model\n+ positions",
        "self": "LayerNorm → multi-head\nself-attention, + residual",
        "masked": "LayerNorm → masked multi-head\nself-attention, + residual",
        "cross": "LayerNorm → multi-head\ncross-attention, + residual",
        "ffn": "LayerNorm → feed-forward,\n+ residual",
        "final": "final LayerNorm",
        "head": "output head: × W^out + b^out",
        "softmax": "softmax → next token",
        "repeat": "× {n} layers",
        "memory": "memory",
        "weights": "weights",
        "hidden": "hidden",
        "logits": "logits",
        "probs": "probabilities",
        "caption": (
            "The trained translator, tokens in to tokens out, on “{text}” → {zh} (batch = 1, "
            "{s} English tokens, {t} Chinese tokens fed to the decoder). Each box is a step of "
            "the reference code; each label is the shape that step produced when the site was "
            "built (d_model = {d}, {h} heads, d_ff = {f}, {v} Chinese tokens in the vocabulary). "
            "Like the model, the layers are pre-LN: each sub-layer normalises its input and adds "
            "its output to the residual stream (dashed arrows), and each stack of {n} layers "
            "ends with a LayerNorm. The encoder output (the memory) supplies the keys and values "
            "of every decoder layer's cross-attention. The output head maps each position's "
            "vector to one score per Chinese token; the softmax of the last row chooses the next "
            "token."
        ),
        "alt": (
            "Two columns of boxes. Left, the encoder: token ids, embedding plus positions, "
            "self-attention and feed-forward inside a frame marked × {n}, final LayerNorm. Right, "
            "the decoder: shifted token ids, embedding plus positions, masked self-attention, "
            "cross-attention fed by the encoder output, feed-forward inside a frame marked "
            "× {n}, final LayerNorm, output head and softmax. Shapes such as (1, {s}, {d}) label "
            "the boxes."
        ),
    },
    "zh": {
        "encoder": "编码器",
        "decoder": "解码器",
        "src_tokens": "英文词元 id",
        "tgt_tokens": "中文词元 id，右移一位",
        "embed": "嵌入 × √d_model\n+ 位置编码",
        "self": "层归一化 → 多头自注意力，\n+ 残差",
        "masked": "层归一化 → 带掩码的多头\n自注意力，+ 残差",
        "cross": "层归一化 → 多头交叉注意力，\n+ 残差",
        "ffn": "层归一化 → 前馈网络，\n+ 残差",
        "final": "最终的层归一化",
        "head": "输出头：× W^out + b^out",
        "softmax": "softmax → 下一个词元",
        "repeat": "× {n} 层",
        "memory": "memory",
        "weights": "权重",
        "hidden": "隐藏层",
        "logits": "分数",
        "probs": "概率",
        "caption": (
            "训练好的翻译模型从词元进到词元出，处理“{text}” → {zh}（batch = 1，{s} 个英文词元，"
            "送入解码器的 {t} 个中文词元）。每个方框是参考代码中的一步；每个标注是这一步在构建网站"
            "时实际产生的形状（d_model = {d}，{h} 个头，d_ff = {f}，词表中有 {v} 个中文词元）。与模"
            "型一致，各层采用 pre-LN：每个子层先对输入做归一化，再把输出加回残差流（虚线箭头），每"
            "摞 {n} 层之后再接一个层归一化。编码器的输出（memory）为解码器每一层的交叉注意力提供"
            "键和值。输出头把每个位置的向量映射成每个中文词元一个分数；最后一行分数的 softmax 选出"
            "下一个词元。"
        ),
        "alt": (
            "两列方框。左列编码器：词元 id、嵌入加位置编码、标有 × {n} 的框内的自注意力和前馈网络、"
            "最终的层归一化。右列解码器：右移后的词元 id、嵌入加位置编码、标有 × {n} 的框内的带掩码"
            "自注意力、由编码器输出提供输入的交叉注意力和前馈网络、最终的层归一化、输出头和 "
            "softmax。方框旁标有 (1, {s}, {d}) 这样的形状。"
        ),
    },
}


def _fmt(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


COLOURS = {
    "src_tokens": "#ffffff",
    "tgt_tokens": "#ffffff",
    "embed": "#eeeeee",
    "self": "#fdd9a0",
    "masked": "#fdd9a0",
    "cross": "#f9c0c0",
    "ffn": "#c6e2f5",
    "final": "#f3f3c0",
    "head": "#d5c6f5",
    "softmax": "#d5c6f5",
}
SIDE = {"self": "weights", "masked": "weights", "cross": "weights", "ffn": "hidden"}
NOTE = {"head": "logits", "softmax": "probs"}
WIDTH, HEIGHT, GAP = 3.7, 0.62, 0.42
BOX = {"boxstyle": "round,pad=0.02,rounding_size=0.12", "edgecolor": "#555555", "linewidth": 0.8}
SHAPE = {"ha": "left", "va": "center", "fontsize": 6.5, "color": "#333333", "family": "monospace"}
RESIDUAL = {"arrowstyle": "-|>", "mutation_scale": 7, "linestyle": "--", "color": "#777777"}
STEP = {"arrowstyle": "-|>", "mutation_scale": 8, "color": "#333333", "linewidth": 0.8}
FRAME = {"fill": False, "edgecolor": "#999999", "linewidth": 0.8, "linestyle": ":"}


def _draw_column(ax, x, steps, t, title, layers):
    """Boxes bottom to top at column x; returns the centre y of each step, by kind."""
    y = 0.0
    centres: dict[str, float] = {}
    in_layer = []
    for index, (kind, shape) in enumerate(steps):
        if isinstance(shape[0], tuple):  # (out shape, side shape)
            out_shape, side_shape = shape
            note = f"{_fmt(out_shape)}\n{t[SIDE[kind]]} {_fmt(side_shape)}"
            in_layer.append(y)
        else:
            note = _fmt(shape)
            if kind in NOTE:
                note = f"{t[NOTE[kind]]} {note}"
        ax.add_patch(
            FancyBboxPatch((x - WIDTH / 2, y), WIDTH, HEIGHT, facecolor=COLOURS[kind], **BOX)
        )
        ax.text(x, y + HEIGHT / 2, t[kind], ha="center", va="center", fontsize=7, linespacing=1.1)
        ax.text(x + WIDTH / 2 + 0.12, y + HEIGHT / 2, note, **SHAPE)
        if kind in SIDE:  # the residual stream bypasses the sub-layer
            ends = (x - WIDTH / 2, y - GAP / 2), (x - WIDTH / 2, y + HEIGHT + GAP / 2)
            bar = "bar,fraction=-0.35"
            ax.add_patch(FancyArrowPatch(*ends, connectionstyle=bar, linewidth=0.8, **RESIDUAL))
        centres[kind] = y + HEIGHT / 2
        if index:
            ax.add_patch(FancyArrowPatch((x, y - GAP), (x, y), **STEP))
        y += HEIGHT + GAP
    # the frame of one layer, repeated `layers` times
    bottom, top = in_layer[0] - GAP * 0.35, in_layer[-1] + HEIGHT + GAP * 0.35
    ax.add_patch(Rectangle((x - WIDTH / 2 - 0.85, bottom), WIDTH + 1.0, top - bottom, **FRAME))
    repeat = t["repeat"].format(n=layers)
    style = {"ha": "right", "va": "center", "fontsize": 7.5, "color": "#555555", "rotation": 90}
    ax.text(x - WIDTH / 2 - 0.95, (bottom + top) / 2, repeat, **style)
    ax.text(x, y - GAP + 0.2, title, ha="center", va="bottom", fontsize=9, weight="bold")
    return centres, y


@figure("transformer-block")
def draw_block(lang: str) -> Figure:
    """The trained translator from token ids to the next token, with measured shapes."""
    t = TEXT[lang]
    traced = trained.traced_model(TRACE_NUMBER)
    cfg = trained.config()
    fig, ax = new_figure(8.8, 7.4)
    enc, _ = _draw_column(ax, 0.0, traced["encoder"], t, t["encoder"], cfg.num_layers)
    dec, dec_top = _draw_column(ax, 7.8, traced["decoder"], t, t["decoder"], cfg.num_layers)
    # the memory: encoder output to the decoder's cross-attention
    ax.add_patch(
        FancyArrowPatch(
            (WIDTH / 2 + 1.4, enc["final"]),
            (7.8 - WIDTH / 2, dec["cross"]),
            arrowstyle="-|>",
            connectionstyle="arc3,rad=-0.15",
            mutation_scale=10,
            color="#c0392b",
            linewidth=1.2,
        )
    )
    ax.text(
        (WIDTH / 2 + 1.4 + 7.8 - WIDTH / 2) / 2,
        (enc["final"] + dec["cross"]) / 2 + 0.35,
        t["memory"],
        color="#c0392b",
        ha="center",
        fontsize=8,
    )
    ax.set_xlim(-3.0, 11.6)
    ax.set_ylim(-0.3, dec_top + 0.6)
    ax.set_axis_off()
    svg = to_svg(fig, "transformer-block")  # CJK glyphs: drawn by the browser (see _svg.py)
    fmt = {
        "text": numbers.english(TRACE_NUMBER),
        "zh": numbers.chinese(TRACE_NUMBER),
        "s": traced["src"].shape[-1],
        "t": traced["tgt"].shape[-1],
        "d": cfg.d_model,
        "h": cfg.num_heads,
        "f": cfg.d_ff,
        "v": traced["logits"].shape[-1],
        "n": cfg.num_layers,
    }
    return Figure(svg=svg, caption=t["caption"].format(**fmt), alt=t["alt"].format(**fmt))


TABLE_TEXT = {
    "en": {
        "head": ("component", "arrays", "parameters", "share"),
        "rows": {
            "src_embedding": "source embedding (English tokens × d_model)",
            "tgt_embedding": "target embedding (Chinese tokens × d_model)",
            "encoder": "encoder layers ({n} × self-attention, feed-forward, 2 LayerNorms)",
            "decoder": (
                "decoder layers ({n} × self-attention, cross-attention, feed-forward, 3 LayerNorms)"
            ),
            "norms": "final LayerNorms of both stacks",
            "head": "output head W^out, b^out",
            "total": "total",
        },
        "caption": (
            "Every parameter of the shipped checkpoint, counted by component when the site is "
            "built (d_model = {d}, {h} heads, d_ff = {f}, {n} encoder and {n} decoder layers). "
            "Attention sub-layers hold 4 d_model² + 4 d_model each, whatever the number of heads."
        ),
        "alt": "A table of the model's components with their number of parameters and share.",
    },
    "zh": {
        "head": ("组成部分", "数组个数", "参数量", "占比"),
        "rows": {
            "src_embedding": "源序列嵌入（英文词元数 × d_model）",
            "tgt_embedding": "目标序列嵌入（中文词元数 × d_model）",
            "encoder": "编码器层（{n} × 自注意力、前馈网络、2 个层归一化）",
            "decoder": "解码器层（{n} × 自注意力、交叉注意力、前馈网络、3 个层归一化）",
            "norms": "两摞层最后的层归一化",
            "head": "输出头 W^out、b^out",
            "total": "合计",
        },
        "caption": (
            "随包发布的检查点的全部参数，在构建网站时按组成部分数出（d_model = {d}，{h} 个头，"
            "d_ff = {f}，编码器和解码器各 {n} 层）。每个注意力子层有 4 d_model² + 4 d_model "
            "个参数，与头数无关。"
        ),
        "alt": "一张表，列出模型各组成部分的参数量及其占比。",
    },
}


@figure("transformer-parameters")
def draw_parameters(lang: str) -> Figure:
    """Table: the checkpoint's parameters by component."""
    t = TABLE_TEXT[lang]
    cfg = trained.config()
    counts = trained.parameter_counts()
    total = counts["total"][1]
    rows = [
        (
            escape(t["rows"][name].format(n=cfg.num_layers)),
            arrays,
            f"{size:,}",
            f"{size / total:.1%}",
        )
        for name, (arrays, size) in counts.items()
    ]
    table = html_table(t["head"], rows)
    fmt = {
        "d": cfg.d_model,
        "h": cfg.num_heads,
        "f": cfg.d_ff,
        "n": cfg.num_layers,
    }
    return Figure(table, t["caption"].format(**fmt), t["alt"])


DECODE_RESULTS = ROOT / "benchmarks" / "results" / "decode.json"

SPEED_TEXT = {
    "en": {
        "head": ("decoding", "with the cache (ms)", "without (ms)", "without ÷ with"),
        "translate": "translate {b} held-out number{s} ({backend})",
        "step": "one step after {n} tokens (random 1 + 1 layers, NumPy)",
        "total": "1,024 greedy steps in all (the same model)",
        "caption": (
            "Greedy decoding with and without the key/value cache, measured by "
            "python -m benchmarks.decode on {machine}, one thread, float32 (median of repeated "
            "calls, {date}; load average {load} during the run, so compare the ratios, which come "
            "from the same run). One step after n tokens: without the cache the step runs the "
            "whole prefix through the decoder again; with it, one new query meets n cached keys "
            "in each layer. The growth measured from n = {n0} to {n1} in this run (the slope of "
            "log time against log n) is n<sup>{c}</sup> with the cache and n<sup>{u}</sup> "
            "without; on a loaded machine the small cached times are the noisier."
        ),
        "alt": "A table of decoding times with and without the key/value cache, and their ratio.",
    },
    "zh": {
        "head": ("解码", "用缓存（毫秒）", "不用缓存（毫秒）", "不用 ÷ 用"),
        "translate": "翻译 {b} 个留出的数（{backend}）",
        "step": "已有 {n} 个词元之后的一步（随机的 1 + 1 层，NumPy）",
        "total": "一共 1,024 步贪心解码（同一个模型）",
        "caption": (
            "用与不用键值缓存的贪心解码，由 python -m benchmarks.decode 在 {machine} 上以单线程、"
            "float32 测得（多次调用取中位数，{date}；运行期间的负载为 {load}，所以请比较同一次运行"
            "得到的比值）。已有 n 个词元之后的一步：不用缓存时，这一步要让整段前缀再穿过解码器一"
            "次；用缓存时，每一层只是一个新查询对 n 个缓存的键。本次运行中 n 从 {n0} 增加到 "
            "{n1} 时测得的增长（log 时间对 log n 的斜率）用缓存为 n<sup>{c}</sup>，不用缓存为 "
            "n<sup>{u}</sup>；在负载很高的机器上，较小的缓存耗时噪声更大。"
        ),
        "alt": "一张表，列出用与不用键值缓存时的解码时间及其比值。",
    },
}


def _ms(value: float) -> str:
    """Milliseconds with three significant digits, thousands separated, no exponent."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def decode_results() -> dict:
    """`benchmarks/results/decode.json`, written by `python -m benchmarks.decode`."""
    return json.loads(DECODE_RESULTS.read_text(encoding="utf-8"))


@figure("transformer-decode-speed")
def draw_decode_speed(lang: str) -> Figure:
    """Table: decoding time with and without the KV cache, from the decode benchmark."""
    t = SPEED_TEXT[lang]
    data = decode_results()
    rows = []
    for backend in ("numpy", "torch"):
        for batch in (1, 64):
            times = data["translator"].get(f"{backend}_batch_{batch}_ms")
            if times is None:
                continue
            label = t["translate"].format(
                b=batch,
                s="" if batch == 1 else "s",
                backend="NumPy" if backend == "numpy" else "PyTorch",
            )
            rows.append((label, times["cached"], times["uncached"], times["uncached_over_cached"]))
    long = data["long"]
    for n, cached, uncached, ratio in zip(
        long["n"],
        long["numpy"]["cached_step_ms"],
        long["numpy"]["uncached_step_ms"],
        long["numpy"]["uncached_over_cached"],
        strict=True,
    ):
        rows.append((t["step"].format(n=n), cached, uncached, ratio))
    totals = long["numpy"].get("greedy_1024_steps_s")
    if totals is not None:  # seconds, shown in milliseconds like the other rows
        rows.append(
            (
                t["total"],
                totals["cached"] * 1000,
                totals["uncached"] * 1000,
                totals["uncached_over_cached"],
            )
        )
    cells = [(escape(label), _ms(c), _ms(u), f"{ratio:.1f}") for label, c, u, ratio in rows]
    table = html_table(t["head"], cells)
    load = data["load_average"]
    fmt = {
        "machine": data["machine"],
        "date": data["date"][:10],
        "load": f"{min(load):.1f}–{max(load):.1f}",
        "n0": long["n"][0],
        "n1": long["n"][-1],
        "c": f"{long['numpy']['cached_growth_exponent']:.1f}",
        "u": f"{long['numpy']['uncached_growth_exponent']:.1f}",
    }
    return Figure(table, t["caption"].format(**fmt), t["alt"])


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class EncoderLayerVsPytorch:
    """Result of `encoder_layer_vs_pytorch`.

    Attributes:
        max_error: per configuration (`"post-LN relu"`, `"pre-LN gelu"`), the largest difference
            between `torch.nn.TransformerEncoderLayer` (eval mode, float64) and our layer with the
            same weights.
    """

    max_error: dict

    @property
    def holds(self) -> bool:
        return len(self.max_error) >= 2 and max(self.max_error.values()) < 1e-10

    def shown(self, lang: str) -> str:
        errors = ", ".join(f"{k} {num(v)}" for k, v in self.max_error.items())
        if lang == "zh":
            return f"与 nn.TransformerEncoderLayer（float64）的最大差：{errors}"
        return f"largest difference from nn.TransformerEncoderLayer (float64): {errors}"


@claim(
    "encoder-layer-equals-pytorch",
    title={"en": "Our encoder layer = PyTorch's", "zh": "我们的编码器层 = PyTorch 的"},
    statement={
        "en": "With the same weights, our encoder layer gives the same output as PyTorch's own "
        "`nn.TransformerEncoderLayer`, post-LN and pre-LN.",
        "zh": "权重相同时，我们的编码器层与 PyTorch 自带的 `nn.TransformerEncoderLayer` "
        "输出相同，post-LN 与 pre-LN 皆然。",
    },
    contradiction=lambda r: {"max_error": {**r.max_error, "post-LN relu": 1e-3}},
)
def encoder_layer_vs_pytorch(
    d_model: int = 8, num_heads: int = 2, dim_feedforward: int = 16, *, seed: int = 0
) -> EncoderLayerVsPytorch:
    """our encoder layer equals PyTorch's own `nn.TransformerEncoderLayer`.

    PyTorch's layer is built with random weights (float64, batch first, no dropout, eval mode);
    [`TransformerEncoderLayer.from_torch`][qkv.torch.TransformerEncoderLayer] copies them into ours.
    Both run on the same padded batch.

    Args:
        d_model: model width.
        num_heads: number of heads.
        dim_feedforward: hidden width of the feed-forward block.
        seed: seed of the weights and inputs.

    Returns:
        An `EncoderLayerVsPytorch`.
    """
    import qkv.torch as qt
    import torch  # only this claim needs PyTorch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 5, d_model, dtype=torch.float64, generator=generator)
    max_error = {}
    for name, norm_first, activation in (
        ("post-LN relu", False, "relu"),
        ("pre-LN gelu", True, "gelu"),
    ):
        with torch.random.fork_rng():  # seed PyTorch's initialisation without touching the caller's
            torch.manual_seed(seed)
            theirs = torch.nn.TransformerEncoderLayer(
                d_model,
                num_heads,
                dim_feedforward,
                dropout=0.0,
                activation=activation,
                batch_first=True,
                norm_first=norm_first,
                dtype=torch.float64,
            ).eval()
        ours = qt.TransformerEncoderLayer.from_torch(theirs).eval()
        with torch.no_grad():
            expected = theirs(x)
            got = ours(x)
        max_error[name] = float((got - expected).abs().max())
    return EncoderLayerVsPytorch(max_error=max_error)
