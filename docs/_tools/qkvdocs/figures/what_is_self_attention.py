"""Figures of the page "What self-attention does" (concepts/what-is-self-attention).

- `what-is-self-attention-table`: the facts of Table 1 of Vaswani et al. (2017), with the step
  counts they imply for one example sentence computed here.
- `what-is-self-attention-reach`: which outputs change when one input changes, for self-attention,
  one convolution layer (kernel 3) and a recurrent layer, on the toy sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import qkv.numpy as qnp

from qkvdocs.checks import claim

from . import Figure, figure
from . import _widget as widget
from ._kit import num, token_grid
from ._svg import new_figure, to_svg
from ._toy import TOKENS, toy_embeddings
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
            "Vaswani 等人（2017）《Attention Is All You Need》的表 1：每层的计算量、必须依次执行的"
            "操作数，以及任意两个位置之间信号要走的最长路径；n 是序列长度，d 是表示维度，k 是卷积核"
            "宽度，r 是邻域大小。右侧几列在构建网站时按公式算出一个例子的具体数值。论文给卷积层列的"
            "是 O(log_k(n))（空洞卷积）；连续卷积核需要大约 n/k 层堆叠。"
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
    keys = ("complexity", "sequential", "path", "ops", "steps", "hops")
    rows = (
        ("O(n²·d)", "O(1)", "O(1)", n * n * d, 1, 1),
        ("O(n·d²)", "O(n)", "O(n)", n * d * d, n, n - 1),
        ("O(k·n·d²)", "O(1)", "O(n/k)", k * n * d * d, 1, math.ceil((n - 1) / (k - 1))),
        # log_k(n) rounded up; the 1e-9 keeps an exact power of k (log 27 / log 3) from rounding up
        ("O(k·n·d²)", "O(1)", "O(log_k(n))", k * n * d * d, 1, math.ceil(math.log(n, k) - 1e-9)),
        ("O(r·n·d)", "O(1)", "O(n/r)", r * n * d, 1, math.ceil((n - 1) / r)),
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


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


def _rnn(x: np.ndarray, w_h: np.ndarray, w_x: np.ndarray) -> np.ndarray:
    """A plain tanh RNN over `x` `(seq, d)`: the states `(seq, d)`, computed one after another."""
    h = np.zeros(w_h.shape[0])
    states = []
    for x_t in x:  # h_t needs h_{t-1}: no step can start before the previous one ends
        h = np.tanh(h @ w_h + x_t @ w_x)
        states.append(h)
    return np.stack(states)


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

    maps = {}
    for name, layer in (
        ("attention", attention),
        ("convolution", convolution),
        ("recurrent", lambda inputs: _rnn(inputs, w_h, w_x)),
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
            "改动一个输入时，哪些输出会跟着变（玩具句子，随机权重）。第 i 行第 j 列涂色，表示轻推输"
            "入 j 后输出 i 发生了变化。自注意力：一层之后，每个输出都依赖每个输入。宽度为 3 的单层"
            "卷积只看得到相邻位置。循环层能覆盖之前的所有位置，但要经过一串必须依次执行的步骤。"
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
        token_grid(ax, tokens, xlabel=t["xlabel"], linewidth=1.5)
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
    view = {"lines": lines, "result": {"label": t["out"], "values": widget.numbers(found["out"])}}
    data = {"keys": tokens, "queries": tokens, "query": 1, "controls": [], "views": {"": view}}
    return widget.interactive(data, lang, t["caption"].format(d_v=d_v), t["alt"])


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class SelfAttentionIO:
    """What `self_attention_io` measured: the counts, and the smallest and largest change of an
    output when one input is nudged (positive: every output depends on every input)."""

    num_inputs: int
    num_outputs: int
    min_change: float
    max_change: float

    @property
    def holds(self) -> bool:
        return self.num_inputs == self.num_outputs and self.min_change > 1e-8

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"输入 {self.num_inputs} 个向量，输出 {self.num_outputs} 个；"
                f"只扰动一个输入时，每个输出的最小变化为 {num(self.min_change)}"
                f"（最大 {num(self.max_change)}）"
            )
        return (
            f"{self.num_inputs} vectors in, {self.num_outputs} out; nudging one input moves every "
            f"output by at least {num(self.min_change)} (at most {num(self.max_change)})"
        )


@claim(
    "self-attention-n-in-n-out",
    title={"en": "N vectors in, N vectors out", "zh": "输入 N 个向量，输出 N 个向量"},
    statement={
        "en": "Self-attention returns one output per input, and every output depends on every "
        "input: nudging any single input moves all outputs.",
        "zh": "自注意力为每个输入给出一个输出，而且每个输出都依赖全部输入：任意扰动一个输入，"
        "所有输出都会改变。",
    },
    contradiction=lambda r: {"min_change": 0.0},
)
def self_attention_io(seq: int = 6, d_model: int = 8, *, seed: int = 0) -> SelfAttentionIO:
    """N vectors in, N vectors out, and each output looks at the whole sequence.

    Self-attention `out = attention(x, x, x)` on `seq` random vectors; then each input $x_j$ in turn
    is nudged by a random step of length 0.1, and the change of every output $o_i$ is measured.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    out, _ = qnp.scaled_dot_product_attention(x, x, x)
    # Nudge input j in copy j of the sequence: one batch of `seq` perturbed sequences.
    step = rng.standard_normal((seq, d_model))
    step *= 0.1 / np.linalg.norm(step, axis=-1, keepdims=True)
    nudged = np.repeat(x[None], seq, axis=0)  # (seq, seq, d_model): copy j, token i
    nudged[np.arange(seq), np.arange(seq)] += step
    out_nudged, _ = qnp.scaled_dot_product_attention(nudged, nudged, nudged)
    # change[j, i] = ||o_i(x with x_j nudged) - o_i(x)||
    change = np.linalg.norm(out_nudged - out[None], axis=-1)
    counts = int(x.shape[0]), int(out.shape[0])
    return SelfAttentionIO(*counts, float(change.min()), float(change.max()))


