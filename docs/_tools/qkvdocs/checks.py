"""The site's verified claims: what each check states, how it is measured, and how it is shown.

Every claim the site makes with evidence is one [`Claim`][qkvdocs.checks.Claim] in this registry:

- `key`: the syllabus row (an int, 1-18) or a name (a str such as `"tiled"`);
- `title` and `statement`: a short title and the claim in one or two sentences, in English and
  Chinese (Markdown; `$...$` math allowed; never a bare `|`, the statement goes into a table);
- `measure`: a function without arguments that computes the figure (usually a function of
  `qkv.claims` with its defaults); it runs once per build process;
- `holds`: a predicate on what `measure` returned; the build fails when it is false;
- `figure`: `figure(result, lang)` formats the measured number(s) in the page language;
- `test`: the pytest node id of the test that asserts the same claim with the same function;
- `page`: the concept page the claim belongs to (its slug under `docs/concepts/`).

Pages use two directives (see `qkvdocs.directives`): a line `[[check: 8]]` becomes
[`render_check(8, lang)`][qkvdocs.checks.render_check], a success box with the claim and the
number measured during this build, and `[[claims-table]]` on the verified-claims page becomes
[`render_table(lang)`][qkvdocs.checks.render_table]. Both raise
[`ClaimFailed`][qkvdocs.checks.ClaimFailed] when a predicate fails, which fails the build.

To add a claim (for example `"tiled"` on the cost page):

1. write the function that measures it (in `reference/qkv/claims.py` or the concept's own module)
   and a named test that asserts it;
2. add a `Claim(...)` to the `CLAIMS` list near the end of this file, or call
   `register(Claim(...))` from another module that this one imports;
3. put `[[check: tiled]]` on the concept page. The verified-claims table picks it up by itself,
   and `tests/test_checks_render.py` checks that its test exists and that it renders.

For example (the names of the measuring function and its result's fields are illustrative):

    Claim(
        key="tiled",
        title={"en": "Tiled attention = full attention", "zh": "分块注意力 = 完整注意力"},
        statement={"en": "Tiled attention with an online softmax gives the same output.",
                   "zh": "带在线 softmax 的分块注意力给出相同的输出。"},
        measure=_call("tiled_equals_full"),  # qkv.claims.tiled_equals_full(); a dotted
                                             # "package.module.function" works too
        holds=lambda r: r.max_error < 1e-12,
        figure=lambda r, lang: ("最大差 " if lang == "zh" else "largest difference ")
                               + num(r.max_error),
        test="tests/test_tiled.py::test_tiled_equals_full_attention",
        page="cost",
    ),
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2]
REPO = DOCS.parent
LANGS = ("en", "zh")


class ClaimFailed(RuntimeError):
    """A claim's predicate is false on the number measured now: the build must stop."""


@dataclass(frozen=True)
class Claim:
    """One verified claim: statement, measurement, predicate, formatting, test and page."""

    key: int | str
    title: dict[str, str]
    statement: dict[str, str]
    measure: Callable[[], Any]
    holds: Callable[[Any], bool]
    figure: Callable[[Any, str], str]
    test: str
    page: str


