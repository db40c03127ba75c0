r"""A whole encoder–decoder Transformer: embeddings, layers, logits, greedy decoding, KV cache.

The pieces come from the other modules: token embeddings scaled by $\sqrt{d_{model}}$ plus
[sinusoidal_positional_encoding][qkv.numpy.sinusoidal_positional_encoding], `num_layers`
[encoder_layer][qkv.numpy.encoder_layer]s and [decoder_layer][qkv.numpy.decoder_layer]s in
pre-LN form (`norm_first=True`, which trains without a long warm-up), and, because pre-LN leaves
the residual stream un-normalised, one final [layer_norm][qkv.numpy.layer_norm] after each stack.
The output projection is *not* tied to the target embedding: with a small target vocabulary
tying saves a few thousand parameters, and an untied $W^{out}$ keeps the logits' scale apart
from the $\sqrt{d_{model}}$-scaled embeddings.

Decoding with a key/value cache keeps each decoder layer's keys and values of the tokens
already generated, so a new token costs one query against the cache instead of a pass over the
whole prefix; its causal mask is aligned at the bottom right
([causal_mask][qkv.numpy.causal_mask] with `align="bottom_right"`) because the new queries are
the *last* positions.

Dimension names: `batch` sequences, `seq_src` source tokens, `seq_tgt` target tokens,
`seq_new` target tokens fed in one decoding step, `seq_k` cached plus new target tokens,
`d_model` features, `heads` (= `num_heads`), `d_head = d_model // num_heads`, `layers`
(= `num_layers`), `src_vocab` and `tgt_vocab` vocabulary sizes. Tokens are integer ids
`(batch, seq)`; source padding is given by `src_lengths` `(batch,)`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._checks import check_arrays, check_int, check_integer, check_ndim, fail, shape_of
from .attention import _scaled_dot_product_attention
from .masks import _causal_mask, _padding_mask
from .multihead import _merge_heads, _multi_head_attention, _project, _split_heads
from .normalization import _layer_norm
from .positional import _sinusoidal_positional_encoding
from .transformer import (
    DecoderLayerParams,
    EncoderLayerParams,
    _decoder_layer,
    _encoder_layer,
    _feed_forward,
    init_decoder_layer_params,
    init_encoder_layer_params,
)

__all__ = [
    "Seq2SeqParams",
    "KVCache",
    "init_seq2seq_params",
    "embed",
    "encode",
    "decode",
    "seq2seq_logits",
    "init_kv_cache",
    "decode_step",
    "greedy_decode",
]


class Seq2SeqParams(NamedTuple):
    r"""The parameters of an encoder–decoder Transformer.

    Attributes:
        src_embedding: source token embeddings `(src_vocab, d_model)`.
        tgt_embedding: target token embeddings `(tgt_vocab, d_model)`.
        encoder: a tuple of `layers` [EncoderLayerParams][qkv.numpy.EncoderLayerParams].
        decoder: a tuple of `layers` [DecoderLayerParams][qkv.numpy.DecoderLayerParams].
        encoder_norm_weight: final LayerNorm of the encoder, `(d_model,)`.
        encoder_norm_bias: `(d_model,)`.
        decoder_norm_weight: final LayerNorm of the decoder, `(d_model,)`.
        decoder_norm_bias: `(d_model,)`.
        w_out: output projection `(d_model, tgt_vocab)` (not tied to `tgt_embedding`).
        b_out: output bias `(tgt_vocab,)`.

    Examples:
        >>> from qkv.numpy import Seq2SeqParams
        >>> Seq2SeqParams._fields[:4]
        ('src_embedding', 'tgt_embedding', 'encoder', 'decoder')
    """

    src_embedding: Any
    tgt_embedding: Any
    encoder: tuple[EncoderLayerParams, ...]
    decoder: tuple[DecoderLayerParams, ...]
    encoder_norm_weight: Any
    encoder_norm_bias: Any
    decoder_norm_weight: Any
    decoder_norm_bias: Any
    w_out: Any
    b_out: Any


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


def init_seq2seq_params(
    src_vocab, tgt_vocab, *, d_model, d_ff, num_layers, seed=0, dtype=None, device=None
):
    r"""Seeded random [Seq2SeqParams][qkv.numpy.Seq2SeqParams].

    Embeddings $\mathcal{N}(0, 1/d_{model})$ (so that after the $\sqrt{d_{model}}$ scaling
    each feature has unit variance, like the positional encoding); layers as in
    [init_encoder_layer_params][qkv.numpy.init_encoder_layer_params] and
    [init_decoder_layer_params][qkv.numpy.init_decoder_layer_params]; $W^{out}$ Glorot uniform;
    biases 0, LayerNorm weights 1. The numbers come from `numpy.random.SeedSequence(seed)` in
    both backends, so both give the same parameters.

    Args:
        src_vocab: number of source tokens.
        tgt_vocab: number of target tokens.
        d_model: model width (even, for the positional encoding).
        d_ff: hidden width of the feed-forward networks.
        num_layers: number of encoder layers, and of decoder layers.
        seed: integer seed.
        dtype: floating dtype (default float64).
        device: `None` or `"cpu"` (NumPy arrays live on the CPU).

    Returns:
        A [Seq2SeqParams][qkv.numpy.Seq2SeqParams].

    Raises:
        TypeError: if a size is not an integer.
        ValueError: if a size is below 1, or `device` is not the CPU.

    Examples:
        >>> from qkv.numpy import init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> params.src_embedding.shape, len(params.decoder), params.w_out.shape
        ((10, 8), 2, (8, 7))
    """
    name = "init_seq2seq_params"
    for arg, value in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
        check_int(name, arg, value, minimum=1)
    check_int(name, "num_layers", num_layers, minimum=1)
    dtype = np.float64 if dtype is None else dtype
    # 1. one integer seed per part, drawn from SeedSequence(seed)
    state = np.random.SeedSequence(seed).generate_state(2 + 2 * num_layers)
    embed_seed, out_seed, *layer_seeds = (int(s) for s in state)
    # 2. the layers, each from its own seed
    encoder = tuple(
        init_encoder_layer_params(d_model, d_ff, seed=s, dtype=dtype, device=device)
        for s in layer_seeds[:num_layers]
    )
    decoder = tuple(
        init_decoder_layer_params(d_model, d_ff, seed=s, dtype=dtype, device=device)
        for s in layer_seeds[num_layers:]
    )
    # 3. embeddings N(0, 1 / d_model); output projection Glorot uniform
    rng = np.random.default_rng(embed_seed)
    src_embedding = rng.normal(0.0, 1.0 / math.sqrt(d_model), size=(src_vocab, d_model))
    tgt_embedding = rng.normal(0.0, 1.0 / math.sqrt(d_model), size=(tgt_vocab, d_model))
    bound = math.sqrt(6.0 / (d_model + tgt_vocab))
    w_out = np.random.default_rng(out_seed).uniform(-bound, bound, size=(d_model, tgt_vocab))
    # 4. final LayerNorms at weight 1, bias 0; output bias 0
    ones, zeros = np.ones(d_model, dtype=dtype), np.zeros(d_model, dtype=dtype)
    return Seq2SeqParams(
        src_embedding.astype(dtype),
        tgt_embedding.astype(dtype),
        encoder,
        decoder,
        ones,
        zeros,
        ones.copy(),
        zeros.copy(),
        w_out.astype(dtype),
        np.zeros(tgt_vocab, dtype=dtype),
    )


def _check_tokens(name, params, tokens, which, src_lengths=None):
    """Validate token ids `(batch, seq)` against a vocabulary, and optional source lengths."""
    if getattr(params, "_fields", None) != Seq2SeqParams._fields:
        fail(name, "params must be a Seq2SeqParams", TypeError, params=type(params).__name__)
    check_arrays(name, "numpy", **{which: tokens}, src_lengths=src_lengths)
    check_integer(name, **{which: tokens}, src_lengths=src_lengths)
    check_ndim(name, which, tokens, ndim=2, legend="(batch, seq)")
    vocab = shape_of(params.src_embedding if which == "src" else params.tgt_embedding)[0]
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
        fail(name, f"{which} token ids must lie in [0, {vocab})", **{which: tokens})
    if src_lengths is not None and shape_of(src_lengths) != shape_of(tokens)[:1]:
        fail(name, "src_lengths must have shape (batch,)", src_lengths=src_lengths)


def embed(tokens, embedding, *, offset=0):
    r"""Token embeddings scaled by $\sqrt{d_{model}}$, plus the sinusoidal positions.

    $$x_t = \sqrt{d_{model}}\, E[\text{token}_t] + PE_{offset + t}$$

    Args:
        tokens: integer ids `(batch, seq)`.
        embedding: `(vocab, d_model)`.
        offset: position of the first token (the number of tokens already in a cache).

    Returns:
        Array `(batch, seq, d_model)` of the embedding's dtype.

    Raises:
        TypeError: for non-integer tokens or `offset`, or arrays of another backend.
        ValueError: for a negative `offset`.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import embed
        >>> embed(np.array([[0, 0]]), np.zeros((1, 4))).round(4)  # positions 0 and 1
        array([[[0.    , 1.    , 0.    , 1.    ],
                [0.8415, 0.5403, 0.01  , 1.    ]]])
    """
    name = "embed"
    check_arrays(name, "numpy", tokens=tokens, embedding=embedding)
    check_integer(name, tokens=tokens)
    check_int(name, "offset", offset, minimum=0)
    return _embed(tokens, embedding, offset=offset)


def _embed(tokens, embedding, *, offset=0):
    d_model = embedding.shape[-1]
    seq = tokens.shape[-1]
    # 1. look up each token's row and scale it, so it is not drowned by the positions
    x = embedding[tokens] * math.sqrt(d_model)  # (batch, seq) -> (batch, seq, d_model)
    # 2. add the positions offset .. offset + seq - 1
    positions = _sinusoidal_positional_encoding(offset + seq, d_model, dtype=embedding.dtype)
    return x + positions[offset:]  # (batch, seq, d_model) + (seq, d_model)


def _source_mask(src_lengths, seq_src):
    """`None`, or the padding mask `(batch, 1, seq_src)` of the source."""
    return None if src_lengths is None else _padding_mask(src_lengths, seq_src)


def encode(src, params, *, num_heads, src_lengths=None, need_weights=False):
    r"""The encoder: embed the source, run the encoder layers, apply the final LayerNorm.

    $$m = \mathrm{LN}\bigl(\mathrm{Enc}_L(\cdots \mathrm{Enc}_1(x))\bigr)$$

    Args:
        src: source token ids `(batch, seq_src)`.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        src_lengths: real tokens per source `(batch,)`; padding after them is masked.
        need_weights: also return every layer's self-attention weights.

    Returns:
        `(memory, weights)`: `memory` `(batch, seq_src, d_model)`; `weights`
        `(layers, batch, heads, seq_src, seq_src)` or `None`.

    Raises:
        TypeError: for `params` of the wrong kind or non-integer tokens.
        ValueError: for token ids outside the vocabulary or wrong shapes.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import encode, init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> src = np.array([[1, 2, 3]])  # (batch, seq_src)
        >>> memory, weights = encode(src, params, num_heads=2, need_weights=True)
        >>> memory.shape, weights.shape
        ((1, 3, 8), (2, 1, 2, 3, 3))
    """
    _check_tokens("encode", params, src, "src", src_lengths)
    return _encode(
        src, params, num_heads=num_heads, src_lengths=src_lengths, need_weights=need_weights
    )


def _encode(src, params, *, num_heads, src_lengths=None, need_weights=False):
    mask = _source_mask(src_lengths, src.shape[-1])  # (batch, 1, seq_src) or None
    # 1. embeddings and positions
    x = _embed(src, params.src_embedding)  # (batch, seq_src, d_model)
    weights = []
    for layer in params.encoder:
        if need_weights:
            # the weights this layer's self-attention computes (pre-LN: on LN_1(x))
            h = _layer_norm(x, layer.norm1_weight, layer.norm1_bias)
            weights.append(
                _multi_head_attention(h, h, h, layer.self_attn, num_heads=num_heads, mask=mask)[1]
            )
        # 2. one encoder layer: self-attention, feed-forward, residuals, pre-LN
        x = _encoder_layer(x, layer, num_heads=num_heads, mask=mask, norm_first=True)
    # 3. the final LayerNorm (pre-LN leaves the residual stream un-normalised)
    memory = _layer_norm(x, params.encoder_norm_weight, params.encoder_norm_bias)
    return memory, (np.stack(weights) if need_weights else None)


def decode(tgt, memory, params, *, num_heads, src_lengths=None):
    r"""The decoder over a whole target at once (teacher forcing): logits for every position.

    $$\mathrm{logits} = \mathrm{LN}\bigl(\mathrm{Dec}_L(\cdots \mathrm{Dec}_1(y, m), m)\bigr)
    W^{out} + b^{out}$$

    Position $t$ sees target tokens $\le t$ (the causal mask) and the whole memory $m$.

    Args:
        tgt: target token ids `(batch, seq_tgt)` (starting with `<bos>`).
        memory: the encoder output `(batch, seq_src, d_model)`.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        src_lengths: real tokens per source `(batch,)`, or `None`.

    Returns:
        Logits `(batch, seq_tgt, tgt_vocab)`: row $t$ scores the token at position $t + 1$.

    Raises:
        TypeError: for `params` of the wrong kind or non-integer tokens.
        ValueError: for token ids outside the vocabulary or wrong shapes.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import decode, encode, init_seq2seq_params
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=2, seed=0)
        >>> memory, _ = encode(np.array([[1, 2, 3]]), params, num_heads=2)
        >>> decode(np.array([[0, 4]]), memory, params, num_heads=2).shape
        (1, 2, 7)
    """
    _check_tokens("decode", params, tgt, "tgt", src_lengths)
    check_arrays("decode", "numpy", memory=memory)
    check_ndim("decode", "memory", memory, ndim=3, legend="(batch, seq_src, d_model)")
    return _decode(tgt, memory, params, num_heads=num_heads, src_lengths=src_lengths)


def _decode(tgt, memory, params, *, num_heads, src_lengths=None):
    memory_mask = _source_mask(src_lengths, memory.shape[-2])  # (batch, 1, seq_src) or None
    # 1. embeddings and positions
    x = _embed(tgt, params.tgt_embedding)  # (batch, seq_tgt, d_model)
    # 2. the decoder layers: causal self-attention, cross-attention, feed-forward
    for layer in params.decoder:
        x = _decoder_layer(
            x, memory, layer, num_heads=num_heads, memory_mask=memory_mask, norm_first=True
        )
    # 3. final LayerNorm, then the output projection to one score per target token
    x = _layer_norm(x, params.decoder_norm_weight, params.decoder_norm_bias)
    return x @ params.w_out + params.b_out  # (batch, seq_tgt, d_model) @ (d_model, tgt_vocab)


def seq2seq_logits(src, tgt, params, *, num_heads, src_lengths=None):
    r"""Encoder and decoder in one call: the logits a training step compares with the labels.

    Args:
        src: source token ids `(batch, seq_src)`.
        tgt: target token ids `(batch, seq_tgt)`, starting with `<bos>`.
        params: a [Seq2SeqParams][qkv.numpy.Seq2SeqParams].
        num_heads: number of attention heads.
        src_lengths: real tokens per source `(batch,)`, or `None`.

    Returns:
        Logits `(batch, seq_tgt, tgt_vocab)`.

    Raises:
        TypeError: for `params` of the wrong kind or non-integer tokens.
        ValueError: for token ids outside the vocabulary or wrong shapes.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import init_seq2seq_params, seq2seq_logits
        >>> params = init_seq2seq_params(10, 7, d_model=8, d_ff=16, num_layers=1, seed=0)
        >>> src, tgt = np.array([[1, 2, 3]]), np.array([[0, 4]])
        >>> seq2seq_logits(src, tgt, params, num_heads=2).shape
        (1, 2, 7)
    """
    _check_tokens("seq2seq_logits", params, src, "src", src_lengths)
    _check_tokens("seq2seq_logits", params, tgt, "tgt")
    return _seq2seq_logits(src, tgt, params, num_heads=num_heads, src_lengths=src_lengths)


def _seq2seq_logits(src, tgt, params, *, num_heads, src_lengths=None):
    memory, _ = _encode(src, params, num_heads=num_heads, src_lengths=src_lengths)
    return _decode(tgt, memory, params, num_heads=num_heads, src_lengths=src_lengths)


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
    name = "init_kv_cache"
    if getattr(params, "_fields", None) != Seq2SeqParams._fields:
        fail(name, "params must be a Seq2SeqParams", TypeError, params=type(params).__name__)
    check_arrays(name, "numpy", memory=memory, src_lengths=src_lengths)
    check_ndim(name, "memory", memory, ndim=3, legend="(batch, seq_src, d_model)")
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
    name = "decode_step"
    _check_tokens(name, params, tgt, "tgt")
    if getattr(cache, "_fields", None) != KVCache._fields:
        fail(name, "cache must be a KVCache", TypeError, cache=type(cache).__name__)
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
    _check_tokens(name, params, src, "src", src_lengths)
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
