"""What the interactive figures must show, computed here with plain NumPy formulas.

Only the inputs are taken from the figure modules (the toy sentence, the seeded projections and
draws); every weight is recomputed from them with `exp / sum`, so a mistake in the reference
functions or in a figure's data function shows up as a difference. Used by test_interactive.py
(against the figures' data and against the numbers a browser displays).

`expected(name, settings)` returns, for the control indices `settings` (a tuple, in the order of
the figure's controls), the displayed lines `[(kind, values (queries, keys))]` (mask lines left
out) and the result vectors `(queries, d_v)` or None.
"""

from __future__ import annotations

import math

import numpy as np
from qkvdocs.figures import masks, multi_head, scaling, soft_hard_local
from qkvdocs.figures._toy import toy_embeddings
from qkvdocs.figures.query_key_value import toy_projections

FIGURES = {  # figure name -> the page that shows it
    "what-is-self-attention-explore": "concepts/what-is-self-attention",
    "softmax-explore": "concepts/softmax",
    "scaling-explore": "concepts/scaling",
    "multi-head-explore": "concepts/multi-head",
    "masks-explore": "concepts/masks",
    "soft-hard-local-explore": "concepts/soft-hard-local",
}


def _softmax(scores: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Row-wise exp / sum over the allowed keys; a row with no allowed key is all zeros."""
    if allowed is None:
        allowed = np.ones(scores.shape, dtype=bool)
    top = np.where(allowed, scores, -np.inf).max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(allowed, np.exp(scores - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def _toy_qkv():
    x, w_q, w_k, w_v = toy_projections()
    return x @ w_q, x @ w_k, x @ w_v


def expected(name: str, settings: tuple[int, ...]) -> tuple[list, np.ndarray | None]:
    if name == "what-is-self-attention-explore":
        q, k, v = _toy_qkv()
        w = _softmax(q @ k.T / math.sqrt(q.shape[-1]))
        lines = [("weight", w)] + [("value", np.tile(v[:, c], (len(q), 1))) for c in range(4)]
        return lines, w @ v
    if name == "softmax-explore":
        q, k, _ = _toy_qkv()
        s = q @ k.T / math.sqrt(q.shape[-1])
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return [("value", s), ("value", e), ("weight", e / e.sum(axis=-1, keepdims=True))], None
    if name == "scaling-explore":
        d_k = scaling.D_KS[settings[0]]
        query, key = scaling.explore_draw(d_k)
        raw = (key @ query[0])[None, :]  # (1, keys)
        scaled = raw / math.sqrt(d_k)
        return [
            ("value", raw),
            ("value", scaled),
            ("weight", _softmax(raw)),
            ("weight", _softmax(scaled)),
        ], None
    if name == "multi-head-explore":
        d_model, heads = multi_head.D_MODEL, multi_head.NUM_HEADS
        x = toy_embeddings(d_model, 0)
        from qkv.numpy import init_multi_head_params

        params = init_multi_head_params(d_model, seed=0)
        q, k = x @ params.w_q + params.b_q, x @ params.w_k + params.b_k
        d_head = d_model // heads
        per_head = [
            _softmax(
                q[:, h * d_head : (h + 1) * d_head]
                @ k[:, h * d_head : (h + 1) * d_head].T
                / math.sqrt(d_head)
            )
            for h in range(heads)
        ]
        return [("weight", per_head[settings[0]]), ("weight", np.mean(per_head, axis=0))], None
    if name == "masks-explore":
        q, k, _ = _toy_qkv()
        seq = len(q)
        i, j = np.arange(seq)[:, None], np.arange(seq)[None, :]
        kinds = (j <= i, np.broadcast_to(j < masks.REAL_LENGTH, (seq, seq)), abs(i - j) <= 1)
        allowed = np.ones((seq, seq), dtype=bool)
        for on, kind in zip(settings, kinds, strict=True):
            if on:
                allowed = allowed & kind
        s = q @ k.T / math.sqrt(q.shape[-1])
        return [("value", s), ("weight", _softmax(s)), ("weight", _softmax(s, allowed))], None
    if name == "soft-hard-local-explore":
        q, k, _ = soft_hard_local.projected_toy()
        seq = len(q)
        s = q @ k.T / math.sqrt(q.shape[-1])
        tau = soft_hard_local.EXPLORE_TAUS[settings[0]]
        window = soft_hard_local.EXPLORE_WINDOWS[settings[1]]
        rng = np.random.default_rng(soft_hard_local.NOISE_SEED)
        gumbel = -np.log(rng.standard_exponential((seq, seq)))
        i, j = np.arange(seq)[:, None], np.arange(seq)[None, :]
        return [
            ("weight", _softmax(s)),
            ("weight", _softmax((s + gumbel) / tau)),
            ("weight", np.eye(seq)[s.argmax(axis=-1)]),
            ("weight", _softmax(s, abs(i - j) <= window)),
        ], None
    raise KeyError(name)