@dataclass(frozen=True)
class SequentialCost:
    """What `sequential_cost` measured: per layer type, the maximum path length (layers before the
    last position depends on the first), the formula's value, and the sequential steps."""

    n: int
    kernel: int
    window: int
    path: dict
    path_formula: dict
    steps: dict

    @property
    def holds(self) -> bool:
        return (
            self.path == self.path_formula
            and self.steps["recurrent"] == self.n
            and self.steps["self-attention"] == 1
            and self.path["self-attention"] == 1
        )

    def shown(self, lang: str) -> str:
        names = PATH_NAMES[lang]  # in the order of `path`
        sep = "，" if lang == "zh" else ", "
        paths = sep.join(f"{name} {v}" for name, v in zip(names, self.path.values(), strict=True))
        attention, recurrent = self.steps["self-attention"], self.steps["recurrent"]
        if lang == "zh":
            return (
                f"n = {self.n}、k = {self.kernel}、r = {self.window} 时测得的最大路径长度："
                f"{paths}；必须依次执行的步数：自注意力 {attention}，循环网络 {recurrent}"
            )
        return (
            f"measured maximum path length for n = {self.n}, k = {self.kernel}, r = "
            f"{self.window}: {paths}; steps that must run one after another: self-attention "
            f"{attention}, recurrent {recurrent}"
        )


PATH_NAMES = {
    "en": ("self-attention", "recurrent", "convolutional (dilated)", "restricted self-attention"),
    "zh": ("自注意力", "循环网络", "卷积（空洞）", "受限自注意力"),
}


