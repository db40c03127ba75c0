"""The checks that need a CUDA GPU, in one command, for a machine that has one:

    python -m benchmarks.gpu            # CUDA tests, then the GPU benchmark -> results/gpu.json
    python -m benchmarks.gpu --quick    # smaller sizes, a minute or two
    python -m benchmarks.gpu --no-tests # the benchmark only

1. **Tests**: `pytest -m cuda` (every test parametrised over the `device` fixture, run on the
   GPU: tiled attention and its gradients in float32, float16 and bfloat16, the other concepts);
   the counts of passed, failed and skipped tests go into the JSON, and a failure makes the
   command exit non-zero after the benchmark.
2. **Benchmark**, for float16 and bfloat16, every ratio measured in the same process:
   - tiled attention forward, one head of batch 1, d = 64 (`qkv.torch.tiled_attention` against
     `F.scaled_dot_product_attention`), and forward + backward (the tiled backward pass against
     SDPA's), with peak memory from `torch.cuda.max_memory_allocated`;
   - multi-head attention forward, batch 4, d_model 512, 8 heads (`qkv.torch`,
     `nn.MultiheadAttention`, SDPA on the projected heads), as part 1 of `benchmarks.run`.

The results file names the GPU (`torch.cuda.get_device_name()`); the cost page draws a GPU plot
from it when it exists. Nothing here runs without CUDA: the command says so and exits.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "gpu.json"


def run_cuda_tests() -> dict:
    """`pytest -m cuda` in a subprocess; the summary counts and the return code."""
    command = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:randomly", "tests"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", flush=True)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {
        word: int(number)
        for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary)
    }
    return {"command": " ".join(command[1:]), "returncode": done.returncode, "counts": counts}


def _median_and_ratio(samples: dict, pairs) -> tuple[dict, dict]:
    times = {name: statistics.median(t) for name, t in samples.items()}
    ratios = {f"{a} / {b}": round(times[a] / times[b], 3) for a, b in pairs}
    return {k: round(v, 3) for k, v in times.items()}, ratios


def run_benchmark(seqs, mha_seqs, dtypes, warmup: int, reps: int, device: str = "cuda") -> dict:
    import torch

    from benchmarks import mha, tiled
    from benchmarks.measure import cuda_peak_mib, timed_ms

    parts = {}
    for dtype in dtypes:
        rows = []
        for seq in seqs:
            inputs = tiled._tiled_inputs(seq, 64, "torch", device, dtype)
            forward = {n: tiled.tiled_call(n, inputs, 128) for n in ("torch_tiled", "f_sdpa")}
            both = {
                n: tiled.backward_call(n, inputs, 128)
                for n in ("torch_tiled_fwd_bwd", "f_sdpa_fwd_bwd")
            }
            with torch.inference_mode():
                samples = timed_ms(forward, warmup=warmup, reps=reps, device=device)
            samples |= timed_ms(both, warmup=warmup, reps=reps, device=device)
            times, ratios = _median_and_ratio(
                samples,
                [("torch_tiled", "f_sdpa"), ("torch_tiled_fwd_bwd", "f_sdpa_fwd_bwd")],
            )
            peaks = {}
            if device == "cuda":
                peaks = {n: round(cuda_peak_mib(fn), 1) for n, fn in (forward | both).items()}
            print(f"  {dtype} seq={seq}: {times} ratios {ratios}", flush=True)
            rows.append({"seq": seq, "median_ms": times, "peak_mib": peaks, "ratios": ratios})
        mha_rows = []
        args = SimpleNamespace(d_model=512, heads=8, batch=4, device=device, dtype=dtype)
        for seq in mha_seqs:
            cases = mha.mha_cases(seq, args)
            with torch.inference_mode():
                samples = timed_ms(cases, warmup=warmup, reps=reps, device=device)
            times, ratios = _median_and_ratio(
                samples,
                [
                    ("qkv_torch_no_weights", "nn_mha_no_weights"),
                    ("qkv_torch_weights", "nn_mha_weights"),
                ],
            )
            print(f"  {dtype} mha seq={seq}: ratios {ratios}", flush=True)
            mha_rows.append({"seq": seq, "median_ms": times, "ratios": ratios})
        parts[dtype] = {"tiled": {"d_k": 64, "block_size": 128, "rows": rows}, "mha": mha_rows}
    return parts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--no-tests", dest="tests", action="store_false")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--dry-run-on-cpu",
        action="store_true",
        help="run the benchmark's code on the CPU at tiny sizes, to check the script itself; "
        "writes nothing",
    )
    args = parser.parse_args(argv)
    import torch

    if args.dry_run_on_cpu:
        parts = run_benchmark([256], [64], ["float16", "bfloat16"], 1, 1, device="cpu")
        print(json.dumps(parts)[:2000])
        return 0
    if not torch.cuda.is_available():
        print("benchmarks.gpu: torch.cuda.is_available() is False; nothing was run.")
        return 2
    from benchmarks.measure import machine

    started = time.perf_counter()
    results = {"machine": machine("cuda")}
    if args.tests:
        results["tests"] = run_cuda_tests()
    seqs = [1024, 4096] if args.quick else [1024, 2048, 4096, 8192, 16384]
    mha_seqs = [512] if args.quick else [512, 2048]
    reps = 3 if args.quick else 10
    results["parts"] = run_benchmark(seqs, mha_seqs, ["float16", "bfloat16"], 2, reps)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {results['wall_s']} s")
    return int(bool(results.get("tests", {}).get("returncode", 0)))


if __name__ == "__main__":
    sys.exit(main())
