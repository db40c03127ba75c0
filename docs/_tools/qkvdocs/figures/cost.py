"""Figures and the live check of the page "The cost of attention" (concepts/cost).

- `cost-time`: forward time against sequence length, naive versus tiled attention, read from the
  saved benchmark results `benchmarks/results/cpu.json` (written by `python -m benchmarks.run`).
- `cost-memory`: peak extra memory against sequence length from the same file, with the size of
  the float32 score matrix, $4 n^2$ bytes, for comparison.
- `cost-mha`: a table of the multi-head attention timings and the ratios against PyTorch's own
  modules, from the same file.
- `cost-backward-time`, `cost-backward-memory`: time and peak extra memory of one forward and
  backward pass against sequence length (autograd through the naive formula, the tiled backward
  pass, `F.scaled_dot_product_attention`), from the same file.
- `cost-gpu`: registered only when `benchmarks/results/gpu.json` exists (written by
  `python -m benchmarks.gpu` on a CUDA machine): tiled attention against
  `F.scaled_dot_product_attention` on that GPU, labelled with its name. Place it on the page with
  `[[figure: cost-gpu]]` once such a file is saved.
- `tiled_check()`: the claim "tiled-equals-full" (measured at build time, not read from a
  file): tiled attention equals the one-shot formula in both backends, and causal tiling visits
  fewer tiles.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path

import numpy as np
import qkv.numpy as qnp
from qkv.numpy import tiled as numpy_tiled

from ..checks import claim
from ..svg import new_figure, to_svg
from . import Figure, figure

RESULTS = Path(__file__).resolve().parents[4] / "benchmarks" / "results" / "cpu.json"
GPU_RESULTS = RESULTS.with_name("gpu.json")
MIB = 2**20

# the curves of the time and memory plots: key in the results, label, colour, line style
CURVES = {
    "en": [
        ("numpy_naive", "NumPy, naive", "C0", "-"),
        ("numpy_tiled", "NumPy, tiled", "C0", "--"),
        ("numpy_tiled_causal", "NumPy, tiled, causal", "C0", ":"),
        ("torch_naive", "PyTorch, naive", "C1", "-"),
        ("torch_tiled", "PyTorch, tiled", "C1", "--"),
        ("f_sdpa", "F.scaled_dot_product_attention", "C2", "-"),
    ],
    "zh": [
        ("numpy_naive", "NumPy，朴素", "C0", "-"),
        ("numpy_tiled", "NumPy，分块", "C0", "--"),
        ("numpy_tiled_causal", "NumPy，分块，因果", "C0", ":"),
        ("torch_naive", "PyTorch，朴素", "C1", "-"),
        ("torch_tiled", "PyTorch，分块", "C1", "--"),
        ("f_sdpa", "F.scaled_dot_product_attention", "C2", "-"),
    ],
}
# the curves of the forward-and-backward plots
BACKWARD_CURVES = {
    "en": [
        ("torch_naive_fwd_bwd", "PyTorch, autograd through the naive formula", "C1", "-"),
        ("torch_tiled_fwd_bwd", "PyTorch, tiled backward", "C1", "--"),
        ("numpy_tiled_backward", "NumPy, tiled backward", "C0", "--"),
        ("f_sdpa_fwd_bwd", "F.scaled_dot_product_attention", "C2", "-"),
    ],
    "zh": [
        ("torch_naive_fwd_bwd", "PyTorch，对朴素公式自动求导", "C1", "-"),
        ("torch_tiled_fwd_bwd", "PyTorch，分块反向传播", "C1", "--"),
        ("numpy_tiled_backward", "NumPy，分块反向传播", "C0", "--"),
        ("f_sdpa_fwd_bwd", "F.scaled_dot_product_attention", "C2", "-"),
    ],
}

TEXT = {
    "en": {
        "seq": "sequence length n (one head, d = 64)",
        "time": "forward time (ms)",
        "memory": "peak extra memory (MiB)",
        "scores": "float32 scores alone, 4n² bytes",
        "extrapolated": "naive, not run (n² from the largest run)",
        "machine": "Measured on {cpu}, {cores} cores, PyTorch {torch}, NumPy {numpy}, {date}; "
        "load average at start {load}.",
        "time_caption": "Forward time of one attention head against the sequence length, median of "
        "the saved benchmark run (log-log axes). Naive and tiled attention both do O(n²·d) "
        "work, so their curves rise with slope 2; causal tiling skips the tiles above the "
        "diagonal and does about half of it. Time of PyTorch's tiled version divided by that of "
        "F.scaled_dot_product_attention, median of three calls of each made back to back: "
        "{ratios}. {machine}",
        "ratio_at": "{ratio:.2f} at n = {seq}",
        "time_alt": "Log-log plot of time in milliseconds against sequence length from {lo} to "
        "{hi}; every curve rises roughly fourfold per doubling of n.",
        "memory_caption": "Peak extra memory of the same calls. The naive version holds the "
        "n × n score matrix (and its softmax), so its memory grows as n²; tiled attention holds "
        "one tile and the output, so it grows as n. NumPy is measured with tracemalloc, PyTorch "
        "on the CPU as the growth of a fresh process's peak resident set (values under 1 MiB "
        "are drawn at 1 MiB, the resolution of that method). {machine}",
        "memory_alt": "Log-log plot of peak memory in MiB against sequence length: the naive "
        "curves and the score-matrix line rise with slope 2, the tiled curves stay low and "
        "rise with slope 1.",
        "mha_caption": "Multi-head attention forward (batch {batch}, d_model {d_model}, {heads} "
        "heads, self-attention, inference mode): median milliseconds, then the ratios of the "
        "medians measured in the same run (below 1: the first is faster). {machine}",
        "mha_alt": "Table of timings per implementation and sequence length, and of ratios.",
        "implementation": "implementation",
        "ratio": "ratio",
        "seq_col": "seq {seq}",
        "backward_time": "forward + backward time (ms)",
        "backward_time_caption": "Time of one forward and backward pass (the output and the "
        "gradients with respect to Q, K and V) against the sequence length, median of the "
        "saved run (log-log axes). The backward pass does about twice the work of the forward "
        "pass; the tiled one recomputes the scores as well. Time of PyTorch's tiled version "
        "divided by that of F.scaled_dot_product_attention's forward and backward pass, median "
        "of three pairs of calls made back to back: {ratios}. {machine}",
        "backward_time_alt": "Log-log plot of forward-and-backward time in milliseconds against "
        "sequence length from {lo} to {hi}; every curve rises roughly fourfold per doubling.",
        "backward_memory_caption": "Peak extra memory of the same forward and backward passes. "
        "Autograd through the naive formula keeps the n × n weights for the backward pass "
        "(at n = {seq}: {naive:.0f} MiB); the tiled backward pass keeps the output and one "
        "log-sum-exp per row and recomputes the tiles ({tiled:.1f} MiB); "
        "F.scaled_dot_product_attention does the same inside its fused kernel ({sdpa:.1f} MiB). "
        "PyTorch measured as the growth of a fresh process's peak resident set, NumPy with "
        "tracemalloc; values under 1 MiB are drawn at 1 MiB. {machine}",
        "backward_memory_alt": "Log-log plot of peak memory in MiB against sequence length: the "
        "naive autograd curve and the score-matrix line rise with slope 2, the tiled and SDPA "
        "curves stay low.",
        "gpu_time": "time (ms)",
        "gpu_seq": "sequence length n (one head, d = 64)",
        "gpu_forward": "{dtype}, forward",
        "gpu_both": "{dtype}, forward + backward",
        "gpu_caption": "On the GPU {gpu}: time of PyTorch's tiled attention divided by that of "
        "F.scaled_dot_product_attention, measured in the same run, forward alone and forward "
        "with backward (log scale; 1 means as fast). CUDA {cuda}, PyTorch {torch}, {date}.",
        "gpu_alt": "Plot of time ratios against sequence length for float16 and bfloat16.",
        "gpu_ratio": "tiled / F.scaled_dot_product_attention",
    },
    "zh": {
        "seq": "序列长度 n（单头，d = 64）",
        "time": "前向时间（毫秒）",
        "memory": "峰值额外内存（MiB）",
        "scores": "仅 float32 分数矩阵，4n² 字节",
        "extrapolated": "朴素，未运行（按 n² 从最大一次外推）",
        "machine": "测量环境：{cpu}，{cores} 核，PyTorch {torch}，NumPy {numpy}，{date}；"
        "开始时负载均值 {load}。",
        "time_caption": "单个注意力头的前向时间随序列长度的变化，取保存的基准测试运行的中位数"
        "（双对数坐标）。朴素实现和分块实现的计算量都是 O(n²·d)，所以曲线斜率都约为 2；"
        "因果分块跳过对角线上方的块，只做约一半的工作。PyTorch 分块版本与 "
        "F.scaled_dot_product_attention 的时间之比，取三对紧挨着运行的调用的中位数：{ratios}。"
        "{machine}",
        "ratio_at": "{ratio:.2f}（n = {seq}）",
        "time_alt": "双对数图：纵轴为毫秒，横轴为序列长度，从 {lo} 到 {hi}；n 每翻一倍，"
        "每条曲线约升高四倍。",
        "memory_caption": "同样这些调用的峰值额外内存。朴素实现要保存 n × n 的分数矩阵"
        "（以及它的 softmax），内存按 n² 增长；分块注意力只保存一个块和输出，内存按 n 增长。"
        "NumPy 用 tracemalloc 测量；PyTorch（CPU）用一个新进程峰值常驻内存的增量测量"
        "（小于 1 MiB 的值画在 1 MiB，这是该方法的分辨率）。{machine}",
        "memory_alt": "双对数图：纵轴为峰值内存（MiB），横轴为序列长度；朴素实现的曲线和分数"
        "矩阵的参考线斜率为 2，分块实现的曲线位置很低、斜率为 1。",
        "mha_caption": "多头注意力前向（批次大小 {batch}，d_model {d_model}，{heads} 个头，"
        "自注意力，推理模式）：中位数毫秒，以及同一次运行中测得的中位数之比"
        "（小于 1 表示前者更快）。{machine}",
        "mha_alt": "表格：各实现在各序列长度下的耗时，以及比值。",
        "implementation": "实现",
        "ratio": "比值",
        "seq_col": "seq {seq}",
        "backward_time": "前向 + 反向时间（毫秒）",
        "backward_time_caption": "一次前向加反向传播（输出以及对 Q、K、V 的梯度）的时间随序列长度的"
        "变化，取保存的运行的中位数（双对数坐标）。反向传播的计算量约为前向的两倍，分块版本还要重算"
        "分数。PyTorch 分块版本与 F.scaled_dot_product_attention 前向加反向的时间之比，"
        "取三对紧挨着运行的调用的中位数：{ratios}。{machine}",
        "backward_time_alt": "双对数图：纵轴为前向加反向的毫秒数，横轴为序列长度，从 {lo} 到 {hi}；"
        "n 每翻一倍，每条曲线约升高四倍。",
        "backward_memory_caption": "同样这些前向加反向传播的峰值额外内存。"
        "对朴素公式自动求导要为反向传播保存 n × n 的权重（n = {seq} 时为 {naive:.0f} MiB）；"
        "分块反向传播只保存输出和每行一个"
        " log-sum-exp，再逐块重算（{tiled:.1f} MiB）；F.scaled_dot_product_attention 在它的融合内核"
        "里做同样的事（{sdpa:.1f} MiB）。PyTorch 用一个新进程峰值常驻内存的增量测量，NumPy 用 "
        "tracemalloc；小于 1 MiB 的值画在 1 MiB。{machine}",
        "backward_memory_alt": "双对数图：纵轴为峰值内存（MiB），横轴为序列长度；朴素自动求导的曲线"
        "和分数矩阵的参考线斜率为 2，分块和 SDPA 的曲线位置很低。",
        "gpu_time": "时间（毫秒）",
        "gpu_seq": "序列长度 n（单头，d = 64）",
        "gpu_forward": "{dtype}，前向",
        "gpu_both": "{dtype}，前向 + 反向",
        "gpu_caption": "在 GPU {gpu} 上：PyTorch 分块注意力的时间除以 "
        "F.scaled_dot_product_attention 的时间，在同一次运行中测得，分别为只做前向和前向加反向"
        "（对数坐标；1 表示一样快）。"
        "CUDA {cuda}，PyTorch {torch}，{date}。",
        "gpu_alt": "图：float16 和 bfloat16 下时间比值随序列长度的变化。",
        "gpu_ratio": "分块 / F.scaled_dot_product_attention",
    },
}

MHA_LABELS = {
    "numpy_weights": "qkv.numpy, need_weights=True",
    "numpy_no_weights": "qkv.numpy, need_weights=False",
    "qkv_torch_weights": "qkv.torch, need_weights=True",
    "qkv_torch_no_weights": "qkv.torch, need_weights=False",
    "nn_mha_weights": "nn.MultiheadAttention, need_weights=True, average_attn_weights=False",
    "nn_mha_no_weights": "nn.MultiheadAttention, need_weights=False",
    "f_sdpa": "F.scaled_dot_product_attention",
}


@cache
def load_results(path: str = str(RESULTS)) -> dict:
    """The saved CPU benchmark results (see `benchmarks/run.py`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def machine_sentence(results: dict, lang: str, part: str | None = None) -> str:
    """One sentence naming the machine and the date of the run (of `part`, when the saved file
    merges parts measured in different runs), in `lang`."""
    m = results.get(part, {}).get("machine", results["machine"]) if part else results["machine"]
    return TEXT[lang]["machine"].format(
        cpu=m["cpu_model"],
        cores=m["cpu_count"],
        torch=m["torch"],
        numpy=m["numpy"],
        date=m["date_utc"][:10],
        load=", ".join(f"{x:.1f}" for x in m["loadavg_start"]),
    )


def series(
    results: dict, key: str, field: str, part: str = "tiled"
) -> tuple[np.ndarray, np.ndarray]:
    """(seq, value) of one case of a benchmark part, for the rows where it was measured."""
    rows = [r for r in results[part]["rows"] if key in r[field]]
    return np.array([r["seq"] for r in rows]), np.array([r[field][key] for r in rows])


def _loglog(ax, xlabel: str, ylabel: str, seqs: np.ndarray) -> None:
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(seqs, [str(s) for s in seqs])
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


def ratios_text(results: dict, part: str, ratio: str, lang: str, last: int = 2) -> str:
    """The ratio `ratio` of the last `last` rows of `part`, from back-to-back pairs of calls,
    e.g. "1.21 at n = 16384, 1.18 at n = 32768"."""
    field = "paired_ratios"  # the median of back-to-back pairs, robust to a changing load
    rows = [r for r in results[part]["rows"] if ratio in r.get(field, {})][-last:]
    sep = "、" if lang == "zh" else ", "
    return sep.join(
        TEXT[lang]["ratio_at"].format(ratio=r[field][ratio], seq=r["seq"]) for r in rows
    )


def _finish(fig, name: str) -> str:
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
    return to_svg(fig, name)


@figure("cost-time")
def draw_time(lang: str) -> Figure:
    """Time against sequence length, naive versus tiled."""
    t, results = TEXT[lang], load_results()
    seqs = np.array([r["seq"] for r in results["tiled"]["rows"]])
    fig, ax = new_figure(6.4, 4.0)
    for key, label, colour, style in CURVES[lang]:
        x, y = series(results, key, "median_ms")
        if len(x):
            ax.plot(x, y, style, color=colour, marker="o", markersize=3, label=label)
    _loglog(ax, t["seq"], t["time"], seqs)
    ax.legend(fontsize=8, frameon=False)
    caption = t["time_caption"].format(
        machine=machine_sentence(results, lang, "tiled"),
        ratios=ratios_text(results, "tiled", "torch_tiled / f_sdpa", lang),
    )
    alt = t["time_alt"].format(lo=seqs.min(), hi=seqs.max())
    return Figure(svg=_finish(fig, "cost-time"), caption=caption, alt=alt)


@figure("cost-memory")
def draw_memory(lang: str) -> Figure:
    """Peak extra memory against sequence length, with the n x n float32 score matrix."""
    t, results = TEXT[lang], load_results()
    seqs = np.array([r["seq"] for r in results["tiled"]["rows"]])
    fig, ax = new_figure(6.4, 4.0)
    ax.plot(
        seqs,
        4.0 * seqs.astype(float) ** 2 / MIB,
        color="0.6",
        linewidth=4,
        alpha=0.4,
        label=t["scores"],
    )
    for key, label, colour, style in CURVES[lang]:
        x, y = series(results, key, "peak_mib")
        if len(x):
            ax.plot(
                x, np.maximum(y, 1.0), style, color=colour, marker="o", markersize=3, label=label
            )
        rows = [r for r in results["tiled"]["rows"] if key in r.get("peak_mib_extrapolated", {})]
        if rows and len(x):
            ex = [x[-1]] + [r["seq"] for r in rows]
            ey = [y[-1]] + [r["peak_mib_extrapolated"][key] for r in rows]
            ax.plot(ex, ey, ":", color=colour, marker="x", markersize=4)
    ax.plot([], [], ":", color="0.3", marker="x", markersize=4, label=t["extrapolated"])
    _loglog(ax, t["seq"], t["memory"], seqs)
    ax.legend(fontsize=7.5, frameon=False)
    caption = t["memory_caption"].format(machine=machine_sentence(results, lang, "tiled"))
    return Figure(svg=_finish(fig, "cost-memory"), caption=caption, alt=t["memory_alt"])


@figure("cost-mha")
def draw_mha(lang: str) -> Figure:
    """HTML table: multi-head attention timings and the ratios measured in the same run."""
    t, results = TEXT[lang], load_results()
    mha = results["mha"]
    seqs = [row["seq"] for row in mha["rows"]]
    head = "".join(f"<th>{escape(t['seq_col'].format(seq=s))}</th>" for s in seqs)
    body = []
    for key, label in MHA_LABELS.items():
        if key in mha["rows"][0]["median_ms"]:
            cells = "".join(f"<td>{row['median_ms'][key]:.2f}</td>" for row in mha["rows"])
            body.append(f"<tr><td><code>{escape(label)}</code></td>{cells}</tr>")
    ratios = []
    for name in mha["rows"][0]["ratios"]:
        cells = "".join(f"<td>{row['ratios'][name]:.2f}</td>" for row in mha["rows"])
        ratios.append(f"<tr><td><code>{escape(name)}</code></td>{cells}</tr>")
    html = (
        '<table class="qkv-table">'
        f"<thead><tr><th>{escape(t['implementation'])}</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
        '<table class="qkv-table">'
        f"<thead><tr><th>{escape(t['ratio'])}</th>{head}</tr></thead>"
        f"<tbody>{''.join(ratios)}</tbody></table>"
    )
    caption = t["mha_caption"].format(
        batch=mha["batch"],
        d_model=mha["d_model"],
        heads=mha["heads"],
        machine=machine_sentence(results, lang, "mha"),
    )
    return Figure(svg=html, caption=caption, alt=t["mha_alt"])


@figure("cost-backward-time")
def draw_backward_time(lang: str) -> Figure:
    """Forward-and-backward time against sequence length."""
    t, results = TEXT[lang], load_results()
    seqs = np.array([r["seq"] for r in results["backward"]["rows"]])
    fig, ax = new_figure(6.4, 4.0)
    for key, label, colour, style in BACKWARD_CURVES[lang]:
        x, y = series(results, key, "median_ms", "backward")
        if len(x):
            ax.plot(x, y, style, color=colour, marker="o", markersize=3, label=label)
    _loglog(ax, t["seq"], t["backward_time"], seqs)
    ax.legend(fontsize=8, frameon=False)
    caption = t["backward_time_caption"].format(
        machine=machine_sentence(results, lang, "backward"),
        ratios=ratios_text(
            results, "backward", "torch_tiled_fwd_bwd / f_sdpa_fwd_bwd", lang, last=2
        ),
    )
    alt = t["backward_time_alt"].format(lo=seqs.min(), hi=seqs.max())
    return Figure(svg=_finish(fig, "cost-backward-time"), caption=caption, alt=alt)


@figure("cost-backward-memory")
def draw_backward_memory(lang: str) -> Figure:
    """Peak extra memory of forward and backward against sequence length."""
    t, results = TEXT[lang], load_results()
    seqs = np.array([r["seq"] for r in results["backward"]["rows"]])
    fig, ax = new_figure(6.4, 4.0)
    ax.plot(
        seqs,
        4.0 * seqs.astype(float) ** 2 / MIB,
        color="0.6",
        linewidth=4,
        alpha=0.4,
        label=t["scores"],
    )
    for key, label, colour, style in BACKWARD_CURVES[lang]:
        x, y = series(results, key, "peak_mib", "backward")
        if len(x):
            ax.plot(
                x, np.maximum(y, 1.0), style, color=colour, marker="o", markersize=3, label=label
            )
    _loglog(ax, t["seq"], t["memory"], seqs)
    ax.legend(fontsize=7.5, frameon=False)
    largest = results["backward"]["rows"][-1]
    caption = t["backward_memory_caption"].format(
        seq=largest["seq"],
        naive=largest["peak_mib"]["torch_naive_fwd_bwd"],
        tiled=largest["peak_mib"]["torch_tiled_fwd_bwd"],
        sdpa=largest["peak_mib"]["f_sdpa_fwd_bwd"],
        machine=machine_sentence(results, lang, "backward"),
    )
    return Figure(
        svg=_finish(fig, "cost-backward-memory"), caption=caption, alt=t["backward_memory_alt"]
    )


def draw_gpu(lang: str, path: Path = GPU_RESULTS) -> Figure:
    """Ratios tiled / SDPA on a GPU, forward and forward + backward, per dtype, from gpu.json."""
    t = TEXT[lang]
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    fig, ax = new_figure(6.4, 4.0)
    seqs: list[int] = []
    for (dtype, part), colour in zip(results["parts"].items(), ("C3", "C4"), strict=False):
        rows = part["tiled"]["rows"]
        seqs = [r["seq"] for r in rows]
        for ratio, style, label in (
            ("torch_tiled / f_sdpa", "-", t["gpu_forward"]),
            ("torch_tiled_fwd_bwd / f_sdpa_fwd_bwd", "--", t["gpu_both"]),
        ):
            values = [r["ratios"][ratio] for r in rows]
            ax.plot(
                seqs,
                values,
                style,
                color=colour,
                marker="o",
                markersize=3,
                label=label.format(dtype=dtype),
            )
    ax.axhline(1.0, color="0.5", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(seqs, [str(s) for s in seqs])
    ax.minorticks_off()
    ax.set_xlabel(t["gpu_seq"])
    ax.set_ylabel(t["gpu_ratio"])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    m = results["machine"]
    caption = t["gpu_caption"].format(
        gpu=m["gpu"], cuda=m.get("cuda", "?"), torch=m["torch"], date=m["date_utc"][:10]
    )
    return Figure(svg=_finish(fig, "cost-gpu"), caption=caption, alt=t["gpu_alt"])


if GPU_RESULTS.exists():  # drawn only from a saved GPU run (python -m benchmarks.gpu)
    figure("cost-gpu")(draw_gpu)


# ------------------------------------------------------------------------------------------------
# the claim "tiled": measured at build time


@dataclass(frozen=True)
class TiledCheck:
    """What `tiled_check` measured."""

    shape: tuple[int, ...]  # (batch, heads, seq, d_k) of query, key and value
    block_size: int
    max_diff_numpy: float  # max |tiled - naive| in float64, NumPy backend
    max_diff_torch: float  # the same for the PyTorch backend
    tiles_full: int  # tiles visited without is_causal
    tiles_causal: int  # tiles visited with is_causal
    scores_entries: int  # entries of one (seq, seq) score matrix, what the naive version holds
    tile_entries: int  # entries of one (block_size, block_size) tile

    @property
    def holds(self) -> bool:
        return tiled_check_holds(self)

    def shown(self, lang: str) -> str:
        return tiled_check_figure(self, lang)


def tiles_visited(seq_q: int, seq_k: int, block_size: int, is_causal: bool) -> int:
    """How many (query tile, key tile) pairs `tiled_attention` computes."""
    return sum(
        len(numpy_tiled._key_blocks(i0, min(i0 + block_size, seq_q), seq_k, block_size, is_causal))
        for i0 in range(0, seq_q, block_size)
    )


def tiled_check(
    batch: int = 2, heads: int = 4, seq: int = 300, d_k: int = 32, block_size: int = 64
) -> TiledCheck:
    """Tiled versus one-shot attention on a causal, padded batch (seq not a multiple of the
    block size), in float64, in both backends."""
    import qkv.torch as qt
    import torch

    rng = np.random.default_rng(0)
    query, key, value = rng.standard_normal((3, batch, heads, seq, d_k))
    lengths = np.array([seq, seq - 37])  # the second sequence ends in 37 padding tokens
    mask = qnp.padding_mask(lengths, seq)[:, None]  # (batch, 1, 1, seq_k)
    naive, _ = qnp.scaled_dot_product_attention(query, key, value, mask, is_causal=True)
    tiled = qnp.tiled_attention(query, key, value, mask, is_causal=True, block_size=block_size)
    tensors = [torch.from_numpy(a) for a in (query, key, value, mask)]
    naive_t, _ = qt.scaled_dot_product_attention(*tensors, is_causal=True)
    tiled_t = qt.tiled_attention(*tensors, is_causal=True, block_size=block_size)
    return TiledCheck(
        shape=(batch, heads, seq, d_k),
        block_size=block_size,
        max_diff_numpy=float(np.abs(tiled - naive).max()),
        max_diff_torch=float((tiled_t - naive_t).abs().max()),
        tiles_full=tiles_visited(seq, seq, block_size, False),
        tiles_causal=tiles_visited(seq, seq, block_size, True),
        scores_entries=seq * seq,
        tile_entries=block_size * block_size,
    )


def tiled_check_holds(r: TiledCheck) -> bool:
    """The claim: equal within 1e-10 in both backends, and causal tiling skips tiles."""
    return max(r.max_diff_numpy, r.max_diff_torch) < 1e-10 and r.tiles_causal < r.tiles_full


def tiled_check_figure(r: TiledCheck, lang: str) -> str:
    """The measured numbers, in `lang`."""
    shape = "(" + ", ".join(str(s) for s in r.shape) + ")"
    if lang == "zh":
        return (
            f"形状 {shape}，block_size {r.block_size}，因果 + 填充掩码：分块与朴素结果的最大差值为 "
            f"{r.max_diff_numpy:.1e}（NumPy），{r.max_diff_torch:.1e}（PyTorch）；"
            f"因果分块计算 {r.tiles_causal} 个块，不加因果为 {r.tiles_full} 个；"
            f"每次最多保存 {r.tile_entries} 个分数，朴素实现为 {r.scores_entries} 个"
        )
    return (
        f"shape {shape}, block_size {r.block_size}, causal + padding mask: largest difference "
        f"between tiled and naive: "
        f"{r.max_diff_numpy:.1e} (NumPy), {r.max_diff_torch:.1e} (PyTorch); causal tiling "
        f"computes {r.tiles_causal} tiles instead of {r.tiles_full}; at most {r.tile_entries} "
        f"scores held at a time instead of {r.scores_entries}"
    )


claim(
    "tiled-equals-full",
    title={
        "en": "Tiled attention equals the one-shot formula",
        "zh": "分块注意力等于一次性公式",
    },
    statement={
        "en": "Tiled attention with an online softmax returns the same output as "
        "softmax(QKᵀ/√d_k)V, in both backends, while holding one block_size × block_size tile "
        "of scores at a time; with is_causal it skips the tiles above the diagonal.",
        "zh": "带在线 softmax 的分块注意力在两个后端都给出与 softmax(QKᵀ/√d_k)V 相同的输出，"
        "而每次只保存一个 block_size × block_size 的分数块；加上 is_causal 时跳过对角线上方的块。",
    },
)(tiled_check)
