"""The encoder–decoder: token ids within a vocabulary, its parameters, the encoder output and the
key/value cache of decoding."""

from __future__ import annotations

import math
from typing import Any

from .arrays import _check_kind, check_arrays, check_integer, fail, shape_of
from .shapes import check_ndim

SEQ2SEQ_FIELDS = (
    "src_embedding",
    "tgt_embedding",
    "encoder",
    "decoder",
    "encoder_norm_weight",
    "encoder_norm_bias",
    "decoder_norm_weight",
    "decoder_norm_bias",
    "w_out",
    "b_out",
)
KV_CACHE_FIELDS = ("self_k", "self_v", "cross_k", "cross_v", "src_lengths")


def check_tokens(
    func: str, backend: str, params: Any, tokens: Any, which: str, src_lengths: Any = None
) -> None:
    """A Seq2SeqParams, token ids `(batch, seq)` within the vocabulary of `which` ("src" or
    "tgt"), and integer `src_lengths` `(batch,)` or None."""
    _check_kind(func, "params", params, "Seq2SeqParams", SEQ2SEQ_FIELDS)
    check_arrays(func, backend, **{which: tokens}, src_lengths=src_lengths)
    check_integer(func, **{which: tokens}, src_lengths=src_lengths)
    check_ndim(func, which, tokens, ndim=2, legend="(batch, seq)")
    vocab = shape_of(params.src_embedding if which == "src" else params.tgt_embedding)[0]
    if math.prod(shape_of(tokens)) and (tokens.min() < 0 or tokens.max() >= vocab):
        fail(func, f"{which} token ids must lie in [0, {vocab})", **{which: tokens})
    if src_lengths is not None and shape_of(src_lengths) != shape_of(tokens)[:1]:
        fail(func, "src_lengths must have shape (batch,)", src_lengths=src_lengths)


def check_decode(
    func: str, backend: str, params: Any, tgt: Any, memory: Any, src_lengths: Any = None
) -> None:
    """`decode`: target tokens as in `check_tokens` and a `memory` `(batch, seq_src, d_model)`."""
    check_tokens(func, backend, params, tgt, "tgt", src_lengths)
    check_arrays(func, backend, memory=memory)
    check_ndim(func, "memory", memory, ndim=3, legend="(batch, seq_src, d_model)")


def check_kv_cache(
    func: str, backend: str, params: Any, memory: Any, src_lengths: Any = None
) -> None:
    """`init_kv_cache`: a Seq2SeqParams, a `memory` `(batch, seq_src, d_model)`, `src_lengths`
    of the same backend or None."""
    _check_kind(func, "params", params, "Seq2SeqParams", SEQ2SEQ_FIELDS)
    check_arrays(func, backend, memory=memory, src_lengths=src_lengths)
    check_ndim(func, "memory", memory, ndim=3, legend="(batch, seq_src, d_model)")


def check_decode_step(func: str, backend: str, params: Any, tgt: Any, cache: Any) -> None:
    """`decode_step`: target tokens as in `check_tokens` and a KVCache."""
    check_tokens(func, backend, params, tgt, "tgt")
    _check_kind(func, "cache", cache, "KVCache", KV_CACHE_FIELDS)
