"""Figures of the page "What self-attention does" (concepts/what-is-self-attention).

- `what-is-self-attention-table`: the facts of Table 1 of Vaswani et al. (2017), with the step
  counts they imply for one example sentence computed here.
- `what-is-self-attention-reach`: which outputs change when one input changes, for self-attention,
  one convolution layer (kernel 3) and a recurrent layer, on the toy sentence.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import qkv.numpy as qnp

from .. import widget
from ..svg import new_figure, to_svg
from ..toy import TOKENS, toy_embeddings
from . import Figure, figure
from .query_key_value import toy_projections

# Example sizes for the table's "for example" columns: a sentence shorter than the model width,
# the regime the paper argues about (n < d), and a convolution kernel of width 3.
EXAMPLE_N = 64
EXAMPLE_D = 512
EXAMPLE_K = 3
EXAMPLE_R = 4

TEXT = {
    "en": {
        "layer": "Layer type",
        "complexity": "Complexity per layer",
        "sequential": "Sequential operations",
        "path": "Maximum path length",
        "example": "n = {n}, d = {d}, k = {k}, r = {r}",
        "ops": "multiply-adds",
        "steps": "sequential steps",
        "hops": "longest path",
        "rows": [
            "Self-attention",
            "Recurrent",
            "Convolutional (contiguous kernels)",
            "Convolutional (dilated kernels)",
            "Self-attention (restricted to r neighbours)",
        ],
        "caption": (
            "Table 1 of Vaswani et al. (2017), “Attention Is All You Need”: per-layer cost, "
            "operations that must run one after another, and the longest path a signal travels "
            "between two positions; n is the sequence length, d the representation width, k the "
            "kernel width, r the neighbourhood size. The right-hand columns evaluate each "
            "formula for one example, computed when the site is built. The paper lists O(log_k(n)) "
            "for convolutions (dilated); contiguous kernels need about n/k stacked layers."
        ),
        "alt": (
            "Table comparing self-attention, recurrent and convolutional layers by complexity per "
            "layer, sequential operations and maximum path length, with example values."
        ),
    },
    "zh": {
        "layer": "层类型",
        "complexity": "每层计算量",
        "sequential": "顺序操作数",
        "path": "最长路径长度",
        "example": "n = {n}, d = {d}, k = {k}, r = {r}",
        "ops": "乘加次数",
        "steps": "顺序步数",
        "hops": "最长路径",
        "rows": [
            "自注意力",
            "循环层 (RNN)",
            "卷积层（连续卷积核）",
            "卷积层（空洞卷积核）",
            "受限自注意力（只看 r 个邻居）",
        ],
        "caption": (
            "Vaswani 等人（2017）《Attention Is All You Need》的表 1："
            "每层的计算量、必须依次执行的操作数，"
            "以及任意两个位置之间信号要走的最长路径；n 是序列长度，d 是表示维度，k 是卷积核宽度，"
            "r 是邻域大小。右侧几列在构建网站时按公式算出一个例子的具体数值。论文给卷积层列的是 "
            "O(log_k(n))（空洞卷积）；连续卷积核需要大约 n/k 层堆叠。"
        ),
        "alt": (
            "表格：按每层计算量、顺序操作数和最长路径长度比较自注意力、循环层和卷积层，"
            "并给出示例数值。"
        ),
    },
}


def table1_rows(n: int, d: int, k: int, r: int) -> list[dict[str, object]]:
    """The Table 1 formulas and their values for one `(n, d, k, r)`.

    Path lengths count layers (or steps) a signal needs between the two farthest positions:
    a recurrent layer walks n - 1 steps; contiguous convolutions of width k widen the receptive
    field by k - 1 per layer; dilated ones multiply it by k; restricted attention moves r per layer.
    """
    contiguous_layers = math.ceil((n - 1) / (k - 1))
    dilated_layers = math.ceil(math.log(n, k))
    return [
        {
            "complexity": "O(n²·d)",
            "sequential": "O(1)",
            "path": "O(1)",
            "ops": n * n * d,
            "steps": 1,
            "hops": 1,
        },
        {
            "complexity": "O(n·d²)",
            "sequential": "O(n)",
            "path": "O(n)",
            "ops": n * d * d,
            "steps": n,
            "hops": n - 1,
        },
        {
            "complexity": "O(k·n·d²)",
            "sequential": "O(1)",
            "path": "O(n/k)",
            "ops": k * n * d * d,
            "steps": 1,
            "hops": contiguous_layers,
        },
        {
            "complexity": "O(k·n·d²)",
            "sequential": "O(1)",
            "path": "O(log_k(n))",
            "ops": k * n * d * d,
            "steps": 1,
            "hops": dilated_layers,
        },
        {
            "complexity": "O(r·n·d)",
            "sequential": "O(1)",
            "path": "O(n/r)",
            "ops": r * n * d,
            "steps": 1,
            "hops": math.ceil((n - 1) / r),
        },
    ]


def _fmt(value: int) -> str:
    if value >= 10_000:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa}×10<sup>{int(exponent)}</sup>"
    return str(value)


@figure("what-is-self-attention-table")
def draw_table(lang: str) -> Figure:
    """Table 1 of the Transformer paper, with example values computed here."""
    t = TEXT[lang]
    rows = table1_rows(EXAMPLE_N, EXAMPLE_D, EXAMPLE_K, EXAMPLE_R)
    example = t["example"].format(n=EXAMPLE_N, d=EXAMPLE_D, k=EXAMPLE_K, r=EXAMPLE_R)
    head = (
        "<thead><tr>"
        f'<th rowspan="2">{escape(t["layer"])}</th>'
        f'<th rowspan="2">{escape(t["complexity"])}</th>'
        f'<th rowspan="2">{escape(t["sequential"])}</th>'
        f'<th rowspan="2">{escape(t["path"])}</th>'
        f'<th colspan="3">{escape(example)}</th>'
        "</tr><tr>"
        f"<th>{escape(t['ops'])}</th><th>{escape(t['steps'])}</th><th>{escape(t['hops'])}</th>"
        "</tr></thead>"
    )
    body = "".join(
        "<tr>"
        f"<td>{escape(name)}</td><td>{row['complexity']}</td><td>{row['sequential']}</td>"
        f"<td>{row['path']}</td><td>{_fmt(row['ops'])}</td><td>{row['steps']}</td>"
        f"<td>{row['hops']}</td>"
        "</tr>"
        for name, row in zip(t["rows"], rows, strict=True)
    )
    # qkv-table--compact: seven columns fit the text column (1280 px wide and narrower screens)
    html = f'<table class="qkv-table qkv-table--compact">{head}<tbody>{body}</tbody></table>'
    return Figure(svg=html, caption=t["caption"], alt=t["alt"])


def reach_maps(seq: int = 6, d_model: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """Which outputs change when one input changes, measured by perturbing inputs one at a time.

    Returns boolean maps `(seq, seq)` with entry `[i, j]` True when output i moved after input j
    was nudged, for self-attention, one convolution layer of width 3 and a tanh recurrent layer.
    """
    x = toy_embeddings(d_model, seed)[:seq]
    rng = np.random.default_rng(seed + 1)
    w_q, w_k, w_v = (rng.standard_normal((d_model, d_model)) / math.sqrt(d_model) for _ in range(3))
    kernel = rng.standard_normal((3, d_model, d_model)) / math.sqrt(3 * d_model)
    w_h, w_x = (rng.standard_normal((d_model, d_model)) / math.sqrt(d_model) for _ in range(2))

    def attention(inputs: np.ndarray) -> np.ndarray:
        out, _ = qnp.scaled_dot_product_attention(inputs @ w_q, inputs @ w_k, inputs @ w_v)
        return out

    def convolution(inputs: np.ndarray) -> np.ndarray:
        padded = np.pad(inputs, ((1, 1), (0, 0)))
        return np.stack([sum(padded[t + s] @ kernel[s] for s in range(3)) for t in range(seq)])

    def recurrent(inputs: np.ndarray) -> np.ndarray:
        h = np.zeros(d_model)
        states = []
        for t in range(seq):  # one step after another: step t needs step t - 1
            h = np.tanh(h @ w_h + inputs[t] @ w_x)
            states.append(h)
        return np.stack(states)

    maps = {}
    for name, layer in (
        ("attention", attention),
        ("convolution", convolution),
        ("recurrent", recurrent),
    ):
        base = layer(x)
        reach = np.zeros((seq, seq), dtype=bool)
        for j in range(seq):
            nudged = x.copy()
            nudged[j] += 0.1
            reach[:, j] = np.abs(layer(nudged) - base).max(axis=-1) > 1e-12
        maps[name] = reach
    return maps


REACH_TEXT = {
    "en": {
        "titles": {
            "attention": "Self-attention",
            "convolution": "Convolution (k = 3)",
            "recurrent": "Recurrent (RNN)",
        },
        "xlabel": "input changed",
        "ylabel": "output",
        "caption": (
            "Which outputs move when one input moves (toy sentence, random weights). A filled cell "
            "(row i, column j) means output i changed after input j was nudged. Self-attention: "
            "every output depends on every input after one layer. One convolution of width 3 "
            "sees only neighbours. A recurrent layer reaches everything earlier, but only through "
            "a chain of steps run one after another."
        ),
        "alt": (
            "Three 6 by 6 grids. Self-attention's grid is fully filled; the convolution's grid is "
            "a band of width three around the diagonal; the recurrent layer's grid is filled on "
            "and below the diagonal."
        ),
    },
    "zh": {
        "titles": {
            "attention": "自注意力",
            "convolution": "卷积 (k = 3)",
            "recurrent": "循环层 (RNN)",
        },
        "xlabel": "被改动的输入",
        "ylabel": "输出",
        "caption": (
            "改动一个输入时，哪些输出会跟着变（玩具句子，随机权重）。第 i 行第 j 列涂色，"
            "表示轻推输入 j 后"
            "输出 i 发生了变化。自注意力：一层之后，每个输出都依赖每个输入。宽度为 3 "
            "的单层卷积只看得到"
            "相邻位置。循环层能覆盖之前的所有位置，但要经过一串必须依次执行的步骤。"
        ),
        "alt": (
            "三个 6×6 网格：自注意力的网格全部涂满；卷积的网格是沿对角线宽度为 3 的带；"
            "循环层的网格在对角线及其下方涂满。"
        ),
    },
}


@figure("what-is-self-attention-reach")
def draw_reach(lang: str) -> Figure:
    """Dependence maps of self-attention, convolution and recurrence on the toy sentence."""
    t = REACH_TEXT[lang]
    tokens = TOKENS[lang]
    maps = reach_maps(seq=len(tokens))
    fig, axes = new_figure(8.4, 3.2, ncols=3)
    fig.subplots_adjust(wspace=0.35)
    for ax, (name, reach) in zip(axes, maps.items(), strict=True):
        ax.imshow(reach, cmap="Blues", vmin=-0.3, vmax=1.2)
        ax.set_title(t["titles"][name])
        ax.set_xticks(range(len(tokens)), tokens, rotation=45)
        ax.set_yticks(range(len(tokens)), tokens)
        ax.set_xlabel(t["xlabel"])
        ax.set_xticks(np.arange(-0.5, len(tokens)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(tokens)), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="both", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[0].set_ylabel(t["ylabel"])
    return Figure(
        svg=to_svg(fig, "what-is-self-attention-reach"), caption=t["caption"], alt=t["alt"]
    )


EXPLORE_TEXT = {
    "en": {
        "weight": "weight α′",
        "value": "v{c}",
        "out": "output b = Σ α′ v",
        "caption": (
            "Choose a query token: its weights over the six keys (scaled dot product, then "
            "softmax; they sum to 1), each key's value vector v (d_v = {d_v}) below its weight, "
            "and the output b, the weighted sum of the value vectors. The toy sentence with the "
            "seeded random projections of the query, key and value page, computed by the reference "
            "when the site is built."
        ),
        "alt": (
            "An interactive table: one button per token of “the cat sat on the mat” to choose the "
            "query; for the chosen query, a bar and a number for each key's weight, each key's "
            "value vector, and the output vector."
        ),
    },
    "zh": {
        "weight": "权重 α′",
        "value": "v{c}",
        "out": "输出 b = Σ α′ v",
        "caption": (
            "选一个查询词元：它在六个键上的权重（缩放点积后做 softmax，和为 1），每个键的值 v"
            "（d_v = {d_v}）列在权重下方，以及输出 b，即各个值的加权和。玩具句子与“查询、键和值”"
            "一页相同的固定种子随机投影，构建网站时由参考实现算出。"
        ),
        "alt": (
            "交互表格：“这只猫坐在垫子上”的每个词元一个按钮，用来选查询；对选中的查询，"
            "每个键的权重以柱和数字显示，并列出每个键的值和输出向量。"
        ),
    },
}


def explore_numbers(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights `(seq_q, seq_k)`, values `(seq_k, d_v)` and outputs `(seq_q, d_v)` of the toy
    sentence under the query/key/value page's projections."""
    x, w_q, w_k, w_v = toy_projections(seed=seed)
    value = x @ w_v  # (seq, d_model) @ (d_model, d_v) -> (seq, d_v)
    out, weights = qnp.scaled_dot_product_attention(x @ w_q, x @ w_k, value)
    return {"weights": weights, "values": value, "out": out}


@figure("what-is-self-attention-explore")
def draw_explore(lang: str) -> Figure:
    """Interactive: one query's weights, the value vectors and their weighted sum."""
    t = EXPLORE_TEXT[lang]
    tokens = TOKENS[lang]
    found = explore_numbers()
    seq, d_v = found["values"].shape
    lines = [widget.line(t["weight"], "weight", found["weights"])]
    for c in range(d_v):  # the same value vectors whatever the query
        lines.append(
            widget.line(t["value"].format(c=c), "value", np.tile(found["values"][:, c], (seq, 1)))
        )
    data = {
        "keys": tokens,
        "queries": tokens,
        "query": 1,
        "controls": [],
        "views": {
            "": {
                "lines": lines,
                "result": {"label": t["out"], "values": widget.numbers(found["out"])},
            }
        },
    }
    return widget.interactive(data, lang, t["caption"].format(d_v=d_v), t["alt"])
