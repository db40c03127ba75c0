"""Parts 2 and 3 of `python -m benchmarks.run`: tiled versus naive attention, forward (part 2)
and forward and backward (part 3), time and peak memory."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import qkv.numpy as qn
import qkv.torch as qt
import torch
import torch.nn.functional as F

from benchmarks.measure import (
    cuda_peak_mib,
    numpy_peak_mib,
    paired_ratios,
    rounded_ratios,
    status_mib,
    timed_ms,
)

# labels of part 2
TILED_LABELS = {
    "numpy_naive": "qkv.numpy scaled_dot_product_attention",
    "numpy_tiled": "qkv.numpy tiled_attention",
    "numpy_tiled_causal": "qkv.numpy tiled_attention, is_causal=True",
    "torch_naive": "qkv.torch scaled_dot_product_attention",
    "torch_tiled": "qkv.torch tiled_attention",
    "f_sdpa": "F.scaled_dot_product_attention",
}
# labels of part 3: forward and backward
BACKWARD_LABELS = {
    "torch_naive_fwd_bwd": "autograd through qkv.torch scaled_dot_product_attention",
    "torch_tiled_fwd_bwd": "qkv.torch tiled_attention (tiled backward)",
    "f_sdpa_fwd_bwd": "F.scaled_dot_product_attention, autograd",
    "numpy_tiled_backward": "qkv.numpy tiled_attention_backward (forward included)",
}


# --- part 2: tiled versus naive ---------------------------------------------------------------


def _tiled_inputs(seq: int, d: int, backend: str, device: str = "cpu", dtype: str = "float32"):
    rng = np.random.default_rng(0)
    # query, key, value, each (batch, heads, seq, d) = (1, 1, seq, d): 4-D, so that
    # F.scaled_dot_product_attention may pick its fused (flash) CPU kernel
    arrays = rng.standard_normal((3, 1, 1, seq, d), dtype=np.float32)
    if backend == "numpy":
        return tuple(arrays)
    return tuple(torch.from_numpy(a).to(device, getattr(torch, dtype)) for a in arrays)


def tiled_call(name: str, inputs, block_size: int):
    """The call of part 2 named `name` on (query, key, value)."""
    query, key, value = inputs
    if name == "numpy_naive":
        return lambda: qn.scaled_dot_product_attention(query, key, value)
    if name == "numpy_tiled":
        return lambda: qn.tiled_attention(query, key, value, block_size=block_size)
    if name == "numpy_tiled_causal":
        return lambda: qn.tiled_attention(query, key, value, is_causal=True, block_size=block_size)
    if name == "torch_naive":
        return lambda: qt.scaled_dot_product_attention(query, key, value)
    if name == "torch_tiled":
        return lambda: qt.tiled_attention(query, key, value, block_size=block_size)
    if name == "f_sdpa":
        return lambda: F.scaled_dot_product_attention(query, key, value)
    raise ValueError(f"unknown case {name!r}")


def backward_call(name: str, inputs, block_size: int):
    """The call of part 3 named `name`: forward and backward on (query, key, value).

    `grad_out` is fixed (a seeded random array), so every case computes the same gradients.
    """
    query, key, value = inputs
    if name == "numpy_tiled_backward":
        grad_out = np.random.default_rng(1).standard_normal(query.shape, dtype=np.float32)
        return lambda: qn.tiled_attention_backward(
            query, key, value, grad_out, block_size=block_size
        )
    attend = {
        "torch_naive_fwd_bwd": lambda q, k, v: qt.scaled_dot_product_attention(q, k, v)[0],
        "torch_tiled_fwd_bwd": lambda q, k, v: qt.tiled_attention(q, k, v, block_size=block_size),
        "f_sdpa_fwd_bwd": F.scaled_dot_product_attention,
    }[name]
    leaves = [t.detach().requires_grad_() for t in inputs]
    grad_out = torch.from_numpy(
        np.random.default_rng(1).standard_normal(tuple(query.shape), dtype=np.float32)
    ).to(query.device, query.dtype)

    def call():
        with torch.enable_grad():
            out = attend(*leaves)
            return torch.autograd.grad(out, leaves, grad_out)

    return call


def torch_cpu_peak_mib(name: str, seq: int, d: int, block_size: int) -> float:
    """Growth of the peak resident set during one call, measured in a fresh subprocess.

    `name` is a case of part 2 (forward) or of part 3 (forward and backward)."""
    code = (
        "import sys; from benchmarks.tiled import _rss_probe; "
        f"_rss_probe({name!r}, {seq}, {d}, {block_size})"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _rss_probe(name: str, seq: int, d: int, block_size: int) -> None:
    """Subprocess body of `torch_cpu_peak_mib`: print the call's peak RSS growth in MiB.

    Writing "5" to /proc/self/clear_refs resets the peak resident set (VmHWM) to the current
    one (Linux >= 4.0), so VmHWM after the call is the call's own peak.
    """
    backward = name in BACKWARD_LABELS
    make = backward_call if backward else tiled_call
    with torch.inference_mode(not backward):
        make(name, _tiled_inputs(64, d, "torch"), block_size)()  # load kernels
        fn = make(name, _tiled_inputs(seq, d, "torch"), block_size)
        Path("/proc/self/clear_refs").write_text("5")
        before = status_mib("VmRSS")
        fn()
        print(max(0.0, status_mib("VmHWM") - before))


def _peaks(cases: dict, args, seq: int) -> dict[str, float]:
    """Peak extra memory of each case in MiB: tracemalloc for NumPy, the CUDA allocator on a GPU,
    a fresh process's resident set for PyTorch on the CPU (unless --no-rss)."""
    peaks = {}
    for n, fn in cases.items():
        if n.startswith("numpy"):
            peaks[n] = numpy_peak_mib(fn)
        elif args.device == "cuda":
            peaks[n] = cuda_peak_mib(fn)
        elif args.rss:
            peaks[n] = torch_cpu_peak_mib(n, seq, args.head_dim, args.block_size)
    return peaks


