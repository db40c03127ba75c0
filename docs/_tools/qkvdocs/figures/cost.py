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
from . import Figure, figure
from ._cost_text import BACKWARD_CURVES, CURVES, MHA_LABELS, TEXT
from ._svg import new_figure, to_svg

RESULTS = Path(__file__).resolve().parents[4] / "benchmarks" / "results" / "cpu.json"
GPU_RESULTS = RESULTS.with_name("gpu.json")
MIB = 2**20


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
    contradiction=lambda r: {"tiles_causal": r.tiles_full},
)(tiled_check)