def _layers_until_connected(layers: list[np.ndarray]) -> int:
    """Stack boolean dependency matrices until the last position depends on the first.

    `layers[l][i, j]` is True when output i of layer l reads input j. Returns how many layers of
    the (cycled) list are needed for `reach[-1, 0]` to become True.
    """
    n = layers[0].shape[0]
    reach = np.eye(n, dtype=bool)
    for count in range(1, 10 * n):
        layer = layers[(count - 1) % len(layers)]
        # (n, n) @ (n, n) -> (n, n): output i reaches input j through some intermediate m
        reach = (layer.astype(np.int64) @ reach.astype(np.int64)) > 0
        if reach[-1, 0]:
            return count
    raise RuntimeError("never connected")


@claim(
    "self-attention-path-length",
    title={"en": "Parallel steps, path of length 1", "zh": "并行计算，路径长度为 1"},
    statement={
        "en": "Table 1 of the Transformer paper: per layer, self-attention costs O(n²·d) with "
        "O(1) sequential steps and a maximum path length of O(1); a recurrent layer "
        "costs O(n·d²) with O(n) steps and path O(n); a convolution O(k·n·d²), O(1) "
        "steps, path O(log_k n); restricted self-attention O(r·n·d), O(1), O(n/r). The "
        "path lengths and step counts are measured.",
        "zh": "Transformer 论文的表 1：每层自注意力的计算量为 O(n²·d)，顺序步数 O(1)，"
        "最大路径长度 O(1)；循环层为 O(n·d²)、O(n) 步、路径 O(n)；"
        "卷积为 O(k·n·d²)、O(1) 步、路径 O(log_k n)；"
        "受限自注意力为 O(r·n·d)、O(1)、O(n/r)。路径长度和步数是实测的。",
    },
    contradiction=lambda r: {"path": {**r.path, "self-attention": 2}},
)
def sequential_cost(n: int = 64, *, kernel: int = 3, window: int = 4) -> SequentialCost:
    """Why not an RNN or a CNN: Table 1 of the Transformer paper, with measured values.

    The table is quoted from Vaswani et al. (2017). Two of its columns are then measured:

    - maximum path length: boolean dependency matrices are stacked layer after layer until the
      last position depends on the first. Self-attention: every output reads every input. Recurrent:
      each state reads the previous state (a chain, one step per position). Convolution with dilated
      causal kernels of width k (dilation $k^\\ell$ in layer $\\ell$), as the paper's $\\log_k n$
      assumes. Restricted self-attention: a band $|i - j| \\le r$
      ([`local_mask`][qkv.numpy.local_mask]).
    - sequential steps: a plain RNN forward pass counts the steps that had to wait for the previous
      one; self-attention computes every position in one batched call.
    """
    ones = np.ones((n, n), dtype=bool)
    # recurrent: state i reads state i - 1 (and its own input), one step at a time
    chain = np.eye(n, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    # dilated causal convolution: layer l reads positions i, i - k^l, ..., i - (k-1) k^l
    index = np.arange(n)
    dilated = []
    for level in range(max(1, math.ceil(math.log(n, kernel)))):
        offsets = (index[:, None] - index[None, :]) // kernel**level
        exact = (index[:, None] - index[None, :]) % kernel**level == 0
        dilated.append(exact & (offsets >= 0) & (offsets < kernel))
    band = qnp.local_mask(n, window=window)
    path = {
        "self-attention": _layers_until_connected([ones]),
        "recurrent": _layers_until_connected([chain]),
        "convolutional": _layers_until_connected(dilated),
        "restricted self-attention": _layers_until_connected([np.asarray(band, dtype=bool)]),
    }
    # the formulas of the table: self-attention, recurrent, dilated convolution, restricted
    hops = [row["hops"] for row in table1_rows(n, 1, kernel, window)]
    path_formula = dict(zip(path, (hops[0], hops[1], hops[3], hops[4]), strict=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4))
    qnp.scaled_dot_product_attention(x, x, x)  # all n outputs in one call: one step
    # one state per step of the RNN loop, each waiting for the previous one
    steps = {"self-attention": 1, "recurrent": len(_rnn(x, 0.5 * np.eye(4), np.eye(4)))}
    return SequentialCost(n, kernel, window, path, path_formula, steps)