def _paired_fields(paired: dict) -> dict:
    """The JSON fields of back-to-back ratios: medians and samples of the wall times
    (`paired_ratios`, `paired_samples`) and of the CPU times (`..._cpu`), each {name: value}."""
    fields = {}
    for clock, suffix in (("wall", ""), ("cpu", "_cpu")):
        measured = {k: v[clock] for k, v in paired.items() if clock in v}
        if measured or clock == "wall":
            fields["paired_ratios" + suffix] = {
                k: round(statistics.median(v), 3) for k, v in measured.items()
            }
            fields["paired_samples" + suffix] = {
                k: [round(x, 3) for x in v] for k, v in measured.items()
            }
    return fields


def _row(part: str, seq: int, names, samples: dict, peaks: dict, paired: dict, pairs) -> dict:
    """Print the times and peaks of one sequence length, and return its JSON row."""
    times = {n: statistics.median(t) for n, t in samples.items()}
    for n in names:
        peak = f"{peaks[n]:9.1f} MiB" if n in peaks else ""
        print(f"  {part} seq={seq:6d} {n:22s} {times[n]:10.1f} ms {peak}", flush=True)
    return {
        "seq": seq,
        "median_ms": {k: round(v, 2) for k, v in times.items()},
        "min_ms": {k: round(min(v), 2) for k, v in samples.items()},
        "peak_mib": {k: round(v, 1) for k, v in peaks.items()},
        "ratios": rounded_ratios(times, pairs),
        "ratios_of_min": rounded_ratios({k: min(v) for k, v in samples.items()}, pairs),
        **_paired_fields(paired),
    }


def run_tiled(args) -> dict:
    names = list(TILED_LABELS)
    if args.device == "cuda":
        names = ["torch_naive", "torch_tiled", "f_sdpa"]
    pairs = [("torch_tiled", "f_sdpa")]
    rows = []
    for seq in args.tiled_seqs:
        extrapolated = [n for n in names if n.endswith("naive") and seq > args.naive_max_seq]
        run = [n for n in names if n not in extrapolated]
        inputs = {
            backend: _tiled_inputs(seq, args.head_dim, backend, args.device, args.dtype)
            for backend in ("numpy", "torch")
        }
        cases = {
            n: tiled_call(n, inputs["numpy" if n.startswith("numpy") else "torch"], args.block_size)
            for n in run
        }
        with torch.inference_mode():
            samples = timed_ms(
                cases, warmup=args.tiled_warmup, reps=args.tiled_reps, device=args.device
            )
            paired = {}
            if "torch_tiled" in cases and "f_sdpa" in cases:
                paired["torch_tiled / f_sdpa"] = paired_ratios(
                    cases["torch_tiled"], cases["f_sdpa"], reps=args.pair_reps, device=args.device
                )
            peaks = _peaks(cases, args, seq)
        del inputs, cases
        rows.append(_row("tiled", seq, run, samples, peaks, paired, pairs))
        rows[-1]["naive_not_run"] = extrapolated
    # extrapolate the naive peaks that were not run: O(seq^2) from the largest measured seq
    for name in ("numpy_naive", "torch_naive"):
        measured = [r for r in rows if name in r["peak_mib"]]
        if not measured:
            continue
        base = measured[-1]
        for row in rows:
            if name in row["naive_not_run"]:
                factor = (row["seq"] / base["seq"]) ** 2
                row.setdefault("peak_mib_extrapolated", {})[name] = round(
                    base["peak_mib"][name] * factor, 1
                )
    return {
        "batch": 1,
        "heads": 1,
        "d_k": args.head_dim,
        "d_v": args.head_dim,
        "block_size": args.block_size,
        "naive_max_seq": args.naive_max_seq,
        "rows": rows,
    }


# --- part 3: forward and backward --------------------------------------------------------------


def run_backward(args) -> dict:
    names = list(BACKWARD_LABELS)
    if args.device == "cuda":
        names = ["torch_naive_fwd_bwd", "torch_tiled_fwd_bwd", "f_sdpa_fwd_bwd"]
    pairs = [("torch_tiled_fwd_bwd", "f_sdpa_fwd_bwd"), ("torch_naive_fwd_bwd", "f_sdpa_fwd_bwd")]
    rows = []
    for seq in args.backward_seqs:
        inputs = {
            backend: _tiled_inputs(seq, args.head_dim, backend, args.device, args.dtype)
            for backend in ("numpy", "torch")
        }
        cases = {
            n: backward_call(
                n, inputs["numpy" if n.startswith("numpy") else "torch"], args.block_size
            )
            for n in names
        }
        samples = timed_ms(
            cases, warmup=args.tiled_warmup, reps=args.tiled_reps, device=args.device
        )
        paired = {
            f"{a} / {b}": paired_ratios(cases[a], cases[b], reps=args.pair_reps, device=args.device)
            for a, b in pairs[:1]
        }
        peaks = _peaks(cases, args, seq)
        del inputs, cases
        rows.append(_row("fwd+bwd", seq, names, samples, peaks, paired, pairs))
    return {
        "batch": 1,
        "heads": 1,
        "d_k": args.head_dim,
        "d_v": args.head_dim,
        "block_size": args.block_size,
        "rows": rows,
    }