_REGISTRY: dict[int | str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add `claim` to the registry; a key may be registered once; returns the claim."""
    if claim.key in _REGISTRY:
        raise ValueError(f"claim {claim.key!r} is registered twice")
    for field_name in ("title", "statement"):
        texts = getattr(claim, field_name)
        if set(texts) != set(LANGS):
            raise ValueError(f"claim {claim.key!r}: {field_name} needs exactly {LANGS}")
    _REGISTRY[claim.key] = claim
    return claim


def keys() -> list[int | str]:
    """Every registered key: syllabus rows in order, then named claims in registration order."""
    rows = sorted(k for k in _REGISTRY if isinstance(k, int))
    return [*rows, *(k for k in _REGISTRY if not isinstance(k, int))]


def get(key: int | str) -> Claim:
    """The claim registered under `key` (`"8"` and `8` are the same key)."""
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if key not in _REGISTRY:
        known = ", ".join(str(k) for k in keys())
        raise KeyError(f"no claim {key!r}; known: {known}")
    return _REGISTRY[key]


_SECONDS: dict[int | str, float] = {}


@cache
def measured(key: int | str) -> Any:
    """What the claim's `measure` returns, computed once per process (both languages share it)."""
    start = time.perf_counter()
    result = get(key).measure()
    _SECONDS[key] = time.perf_counter() - start
    return result


def seconds() -> dict[int | str, float]:
    """Wall-clock seconds each claim measured so far in this process took (for build reports)."""
    return dict(_SECONDS)


def verify(key: int | str) -> Any:
    """Measure claim `key` and return the result; raise ClaimFailed if its predicate is false."""
    claim = get(key)
    result = measured(claim.key)
    if not claim.holds(result):
        raise ClaimFailed(
            f"claim {claim.key!r} ({claim.title['en']}) does not hold: measured "
            f"{claim.figure(result, 'en')}; its test is {claim.test}"
        )
    return result


def anchor(key: int | str) -> str:
    """The id of the claim's row on the verified-claims page, e.g. `claim-8`, `claim-tiled`."""
    return f"claim-{get(key).key}"


def test_name(claim: Claim) -> str:
    """The test function's name (the part of the node id after `::`)."""
    return claim.test.rsplit("::", 1)[-1]


@cache
def page_title(slug: str, lang: str) -> str:
    """The H1 of `docs/concepts/<slug>.<lang>.md`, or the slug when the page has none."""
    path = DOCS / "concepts" / f"{slug}.{lang}.md"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return slug


_LABELS = {
    "en": {
        "check": "Check",
        "measured": "Measured when this page was built",
        "test": "Asserted by the test",
        "all": "All verified claims",
        "head": ("#", "Claim", "Measured at build time", "Test", "Page"),
    },
    "zh": {
        "check": "验证",
        "measured": "本页构建时的测量结果",
        "test": "断言它的测试",
        "all": "全部已验证的结论",
        "head": ("#", "结论", "构建时的测量结果", "测试", "页面"),
    },
}


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
    return lang


def render_check(key: int | str, lang: str, *, page: str = "concepts/page.md") -> str:
    """The check box of claim `key` in `lang`: a Material success admonition (Markdown).

    Args:
        key: syllabus row (int or digit string) or named claim.
        lang: `"en"` or `"zh"`.
        page: docs-relative path of the page the box goes on, used for the relative link to the
            verified-claims page; the default suits every concept page (`concepts/<slug>.md`).

    Returns:
        Markdown: `!!! success "Check: ..."` with the claim, the measured figure, the test and a
        link to the claim's row on the verified-claims page.

    Raises:
        ClaimFailed: the claim's predicate is false on the number measured now.
        KeyError: no claim is registered under `key`.
    """
    labels = _LABELS[_lang(lang)]
    claim = get(key)
    result = verify(claim.key)
    depth = page.count("/")
    link = "../" * depth + f"verified-claims.md#{anchor(claim.key)}"
    separator = "：" if lang == "zh" else ": "
    title = f"{labels['check']}{separator}{claim.title[lang]}"
    body = [
        claim.statement[lang],
        "",
        f"{labels['measured']}{separator}{claim.figure(result, lang)}",
        "",
        f"{labels['test']}{separator}`{test_name(claim)}` · [{labels['all']}]({link})",
    ]
    indented = "\n".join(f"    {line}" if line else "" for line in body)
    return f'!!! success "{title}"\n\n{indented}\n'


def _cell(text: str) -> str:
    """A table cell: one line, no unescaped pipe."""
    text = " ".join(text.split())
    if re.search(r"(?<!\\)\|", text):
        raise ValueError(f"a claims-table cell may not contain '|': {text!r}")
    return text


def render_table(lang: str) -> str:
    """The table of every claim for the verified-claims page, in `lang` (Markdown).

    One row per claim, in [`keys`][qkvdocs.checks.keys] order: an anchor `claim-<key>` and the key,
    the claim, the figure measured in this build, the test's name, and a link to the concept page
    (relative to `verified-claims.<lang>.md`, so the same link works in both languages).

    Raises:
        ClaimFailed: any claim's predicate is false.
    """
    labels = _LABELS[_lang(lang)]
    rows = ["| " + " | ".join(labels["head"]) + " |", "|---|---|---|---|---|"]
    for key in keys():
        claim = _REGISTRY[key]
        result = verify(key)
        cells = [
            f'<a id="{anchor(key)}"></a>{key}',
            f"**{claim.title[lang]}**: {claim.statement[lang]}"
            if lang == "en"
            else f"**{claim.title[lang]}**：{claim.statement[lang]}",
            claim.figure(result, lang),
            f"`{test_name(claim)}`",
            f"[{page_title(claim.page, lang)}](concepts/{claim.page}.md)",
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------------------------------------
# number formatting


def num(x: float) -> str:
    """A measured number: `0` when exactly zero, integers as such, else three significant digits."""
    x = float(x)
    if x == 0.0:
        return "0"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    if 1e-3 <= abs(x) < 1e3:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _seq(values, fmt=num) -> str:
    return ", ".join(fmt(v) for v in values)


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _claims():
    return importlib.import_module("qkv.claims")


def _call(name: str) -> Callable[[], Any]:
    """A measure that calls `qkv.claims.<name>()`, or `<module>.<function>()` for a dotted name,
    with its defaults (imported lazily, at measurement time)."""
    module, _, function = name.rpartition(".")

    def measure():
        source = importlib.import_module(module) if module else _claims()
        return getattr(source, function)()

    measure.__name__ = name
    return measure


def _t(name: str) -> str:
    return f"tests/test_claims.py::{name}"


# ------------------------------------------------------------------------------------------------
# the claims of the syllabus, rows 1-18


def _fig_1(r, lang):
    if lang == "zh":
        return (
            f"输入 {r.num_inputs} 个向量，输出 {r.num_outputs} 个；"
            f"只扰动一个输入时，每个输出的最小变化为 {num(r.min_change)}"
            f"（最大 {num(r.max_change)}）"
        )
    return (
        f"{r.num_inputs} vectors in, {r.num_outputs} out; nudging one input moves every output "
        f"by at least {num(r.min_change)} (at most {num(r.max_change)})"
    )


def _holds_1(r):
    return r.num_inputs == r.num_outputs and r.min_change > 1e-8


def _fig_2(r, lang):
    names = {
        "en": {
            "self-attention": "self-attention",
            "recurrent": "recurrent",
            "convolutional": "convolutional (dilated)",
            "restricted self-attention": "restricted self-attention",
        },
        "zh": {
            "self-attention": "自注意力",
            "recurrent": "循环网络",
            "convolutional": "卷积（空洞）",
            "restricted self-attention": "受限自注意力",
        },
    }[lang]
    paths = ("，" if lang == "zh" else ", ").join(f"{names[k]} {v}" for k, v in r.path.items())
    if lang == "zh":
        return (
            f"n = {r.n}、k = {r.kernel}、r = {r.window} 时测得的最大路径长度：{paths}；"
            f"必须依次执行的步数：自注意力 {r.steps['self-attention']}，"
            f"循环网络 {r.steps['recurrent']}"
        )
    return (
        f"measured maximum path length for n = {r.n}, k = {r.kernel}, r = {r.window}: {paths}; "
        f"steps that must run one after another: self-attention {r.steps['self-attention']}, "
        f"recurrent {r.steps['recurrent']}"
    )


def _holds_2(r):
    return (
        r.path == r.path_formula
        and r.steps["recurrent"] == r.n
        and r.steps["self-attention"] == 1
        and r.path["self-attention"] == 1
    )


def _fig_3(r, lang):
    errors = num(max(r.max_error.values()))
    params = ", ".join(f"{k} {v}" for k, v in r.parameters.items())
    if lang == "zh":
        return f"五个分数函数与公式的最大差 {errors}；参数个数：{params}"
    return f"largest difference from the formulas {errors}; parameters: {params}"


def _holds_3(r):
    free = ("dot", "scaled dot", "cosine")
    return (
        max(r.max_error.values()) < 1e-12
        and all(r.parameters[k] == 0 for k in free)
        and r.parameters["additive"] > 0
        and r.parameters["bilinear"] > 0
        and len(set(r.shapes.values())) == 1
    )


def _fig_4(r, lang):
    pairs = ", ".join(
        f"c = {num(c)}: {num(d)}" for c, d in zip(r.sharpness, r.distance, strict=True)
    )
    if lang == "zh":
        return f"软查找输出与硬查找结果的最大距离（分数乘以 c）：{pairs}"
    return f"largest distance between soft and hard lookup (scores times c): {pairs}"


def _holds_4(r):
    d = r.distance
    return all(a > b for a, b in pairwise(d)) and d[-1] < 1e-6 and r.max_weight[-1] > 1 - 1e-6


def _fig_5(r, lang):
    logits = ", ".join(f"{w:g}" for w in r.huge_logits)
    if lang == "zh":
        naive = "溢出为 NaN" if not r.naive_finite else "有限"
        return (
            f"行和与 1 的最大差 {num(r.row_sum_error)}；平移后的最大变化 {num(r.shift_error)}；"
            f"float32 下 softmax([1e4, -1e4, 0]) = [{logits}]，朴素公式{naive}"
        )
    naive = "overflows to NaN" if not r.naive_finite else "stays finite"
    return (
        f"largest row-sum error {num(r.row_sum_error)}; largest change under a shift "
        f"{num(r.shift_error)}; softmax([1e4, -1e4, 0]) in float32 = [{logits}], the naive "
        f"formula {naive}"
    )


def _holds_5(r):
    return (
        r.row_sum_error < 1e-12
        and r.min_weight >= 0
        and r.shift_error < 1e-12
        and r.huge_finite
        and r.huge_logits == (1.0, 0.0, 0.0)
        and not r.naive_finite
    )


def _fig_6(r, lang):
    if lang == "zh":
        return f"输出的最大差 {num(r.out_error)}，权重的最大差 {num(r.weights_error)}"
    return f"largest difference: outputs {num(r.out_error)}, weights {num(r.weights_error)}"


def _holds_6(r):
    return r.out_error < 1e-12 and r.weights_error < 1e-12


def _fig_7(r, lang):
    cols = ", ".join(f"{k} {_shape(v)}" for k, v in r.column_shapes.items())
    rows = ", ".join(f"{k} {_shape(v)}" for k, v in r.row_shapes.items())
    if lang == "zh":
        return (
            f"转置后输出的最大差 {num(r.out_error)}，权重的最大差 {num(r.weights_error)}；"
            f"列形式 {cols}；行形式 {rows}"
        )
    return (
        f"largest difference after transposing: outputs {num(r.out_error)}, weights "
        f"{num(r.weights_error)}; columns {cols}; rows {rows}"
    )


def _holds_7(r):
    transposed = all(
        tuple(reversed(r.column_shapes[c])) == r.row_shapes[w]
        for c, w in (("weights_cols", "weights"), ("out_cols", "out"))
    )
    return r.out_error < 1e-12 and r.weights_error < 1e-12 and transposed


def _fig_8(r, lang):
    ratios = _seq(r.variance_ratio)
    unscaled = _seq(r.jacobian_unscaled)
    scaled = _seq(r.jacobian_scaled)
    dks = ", ".join(str(d) for d in r.d_k)
    if lang == "zh":
        return (
            f"d_k = {dks} 时 Var(q·k)/d_k = {ratios}；softmax 雅可比矩阵的平均 Frobenius 范数："
            f"不缩放 {unscaled}，缩放 {scaled}"
        )
    return (
        f"for d_k = {dks}: Var(q·k)/d_k = {ratios}; mean Frobenius norm of the softmax "
        f"Jacobian: unscaled {unscaled}, scaled {scaled}"
    )


def _holds_8(r):
    u, s = r.jacobian_unscaled, r.jacobian_scaled
    return (
        all(0.9 <= v <= 1.1 for v in r.variance_ratio)
        and all(a > b for a, b in pairwise(u))
        and u[-1] < 0.5 * u[0]
        and max(s) / min(s) < 1.25
        and r.jacobian_formula_error < 1e-6
    )


def _fig_9(r, lang):
    if lang == "zh":
        return (
            f"n = {r.seq}、d_model = {r.d_model}：平均自身权重在共享 W 时为 "
            f"{num(r.self_weight_shared)}，分开时为 {num(r.self_weight_separate)}"
            f"（1/n = {num(r.uniform)}）；S − Sᵀ 的最大元素：共享 {num(r.asymmetry_shared)}，"
            f"分开 {num(r.asymmetry_separate)}"
        )
    return (
        f"n = {r.seq}, d_model = {r.d_model}: mean self-weight "
        f"{num(r.self_weight_shared)} with a shared W, {num(r.self_weight_separate)} with "
        f"separate ones (1/n = {num(r.uniform)}); "
        f"largest entry of S − Sᵀ: shared {num(r.asymmetry_shared)}, separate "
        f"{num(r.asymmetry_separate)}"
    )


def _holds_9(r):
    return (
        r.asymmetry_shared < 1e-12
        and r.asymmetry_separate > 0.1
        and r.self_weight_shared > 0.9
        and 0.8 <= r.self_weight_separate / r.uniform <= 1.25
    )


def _fig_10(r, lang):
    params = ", ".join(f"h = {h}: {p}" for h, p in r.parameters.items())
    if lang == "zh":
        return (
            f"h = {r.num_heads} 时与逐头计算的最大差 {num(r.split_error)}；单头的最大差 "
            f"{num(r.one_head_error)}；参数个数 {params}"
        )
    return (
        f"largest difference from {r.num_heads} separate heads {num(r.split_error)}; one head "
        f"against single-head attention {num(r.one_head_error)}; parameters {params}"
    )


def _holds_10(r):
    return (
        r.split_error < 1e-12
        and r.one_head_error < 1e-12
        and len(r.parameters) >= 3
        and len(set(r.parameters.values())) == 1
    )


def _fig_11(r, lang):
    if lang == "zh":
        return (
            f"无位置信息时置换的最大误差 {num(r.equivariance_error)}（加上位置编码后变化 "
            f"{num(r.with_positions_change)}）；PE(pos+k) 与旋转 M_k PE(pos) 的最大差 "
            f"{num(r.rotation_error)}；点积随 pos 的最大波动 {num(r.offset_spread)}"
        )
    return (
        f"permutation error without positions {num(r.equivariance_error)} (with positions "
        f"added: {num(r.with_positions_change)}); largest difference between PE(pos+k) and "
        f"the rotation M_k PE(pos) {num(r.rotation_error)}; largest spread of the dot product "
        f"over pos {num(r.offset_spread)}"
    )


def _holds_11(r):
    return (
        r.equivariance_error < 1e-12
        and r.with_positions_change > 1e-3
        and r.rotation_error < 1e-9
        and r.orthogonality_error < 1e-12
        and r.offset_spread < 1e-9
    )


def _fig_12(r, lang):
    if lang == "zh":
        return (
            f"输出 t 对 t 之后输入的最大梯度 {num(r.causal_leak)}（无掩码时 "
            f"{num(r.unmasked_leak)}）；对之前输入的最小梯度 {num(r.causal_dependence)}；"
            f"填充使真实词元输出的最大变化 {num(r.padding_change)}"
        )
    return (
        f"largest gradient of output t with respect to inputs after t {num(r.causal_leak)} "
        f"(without the mask {num(r.unmasked_leak)}); smallest with respect to inputs up to t "
        f"{num(r.causal_dependence)}; largest change of real tokens under padding "
        f"{num(r.padding_change)}"
    )


def _holds_12(r):
    return (
        r.causal_leak == 0.0
        and r.causal_dependence > 1e-6
        and r.unmasked_leak > 1e-3
        and r.padding_change < 1e-12
    )


def _fig_13(r, lang):
    if lang == "zh":
        return (
            f"目标 {_shape(r.target_shape)}，源 {_shape(r.source_shape)} → 权重 "
            f"{_shape(r.weights_shape)}，输出 {_shape(r.out_shape)}；行和误差 "
            f"{num(r.row_sum_error)}"
        )
    return (
        f"target {_shape(r.target_shape)}, source {_shape(r.source_shape)} → weights "
        f"{_shape(r.weights_shape)}, output {_shape(r.out_shape)}; row-sum error "
        f"{num(r.row_sum_error)}"
    )


def _holds_13(r):
    seq_q, d_model = r.target_shape
    seq_k = r.source_shape[0]
    return (
        seq_q != seq_k
        and r.weights_shape[-2:] == (seq_q, seq_k)
        and r.out_shape == (seq_q, d_model)
        and r.row_sum_error < 1e-12
        and r.target_isolation < 1e-12
    )


def _fig_14(r, lang):
    gumbel = ", ".join(
        f"τ = {t:g}: {num(d)}" for t, d in zip(r.taus, r.gumbel_distance, strict=True)
    )
    n, w = r.seq, r.window
    if lang == "zh":
        hard = "是" if r.hard_is_argmax_one_hot else "否"
        return (
            f"硬注意力权重等于 argmax 的独热向量：{hard}；"
            f"Gumbel-softmax 与独热向量的平均 L1 距离 {gumbel}；"
            f"局部注意力与带状掩码全局注意力的最大差 {num(r.local_error)}，n = {n}、"
            f"w = {w} 时计算 {r.band_entries} 个分数，n(2w+1) = {n * (2 * w + 1)}，"
            f"n² = {r.full_entries}"
        )
    hard = "yes" if r.hard_is_argmax_one_hot else "no"
    return (
        f"hard weights equal the argmax one-hot: {hard}; mean L1 distance of Gumbel-softmax "
        f"weights to one-hot {gumbel}; local against banded global attention "
        f"{num(r.local_error)}, scoring {r.band_entries} pairs for n = {n}, w = {w} "
        f"(n(2w+1) = {n * (2 * w + 1)}, n² = {r.full_entries})"
    )


def _holds_14(r):
    d = r.gumbel_distance
    return (
        r.hard_is_argmax_one_hot
        and r.hard_out_error < 1e-12
        and all(a > b for a, b in pairwise(d))
        and d[-1] < 0.05
        and r.local_error < 1e-12
        and r.band_entries <= r.seq * (2 * r.window + 1) < r.full_entries
    )


def _fig_15(r, lang):
    errors = ", ".join(f"{k} {num(v)}" for k, v in r.max_error.items())
    if lang == "zh":
        return f"与 nn.TransformerEncoderLayer（float64）的最大差：{errors}"
    return f"largest difference from nn.TransformerEncoderLayer (float64): {errors}"


def _holds_15(r):
    return len(r.max_error) >= 2 and max(r.max_error.values()) < 1e-10


def _fig_16(r, lang):
    if lang == "zh":
        return (
            f"同一句子的输出变化：层归一化为 {num(r.layer_norm_batch_change)}（换批次）、"
            f"{num(r.layer_norm_padding_change)}（加填充）；批归一化为 "
            f"{num(r.batch_norm_batch_change)}（换批次）、{num(r.batch_norm_padding_change)}（加填充）"
        )
    return (
        f"change of one sentence's output: LayerNorm {num(r.layer_norm_batch_change)} (batch), "
        f"{num(r.layer_norm_padding_change)} (padding); BatchNorm "
        f"{num(r.batch_norm_batch_change)} (batch), {num(r.batch_norm_padding_change)} "
        f"(padding)"
    )


def _holds_16(r):
    return (
        r.layer_norm_batch_change < 1e-12
        and r.layer_norm_padding_change < 1e-12
        and r.batch_norm_batch_change > 0.1
        and r.batch_norm_padding_change > 0.1
    )


def _fig_17(r, lang):
    if lang == "zh":
        return (
            f"预测 {r.steps} 个词元：教师强制错 {r.teacher_forced_errors} 个，自由运行错 "
            f"{r.free_running_errors} 个（从第 {r.first_error} 个起全部错误）"
        )
    return (
        f"{r.steps} predicted tokens: {r.teacher_forced_errors} wrong under teacher forcing, "
        f"{r.free_running_errors} wrong in free running (every token from position "
        f"{r.first_error} on)"
    )


def _holds_17(r):
    return (
        0 < r.teacher_forced_errors < r.free_running_errors
        and r.free_running_errors == r.steps - r.first_error + 1
    )


def _fig_18(r, lang):
    shapes = ", ".join(f"{k} {_shape(v)}" for k, v in r.shapes.items())
    return shapes


def _holds_18(r):
    n = r.shapes["x"][0]
    return (
        r.shapes["scores"] == (n, n)
        and r.shapes["weights"] == (n, n)
        and r.shapes["out"] == (n, r.shapes["v"][1])
        and r.row_sum_error < 1e-12
    )


CLAIMS = [
    Claim(
        key=1,
        title={"en": "N vectors in, N vectors out", "zh": "输入 N 个向量，输出 N 个向量"},
        statement={
            "en": "Self-attention returns one output per input, and every output depends on every "
            "input: nudging any single input moves all outputs.",
            "zh": "自注意力为每个输入给出一个输出，而且每个输出都依赖全部输入：任意扰动一个输入，"
            "所有输出都会改变。",
        },
        measure=_call("self_attention_io"),
        holds=_holds_1,
        figure=_fig_1,
        test=_t("test_row_01_n_in_n_out_all_connected"),
        page="what-is-self-attention",
    ),
    Claim(
        key=2,
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
        measure=_call("sequential_cost"),
        holds=_holds_2,
        figure=_fig_2,
        test=_t("test_row_02_path_lengths_and_steps"),
        page="what-is-self-attention",
    ),
    Claim(
        key=3,
        title={
            "en": "Every score function; parameter-free ones cannot learn",
            "zh": "所有分数函数；无参数的相似度无法学习",
        },
        statement={
            "en": "Dot product, scaled dot product, cosine, additive and bilinear scores each "
            "match their formula; the first three take no parameters, so training has "
            "nothing to adjust in them.",
            "zh": "点积、缩放点积、余弦、加性和双线性分数都与各自的公式一致；前三者没有参数，"
            "训练时没有可调整的东西。",
        },
        measure=_call("score_functions"),
        holds=_holds_3,
        figure=_fig_3,
        test=_t("test_row_03_score_functions_and_parameters"),
        page="scores",
    ),
    Claim(
        key=4,
        title={"en": "Hard lookup is the limit of soft lookup", "zh": "硬查找是软查找的极限"},
        statement={
            "en": "As the scores are multiplied by a growing factor c, the soft key-value lookup "
            "returns the value stored under the best-matching key, exactly what a hard "
            "lookup returns.",
            "zh": "把分数乘以越来越大的因子 c，软的键值查找就返回最匹配的键所存的值，"
            "正是硬查找的结果。",
        },
        measure=_call("soft_lookup_limit"),
        holds=_holds_4,
        figure=_fig_4,
        test=_t("test_row_04_soft_lookup_tends_to_hard"),
        page="query-key-value",
    ),
    Claim(
        key=5,
        title={"en": "Softmax gives weights, stably", "zh": "softmax 稳定地给出权重"},
        statement={
            "en": "Softmax rows are non-negative and sum to 1, adding the same number to every "
            "score of a row changes nothing, and logits of ±1e4 in float32 give finite "
            "weights.",
            "zh": "softmax 的每一行非负且和为 1；给一行的所有分数加上同一个数，结果不变；"
            "float32 下 ±1e4 的 logits 仍给出有限的权重。",
        },
        measure=_call("softmax_properties"),
        holds=_holds_5,
        figure=_fig_5,
        test=_t("test_row_05_softmax_rows_shift_and_huge_logits"),
        page="softmax",
    ),
    Claim(
        key=6,
        title={
            "en": "The per-query loop equals the matrix form",
            "zh": "逐个查询的循环等于矩阵形式",
        },
        statement={
            "en": "Computing $b^i = \\sum_j \\alpha'_{i,j} v^j$ one query at a time gives the same "
            "outputs and weights as the matrix form.",
            "zh": "逐个查询计算 $b^i = \\sum_j \\alpha'_{i,j} v^j$，"
            "得到的输出和权重与矩阵形式相同。",
        },
        measure=_call("loop_equals_matrix"),
        holds=_holds_6,
        figure=_fig_6,
        test=_t("test_row_06_loop_equals_matrix"),
        page="softmax",
    ),
    Claim(
        key=7,
        title={
            "en": "Columns or rows: the same attention, transposed",
            "zh": "列或行：同一个注意力，只差转置",
        },
        statement={
            "en": "The notes' column convention $O = V\\,\\mathrm{softmax}(K^\\top Q)$ equals the "
            "paper's row convention $\\mathrm{softmax}(Q K^\\top) V$, transposed.",
            "zh": "笔记中的列约定 $O = V\\,\\mathrm{softmax}(K^\\top Q)$ 等于论文的行约定 "
            "$\\mathrm{softmax}(Q K^\\top) V$ 的转置。",
        },
        measure=_call("columns_equal_rows"),
        holds=_holds_7,
        figure=_fig_7,
        test=_t("test_row_07_columns_equal_rows_transposed"),
        page="matrix-form",
    ),
    Claim(
        key=8,
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
        measure=_call("scaling_effect"),
        holds=_holds_8,
        figure=_fig_8,
        test=_t("test_row_08_scaling_keeps_jacobian"),
        page="scaling",
    ),
    Claim(
        key=9,
        title={
            "en": "Shared W^q = W^k: symmetric scores, attention to oneself",
            "zh": "共享 W^q = W^k：分数对称，注意力集中在自身",
        },
        statement={
            "en": "With one matrix for queries and keys the score matrix is symmetric and, at "
            "random initialisation, each token puts almost all its weight on itself; with "
            "separate matrices the self-weight is close to 1/n.",
            "zh": "查询和键共用一个矩阵时，分数矩阵是对称的，"
            "而且在随机初始化下每个词元几乎把全部权重放在自己身上；"
            "用不同的矩阵时，自身权重接近 1/n。",
        },
        measure=_call("shared_projection_effect"),
        holds=_holds_9,
        figure=_fig_9,
        test=_t("test_row_09_shared_projection_symmetric_and_self_attending"),
        page="three-projections",
    ),
    Claim(
        key=10,
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
        measure=_call("multi_head_decomposition"),
        holds=_holds_10,
        figure=_fig_10,
        test=_t("test_row_10_multi_head_is_heads_concatenated"),
        page="multi-head",
    ),
    Claim(
        key=11,
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
        measure=_call("positional_properties"),
        holds=_holds_11,
        figure=_fig_11,
        test=_t("test_row_11_positions_equivariance_rotation_offset"),
        page="positional-encoding",
    ),
    Claim(
        key=12,
        title={"en": "Masks: no future, no padding", "zh": "掩码：看不到未来，也看不到填充"},
        statement={
            "en": "Under a causal mask the gradient of output t with respect to every input after "
            "t is exactly 0; with a padding mask the real tokens' outputs do not change.",
            "zh": "使用因果掩码时，输出 t 对 t 之后每个输入的梯度恰好为 0；使用填充掩码时，"
            "真实词元的输出不变。",
        },
        measure=_call("mask_properties"),
        holds=_holds_12,
        figure=_fig_12,
        test=_t("test_row_12_causal_gradient_and_padding"),
        page="masks",
    ),
    Claim(
        key=13,
        title={"en": "Cross-attention with seq_q ≠ seq_k", "zh": "seq_q ≠ seq_k 的交叉注意力"},
        statement={
            "en": "Queries from the target and keys and values from the source give a "
            "seq_q × seq_k weight matrix and one output per target token.",
            "zh": "查询来自目标序列、键和值来自源序列时，权重矩阵为 seq_q × seq_k，"
            "每个目标词元得到一个输出。",
        },
        measure=_call("cross_attention_shapes"),
        holds=_holds_13,
        figure=_fig_13,
        test=_t("test_row_13_cross_attention_shapes"),
        page="self-vs-cross",
    ),
    Claim(
        key=14,
        title={
            "en": "Hard, Gumbel-softmax and local attention",
            "zh": "硬注意力、Gumbel-softmax 与局部注意力",
        },
        statement={
            "en": "Hard attention is the one-hot of the argmax; Gumbel-softmax weights approach "
            "one-hot as τ → 0; local attention equals global attention with a band mask "
            "and scores only about n(2w+1) of the n² pairs.",
            "zh": "硬注意力是 argmax 的独热向量；τ → 0 时 Gumbel-softmax 的权重趋于独热；"
            "局部注意力等于加了带状掩码的全局注意力，只计算 n² 对中约 n(2w+1) 对的分数。",
        },
        measure=_call("soft_hard_local"),
        holds=_holds_14,
        figure=_fig_14,
        test=_t("test_row_14_hard_gumbel_local"),
        page="soft-hard-local",
    ),
    Claim(
        key=15,
        title={"en": "Our encoder layer = PyTorch's", "zh": "我们的编码器层 = PyTorch 的"},
        statement={
            "en": "With the same weights, our encoder layer gives the same output as PyTorch's own "
            "`nn.TransformerEncoderLayer`, post-LN and pre-LN.",
            "zh": "权重相同时，我们的编码器层与 PyTorch 自带的 `nn.TransformerEncoderLayer` "
            "输出相同，post-LN 与 pre-LN 皆然。",
        },
        measure=_call("encoder_layer_vs_pytorch"),
        holds=_holds_15,
        figure=_fig_15,
        test=_t("test_row_15_encoder_layer_equals_pytorch"),
        page="transformer",
    ),
    Claim(
        key=16,
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
        measure=_call("norm_independence"),
        holds=_holds_16,
        figure=_fig_16,
        test=_t("test_row_16_layer_norm_ignores_batch"),
        page="layernorm-vs-batchnorm",
    ),
    Claim(
        key=17,
        title={
            "en": "One wrong step: teacher forcing versus free running",
            "zh": "一步出错：教师强制与自由运行",
        },
        statement={
            "en": "A toy model that counts modulo 8 but gets one successor wrong: fed the true "
            "previous token (teacher forcing) it errs only where that token appears; fed its "
            "own outputs (free running) every token after its first mistake is wrong.",
            "zh": "一个对 8 取模计数、但有一个后继算错的玩具模型："
            "输入真实的前一个词元（教师强制）时，只在那个词元出现处出错；"
            "输入自己的输出（自由运行）时，第一次出错之后的每个词元都错。",
        },
        measure=_call("teacher_forcing_toy"),
        holds=_holds_17,
        figure=_fig_17,
        test=_t("test_row_17_free_running_compounds_errors"),
        page="teacher-forcing",
    ),
    Claim(
        key=18,
        title={"en": "Six tokens, a 6 × 6 score matrix", "zh": "六个词元，6 × 6 的分数矩阵"},
        statement={
            "en": "For n tokens the scores and the weights are n × n whatever the widths; the "
            "output has one refined row per token.",
            "zh": "对 n 个词元，无论向量多宽，分数和权重都是 n × n；输出为每个词元给出一行"
            "经过“提纯”的向量。",
        },
        measure=_call("score_matrix_shapes"),
        holds=_holds_18,
        figure=_fig_18,
        test=_t("test_row_18_score_matrix_shapes"),
        page="matrix-form",
    ),
]

for _claim in CLAIMS:
    register(_claim)

# Named claims beyond the syllabus rows, measured by their page's figure module.
from qkvdocs.figures.cost import TILED_CLAIM  # noqa: E402

register(Claim(**TILED_CLAIM))
