"""Benchmarks of qkv against PyTorch's own attention, one command:

    python -m benchmarks.run             # full CPU run, float32 -> benchmarks/results/cpu.{json,md}
    python -m benchmarks.run --quick     # about a minute -> benchmarks/results/cpu-quick.{json,md}
    python -m benchmarks.run --threads 1 # pin NumPy's and PyTorch's thread pools to one thread
    python -m benchmarks.run --threads 1 --skip mha --merge   # parts 2 and 3 only, merged into
                                         # the saved cpu.json (part 1 kept from the last run)
    python -m benchmarks.run --device cuda --dtype float16   # -> cuda-float16.{json,md}

The CUDA mode (`--device cuda --dtype float16|bfloat16`, seq up to 16384 in part 2, PyTorch
only) exists for a machine with a GPU; `python -m benchmarks.gpu` runs it with the CUDA tests.

Three parts, each measured in one process so every ratio compares runs taken minutes apart at most:

1. **Multi-head attention forward** (batch 4, d_model 512, 8 heads, self-attention, eval mode under
   `torch.inference_mode()`), seq in {128, 512, 2048}: `qkv.numpy.multi_head_attention`,
   `qkv.torch.multi_head_attention` (need_weights True and False), `nn.MultiheadAttention` with the
   same weights (need_weights=False; need_weights=True with average_attn_weights=False) and
   `F.scaled_dot_product_attention` alone on the projected heads (the attention core only).
2. **Tiled versus naive attention**, one head, batch 1, d_k = d_v = 64, seq up to 32768: time and
   peak memory of `tiled_attention` and `scaled_dot_product_attention` in both backends, and of
   `F.scaled_dot_product_attention`. Peak memory: NumPy by `tracemalloc` (every NumPy allocation
   is traced; peak minus the memory held before the call); PyTorch on CPU by the growth of the
   peak resident set in a fresh subprocess that runs the call once after a tiny warm-up (Linux:
   the peak, VmHWM, is reset through /proc/self/clear_refs just before the call and read from
   /proc/self/status after it; PyTorch's CPU allocator is invisible to tracemalloc, and the
   figure includes anything the call touches, so values of a few MiB are at the resolution of
   the method); on CUDA by `torch.cuda.max_memory_allocated`. The naive version is run up to
   `--naive-max-seq` (default 16384 on CPU: at 32768 its float32 scores alone take 4 GiB and
   its peak is several times that); beyond it the table shows its peak extrapolated as
   O(seq^2) from the largest run. The ratio `torch_tiled / f_sdpa` is kept per row.
3. **Forward and backward**, the same shapes, seq up to `--backward-seqs` (default 1024 to
   8192): one call computes `out` and the gradients of the loss `(out * grad_out).sum()` with
   respect to query, key and value, for autograd through the naive
   `qkv.torch.scaled_dot_product_attention` (it keeps the `(seq, seq)` weights for the
   backward pass), `qkv.torch.tiled_attention` (its own backward pass, which recomputes the
   tiles) and `F.scaled_dot_product_attention`; and `qkv.numpy.tiled_attention_backward`. Peak
   memory as in part 2 (each PyTorch point in a fresh subprocess, NumPy by tracemalloc). The
   ratio `torch_tiled_fwd_bwd / f_sdpa_fwd_bwd` is kept per row.

Timing: for each case, `--warmup` untimed calls, then `--reps` timed calls back to back
(`time.perf_counter`, CUDA synchronised); the median is reported in milliseconds (the minimum and
every sample are kept in the JSON). Cases are not interleaved: an interleaved run on this
machine showed a strong order effect (the first NumPy call of each round took up to 4x as long
as the identical call right after it), which interleaving turns into a systematic bias. The
load average is recorded at the start and the end: on a shared machine,
compare ratios, not absolute times, and prefer `--threads 1`, which keeps thread pools from
spinning against other processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import qkv.numpy as qn
import qkv.torch as qt
import torch
import torch.nn.functional as F
from torch import nn

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20

# labels of part 1, in table order
MHA_LABELS = {
    "numpy_weights": "qkv.numpy, need_weights=True",
    "numpy_no_weights": "qkv.numpy, need_weights=False",
    "qkv_torch_weights": "qkv.torch, need_weights=True",
    "qkv_torch_no_weights": "qkv.torch, need_weights=False",
    "nn_mha_weights": "nn.MultiheadAttention, need_weights=True, average_attn_weights=False",
    "nn_mha_no_weights": "nn.MultiheadAttention, need_weights=False",
    "f_sdpa": "F.scaled_dot_product_attention (attention core only)",
}
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


# --- the machine ------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> dict:
    """What the numbers were measured on."""
    info = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "device": device,
    }
    try:
        info["memory_gib"] = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        )
    except (ValueError, OSError):
        pass
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


# --- timing -----------------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed_ms(cases: dict, *, warmup: int, reps: int, device: str = "cpu") -> dict:
    """Wall times in ms of every `cases[name]()`: for each case in turn, `warmup` untimed calls
    and then `reps` timed calls back to back. Returns {name: list of times}."""
    times = {}
    for name, fn in cases.items():
        for _ in range(warmup):
            fn()
        _sync(device)
        times[name] = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def paired_ratios(fn_a, fn_b, *, reps: int, device: str = "cpu") -> list[float]:
    """`reps` ratios time(fn_a) / time(fn_b), each from two calls made back to back (the order
    alternates from pair to pair). On a shared machine the load changes from minute to minute;
    a ratio of two calls made seconds apart is far less sensitive to it than a ratio of two
    medians taken minutes apart."""
    ratios = []
    for rep in range(reps):
        seconds = {}
        for name, fn in (("a", fn_a), ("b", fn_b)) if rep % 2 == 0 else (("b", fn_b), ("a", fn_a)):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            seconds[name] = time.perf_counter() - start
        ratios.append(seconds["a"] / seconds["b"])
    return ratios


# --- part 1: multi-head attention ---------------------------------------------------------------


def mha_cases(seq: int, args) -> dict:
    """The callables of part 1 for one sequence length, on shared weights and input."""
    d_model, heads, batch = args.d_model, args.heads, args.batch
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    module = nn.MultiheadAttention(d_model, heads, batch_first=True).to(args.device, dtype).eval()
    x = torch.randn(batch, seq, d_model, device=args.device, dtype=dtype)
    # nn.MultiheadAttention computes x @ W^T + b with W = in_proj_weight rows [q; k; v];
    # qkv applies x @ w + b, so w is the transpose of each (d_model, d_model) block
    w_q, w_k, w_v = (w.T.contiguous() for w in module.in_proj_weight.detach().chunk(3))
    b_q, b_k, b_v = module.in_proj_bias.detach().chunk(3)
    w_o = module.out_proj.weight.detach().T.contiguous()
    b_o = module.out_proj.bias.detach()
    params = qt.MultiHeadParams(w_q, w_k, w_v, w_o, b_q, b_k, b_v, b_o)
    d_head = d_model // heads
    q, k, v = (
        (x @ w + b).view(batch, seq, heads, d_head).transpose(1, 2).contiguous()
        for w, b in ((w_q, b_q), (w_k, b_k), (w_v, b_v))
    )  # (batch, heads, seq, d_head)

    cases = {}
    if args.device == "cpu" and args.dtype == "float32":
        x_np = x.numpy()
        params_np = qn.MultiHeadParams(*(p.numpy() for p in params))
        cases["numpy_weights"] = lambda: qn.multi_head_attention(
            x_np, x_np, x_np, params_np, num_heads=heads
        )
        cases["numpy_no_weights"] = lambda: qn.multi_head_attention(
            x_np, x_np, x_np, params_np, num_heads=heads, need_weights=False
        )
    cases["qkv_torch_weights"] = lambda: qt.multi_head_attention(x, x, x, params, num_heads=heads)
    cases["qkv_torch_no_weights"] = lambda: qt.multi_head_attention(
        x, x, x, params, num_heads=heads, need_weights=False
    )
    cases["nn_mha_weights"] = lambda: module(x, x, x, need_weights=True, average_attn_weights=False)
    cases["nn_mha_no_weights"] = lambda: module(x, x, x, need_weights=False)
    cases["f_sdpa"] = lambda: F.scaled_dot_product_attention(q, k, v)

    # the same numbers from every implementation, so the benchmark compares equal work
    with torch.inference_mode():
        expected = module(x, x, x, need_weights=False)[0].double().cpu()
        for name in ("qkv_torch_weights", "qkv_torch_no_weights", "nn_mha_weights"):
            out = cases[name]()[0]
            torch.testing.assert_close(out.double().cpu(), expected, **_tolerance(args.dtype))
        if "numpy_weights" in cases:
            out = torch.from_numpy(cases["numpy_weights"]()[0]).double()
            torch.testing.assert_close(out, expected, **_tolerance(args.dtype))
    return cases


def _tolerance(dtype: str) -> dict:
    return {"float32": {"rtol": 1e-4, "atol": 1e-5}}.get(dtype, {"rtol": 2e-2, "atol": 2e-2})


def ratios_of(times: dict) -> dict:
    """The ratios of issue 5's targets (first over second) from per-case times."""
    pairs = [
        ("qkv_torch_no_weights", "nn_mha_no_weights"),
        ("qkv_torch_weights", "nn_mha_weights"),
        ("numpy_weights", "qkv_torch_weights"),
        ("numpy_no_weights", "qkv_torch_no_weights"),
    ]
    return {f"{a} / {b}": times[a] / times[b] for a, b in pairs if a in times and b in times}


