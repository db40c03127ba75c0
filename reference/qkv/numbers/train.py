"""Train the number translator with `qkv.torch` on the CPU: `python -m qkv.numbers.train`.

Seeded and CPU-only (`torch.set_num_threads(2)` by default). Each step draws a batch from a
fixed pool of training numbers (made once with `num2words` and `cn2an`, held-out numbers
excluded), computes `qkv.torch.seq2seq_logits` under teacher forcing, the cross-entropy of the
next character, and takes an Adam step with a linear warm-up then a linear decay of the learning
rate (over `warmup` steps, or a quarter of the run when it is not longer than that). Every
`eval_every` steps it translates the first `eval_count` held-out numbers greedily
and records the exact-match rate. It writes the checkpoint `model.npz` and the curves
`curves.json` next to this file (or where `--out` says).

Scheduled sampling (`scheduled_sampling=p`, used by `qkv.numbers.teacher_forcing`): a first
pass without gradients predicts every next character; each decoder input after `<bos>` is then
replaced by the model's own prediction with a probability rising linearly from 0 to `p` over the
run, and the loss of a second pass on those inputs is minimised (the labels stay the gold ones).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from .data import (
    BOS,
    EOS,
    PAD,
    SRC_VOCAB,
    TGT_VOCAB,
    chinese,
    decode_target,
    encode_source,
    encode_target,
    english,
    held_out_numbers,
    sample_numbers,
)
from .model import CHECKPOINT, MAX_LEN, save_checkpoint

__all__ = ["CONFIG", "CURVES", "make_pool", "train", "main"]

CONFIG = {"d_model": 64, "num_heads": 4, "num_layers": 2, "d_ff": 128}
CURVES = Path(__file__).with_name("curves.json")
PAD_ID, BOS_ID, EOS_ID = TGT_VOCAB.index(PAD), TGT_VOCAB.index(BOS), TGT_VOCAB.index(EOS)


def make_pool(size: int, seed: int):
    """`size` training numbers (held-out excluded) as padded ids: source, lengths, target."""
    numbers = sample_numbers(size, seed, exclude=held_out_numbers())
    src, lengths = encode_source([english(n) for n in numbers])
    tgt = encode_target([chinese(n) for n in numbers])
    return numbers, src, lengths, tgt


def _tree_map(fn, tree):
    if isinstance(tree, tuple):
        mapped = [_tree_map(fn, item) for item in tree]
        return type(tree)(*mapped) if hasattr(tree, "_fields") else tuple(mapped)
    return None if tree is None else fn(tree)


def _leaves(tree):
    if isinstance(tree, tuple):
        for item in tree:
            yield from _leaves(item)
    elif tree is not None:
        yield tree


def exact_match(params, src, lengths, expected, num_heads, batch_size=1000):
    """Fraction of rows whose greedy translation equals `expected` (PyTorch, no gradients)."""
    import torch

    import qkv.torch as qt

    hits = 0
    with torch.no_grad():
        for start in range(0, len(expected), batch_size):
            stop = start + batch_size
            tokens, _ = qt.greedy_decode(
                torch.from_numpy(src[start:stop]),
                params,
                num_heads=num_heads,
                bos=BOS_ID,
                eos=EOS_ID,
                max_len=MAX_LEN,
                src_lengths=torch.from_numpy(lengths[start:stop]),
            )
            got = decode_target(tokens.numpy())
            hits += sum(g == e for g, e in zip(got, expected[start:stop], strict=True))
    return hits / len(expected)


def train(
    *,
    steps=1000,
    batch_size=128,
    lr=2e-3,
    warmup=200,
    seed=0,
    pool_size=20_000,
    eval_every=100,
    eval_count=500,
    threads=2,
    scheduled_sampling=0.0,
    config=None,
    log=print,
):
    """Train from scratch; return `(params, curves)` (PyTorch float32 params, a JSON-able dict)."""
    import torch
    import torch.nn.functional as F

    import qkv.torch as qt

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = dict(CONFIG if config is None else config)
    num_heads = config["num_heads"]
    start_data = time.perf_counter()
    _, src_pool, len_pool, tgt_pool = make_pool(pool_size, seed)
    held = held_out_numbers()
    rng = np.random.default_rng(seed + 1)
    eval_numbers = held[rng.permutation(len(held))[:eval_count]]
    eval_src, eval_len = encode_source([english(n) for n in eval_numbers])
    eval_expected = [chinese(n) for n in eval_numbers]
    data_seconds = time.perf_counter() - start_data
    log(f"data: {pool_size} training numbers, {eval_count} for evaluation, {data_seconds:.1f} s")

    params = qt.init_seq2seq_params(
        len(SRC_VOCAB),
        len(TGT_VOCAB),
        d_model=config["d_model"],
        d_ff=config["d_ff"],
        num_layers=config["num_layers"],
        seed=seed,
        dtype=torch.float32,
    )
    params = _tree_map(lambda t: t.detach().clone().requires_grad_(), params)
    leaves = list(_leaves(params))
    optimizer = torch.optim.Adam(leaves, lr=lr, betas=(0.9, 0.98), eps=1e-9)
    if steps <= warmup:  # a short run (the teacher-forcing experiment): warm up for a quarter
        warmup = max(1, steps // 4)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.05, (steps - s) / (steps - warmup)))
    )
    curves = {
        "config": config,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "warmup": warmup,
        "seed": seed,
        "threads": threads,
        "pool_size": pool_size,
        "scheduled_sampling": scheduled_sampling,
        "data_seconds": round(data_seconds, 2),
        "parameters": int(sum(p.numel() for p in leaves)),
        "step": [],
        "seconds": [],
        "loss": [],
        "token_accuracy": [],
        "eval_step": [],
        "eval_seconds": [],
        "exact_match": [],
    }
    train_seconds, loss_sum, acc_sum, count = 0.0, 0.0, 0.0, 0
    for step in range(1, steps + 1):
        tick = time.perf_counter()
        rows = rng.integers(0, pool_size, size=batch_size)
        lengths = len_pool[rows]
        src = torch.from_numpy(src_pool[rows][:, : lengths.max()])
        tgt = tgt_pool[rows]
        tgt = torch.from_numpy(tgt[:, : int((tgt != PAD_ID).sum(1).max())])
        tgt_in, labels = tgt[:, :-1], tgt[:, 1:]
        src_lengths = torch.from_numpy(lengths)
        if scheduled_sampling:
            # scheduled sampling: feed some of the model's own predictions instead of the gold
            p = scheduled_sampling * step / steps
            with torch.no_grad():
                logits = qt.seq2seq_logits(
                    src, tgt_in, params, num_heads=num_heads, src_lengths=src_lengths
                )
            own = logits.argmax(-1)[:, :-1]  # the prediction for position t + 1
            swap = torch.rand(own.shape) < p
            swap &= labels[:, :-1] != PAD_ID
            mixed = tgt_in[:, 1:].masked_scatter(swap, own[swap])
            tgt_in = torch.cat([tgt_in[:, :1], mixed], dim=1)
        logits = qt.seq2seq_logits(
            src, tgt_in, params, num_heads=num_heads, src_lengths=src_lengths
        )
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=PAD_ID
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(leaves, 1.0)
        optimizer.step()
        schedule.step()
        train_seconds += time.perf_counter() - tick
        real = labels != PAD_ID
        loss_sum += float(loss.detach())
        acc_sum += float(((logits.argmax(-1) == labels) & real).sum() / real.sum())
        count += 1
        if step % 25 == 0 or step == steps:
            curves["step"].append(step)
            curves["seconds"].append(round(train_seconds, 2))
            curves["loss"].append(round(loss_sum / count, 5))
            curves["token_accuracy"].append(round(acc_sum / count, 5))
            loss_sum, acc_sum, count = 0.0, 0.0, 0
        if step % eval_every == 0 or step == steps:
            match = exact_match(params, eval_src, eval_len, eval_expected, num_heads)
            curves["eval_step"].append(step)
            curves["eval_seconds"].append(round(train_seconds, 2))
            curves["exact_match"].append(round(match, 5))
            loss_now = float(loss.detach())
            log(f"step {step}: loss {loss_now:.4f}, exact match {match:.4f}, {train_seconds:.0f} s")
    curves["train_seconds"] = round(train_seconds, 2)
    params = _tree_map(lambda t: t.detach(), params)
    return params, curves


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qkv.numbers.train", description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--pool-size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=CHECKPOINT.parent)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    params, curves = train(
        steps=args.steps, seed=args.seed, threads=args.threads, pool_size=args.pool_size
    )
    # the machine's load (1, 5, 15 minutes) before and after: timings depend on it
    curves["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    args.out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(params, CONFIG, args.out / CHECKPOINT.name)
    (args.out / CURVES.name).write_text(json.dumps(curves, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / CHECKPOINT.name} and {args.out / CURVES.name}")


if __name__ == "__main__":
    main()
