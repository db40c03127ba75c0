r"""Decoding: generate the target one token at a time, with a key/value cache.

[greedy_decode][qkv.numpy.greedy_decode] starts from `<bos>` and appends the most likely next token
until `<eos>`. Decoding with a key/value cache ([decode_step][qkv.numpy.decode_step]) keeps each
decoder layer's keys and values of the tokens already generated, so a new token costs one query
against the cache instead of a pass over the whole prefix; its causal mask is aligned at the
bottom right ([causal_mask][qkv.numpy.causal_mask] with `align="bottom_right"`) because the new
queries are the *last* positions. The model is the encoder–decoder of the previous module
([Seq2SeqParams][qkv.numpy.Seq2SeqParams], [encode][qkv.numpy.encode], [decode][qkv.numpy.decode]).

Dimension names: `batch` sequences, `seq_src` source tokens, `seq_new` target tokens fed in one
decoding step, `seq_k` cached plus new target tokens, `d_model` features, `heads`
(= `num_heads`), `d_head = d_model // num_heads`, `layers` (= `num_layers`), `tgt_vocab` the
target vocabulary size. Tokens are integer ids `(batch, seq)`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._checks import check_decode_step, check_int, check_kv_cache, check_tokens
from .attention import _scaled_dot_product_attention
from .masks import _causal_mask
from .multihead import _merge_heads, _project, _split_heads
from .normalization import _layer_norm
from .seq2seq import _decode, _embed, _encode, _source_mask
from .transformer import _feed_forward

__all__ = [
    "KVCache",
    "init_kv_cache",
    "decode_step",
    "greedy_decode",
]


class KVCache(NamedTuple):
    r"""What a decoder keeps between decoding steps, one entry per decoder layer.

    Attributes:
        self_k: tuple of `layers` self-attention keys `(batch, heads, seq_k, d_head)`.
        self_v: tuple of `layers` self-attention values `(batch, heads, seq_k, d_head)`.
        cross_k: tuple of `layers` cross-attention keys `(batch, heads, seq_src, d_head)`,
            projected from the memory once.
        cross_v: tuple of `layers` cross-attention values `(batch, heads, seq_src, d_head)`.
        src_lengths: the source lengths `(batch,)`, or `None` (no padding).

    Examples:
        >>> from qkv.numpy import KVCache
        >>> KVCache._fields
        ('self_k', 'self_v', 'cross_k', 'cross_v', 'src_lengths')
    """

    self_k: tuple[Any, ...]
    self_v: tuple[Any, ...]
    cross_k: tuple[Any, ...]
    cross_v: tuple[Any, ...]
    src_lengths: Any


def init_kv_cache(memory, params, *, num_heads, src_lengths=None):
    r"""An empty key/value cache for [decode_step][qkv.numpy.decode_step].

    The cross-attention keys and values depend only on the memory, so they are projected once
    here; the self-attention caches start with `seq_k = 0`.

    Args:
        memory: the encoder output `(batch, seq_src, d_model)`.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        src_lengths: real tokens per source `(batch,)`, or `None`.

    Returns:
        A [KVCache][qkv.numpy.KVCache].

    Raises:
        TypeError: for `params` of the wrong kind or arrays of another backend.
        ValueError: for a `memory` that is not `(batch, seq_src, d_model)`.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import encode, init_kv_cache, init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> memory, _ = encode(np.array([[1, 2, 3]]), params, num_heads=2)
        >>> cache = init_kv_cache(memory, params, num_heads=2)
        >>> cache.self_k[0].shape, cache.cross_k[0].shape
        ((1, 2, 0, 4), (1, 2, 3, 4))
    """
    check_kv_cache("init_kv_cache", "numpy", params, memory, src_lengths)
    return _init_kv_cache(memory, params, num_heads=num_heads, src_lengths=src_lengths)


def _init_kv_cache(memory, params, *, num_heads, src_lengths=None):
    batch, _, d_model = memory.shape
    # 1. empty self-attention caches: (batch, heads, 0, d_head)
    empty = np.zeros((batch, num_heads, 0, d_model // num_heads), dtype=memory.dtype)
    cross_k, cross_v = [], []
    for layer in params.decoder:
        # 2. the cross-attention keys and values, projected from the memory once
        attn = layer.cross_attn
        cross_k.append(_split_heads(_project(memory, attn.w_k, attn.b_k), num_heads))
        cross_v.append(_split_heads(_project(memory, attn.w_v, attn.b_v), num_heads))
    layers = len(params.decoder)
    return KVCache(
        (empty,) * layers, (empty,) * layers, tuple(cross_k), tuple(cross_v), src_lengths
    )


def _cached_attention(x, attn, k, v, mask, num_heads):
    """Multi-head attention of queries from `x` against given keys and values (per head)."""
    q = _split_heads(_project(x, attn.w_q, attn.b_q), num_heads)  # (batch, heads, seq_new, d_head)
    # softmax(q k^T / sqrt(d_head)) v in every head: (batch, heads, seq_new, d_head)
    out, weights = _scaled_dot_product_attention(q, k, v, mask)
    out = _merge_heads(out)  # (batch, heads, seq_new, d_head) -> (batch, seq_new, d_model)
    return _project(out, attn.w_o, attn.b_o), weights


def decode_step(tgt, cache, params, *, num_heads, need_weights=False):
    r"""Feed the next target tokens through the decoder, reusing and extending a KV cache.

    For each decoder layer the new tokens' keys and values are appended to the cache, and
    the new queries attend to every cached and new key under a causal mask aligned at the
    bottom right: new token $i$ (position $p + i$ after $p$ cached ones) sees keys
    $j \le p + i$. The logits equal those of [decode][qkv.numpy.decode] on the whole prefix.

    Args:
        tgt: the next target token ids `(batch, seq_new)` (usually `seq_new = 1`).
        cache: a [KVCache][qkv.numpy.KVCache] from [init_kv_cache][qkv.numpy.init_kv_cache]
            or from the previous step.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        need_weights: also return the attention weights of the new tokens.

    Returns:
        `(logits, cache, weights)`: logits `(batch, seq_new, tgt_vocab)`; the extended cache;
        `weights` `None` or a dict with `"self"` `(layers, batch, heads, seq_new, seq_k)` and
        `"cross"` `(layers, batch, heads, seq_new, seq_src)`.

    Raises:
        TypeError: for `params` or `cache` of the wrong kind or non-integer tokens.
        ValueError: for token ids outside the vocabulary or wrong shapes.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import decode, decode_step, encode, init_kv_cache, init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> memory, _ = encode(np.array([[1, 2, 3]]), params, num_heads=2)
        >>> cache = init_kv_cache(memory, params, num_heads=2)
        >>> first, cache, _ = decode_step(np.array([[0]]), cache, params, num_heads=2)
        >>> second, cache, _ = decode_step(np.array([[4]]), cache, params, num_heads=2)
        >>> cache.self_k[0].shape  # two tokens cached
        (1, 2, 2, 4)
        >>> full = decode(np.array([[0, 4]]), memory, params, num_heads=2)
        >>> np.allclose(np.concatenate([first, second], axis=1), full)
        True
    """
    check_decode_step("decode_step", "numpy", params, tgt, cache)
    return _decode_step(tgt, cache, params, num_heads=num_heads, need_weights=need_weights)


def _decode_step(tgt, cache, params, *, num_heads, need_weights=False):
    seq_new = tgt.shape[-1]
    seq_cached = cache.self_k[0].shape[-2]
    seq_k = seq_cached + seq_new
    # 1. embed the new tokens at positions seq_cached .. seq_k - 1
    x = _embed(tgt, params.tgt_embedding, offset=seq_cached)  # (batch, seq_new, d_model)
    # 2. the new queries are the last seq_new positions: align the causal mask bottom right
    self_mask = _causal_mask(seq_new, seq_k, align="bottom_right")  # (seq_new, seq_k)
    cross_mask = _source_mask(cache.src_lengths, cache.cross_k[0].shape[-2])
    if cross_mask is not None:
        cross_mask = cross_mask[:, None]  # (batch, 1, seq_src) -> (batch, 1, 1, seq_src)
    self_k, self_v, self_weights, cross_weights = [], [], [], []
    for i, layer in enumerate(params.decoder):
        # 3. pre-LN causal self-attention: append the new keys and values to the cache
        h = _layer_norm(x, layer.norm1_weight, layer.norm1_bias)
        attn = layer.self_attn
        k_new = _split_heads(
            _project(h, attn.w_k, attn.b_k), num_heads
        )  # (batch, heads, seq_new, d_head)
        v_new = _split_heads(_project(h, attn.w_v, attn.b_v), num_heads)
        k = np.concatenate([cache.self_k[i], k_new], axis=-2)  # (batch, heads, seq_k, d_head)
        v = np.concatenate([cache.self_v[i], v_new], axis=-2)
        out, weights = _cached_attention(h, attn, k, v, self_mask, num_heads)
        x = x + out
        self_k.append(k)
        self_v.append(v)
        self_weights.append(weights)
        # 4. pre-LN cross-attention to the cached memory keys and values
        h = _layer_norm(x, layer.norm2_weight, layer.norm2_bias)
        out, weights = _cached_attention(
            h, layer.cross_attn, cache.cross_k[i], cache.cross_v[i], cross_mask, num_heads
        )
        x = x + out
        cross_weights.append(weights)
        # 5. pre-LN feed-forward
        h = _layer_norm(x, layer.norm3_weight, layer.norm3_bias)
        x = x + _feed_forward(h, layer.w_1, layer.b_1, layer.w_2, layer.b_2)
    # 6. final LayerNorm and output projection, for the new positions only
    x = _layer_norm(x, params.decoder_norm_weight, params.decoder_norm_bias)
    logits = x @ params.w_out + params.b_out  # (batch, seq_new, d_model) @ (d_model, tgt_vocab)
    cache = cache._replace(self_k=tuple(self_k), self_v=tuple(self_v))
    weights = None
    if need_weights:
        weights = {"self": np.stack(self_weights), "cross": np.stack(cross_weights)}
    return logits, cache, weights


def greedy_decode(src, params, *, num_heads, bos, eos, max_len, src_lengths=None, use_cache=True):
    r"""Translate by always taking the most likely next token, from `<bos>` until `<eos>`.

    $$y_{t+1} = \arg\max_v \mathrm{logits}_t[v]$$

    With `use_cache=True` each step feeds one token to [decode_step][qkv.numpy.decode_step];
    with `use_cache=False` each step recomputes [decode][qkv.numpy.decode] over the whole prefix.
    Both give the same tokens and logits; the cache makes step $t$ cost $O(t)$ instead of
    $O(t^2)$ attention work. Decoding stops when every sequence has produced `eos` or after
    `max_len` tokens; a sequence that has finished is padded with `eos`.

    Args:
        src: source token ids `(batch, seq_src)`.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        bos: id of the start token.
        eos: id of the end token.
        max_len: most tokens to generate.
        src_lengths: real tokens per source `(batch,)`, or `None`.
        use_cache: decode with a KV cache.

    Returns:
        `(tokens, logits)`: the generated ids `(batch, steps)` (without `bos`; `steps <=
        max_len`) and the logits that chose them `(batch, steps, tgt_vocab)`.

    Raises:
        TypeError: for `params` of the wrong kind or non-integer tokens.
        ValueError: for token ids outside the vocabulary or wrong shapes.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import greedy_decode, init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> src = np.array([[1, 2, 3]])
        >>> kwargs = dict(num_heads=2, bos=0, eos=1, max_len=5)
        >>> tokens, logits = greedy_decode(src, params, **kwargs)
        >>> tokens, logits.shape  # random weights: eos (id 1) after three tokens
        (array([[4, 4, 0, 1]]), (1, 4, 7))
        >>> again, _ = greedy_decode(src, params, **kwargs, use_cache=False)
        >>> bool((tokens == again).all())
        True
    """
    name = "greedy_decode"
    check_tokens(name, "numpy", params, src, "src", src_lengths)
    for arg, value in (("bos", bos), ("eos", eos), ("max_len", max_len)):
        check_int(name, arg, value, minimum=0)
    return _greedy_decode(
        src,
        params,
        num_heads=num_heads,
        bos=bos,
        eos=eos,
        max_len=max_len,
        src_lengths=src_lengths,
        use_cache=use_cache,
    )


def _greedy_decode(src, params, *, num_heads, bos, eos, max_len, src_lengths=None, use_cache=True):
    batch = src.shape[0]
    # 1. encode the source once
    memory, _ = _encode(src, params, num_heads=num_heads, src_lengths=src_lengths)
    cache = _init_kv_cache(memory, params, num_heads=num_heads, src_lengths=src_lengths)
    prefix = np.full((batch, 1), bos, dtype=src.dtype)  # (batch, 1): <bos>
    done = np.zeros(batch, dtype=bool)
    logits_steps = []
    for _ in range(max_len):
        # 2. the logits of the next position: one new token with the cache, or the whole prefix
        if use_cache:
            logits, cache, _ = _decode_step(prefix[:, -1:], cache, params, num_heads=num_heads)
        else:
            logits = _decode(prefix, memory, params, num_heads=num_heads, src_lengths=src_lengths)
        logits = logits[:, -1]  # (batch, tgt_vocab)
        # 3. take the most likely token; finished sequences keep emitting eos
        token = np.where(done, eos, logits.argmax(axis=-1))  # (batch,)
        prefix = np.concatenate([prefix, token[:, None].astype(prefix.dtype)], axis=1)
        logits_steps.append(logits)
        done = done | (token == eos)
        if done.all():
            break
    tokens = prefix[:, 1:]  # drop <bos>: (batch, steps)
    if not logits_steps:
        return tokens, np.zeros((batch, 0, params.w_out.shape[-1]), dtype=params.w_out.dtype)
    return tokens, np.stack(logits_steps, axis=1)  # (batch, steps, tgt_vocab)
