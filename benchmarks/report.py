"""The Markdown table of a results file, and the rebuilding of a saved one."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.mha import MHA_LABELS, ratios_of, targets
from benchmarks.tiled import BACKWARD_LABELS, TILED_LABELS


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# qkv benchmarks: {m['device']}, {results['settings']['dtype']}",
        "",
        f"Machine: {m['cpu_model']}, {m['cpu_count']} cores visible, torch threads "
        f"{m['torch_num_threads']}, {m.get('memory_gib', '?')} GiB RAM"
        + (f", GPU {m['gpu']}" if "gpu" in m else "")
        + f"; Python {m['python']}, NumPy {m['numpy']}, PyTorch {m['torch']}; {m['date_utc']}.",
        f"Load average (1, 5, 15 min) at start {m['loadavg_start']}, at end {m['loadavg_end']}"
        " (a shared machine: compare ratios within the run, not absolute times).",
        f"Median of {results['settings']['reps']} runs after {results['settings']['warmup']} "
        f"warm-up (multi-head), {results['settings']['tiled_reps']} after "
        f"{results['settings']['tiled_warmup']} (tiled), each case back to back. "
        f"Command: `{results['settings']['command']}`.",
        "",
    ]
    mha = results.get("mha")
    if mha:
        lines += [
            f"## Multi-head attention forward (batch {mha['batch']}, d_model {mha['d_model']}, "
            f"{mha['heads']} heads, self-attention, inference mode), median ms",
            "",
        ]
        seqs = [row["seq"] for row in mha["rows"]]
        lines += ["| implementation | " + " | ".join(f"seq {s}" for s in seqs) + " |"]
        lines += ["|---|" + "---:|" * len(seqs)]
        for name, label in MHA_LABELS.items():
            if name in mha["rows"][0]["median_ms"]:
                cells = [f"{row['median_ms'][name]:.2f}" for row in mha["rows"]]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "| ratio (target) | " + " | ".join(f"seq {s}" for s in seqs) + " | met |"]
        lines += ["|---|" + "---:|" * len(seqs) + "---|"]
        for name, t in results["targets"].items():
            cells = [f"{t['by_seq'][str(s)]:.2f}" for s in seqs]
            met = "yes" if t["met"] else "no"
            lines.append(f"| {name} (≤ {t['target']}) | " + " | ".join(cells) + f" | {met} |")
        lines.append("")
        if all("by_seq_of_min" in t for t in results["targets"].values()):
            lines += [
                "The same ratios from the fastest of the runs of each case (less sensitive to the "
                "load of a shared machine; the targets above use the medians):",
                "",
                "| ratio of minima | " + " | ".join(f"seq {s}" for s in seqs) + " |",
                "|---|" + "---:|" * len(seqs),
            ]
            for name, t in results["targets"].items():
                cells = [f"{t['by_seq_of_min'][str(s)]:.2f}" for s in seqs]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    tiled = results.get("tiled")
    if tiled:
        lines += [
            f"## Tiled versus naive attention (one head, d_k = d_v = {tiled['d_k']}, "
            f"block_size {tiled['block_size']})",
            "",
            "Median ms; in brackets the peak extra memory in MiB (NumPy: tracemalloc; PyTorch on "
            "CPU: peak RSS growth of a fresh process; CUDA: max_memory_allocated). "
            "`~` marks a naive peak extrapolated as seq² (not run).",
            "",
        ]
        names = [n for n in TILED_LABELS if any(n in r["median_ms"] for r in tiled["rows"])]
        lines += ["| seq | " + " | ".join(TILED_LABELS[n] for n in names) + " |"]
        lines += ["|---:|" + "---:|" * len(names)]
        for row in tiled["rows"]:
            cells = []
            for n in names:
                if n in row["median_ms"]:
                    peak = row["peak_mib"].get(n)
                    cells.append(
                        f"{row['median_ms'][n]:.1f}"
                        + (f" ({peak:.1f})" if peak is not None else "")
                    )
                elif n in row.get("peak_mib_extrapolated", {}):
                    cells.append(f"not run (~{row['peak_mib_extrapolated'][n]:.0f})")
                else:
                    cells.append("")
            lines.append(f"| {row['seq']} | " + " | ".join(cells) + " |")
        lines.append("")
        if all("paired_ratios" in row for row in tiled["rows"]):
            lines += [
                "`qkv.torch tiled_attention / F.scaled_dot_product_attention`, median of "
                "back-to-back pairs (of medians in brackets): "
                + ", ".join(
                    f"seq {row['seq']}: {row['paired_ratios']['torch_tiled / f_sdpa']:.2f} "
                    f"({row['ratios']['torch_tiled / f_sdpa']:.2f})"
                    for row in tiled["rows"]
                    if "torch_tiled / f_sdpa" in row["paired_ratios"]
                )
                + ".",
                "",
            ]
        lines += _cpu_sentence(tiled["rows"], "torch_tiled / f_sdpa")
    backward = results.get("backward")
    if backward:
        lines += [
            f"## Forward and backward (one head, d_k = d_v = {backward['d_k']}, "
            f"block_size {backward['block_size']})",
            "",
            "Median ms of one forward and backward pass; in brackets the peak extra memory in "
            "MiB (each PyTorch point in a fresh process).",
            "",
        ]
        names = [n for n in BACKWARD_LABELS if n in backward["rows"][0]["median_ms"]]
        lines += [
            "| seq | "
            + " | ".join(BACKWARD_LABELS[n] for n in names)
            + " | tiled / SDPA, pairs (medians) |"
        ]
        lines += ["|---:|" + "---:|" * (len(names) + 1)]
        for row in backward["rows"]:
            cells = []
            for n in names:
                peak = row["peak_mib"].get(n)
                cells.append(
                    f"{row['median_ms'][n]:.1f}" + (f" ({peak:.1f})" if peak is not None else "")
                )
            name = "torch_tiled_fwd_bwd / f_sdpa_fwd_bwd"
            if name in row["ratios"] and name in row.get("paired_ratios", {}):
                cells.append(f"{row['paired_ratios'][name]:.2f} ({row['ratios'][name]:.2f})")
            else:
                cells.append("")
            lines.append(f"| {row['seq']} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += _cpu_sentence(backward["rows"], "torch_tiled_fwd_bwd / f_sdpa_fwd_bwd")
    return "\n".join(lines)


def _cpu_sentence(rows: list, name: str) -> list[str]:
    """The ratio `name` from the CPU times of the same back-to-back pairs, one line per part
    (nothing for results saved before the CPU times were recorded)."""
    measured = [row for row in rows if name in row.get("paired_ratios_cpu", {})]
    if not measured:
        return []
    cells = ", ".join(f"seq {row['seq']}: {row['paired_ratios_cpu'][name]:.2f}" for row in measured)
    return [f"`{name}` from the CPU times of the same pairs (median): {cells}.", ""]


def rebuild_report(path: Path) -> dict:
    """Recompute ratios and targets of a saved result file; rewrite it and its .md twin."""
    results = json.loads(path.read_text(encoding="utf-8"))
    if "mha" in results:
        for row in results["mha"]["rows"]:
            row["ratios"] = {k: round(v, 3) for k, v in ratios_of(row["median_ms"]).items()}
            row["ratios_of_min"] = {k: round(v, 3) for k, v in ratios_of(row["min_ms"]).items()}
        results["targets"] = targets(results["mha"])
    path.write_text(json.dumps(results, indent=1) + "\n")
    path.with_suffix(".md").write_text(markdown(results))
    print(f"rewrote {path} and {path.with_suffix('.md')}")
    return results
