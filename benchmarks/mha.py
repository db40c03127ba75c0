"""Part 1 of `python -m benchmarks.run`: multi-head attention forward, qkv against PyTorch."""

from __future__ import annotations

import statistics

import qkv.numpy as qn
import qkv.torch as qt
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.measure import timed_ms

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

TARGETS = {
    "qkv_torch_no_weights / nn_mha_no_weights": 1.1,
    "qkv_torch_weights / nn_mha_weights": 1.3,
    "numpy_weights / qkv_torch_weights": 3.0,
    "numpy_no_weights / qkv_torch_no_weights": 3.0,
}


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
