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
spinning against other processes. The ratios of parts 2 and 3 also come from `--pair-reps` pairs
of calls made back to back; on the CPU each pair is timed both by the wall clock
(`paired_ratios`) and by the process's CPU time (`paired_ratios_cpu`), which leaves out the time
the process waited for a core while other processes ran.

This module is the command line; the parts live beside it: `benchmarks/measure.py` (the machine,
timing, paired ratios, peak memory), `benchmarks/mha.py` (part 1 and its targets),
`benchmarks/tiled.py` (parts 2 and 3) and `benchmarks/report.py` (the Markdown table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.measure import machine
from benchmarks.mha import run_mha, targets
from benchmarks.report import markdown, rebuild_report
from benchmarks.tiled import run_backward, run_tiled

RESULTS = Path(__file__).resolve().parent / "results"


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
