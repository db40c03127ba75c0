"""Figures of the multi-head page, all of the trained number translator (`_trained.py`): the
first encoder layer's d_model split into heads (`multi-head-split`), what each encoder head does
against the same architecture at its seeded random initialisation (`multi-head-trained-heads`),
each cross-attention head's weight on the magnitude word (`multi-head-magnitude-heads`), and
every cross-attention head, chosen by the reader (`multi-head-explore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from matplotlib.patches import Rectangle
from qkv import numbers
from qkv import numpy as ref

from qkvdocs.checks import claim
from qkvdocs.figures import Figure, figure
from qkvdocs.figures import _trained as trained
from qkvdocs.figures import _widget as widget
from qkvdocs.figures._svg import new_figure, to_svg

from ._kit import max_abs, num

HEAD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
SPLIT_NUMBER = trained.REGROUP
SPLIT_LAYER = 0  # the first encoder layer


@cache
def heads_of_number(number: int = SPLIT_NUMBER) -> dict[str, object]:
    r"""One English number through the first encoder layer of the trained translator.

    Returns `tokens` (the English tokens), `q` `(seq, d_model)` (the projected queries before the
    split: the layer is pre-LN, so $Q = \mathrm{LN}_1(X) W^Q + b^Q$ with $X$ the embedded
    tokens), `q_heads` `(heads, seq, d_head)` (the same numbers after `split_heads`) and
    `weights` `(heads, seq_q, seq_k)` (the layer's self-attention weights, each head its own).
    """
    params = trained.params()
    layer = params.encoder[SPLIT_LAYER]
    src, _ = trained.token_ids(number)
    x = ref.embed(src, params.src_embedding)[0]  # (seq, d_model)
    h = ref.layer_norm(x, layer.norm1_weight, layer.norm1_bias)  # (seq, d_model)
    q = h @ layer.self_attn.w_q + layer.self_attn.b_q  # (seq, d_model) @ (d_model, d_model)
    num_heads = trained.config().num_heads
    q_heads = ref.split_heads(q, num_heads)  # (heads, seq, d_head)
    _, weights = ref.multi_head_attention(h, h, h, layer.self_attn, num_heads=num_heads)
    tokens = trained.maps(number).source
    return {"tokens": tokens, "q": q, "q_heads": q_heads, "weights": weights}


TEXT = {
    "en": {
        "q": "projected queries $Q = \\mathrm{{LN}}(X)W^Q + b^Q$: (seq, d_model) = ({seq}, {d})",
        "head": "head {i}",
        "cols": "columns {a}–{b}",
        "query": "query",
        "key": "key",
        "caption": (
            "The trained translator's first encoder layer on “{text}”. Top: the projected "
            "queries, one row per English token, d_model = {d} columns cut into {h} heads of "
            "d_head = {dh} columns each (keys and values are cut the same way). Bottom: the "
            "attention weights of each head (rows: queries, columns: keys); each head computes "
            "its own pattern from its own columns."
        ),
        "alt": (
            "Top: a {seq} by {d} heat map of the projected queries, its columns grouped by "
            "coloured frames into {h} heads of {dh} columns. Bottom: one {seq} by {seq} heat map "
            "of attention weights per head, each with a different pattern."
        ),
    },
    "zh": {
        "q": "投影后的查询 $Q = \\mathrm{{LN}}(X)W^Q + b^Q$：(seq, d_model) = ({seq}, {d})",
        "head": "头 {i}",
        "cols": "第 {a}–{b} 列",
        "query": "查询",
        "key": "键",
        "caption": (
            "训练好的翻译模型的第一个编码器层处理“{text}”。上：投影后的查询，每个英文词元一行；"
            "d_model = {d} 列被切成 {h} 个头，每个头 d_head = {dh} 列（键和值按同样方式切分）。"
            "下：每个头的注意力权重（行：查询，列：键）；每个头只用自己的列，算出自己的模式。"
        ),
        "alt": (
            "上图：{seq} 行 {d} 列的投影查询热图，各列用彩色框分成 {h} 个头，每个头 {dh} 列。"
            "下图：{h} 幅 {seq} × {seq} 的注意力权重热图，每个头一幅，模式各不相同。"
        ),
    },
}


@figure("multi-head-split")
def draw_split(lang: str) -> Figure:
    text = TEXT[lang]
    data = heads_of_number()
    tokens = data["tokens"]
    seq, d_model = data["q"].shape
    num_heads = data["weights"].shape[0]
    d_head = d_model // num_heads
    fig, top = new_figure(7.2, 4.6)
    top.set_position((0.1, 0.55, 0.85, 0.34))
    # one axes per head below the queries: (left, bottom, width, height) in figure fractions
    step = 0.9 / num_heads
    bottom = [fig.add_axes((0.1 + i * step, 0.06, 0.8 * step, 0.36)) for i in range(num_heads)]
    lim = float(np.abs(data["q"]).max())
    top.imshow(data["q"], cmap="RdBu_r", vmin=-lim, vmax=lim)
    colours = [HEAD_COLOURS[i % len(HEAD_COLOURS)] for i in range(num_heads)]
    names = [text["head"].format(i=i + 1) for i in range(num_heads)]
    for i, (name, colour) in enumerate(zip(names, colours, strict=True)):
        left = i * d_head - 0.5
        frame = Rectangle((left, -0.5), d_head, seq, fill=False, edgecolor=colour, linewidth=2.5)
        top.add_patch(frame)
        top.text(left + d_head / 2, -0.8, name, ha="center", va="bottom", color=colour, fontsize=9)
    top.set_yticks(range(seq), tokens, fontsize=7)
    top.set_xticks(
        [i * d_head + (d_head - 1) / 2 for i in range(num_heads)],
        [text["cols"].format(a=i * d_head, b=(i + 1) * d_head - 1) for i in range(num_heads)],
        fontsize=7,
    )
    top.set_title(text["q"].format(seq=seq, d=d_model), fontsize=9, pad=18)
    top_weight = float(data["weights"].max())  # one colour scale for every head
    for i, ax in enumerate(bottom):
        ax.imshow(data["weights"][i], cmap="Blues", vmin=0.0, vmax=top_weight)
        ax.set_title(names[i], color=colours[i], fontsize=9)
        # token labels on the first head only: the other heads share its axes
        ax.set_xticks(range(seq), tokens if i == 0 else [], fontsize=6, rotation=90)
        ax.set_yticks(range(seq), tokens if i == 0 else [], fontsize=6)
    bottom[0].set_xlabel(text["key"], fontsize=8)
    bottom[0].set_ylabel(text["query"], fontsize=8)
    sizes = {"seq": seq, "d": d_model, "h": num_heads, "dh": d_head}
    sizes["text"] = numbers.english(SPLIT_NUMBER)
    caption, alt = text["caption"].format(**sizes), text["alt"].format(**sizes)
    return Figure(to_svg(fig, "multi-head-split"), caption, alt)


SHARE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d9d9d9")

HEADS_TEXT = {
    "en": {
        "kinds": ("same token", "previous token", "next token", "any other token"),
        "trained": "trained",
        "random": "random initialisation",
        "head": "layer {layer}, head {head}",
        "share": "share of the query's weight",
        "caption": (
            "What each head of the trained translator's encoder does: for every layer and head, "
            "the share of a token's self-attention weight that goes to the token itself, to the "
            "previous token, to the next token and to all others, averaged over the English "
            "tokens of {n} sampled numbers of 3 to 6 digits. Left: the shipped checkpoint. Right: "
            "the same architecture at its seeded random initialisation. Weights spread evenly "
            "over the tokens would give {u_same} to the token itself, {u_prev} to the previous, "
            "{u_next} to the next and {u_other} to all others. The trained head furthest from "
            "that even spread is layer {top_layer}, head {top_head}: {top_share} of its weight on "
            "the {top_kind}."
        ),
        "alt": (
            "Two panels of horizontal stacked bars, one bar per encoder head, each split into the "
            "share of weight on the token itself, the previous token, the next token and all "
            "other tokens; left trained, right at random initialisation."
        ),
    },
    "zh": {
        "kinds": ("自身", "前一个词元", "后一个词元", "其他词元"),
        "trained": "训练后",
        "random": "随机初始化",
        "head": "第 {layer} 层第 {head} 头",
        "share": "查询权重所占比例",
        "caption": (
            "训练好的翻译模型的编码器里每个头在做什么：对每一层的每个头，统计一个词元的自注意力"
            "权重有多少落在它自己、前一个词元、后一个词元和其余所有词元上，在 {n} 个抽样数字的"
            "英文词元上取平均（这些数都是 3 到 6 位数）。左：随包发布的检查点。右：同一结构在固定"
            "种子的随机初始化时。如果权重在词元上平均分配，自身得 {u_same}，前一个词元得 {u_prev}，"
            "后一个词元得 {u_next}，其余词元共得 {u_other}。训练后离平均分配最远的头是第 "
            "{top_layer} 层第 {top_head} 个头：它把 {top_share} 的权重放在{top_kind}上。"
        ),
        "alt": (
            "两组水平堆叠条形图，每个编码器头一条，每条分成落在自身、前一个词元、后一个词元和其余"
            "词元上的权重比例；左边是训练后的，右边是随机初始化的。"
        ),
    },
}


def _head_labels(label: str, layers: int, heads: int) -> list[str]:
    """One label per head, layer by layer: `label` formatted with `layer` and `head` from 1."""
    return [label.format(layer=i + 1, head=j + 1) for i in range(layers) for j in range(heads)]


def furthest_head() -> tuple[int, int, int]:
    """`(layer, head, kind)` of the trained encoder head whose share of one kind (same,
    previous, next token) exceeds the even spread the most."""
    excess = trained.encoder_head_shares(True)[..., :3] - trained.uniform_shares()[:3]
    layer, head, kind = np.unravel_index(int(excess.argmax()), excess.shape)
    return int(layer), int(head), int(kind)


@figure("multi-head-trained-heads")
def draw_trained_heads(lang: str) -> Figure:
    """Per encoder head: weight on the same, previous, next and other tokens; trained vs random."""
    text = HEADS_TEXT[lang]
    panels = {
        "trained": trained.encoder_head_shares(True),
        "random": trained.encoder_head_shares(False),
    }
    layers, heads, _ = panels["trained"].shape
    labels = _head_labels(text["head"], layers, heads)
    fig, axes = new_figure(8.0, 0.5 + 0.32 * len(labels), ncols=2, sharey=True)
    for ax, (name, shares) in zip(axes, panels.items(), strict=True):
        rows = shares.reshape(layers * heads, 4)  # (layers * heads, 4)
        left = np.zeros(len(rows))
        for kind in range(4):
            style = {"color": SHARE_COLOURS[kind], "label": text["kinds"][kind], "height": 0.75}
            ax.barh(range(len(rows)), rows[:, kind], left=left, **style)
            left += rows[:, kind]
        ax.set_title(text[name], fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel(text["share"], fontsize=8)
        ax.invert_yaxis()
    axes[0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    uniform = trained.uniform_shares()
    layer, head, kind = furthest_head()
    fmt = {
        "n": len(trained.sample()),
        "top_layer": layer + 1,
        "top_head": head + 1,
        "top_kind": text["kinds"][kind],
        "top_share": f"{panels['trained'][layer, head, kind]:.2f}",
    } | {
        key: f"{value:.2f}"
        for key, value in zip(("u_same", "u_prev", "u_next", "u_other"), uniform, strict=True)
    }
    return Figure(
        to_svg(fig, "multi-head-trained-heads"), text["caption"].format(**fmt), text["alt"]
    )


MAGNITUDE_TEXT = {
    "en": {
        "trained": "trained",
        "random": "random initialisation",
        "uniform": "uniform weights",
        "head": "L{layer} H{head}",
        "ylabel": "weight on the matching\nmagnitude word",
        "caption": (
            "What each cross-attention head of the trained translator does: when the decoder "
            "writes a magnitude character (百, 千 or 万), the weight the head puts on the English "
            "word that decides it (“hundred” for 百; “thousand” for 千, and for 万 too, since "
            "English counts ten-thousands in thousands: twelve thousand is 一万二千), averaged "
            "over the {rows} such characters of "
            "{n} sampled numbers. L = decoder layer, H = head. Grey: the same architecture at its "
            "seeded random initialisation. Dashed: weights spread evenly over the English words "
            "({u:.2f}). The strongest trained head, layer {top_layer} head {top_head}, puts "
            "{top:.2f} there; the strongest random head {init_top:.2f}."
        ),
        "alt": (
            "Paired bars, one pair per cross-attention head: the trained head's weight on the "
            "matching magnitude word beside the random head's, with a dashed line at the share "
            "uniform weights would give."
        ),
    },
    "zh": {
        "trained": "训练后",
        "random": "随机初始化",
        "uniform": "均匀权重",
        "head": "L{layer} H{head}",
        "ylabel": "落在对应数量级\n单词上的权重",
        "caption": (
            "训练好的翻译模型的每个交叉注意力头在做什么：解码器写出一个表示数量级的字（百、千或万）"
            "时，这个头放在决定它的那个英文单词上的权重（“百”对应“hundred”；“千”和“万”都对应"
            "“thousand”，因为英文用“千”来数“万”：twelve thousand 就是一万二千），在 {n} 个抽样"
            "数字中的 {rows} 个这样"
            "的字上取平均。L 为解码器层，H 为头。灰色：同一结构在固定种子随机初始化时。虚线：权重"
            "在英文单词上平均分配时的值（{u:.2f}）。训练后最强的头是第 {top_layer} 层第 {top_head} "
            "个头，放了 {top:.2f}；随机初始化时最强的头只有 {init_top:.2f}。"
        ),
        "alt": (
            "成对的柱子，每个交叉注意力头一对：训练后的头放在对应数量级单词上的权重，旁边是随机"
            "初始化的头；一条虚线标出均匀权重时的比例。"
        ),
    },
}


@figure("multi-head-magnitude-heads")
def draw_magnitude_heads(lang: str) -> Figure:
    """Per cross-attention head: weight on the matching magnitude word; trained vs random."""
    text = MAGNITUDE_TEXT[lang]
    ours = trained.cross_magnitude_shares(True)  # (layers, heads)
    init = trained.cross_magnitude_shares(False)
    layers, heads = ours.shape
    x = np.arange(layers * heads)
    fig, ax = new_figure(7.2, 2.8)
    ax.bar(x - 0.2, ours.ravel(), width=0.4, color="#1f77b4", label=text["trained"])
    ax.bar(x + 0.2, init.ravel(), width=0.4, color="#bbbbbb", label=text["random"])
    uniform = trained.uniform_magnitude_share()
    ax.axhline(uniform, color="#555555", linestyle="--", linewidth=0.8, label=text["uniform"])
    labels = _head_labels(text["head"], layers, heads)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel(text["ylabel"], fontsize=8)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    rows = sum(trained.magnitude_share(trained.maps(n))[1] for n in trained.sample())
    top_layer, top_head = np.unravel_index(int(ours.argmax()), ours.shape)
    fmt = {
        "rows": rows,
        "n": len(trained.sample()),
        "u": uniform,
        "top_layer": int(top_layer) + 1,
        "top_head": int(top_head) + 1,
        "top": float(ours.max()),
        "init_top": float(init.max()),
    }
    svg = to_svg(fig, "multi-head-magnitude-heads")
    return Figure(svg, text["caption"].format(**fmt), text["alt"])


EXPLORE_NUMBER = 34567  # the interactive figure's number: its Chinese needs both 万 and 千


def cross_heads(number: int = EXPLORE_NUMBER) -> tuple[tuple, tuple, np.ndarray]:
    """Keys (the English tokens), queries (the characters written, then the end token) and the
    cross-attention weights `(layers, heads, seq_tgt, seq_src)` of `number`, teacher-forced."""
    maps = trained.maps(number)
    return maps.source, trained.written(maps), maps.cross


EXPLORE_TEXT = {
    "en": {
        "layer": "decoder layer",
        "head": "head",
        "weight": "head {h} of layer {l}",
        "mean": "mean over the heads of layer {l}",
        "caption": (
            "Choose a decoder layer, a head and the character being written: that head's "
            "cross-attention weights over the English words of “{text}”, beside the mean over the "
            "layer's {h} heads. The weights come from the trained translator, its decoder fed the "
            "correct characters, when the site is built. Try the rows that write the magnitudes "
            "(the 2nd and the 4th): some heads read the English word that decides them, others the "
            "digit to write."
        ),
        "alt": (
            "An interactive table: buttons to choose one of {layers} decoder layers, one of {h} "
            "heads, and one of the {q} Chinese characters being written or the end token; for the "
            "choice, a bar and a number for the weight of each of the {k} English words in that "
            "head and the mean over the layer's heads."
        ),
    },
    "zh": {
        "layer": "解码器层",
        "head": "头",
        "weight": "第 {l} 层第 {h} 头",
        "mean": "第 {l} 层各头的平均",
        "caption": (
            "选一个解码器层、一个头和正在写的汉字：这个头在“{text}”各个英文单词上的交叉注意力权重，"
            "旁边是这一层 {h} 个头的平均。权重由训练好的翻译模型在构建网站时算出，解码器输入的是"
            "正确的前文汉字。试试写“万”和“千”的两行（第 2 行和第 4 行）：有的头看决定它们的英文"
            "单词，有的头看要写的数字。"
        ),
        "alt": (
            "交互表格：按钮用来选 {layers} 个解码器层中的一层、{h} 个头中的一个，"
            "以及正在写的 {q} 个汉字和结束词元中的一个；对选中的组合，{k} 个英文单词在这个头中"
            "的权重和这一层各头的平均权重以条形和数字显示。"
        ),
    },
}


@figure("multi-head-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: the trained translator's cross-attention by layer, head and query."""
    t = EXPLORE_TEXT[lang]
    keys, queries, weights = cross_heads()
    layers, heads = weights.shape[:2]

    def lines(layer: int, head: int) -> list[dict]:
        w = weights[layer]  # (heads, seq_tgt, seq_src)
        mean = widget.line(t["mean"].format(l=layer + 1), "weight", w.mean(axis=0))
        return [widget.line(t["weight"].format(h=head + 1, l=layer + 1), "weight", w[head]), mean]

    views = {f"{i},{j}": {"lines": lines(i, j)} for i in range(layers) for j in range(heads)}
    controls = [
        widget.choice_control("layer", t["layer"], range(1, layers + 1)),
        widget.choice_control("head", t["head"], range(1, heads + 1)),
    ]
    data = {"keys": list(keys), "queries": list(queries), "query": 1, "controls": controls}
    data |= {"views": views}
    fmt = {"text": numbers.english(EXPLORE_NUMBER), "h": heads, "layers": layers}
    fmt |= {"q": len(queries) - 1, "k": len(keys)}  # q: the characters, not the end token
    return widget.interactive(data, lang, t["caption"].format(**fmt), t["alt"].format(**fmt))


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class MultiHeadDecomposition:
    """Result of `multi_head_decomposition`.

    Attributes:
        num_heads: the number of heads h used for the comparison.
        split_error: largest difference between multi-head attention and h single-head attentions
            on the column slices of $W^q, W^k, W^v$, concatenated and multiplied by $W^O$.
        one_head_error: largest difference between `num_heads=1` and plain single-head attention
            on the projections.
        parameters: for each h tried, the number of parameters used.
    """

    num_heads: int
    split_error: float
    one_head_error: float
    parameters: dict

    @property
    def holds(self) -> bool:
        return (
            self.split_error < 1e-12
            and self.one_head_error < 1e-12
            and len(self.parameters) >= 3
            and len(set(self.parameters.values())) == 1
        )

    def shown(self, lang: str) -> str:
        params = ", ".join(f"h = {h}: {p}" for h, p in self.parameters.items())
        if lang == "zh":
            return (
                f"h = {self.num_heads} 时与逐头计算的最大差 {num(self.split_error)}；单头的最大差 "
                f"{num(self.one_head_error)}；参数个数 {params}"
            )
        return (
            f"largest difference from {self.num_heads} separate heads {num(self.split_error)}; one "
            f"head against single-head attention {num(self.one_head_error)}; parameters {params}"
        )


@claim(
    "multi-head-concatenated-heads",
    title={
        "en": "Multi-head = h heads, concatenated and projected",
        "zh": "多头 = h 个头拼接后再投影",
    },
    statement={
        "en": "Multi-head attention equals h single-head attentions on column slices of "
        "$W^q, W^k, W^v$, concatenated and multiplied by $W^O$; one head is plain "
        "attention; the parameter count does not depend on h.",
        "zh": "多头注意力等于在 $W^q, W^k, W^v$ 的列切片上做 h 个单头注意力，拼接后乘以 $W^O$；"
        "一个头就是普通注意力；参数个数与 h 无关。",
    },
    contradiction=lambda r: {"parameters": {**r.parameters, 1: 1}},
)
def multi_head_decomposition(
    num_heads: int = 4, d_model: int = 16, seq: int = 5, *, seed: int = 0
) -> MultiHeadDecomposition:
    """multi-head attention is h independent attentions, concatenated and projected.

    Args:
        num_heads: number of heads h (divides d_model).
        d_model: model width.
        seq: number of tokens.
        seed: seed of the inputs and parameters.

    Returns:
        A `MultiHeadDecomposition`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, seq, d_model))
    params = ref.init_multi_head_params(d_model, bias=True, seed=seed)
    out, _ = ref.multi_head_attention(x, x, x, params, num_heads=num_heads)
    # the same computation, one head at a time
    d_head = d_model // num_heads
    heads = []
    for h in range(num_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        q = x @ params.w_q[:, cols] + params.b_q[cols]  # (2, seq, d_model) @ (d_model, d_head)
        k = x @ params.w_k[:, cols] + params.b_k[cols]
        v = x @ params.w_v[:, cols] + params.b_v[cols]
        heads.append(ref.scaled_dot_product_attention(q, k, v)[0])  # (2, seq, d_head)
    by_hand = np.concatenate(heads, axis=-1) @ params.w_o + params.b_o  # (2, seq, d_model)
    one, _ = ref.multi_head_attention(x, x, x, params, num_heads=1)
    single, _ = ref.scaled_dot_product_attention(
        x @ params.w_q + params.b_q, x @ params.w_k + params.b_k, x @ params.w_v + params.b_v
    )
    # one set of parameters serves every h: heads only decide how its columns are grouped
    size = int(sum(np.asarray(a).size for a in params if a is not None))
    parameters = {}
    for h in (1, 2, 4, 8, 16):
        if d_model % h == 0:
            out_h, weights_h = ref.multi_head_attention(x, x, x, params, num_heads=h)
            if out_h.shape == x.shape and weights_h.shape[-3] == h:
                parameters[h] = size
    return MultiHeadDecomposition(
        num_heads=num_heads,
        split_error=max_abs(out, by_hand),
        one_head_error=max_abs(one, single @ params.w_o + params.b_o),
        parameters=parameters,
    )
