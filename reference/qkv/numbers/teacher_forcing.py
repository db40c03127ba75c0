"""Teacher forcing vs free running, and scheduled sampling: `python -m qkv.numbers.teacher_forcing`.

Models are trained like the shipped one (same seed, data, batch size and learning rate; the
warm-up and decay squeezed into the shorter run) but with a tenth, 15 % and a quarter of its
1,000 steps, so that they still make mistakes: at each budget one with plain teacher forcing and
one with scheduled sampling (the probability of feeding the model's own prediction rises
linearly from 0 to 0.5 over the run; see `qkv.numbers.train`). Each is evaluated on the 2,000
held-out numbers:

- `teacher_forced_token_accuracy`: characters (and the final `<eos>`) right when every decoder
  input is the gold prefix, as in training;
- `teacher_forced_sequence_accuracy`: numbers with every character right under teacher forcing;
  with greedy decoding this always equals the free-running exact match (if every gold-prefix
  prediction is right, free running reproduces the gold prefix step by step, and conversely),
  so the gap between the two regimes shows at the level of characters and positions;
- `free_running_exact_match`: numbers translated exactly by greedy decoding, where the decoder
  reads its own previous outputs;
- `first_error_histogram`: for the wrong free-running translations, how many first go wrong at
  output position 0, 1, 2, ... (position = index of the character, `<eos>` included);
- compounding: over the gold positions *after* the first free-running error,
  `after_error_free_running_accuracy` is the fraction where the free-running output still has
  the gold character at that index, and `after_error_teacher_forced_accuracy` the
  teacher-forced accuracy on exactly those positions.

Writes `teacher_forcing.json` next to this file (or where `--out` says).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from .data import chinese, decode_target, encode_source, encode_target, english, held_out_numbers
from .model import MAX_LEN
from .train import BOS_ID, CONFIG, EOS_ID, PAD_ID, train

__all__ = ["RESULTS", "evaluate", "run", "main"]

RESULTS = Path(__file__).with_name("teacher_forcing.json")
STEPS, SCHEDULED_SAMPLING = (100, 150, 250), 0.5


def evaluate(params, numbers, num_heads=CONFIG["num_heads"]) -> dict:
    """Teacher-forced and free-running accuracies of PyTorch `params` on `numbers`."""
    import torch

    import qkv.torch as qt

    src, lengths = encode_source([english(n) for n in numbers])
    gold = [chinese(n) for n in numbers]
    tgt = encode_target(gold)
    with torch.no_grad():
        logits = qt.seq2seq_logits(
            torch.from_numpy(src),
            torch.from_numpy(tgt[:, :-1]),
            params,
            num_heads=num_heads,
            src_lengths=torch.from_numpy(lengths),
        )
        tokens, _ = qt.greedy_decode(
            torch.from_numpy(src),
            params,
            num_heads=num_heads,
            bos=BOS_ID,
            eos=EOS_ID,
            max_len=MAX_LEN,
            src_lengths=torch.from_numpy(lengths),
        )
    labels = tgt[:, 1:]  # (batch, seq_tgt): characters then <eos>, padded
    real = labels != PAD_ID
    forced_right = (logits.argmax(-1).numpy() == labels) & real
    free = decode_target(tokens.numpy())
    first_errors: list[int] = []
    after_free, after_forced, after_count = 0, 0, 0
    for i, (got, want) in enumerate(zip(free, gold, strict=True)):
        if got == want:
            continue
        got_ids, want_ids = list(got) + ["<eos>"], list(want) + ["<eos>"]
        first = next(
            (t for t, (a, b) in enumerate(zip(got_ids, want_ids, strict=False)) if a != b),
            min(len(got_ids), len(want_ids)),
        )
        first_errors.append(first)
        for t in range(first + 1, len(want_ids)):
            after_count += 1
            after_free += int(t < len(got_ids) and got_ids[t] == want_ids[t])
            after_forced += int(forced_right[i, t])
    histogram = np.bincount(np.array(first_errors, dtype=np.int64), minlength=MAX_LEN)
    return {
        "numbers": len(numbers),
        "teacher_forced_token_accuracy": round(float(forced_right.sum() / real.sum()), 5),
        "teacher_forced_sequence_accuracy": round(
            float((forced_right | ~real).all(axis=1).mean()), 5
        ),
        "free_running_exact_match": round(
            float(np.mean([g == w for g, w in zip(free, gold, strict=True)])), 5
        ),
        "free_running_errors": len(first_errors),
        "first_error_histogram": histogram.tolist(),
        "after_error_positions": after_count,
        "after_error_free_running_accuracy": round(after_free / max(after_count, 1), 5),
        "after_error_teacher_forced_accuracy": round(after_forced / max(after_count, 1), 5),
        "examples": [
            {"english": english(int(n)), "gold": w, "free_running": g}
            for n, g, w in zip(numbers, free, gold, strict=True)
            if g != w
        ][:8],
    }


def run(steps=STEPS, threads=2, log=print) -> dict:
    """Train both kinds of model at every budget in `steps`; evaluate them on the held-out set."""
    numbers = held_out_numbers()
    results: dict = {"steps": list(steps), "scheduled_sampling_max": SCHEDULED_SAMPLING, "runs": []}
    for budget in steps:
        for method, p in (("teacher_forcing", 0.0), ("scheduled_sampling", SCHEDULED_SAMPLING)):
            log(f"training with {method} for {budget} steps")
            params, curves = train(steps=budget, threads=threads, scheduled_sampling=p, log=log)
            metrics = evaluate(params, numbers)
            log(json.dumps({k: v for k, v in metrics.items() if k != "examples"}))
            results["runs"].append(
                {
                    "steps": budget,
                    "method": method,
                    "train_seconds": curves["train_seconds"],
                    "step": curves["step"],
                    "loss": curves["loss"],
                    "token_accuracy": curves["token_accuracy"],
                    **metrics,
                }
            )
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qkv.numbers.teacher_forcing")
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS.parent)
    args = parser.parse_args(argv)
    results = run(steps=args.steps, threads=args.threads)
    path = args.out / RESULTS.name
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