def run_mha(args) -> dict:
    rows = []
    for seq in args.seqs:
        cases = mha_cases(seq, args)
        with torch.inference_mode():
            samples = timed_ms(cases, warmup=args.warmup, reps=args.reps, device=args.device)
        times = {name: statistics.median(t) for name, t in samples.items()}
        for name in cases:
            print(f"  mha seq={seq:5d} {name:22s} {times[name]:10.2f} ms", flush=True)
        ratios = ratios_of(times)
        ratios_min = ratios_of({k: min(v) for k, v in samples.items()})
        rows.append(
            {
                "seq": seq,
                "median_ms": {k: round(v, 3) for k, v in times.items()},
                "min_ms": {k: round(min(v), 3) for k, v in samples.items()},
                "samples_ms": {k: [round(t, 3) for t in v] for k, v in samples.items()},
                "ratios": {k: round(v, 3) for k, v in ratios.items()},
                "ratios_of_min": {k: round(v, 3) for k, v in ratios_min.items()},
            }
        )
    return {"batch": args.batch, "d_model": args.d_model, "heads": args.heads, "rows": rows}


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


def numpy_peak_mib(fn) -> float:
    """Peak traced allocation of one call, above what was allocated before it (tracemalloc)."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / MIB


def torch_cpu_peak_mib(name: str, seq: int, d: int, block_size: int) -> float:
    """Growth of the peak resident set during one call, measured in a fresh subprocess.

    `name` is a case of part 2 (forward) or of part 3 (forward and backward)."""
    code = (
        "import sys; from benchmarks.run import _rss_probe; "
        f"_rss_probe({name!r}, {seq}, {d}, {block_size})"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _status_mib(field: str) -> float:
    """A field of /proc/self/status in MiB ("VmRSS": resident now, "VmHWM": peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # the value is in kB
    raise KeyError(field)


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
        before = _status_mib("VmRSS")
        fn()
        print(max(0.0, _status_mib("VmHWM") - before))


def cuda_peak_mib(fn) -> float:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / MIB


def run_tiled(args) -> dict:
    names = list(TILED_LABELS)
    if args.device == "cuda":
        names = ["torch_naive", "torch_tiled", "f_sdpa"]
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
            times = {n: statistics.median(t) for n, t in samples.items()}
            paired = {}
            if "torch_tiled" in cases and "f_sdpa" in cases:
                paired["torch_tiled / f_sdpa"] = paired_ratios(
                    cases["torch_tiled"], cases["f_sdpa"], reps=args.pair_reps, device=args.device
                )
            peaks = {}
            for n, fn in cases.items():
                if n.startswith("numpy"):
                    peaks[n] = numpy_peak_mib(fn)
                elif args.device == "cuda":
                    peaks[n] = cuda_peak_mib(fn)
                elif args.rss:
                    peaks[n] = torch_cpu_peak_mib(n, seq, args.head_dim, args.block_size)
        del inputs, cases
        for n in run:
            peak = f"{peaks[n]:9.1f} MiB" if n in peaks else ""
            print(f"  tiled seq={seq:6d} {n:20s} {times[n]:10.1f} ms {peak}", flush=True)
        rows.append(
            {
                "seq": seq,
                "median_ms": {k: round(v, 2) for k, v in times.items()},
                "min_ms": {k: round(min(v), 2) for k, v in samples.items()},
                "peak_mib": {k: round(v, 1) for k, v in peaks.items()},
                "naive_not_run": extrapolated,
                "ratios": _ratios(times, [("torch_tiled", "f_sdpa")]),
                "ratios_of_min": _ratios(
                    {k: min(v) for k, v in samples.items()}, [("torch_tiled", "f_sdpa")]
                ),
                "paired_ratios": {k: round(statistics.median(v), 3) for k, v in paired.items()},
                "paired_samples": {k: [round(x, 3) for x in v] for k, v in paired.items()},
            }
        )
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


def _ratios(times: dict, pairs) -> dict:
    """{"a / b": times[a] / times[b]} for the pairs measured in `times`, rounded."""
    return {
        f"{a} / {b}": round(times[a] / times[b], 3) for a, b in pairs if a in times and b in times
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
        times = {n: statistics.median(t) for n, t in samples.items()}
        paired = {
            f"{a} / {b}": paired_ratios(cases[a], cases[b], reps=args.pair_reps, device=args.device)
            for a, b in pairs[:1]
        }
        peaks = {}
        for n, fn in cases.items():
            if n.startswith("numpy"):
                peaks[n] = numpy_peak_mib(fn)
            elif args.device == "cuda":
                peaks[n] = cuda_peak_mib(fn)
            elif args.rss:
                peaks[n] = torch_cpu_peak_mib(n, seq, args.head_dim, args.block_size)
        del inputs, cases
        for n in names:
            peak = f"{peaks[n]:9.1f} MiB" if n in peaks else ""
            print(f"  fwd+bwd seq={seq:6d} {n:22s} {times[n]:10.1f} ms {peak}", flush=True)
        rows.append(
            {
                "seq": seq,
                "median_ms": {k: round(v, 2) for k, v in times.items()},
                "min_ms": {k: round(min(v), 2) for k, v in samples.items()},
                "peak_mib": {k: round(v, 1) for k, v in peaks.items()},
                "ratios": _ratios(times, pairs),
                "ratios_of_min": _ratios({k: min(v) for k, v in samples.items()}, pairs),
                "paired_ratios": {k: round(statistics.median(v), 3) for k, v in paired.items()},
                "paired_samples": {k: [round(x, 3) for x in v] for k, v in paired.items()},
            }
        )
    return {
        "batch": 1,
        "heads": 1,
        "d_k": args.head_dim,
        "d_v": args.head_dim,
        "block_size": args.block_size,
        "rows": rows,
    }


# --- report -----------------------------------------------------------------------------------


TARGETS = {
    "qkv_torch_no_weights / nn_mha_no_weights": 1.1,
    "qkv_torch_weights / nn_mha_weights": 1.3,
    "numpy_weights / qkv_torch_weights": 3.0,
    "numpy_no_weights / qkv_torch_no_weights": 3.0,
}


def targets(mha: dict) -> dict:
    """Each issue-5 target: the worst ratio over the sequence lengths and whether it is met."""
    result = {}
    for name, limit in TARGETS.items():
        ratios = [row["ratios"][name] for row in mha["rows"] if name in row["ratios"]]
        if ratios:
            result[name] = {
                "target": limit,
                "by_seq": {str(row["seq"]): row["ratios"][name] for row in mha["rows"]},
                "worst": max(ratios),
                "met": max(ratios) <= limit,
            }
            if all("ratios_of_min" in row for row in mha["rows"]):
                result[name]["by_seq_of_min"] = {
                    str(row["seq"]): row["ratios_of_min"][name] for row in mha["rows"]
                }
    return result


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
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--seqs", type=int, nargs="+", help="part 1 sequence lengths")
    parser.add_argument("--tiled-seqs", type=int, nargs="+", help="part 2 sequence lengths")
    parser.add_argument("--naive-max-seq", type=int, help="largest seq for naive attention")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--reps", type=int, help="part 1 timed repetitions (default 5)")
    parser.add_argument("--tiled-warmup", type=int, default=1)
    parser.add_argument("--tiled-reps", type=int, default=3)
    parser.add_argument("--block-size", type=int, default=512, help="tiled_attention block_size")
    parser.add_argument("--threads", type=int, help="threads of NumPy's BLAS and of PyTorch")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64, help="d_k = d_v of part 2")
    parser.add_argument("--backward-seqs", type=int, nargs="+", help="part 3 sequence lengths")
    parser.add_argument(
        "--pair-reps", type=int, default=3, help="back-to-back pairs per ratio (parts 2 and 3)"
    )
    parser.add_argument("--skip", choices=["mha", "tiled", "backward"], action="append", default=[])
    parser.add_argument(
        "--merge",
        action="store_true",
        help="update the parts that were run in the existing results file, keep the others",
    )
    parser.add_argument(
        "--no-rss", dest="rss", action="store_false", help="skip the torch CPU RSS probes"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="JSON",
        help="measure nothing: recompute the ratios and targets of a saved JSON, rewrite it and "
        "its Markdown table",
    )
    parser.add_argument("--name", help="results file stem (default from device and dtype)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch.cuda.is_available() is False on this machine")
    if args.device == "cpu" and args.dtype != "float32":
        parser.error("the CPU benchmark runs in float32 (NumPy has no bfloat16)")
    if args.seqs is None:
        args.seqs = [128, 512] if args.quick else [128, 512, 2048]
    if args.tiled_seqs is None:
        if args.quick:
            args.tiled_seqs = [1024, 2048, 4096]
        elif args.device == "cuda":
            args.tiled_seqs = [1024, 2048, 4096, 8192, 16384]
        else:
            args.tiled_seqs = [1024, 2048, 4096, 8192, 16384, 32768]
    if args.backward_seqs is None:
        args.backward_seqs = [1024, 2048] if args.quick else [1024, 2048, 4096, 8192]
    if args.naive_max_seq is None:
        args.naive_max_seq = 16384
    if args.reps is None:
        args.reps = 3 if args.quick else 5
    if args.name is None:
        args.name = "cpu" if args.device == "cpu" else f"cuda-{args.dtype}"
        if args.quick:
            args.name += "-quick"
    return args


def _pin_threads(threads: int, argv) -> None:
    """Re-run this command with every thread pool limited to `threads` (BLAS reads its
    environment when NumPy is imported, so the limit has to be set before that)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    if all(os.environ.get(n) == str(threads) for n in names):
        torch.set_num_threads(threads)
        return
    env = dict(os.environ, **dict.fromkeys(names, str(threads)))
    command = [sys.executable, "-m", "benchmarks.run", *(sys.argv[1:] if argv is None else argv)]
    sys.exit(
        subprocess.run(command, env=env, cwd=Path(__file__).resolve().parent.parent).returncode
    )


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


def merge(saved: dict, new: dict) -> dict:
    """The saved results with the parts of `new` that were run replacing theirs.

    Each part keeps the machine and settings it was measured with (`machine`/`settings` inside
    the part); the top-level ones become those of the newest run."""
    merged = dict(saved)
    for part in ("mha", "targets", "tiled", "backward"):
        if part in new:
            merged[part] = new[part]
            if part != "targets":
                merged[part]["machine"] = new["machine"]
                merged[part]["settings"] = new["settings"]
    for part in ("mha", "tiled", "backward"):
        if part in saved and part not in new and "machine" not in saved[part]:
            merged[part]["machine"] = saved["machine"]
            merged[part]["settings"] = saved["settings"]
    merged["machine"], merged["settings"] = new["machine"], new["settings"]
    return merged


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.report_only is not None:
        return rebuild_report(args.report_only)
    if args.threads is not None:
        _pin_threads(args.threads, argv)
    torch.set_grad_enabled(False)
    results = {
        "machine": machine(args.device),
        "settings": {
            "dtype": args.dtype,
            "warmup": args.warmup,
            "reps": args.reps,
            "tiled_warmup": args.tiled_warmup,
            "tiled_reps": args.tiled_reps,
            "command": "python -m benchmarks.run "
            + " ".join(sys.argv[1:] if argv is None else argv),
        },
    }
    started = time.perf_counter()
    if "mha" not in args.skip:
        print("multi-head attention forward", flush=True)
        results["mha"] = run_mha(args)
        results["targets"] = targets(results["mha"])
    if "tiled" not in args.skip:
        print("tiled versus naive attention", flush=True)
        results["tiled"] = run_tiled(args)
    if "backward" not in args.skip:
        print("forward and backward", flush=True)
        results["backward"] = run_backward(args)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["settings"]["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / f"{args.name}.json"
    if args.merge and saved.exists():
        results = merge(json.loads(saved.read_text(encoding="utf-8")), results)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(results))
    print(f"wrote {args.out / args.name}.json and .md in {results['settings']['wall_s']} s")
    return results


if __name__ == "__main__":
    main()
