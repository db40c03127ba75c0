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

import functools
import math

import numpy as np
from qkv import numbers
from qkvdocs.figures import _trained, masks, multi_head, scaling, soft_hard_local
from qkvdocs.figures._toy import TOKENS
from qkvdocs.figures.query_key_value import toy_projections

FIGURES = {  # figure name -> the page that shows it
    "what-is-self-attention-explore": "concepts/what-is-self-attention",
    "softmax-explore": "concepts/softmax",
    "scaling-explore": "concepts/scaling",
    "multi-head-explore": "concepts/multi-head",
    "masks-explore": "concepts/masks",
    "soft-hard-local-explore": "concepts/soft-hard-local",
}


def query_labels(name: str, lang: str) -> list[str]:
    """The labels of a figure's query buttons: the toy sentence in the page's language, except the
    multi-head figure's, which are the characters the translator writes (then its end token)."""
    if name == "multi-head-explore":
        return [*numbers.chinese(multi_head.EXPLORE_NUMBER), "<eos>"]
    return TOKENS[lang]


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


@functools.cache
def _cross_weights(number: int) -> np.ndarray:
    """The trained translator's cross-attention weights `(layers, heads, seq_tgt, seq_src)` for
    `number`, the decoder fed the correct characters. The inputs of each cross-attention come from
    the reference's uncached path (`encode`, then `decoder_layer` one layer at a time, with the
    first half of each layer recomputed); the weights from them are computed here, head by head.
    The figure reads the cached path (`decode_step` with a KV cache)."""
    from qkv import numpy as ref

    params, heads = _trained.params(), _trained.config().num_heads
    src, tgt = _trained.token_ids(number)
    memory = ref.encode(src, params, num_heads=heads)[0][0]  # (seq_src, d_model)
    x = ref.embed(tgt, params.tgt_embedding)  # (1, seq_tgt, d_model)
    out = []
    for layer in params.decoder:
        h = ref.layer_norm(x, layer.norm1_weight, layer.norm1_bias)
        y = (
            x
            + ref.multi_head_attention(h, h, h, layer.self_attn, num_heads=heads, is_causal=True)[0]
        )
        query_in = ref.layer_norm(y, layer.norm2_weight, layer.norm2_bias)[0]  # (seq_tgt, d_model)
        attn = layer.cross_attn
        q, k = query_in @ attn.w_q + attn.b_q, memory @ attn.w_k + attn.b_k
        d_head = q.shape[-1] // heads
        cols = [slice(i * d_head, (i + 1) * d_head) for i in range(heads)]
        out.append([_softmax(q[:, c] @ k[:, c].T / math.sqrt(d_head)) for c in cols])
        x = ref.decoder_layer(x, memory[None], layer, num_heads=heads, norm_first=True)
    return np.array(out)


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
        per_layer = _cross_weights(multi_head.EXPLORE_NUMBER)  # (layers, heads, seq_tgt, seq_src)
        layer, head = settings
        return [("weight", per_layer[layer][head]), ("weight", per_layer[layer].mean(axis=0))], None
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
