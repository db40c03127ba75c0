"""Greedy decoding with and without the key/value cache: `python -m benchmarks.decode`.

Writes `benchmarks/results/decode.json`. Two parts, both backends, float32, CPU, one thread:

1. **The trained number translator** (`qkv.numbers`, 2 + 2 layers, d_model 64): the time to
   translate one number and a batch of 64 numbers (held-out, 9 to 12 output tokens), cached
   (`greedy_decode(use_cache=True)`) and uncached (the whole prefix again at every step).
2. **One long decode** with random weights (1 + 1 layers, d_model 64, 4 heads, a 16-token source,
   batch 1): the cost of *one* decoding step when `n` tokens are already generated, for `n` in
   128, 256, 512, 1024. Cached, a step is one query against `n` cached keys per layer: O(n).
   Uncached, a step re-runs the decoder on all `n + 1` tokens, whose self-attention alone is
   O(n^2). The growth exponent is the slope of log(time) against log(n) between the smallest and
   the largest `n`; the ratio uncached / cached at each `n` is measured in the same run. Then the
   total time of 1,024 greedy steps, both ways (NumPy only, `--quick` skips it).

Timing: median of `--reps` calls after one warm-up call; the load average is recorded at the
start and the end. On a shared machine compare the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("results") / "decode.json"
LONG = {"d_model": 64, "num_heads": 4, "num_layers": 1, "d_ff": 128, "vocab": 32, "seq_src": 16}


def _median_ms(fn, reps):
    fn()
    samples = []
    for _ in range(reps):
        tick = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - tick) * 1000)
    return round(statistics.median(samples), 4)


def _backends():
    import qkv.numpy as qn

    out = {"numpy": (qn, np.asarray)}
    try:
        import qkv.torch as qt
        import torch
    except ImportError:
        return out
    torch.set_num_threads(1)
    out["torch"] = (qt, torch.from_numpy)
    return out


def translator(reps):
    from qkv.numbers import english, held_out_numbers, load_model
    from qkv.numbers.data import encode_source

    texts = [english(n) for n in held_out_numbers()[::31][:64]]
    results = {}
    for backend, (module, to) in _backends().items():
        model = load_model(backend)
        for batch in (1, 64):
            src, lengths = encode_source(texts[:batch])
            times = {}
            for use_cache in (True, False):

                def run(src=src, lengths=lengths, use_cache=use_cache, m=module, t=to, mo=model):
                    return m.greedy_decode(
                        t(src), mo.params, num_heads=mo.num_heads, bos=1, eos=2,
                        max_len=12, src_lengths=t(lengths), use_cache=use_cache,
                    )  # fmt: skip

                times["cached" if use_cache else "uncached"] = _median_ms(run, reps)
            times["uncached_over_cached"] = round(times["uncached"] / times["cached"], 3)
            results[f"{backend}_batch_{batch}_ms"] = times
    return results


def long_decode(reps, quick):
    results = {"config": LONG, "n": [128, 256, 512, 1024]}
    for backend, (module, to) in _backends().items():
        params = module.init_seq2seq_params(
            LONG["vocab"], LONG["vocab"], d_model=LONG["d_model"], d_ff=LONG["d_ff"],
            num_layers=LONG["num_layers"], seed=0, dtype=np.float32 if backend == "numpy" else None,
        )  # fmt: skip
        rng = np.random.default_rng(0)
        src = to(rng.integers(0, LONG["vocab"], size=(1, LONG["seq_src"])))
        heads = LONG["num_heads"]
        memory, _ = module.encode(src, params, num_heads=heads)
        cached, uncached = [], []
        for n in results["n"]:
            prefix = to(rng.integers(0, LONG["vocab"], size=(1, n + 1)))
            cache = module.init_kv_cache(memory, params, num_heads=heads)
            _, cache, _ = module.decode_step(prefix[:, :n], cache, params, num_heads=heads)
            last = prefix[:, n:]

            def step(cache=cache, last=last, m=module, p=params):
                return m.decode_step(last, cache, p, num_heads=LONG["num_heads"])

            def full(prefix=prefix, m=module, p=params, memory=memory):
                return m.decode(prefix, memory, p, num_heads=LONG["num_heads"])

            cached.append(_median_ms(step, reps))
            uncached.append(_median_ms(full, reps))
        n0, n1 = results["n"][0], results["n"][-1]
        results[backend] = {
            "cached_step_ms": cached,
            "uncached_step_ms": uncached,
            "uncached_over_cached": [
                round(u / c, 2) for u, c in zip(uncached, cached, strict=True)
            ],
            "cached_growth_exponent": round(
                math.log(cached[-1] / cached[0]) / math.log(n1 / n0), 2
            ),
            "uncached_growth_exponent": round(
                math.log(uncached[-1] / uncached[0]) / math.log(n1 / n0), 2
            ),
        }
        if backend == "numpy" and not quick:
            totals = {}
            for use_cache in (True, False):
                tick = time.perf_counter()
                module.greedy_decode(
                    src, params, num_heads=heads, bos=0, eos=LONG["vocab"], max_len=1024,
                    use_cache=use_cache,
                )  # fmt: skip
                totals["cached" if use_cache else "uncached"] = round(time.perf_counter() - tick, 2)
            totals["uncached_over_cached"] = round(totals["uncached"] / totals["cached"], 2)
            results[backend]["greedy_1024_steps_s"] = totals
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decode", description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 1,024-step totals")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_start = os.getloadavg()
    results = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "numpy": np.__version__,
        "translator": translator(args.reps),
        "long": long_decode(args.reps, args.quick),
    }
    results["load_average"] = [round(x, 2) for x in (*load_start, *os.getloadavg())]
    try:
        import torch

        results["torch"] = torch.__version__
    except ImportError:
        pass
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
