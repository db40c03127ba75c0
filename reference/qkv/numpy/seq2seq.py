r"""A whole encoder–decoder Transformer: embeddings, the encoder, the decoder, the logits.

The pieces come from the other modules: token embeddings scaled by $\sqrt{d_{model}}$ plus
[sinusoidal_positional_encoding][qkv.numpy.sinusoidal_positional_encoding], `num_layers`
[encoder_layer][qkv.numpy.encoder_layer]s and [decoder_layer][qkv.numpy.decoder_layer]s in
pre-LN form (`norm_first=True`, which trains without a long warm-up), and, because pre-LN leaves
the residual stream un-normalised, one final [layer_norm][qkv.numpy.layer_norm] after each stack.
The output projection is *not* tied to the target embedding: with a small target vocabulary
tying saves a few thousand parameters, and an untied $W^{out}$ keeps the logits' scale apart
from the $\sqrt{d_{model}}$-scaled embeddings. Generating a translation token by token, with a
key/value cache, is the next module's ([greedy_decode][qkv.numpy.greedy_decode]).

Dimension names: `batch` sequences, `seq_src` source tokens, `seq_tgt` target tokens,
`d_model` features, `heads` (= `num_heads`), `layers` (= `num_layers`), `src_vocab` and
`tgt_vocab` vocabulary sizes. Tokens are integer ids `(batch, seq)`; source padding is given by
`src_lengths` `(batch,)`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._checks import check_arrays, check_decode, check_int, check_integer, check_tokens
from .masks import _padding_mask
from .multihead import _multi_head_attention
from .normalization import _layer_norm
from .positional import _sinusoidal_positional_encoding
from .transformer import (
    DecoderLayerParams,
    EncoderLayerParams,
    _decoder_layer,
    _encoder_layer,
    init_decoder_layer_params,
    init_encoder_layer_params,
)

__all__ = [
    "Seq2SeqParams",
    "init_seq2seq_params",
    "embed",
    "encode",
    "decode",
    "seq2seq_logits",
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
    check_tokens("encode", "numpy", params, src, "src", src_lengths)
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
    check_decode("decode", "numpy", params, tgt, memory, src_lengths)
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
    check_tokens("seq2seq_logits", "numpy", params, src, "src", src_lengths)
    check_tokens("seq2seq_logits", "numpy", params, tgt, "tgt")
    return _seq2seq_logits(src, tgt, params, num_heads=num_heads, src_lengths=src_lengths)


def _seq2seq_logits(src, tgt, params, *, num_heads, src_lengths=None):
    memory, _ = _encode(src, params, num_heads=num_heads, src_lengths=src_lengths)
    return _decode(tgt, memory, params, num_heads=num_heads, src_lengths=src_lengths)
