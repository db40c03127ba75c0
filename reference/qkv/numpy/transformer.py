"""The Transformer's layers: position-wise feed-forward, encoder layer and decoder layer.

Dimension names: `*batch` leading axes, `seq` target (or source) positions, `seq_k` memory
positions, `d_model` features, `d_ff` hidden features of the feed-forward network, `heads`
(= `num_heads`). Parameters are passed explicitly as NamedTuples; weights are applied on the
right, `x @ w + b`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._checks import check_factory, check_feed_forward, check_layer
from .multihead import MultiHeadParams, _init_multi_head_params, _multi_head_attention
from .normalization import _layer_norm

__all__ = [
    "feed_forward",
    "EncoderLayerParams",
    "DecoderLayerParams",
    "init_encoder_layer_params",
    "init_decoder_layer_params",
    "encoder_layer",
    "decoder_layer",
]

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _activate(h, activation):
    """ReLU, or the exact GELU $x\\,\\Phi(x)$ (as `torch.nn.functional.gelu`)."""
    if activation == "relu":
        return np.maximum(h, 0)
    return (h * 0.5 * (1.0 + _erf(h / math.sqrt(2.0)))).astype(h.dtype)


def feed_forward(x, w_1, b_1, w_2, b_2, *, activation="relu"):
    r"""The position-wise feed-forward network: the same two-layer MLP on every token.

    $$\mathrm{FFN}(x) = \phi(x W_1 + b_1)\, W_2 + b_2,$$

    with $\phi$ = ReLU (the paper) or GELU (exact, $x\,\Phi(x)$). Tokens do not interact here;
    all mixing between positions happens in attention.

    Args:
        x: `(*batch, seq, d_model)` (any number of leading axes).
        w_1: `(d_model, d_ff)`.
        b_1: `(d_ff,)` or `None`.
        w_2: `(d_ff, d_model)`.
        b_2: `(d_model,)` or `None`.
        activation: `"relu"` or `"gelu"`.

    Returns:
        Array of shape `(*batch, seq, d_model)`.

    Raises:
        TypeError: for non-floating or mixed dtypes, or arrays of another backend.
        ValueError: for shapes that do not chain or an unknown `activation`.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import feed_forward
        >>> x = np.array([[1.0, -1.0]])  # (seq, d_model)
        >>> w_1 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # (d_model, d_ff)
        >>> w_2 = np.ones((3, 2))  # (d_ff, d_model)
        >>> feed_forward(x, w_1, None, w_2, None)  # relu([1, -1, 0]) @ ones
        array([[1., 1.]])
    """
    check_feed_forward("feed_forward", "numpy", x, w_1, b_1, w_2, b_2, activation)
    return _feed_forward(x, w_1, b_1, w_2, b_2, activation=activation)


def _feed_forward(x, w_1, b_1, w_2, b_2, *, activation="relu"):
    """The math of `feed_forward`, unchecked (its inputs are valid)."""
    # 1. widen every token to d_ff features
    h = x @ w_1  # (*batch, seq, d_model) @ (d_model, d_ff) -> (*batch, seq, d_ff)
    if b_1 is not None:
        h = h + b_1
    # 2. the non-linearity, feature by feature
    h = _activate(h, activation)
    # 3. back to d_model features
    out = h @ w_2  # (*batch, seq, d_ff) @ (d_ff, d_model) -> (*batch, seq, d_model)
    if b_2 is not None:
        out = out + b_2
    return out


class EncoderLayerParams(NamedTuple):
    r"""Parameters of one encoder layer (names follow `nn.TransformerEncoderLayer`).

    Attributes:
        self_attn: a [MultiHeadParams][qkv.numpy.MultiHeadParams] for self-attention.
        w_1: feed-forward weight `(d_model, d_ff)` (`linear1.weight.T`).
        b_1: feed-forward bias `(d_ff,)` or `None`.
        w_2: feed-forward weight `(d_ff, d_model)` (`linear2.weight.T`).
        b_2: feed-forward bias `(d_model,)` or `None`.
        norm1_weight: LayerNorm around self-attention, `(d_model,)` or `None`.
        norm1_bias: `(d_model,)` or `None`.
        norm2_weight: LayerNorm around the feed-forward network, `(d_model,)` or `None`.
        norm2_bias: `(d_model,)` or `None`.

    Examples:
        >>> from qkv.numpy import EncoderLayerParams
        >>> EncoderLayerParams._fields[:3]
        ('self_attn', 'w_1', 'b_1')
    """

    self_attn: MultiHeadParams
    w_1: Any
    b_1: Any
    w_2: Any
    b_2: Any
    norm1_weight: Any
    norm1_bias: Any
    norm2_weight: Any
    norm2_bias: Any


class DecoderLayerParams(NamedTuple):
    r"""Parameters of one decoder layer (names follow `nn.TransformerDecoderLayer`).

    Attributes:
        self_attn: [MultiHeadParams][qkv.numpy.MultiHeadParams] of the causal self-attention.
        cross_attn: [MultiHeadParams][qkv.numpy.MultiHeadParams] of the cross-attention to the
            encoder's memory (PyTorch calls it `multihead_attn`).
        w_1: feed-forward weight `(d_model, d_ff)`.
        b_1: feed-forward bias `(d_ff,)` or `None`.
        w_2: feed-forward weight `(d_ff, d_model)`.
        b_2: feed-forward bias `(d_model,)` or `None`.
        norm1_weight: LayerNorm around self-attention, `(d_model,)` or `None`.
        norm1_bias: `(d_model,)` or `None`.
        norm2_weight: LayerNorm around cross-attention, `(d_model,)` or `None`.
        norm2_bias: `(d_model,)` or `None`.
        norm3_weight: LayerNorm around the feed-forward network, `(d_model,)` or `None`.
        norm3_bias: `(d_model,)` or `None`.

    Examples:
        >>> from qkv.numpy import DecoderLayerParams
        >>> DecoderLayerParams._fields[:2]
        ('self_attn', 'cross_attn')
    """

    self_attn: MultiHeadParams
    cross_attn: MultiHeadParams
    w_1: Any
    b_1: Any
    w_2: Any
    b_2: Any
    norm1_weight: Any
    norm1_bias: Any
    norm2_weight: Any
    norm2_bias: Any
    norm3_weight: Any
    norm3_bias: Any


def _init_feed_forward_and_norms(d_model, d_ff, seed, bias, dtype, device, num_norms):
    """Glorot-uniform feed-forward weights, zero biases, LayerNorms at weight 1 and bias 0."""
    dtype = np.float64 if dtype is None else dtype
    rng = np.random.default_rng(seed)
    bound = math.sqrt(6.0 / (d_model + d_ff))
    w_1 = rng.uniform(-bound, bound, size=(d_model, d_ff))
    w_1 = w_1.astype(dtype)
    w_2 = rng.uniform(-bound, bound, size=(d_ff, d_model))
    w_2 = w_2.astype(dtype)
    b_1 = np.zeros(d_ff, dtype=dtype) if bias else None
    b_2 = np.zeros(d_model, dtype=dtype) if bias else None
    norms = []
    for _ in range(num_norms):
        ones = np.ones(d_model, dtype=dtype)
        norms += [ones, np.zeros(d_model, dtype=dtype) if bias else None]
    return [w_1, b_1, w_2, b_2, *norms]


def init_encoder_layer_params(d_model, d_ff, *, bias=True, seed=0, dtype=None, device=None):
    r"""Seeded random [EncoderLayerParams][qkv.numpy.EncoderLayerParams].

    Attention as in [init_multi_head_params][qkv.numpy.init_multi_head_params]; feed-forward
    weights Glorot uniform, $\mathcal{U}(\pm\sqrt{6 / (d_{model} + d_{ff})})$; biases 0;
    LayerNorm weights 1. The numbers come from `numpy.random.SeedSequence(seed)` in both backends.

    Args:
        d_model: model width.
        d_ff: hidden width of the feed-forward network.
        bias: create the biases (zeros), or set every bias to `None`.
        seed: integer seed.
        dtype: floating dtype (default float64).
        device: `None` or `"cpu"` (NumPy arrays live on the CPU).

    Returns:
        An [EncoderLayerParams][qkv.numpy.EncoderLayerParams].

    Raises:
        TypeError: if `d_model` or `d_ff` is not an integer.
        ValueError: if `d_model` or `d_ff` is below 1, or `device` is not the CPU.

    Examples:
        >>> from qkv.numpy import init_encoder_layer_params
        >>> params = init_encoder_layer_params(4, 8, seed=0)
        >>> params.self_attn.w_q.shape, params.w_1.shape, params.w_2.shape
        ((4, 4), (4, 8), (8, 4))
    """
    check_factory("init_encoder_layer_params", "numpy", device, d_model=d_model, d_ff=d_ff)
    return _init_encoder_layer_params(
        d_model, d_ff, bias=bias, seed=seed, dtype=dtype, device=device
    )


def _init_encoder_layer_params(d_model, d_ff, *, bias=True, seed=0, dtype=None, device=None):
    """The math of `init_encoder_layer_params`, unchecked (its inputs are valid)."""
    attn_seed, ffn_seed = np.random.SeedSequence(seed).spawn(2)
    rest = _init_feed_forward_and_norms(d_model, d_ff, ffn_seed, bias, dtype, device, 2)
    self_attn = _init_multi_head_params(
        d_model, bias=bias, seed=attn_seed, dtype=dtype, device=device
    )
    return EncoderLayerParams(self_attn, *rest)


def init_decoder_layer_params(d_model, d_ff, *, bias=True, seed=0, dtype=None, device=None):
    r"""Seeded random [DecoderLayerParams][qkv.numpy.DecoderLayerParams].

    Same distributions as [init_encoder_layer_params][qkv.numpy.init_encoder_layer_params], with
    a second attention (the cross-attention) and a third LayerNorm.

    Args:
        d_model: model width.
        d_ff: hidden width of the feed-forward network.
        bias: create the biases (zeros), or set every bias to `None`.
        seed: integer seed.
        dtype: floating dtype (default float64).
        device: `None` or `"cpu"` (NumPy arrays live on the CPU).

    Returns:
        A [DecoderLayerParams][qkv.numpy.DecoderLayerParams].

    Raises:
        TypeError: if `d_model` or `d_ff` is not an integer.
        ValueError: if `d_model` or `d_ff` is below 1, or `device` is not the CPU.

    Examples:
        >>> from qkv.numpy import init_decoder_layer_params
        >>> params = init_decoder_layer_params(4, 8, seed=0)
        >>> params.cross_attn.w_k.shape, params.norm3_weight
        ((4, 4), array([1., 1., 1., 1.]))
    """
    check_factory("init_decoder_layer_params", "numpy", device, d_model=d_model, d_ff=d_ff)
    return _init_decoder_layer_params(
        d_model, d_ff, bias=bias, seed=seed, dtype=dtype, device=device
    )


def _init_decoder_layer_params(d_model, d_ff, *, bias=True, seed=0, dtype=None, device=None):
    """The math of `init_decoder_layer_params`, unchecked (its inputs are valid)."""
    self_seed, cross_seed, ffn_seed = np.random.SeedSequence(seed).spawn(3)
    rest = _init_feed_forward_and_norms(d_model, d_ff, ffn_seed, bias, dtype, device, 3)
    self_attn = _init_multi_head_params(
        d_model, bias=bias, seed=self_seed, dtype=dtype, device=device
    )
    cross_attn = _init_multi_head_params(
        d_model, bias=bias, seed=cross_seed, dtype=dtype, device=device
    )
    return DecoderLayerParams(self_attn, cross_attn, *rest)


def encoder_layer(
    x, params, *, num_heads, mask=None, norm_first=False, activation="relu", eps=1e-5
):
    r"""One Transformer encoder layer: self-attention and a feed-forward network, each wrapped
    in a residual connection and a LayerNorm.

    Post-LN, as in the paper (`norm_first=False`):

    $$h = \mathrm{LN}_1(x + \mathrm{MHA}(x, x, x)), \qquad
    y = \mathrm{LN}_2(h + \mathrm{FFN}(h)).$$

    Pre-LN (`norm_first=True`, easier to train deep):

    $$h = x + \mathrm{MHA}(\mathrm{LN}_1(x)), \qquad y = h + \mathrm{FFN}(\mathrm{LN}_2(h)).$$

    Equals `nn.TransformerEncoderLayer(..., batch_first=True)` in eval mode with the same
    weights (see `from_torch` of [TransformerEncoderLayer][qkv.torch.TransformerEncoderLayer]).

    Args:
        x: `(*batch, seq, d_model)`.
        params: an [EncoderLayerParams][qkv.numpy.EncoderLayerParams].
        num_heads: number of attention heads; must divide `d_model`.
        mask: boolean, `True` = may attend, broadcastable to `(*batch, seq, seq)` (e.g. a
            [padding_mask][qkv.numpy.padding_mask]).
        norm_first: pre-LN instead of post-LN.
        activation: `"relu"` or `"gelu"`.
        eps: LayerNorm epsilon.

    Returns:
        Array of shape `(*batch, seq, d_model)`.

    Raises:
        TypeError: for `params` of the wrong kind, non-floating or mixed dtypes, a `norm_first`
            that is not a boolean (`True`/`False`; the integers 0 and 1 are not), or arrays of
            another backend.
        ValueError: for wrong shapes, `d_model % num_heads != 0`, or an unknown `activation`.
            The message names this layer, even when a sub-layer's input is wrong.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import encoder_layer, init_encoder_layer_params
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 8))  # (batch, seq, d_model)
        >>> params = init_encoder_layer_params(8, 16, seed=0)
        >>> y = encoder_layer(x, params, num_heads=2)
        >>> y.shape
        (2, 5, 8)
        >>> y.std(axis=-1).round(4)  # post-LN: unit spread per token
        array([[1., 1., 1., 1., 1.],
               [1., 1., 1., 1., 1.]])
    """
    check_layer(
        "encoder_layer",
        "numpy",
        params,
        x,
        num_heads=num_heads,
        mask=mask,
        norm_first=norm_first,
        activation=activation,
        eps=eps,
    )
    return _encoder_layer(
        x,
        params,
        num_heads=num_heads,
        mask=mask,
        norm_first=norm_first,
        activation=activation,
        eps=eps,
    )


def _encoder_layer(
    x, params, *, num_heads, mask=None, norm_first=False, activation="relu", eps=1e-5
):
    """The math of `encoder_layer`, unchecked (its inputs are valid)."""

    def self_attention(h):
        return _multi_head_attention(
            h, h, h, params.self_attn, num_heads=num_heads, mask=mask, need_weights=False
        )[0]

    def ffn(h):
        return _feed_forward(
            h, params.w_1, params.b_1, params.w_2, params.b_2, activation=activation
        )

    if norm_first:
        # 1. pre-LN: normalise, attend, add the residual
        x = x + self_attention(_layer_norm(x, params.norm1_weight, params.norm1_bias, eps))
        # 2. normalise, feed-forward, add the residual
        x = x + ffn(_layer_norm(x, params.norm2_weight, params.norm2_bias, eps))
    else:
        # 1. post-LN: attend, add the residual, normalise
        x = _layer_norm(x + self_attention(x), params.norm1_weight, params.norm1_bias, eps)
        # 2. feed-forward, add the residual, normalise
        x = _layer_norm(x + ffn(x), params.norm2_weight, params.norm2_bias, eps)
    return x  # (*batch, seq, d_model)


def decoder_layer(
    x, memory, params, *, num_heads, memory_mask=None, norm_first=False, activation="relu", eps=1e-5
):
    r"""One Transformer decoder layer: causal self-attention, cross-attention to the encoder's
    memory, and a feed-forward network, each with a residual connection and a LayerNorm.

    Post-LN (`norm_first=False`), with $m$ the memory:

    $$h_1 = \mathrm{LN}_1(x + \mathrm{MHA}_{causal}(x, x, x)), \quad
    h_2 = \mathrm{LN}_2(h_1 + \mathrm{MHA}(h_1, m, m)), \quad
    y = \mathrm{LN}_3(h_2 + \mathrm{FFN}(h_2)).$$

    Pre-LN (`norm_first=True`) normalises each sub-layer's input instead (the memory is used as
    it is). Position $t$ of the output depends only on target positions $\le t$ (the causal mask)
    and on the whole memory. Equals `nn.TransformerDecoderLayer(..., batch_first=True)` in eval
    mode with `tgt_is_causal=True` and the same weights.

    Args:
        x: the target sequence `(*batch, seq, d_model)`.
        memory: the encoder output `(*batch, seq_k, d_model)`.
        params: a [DecoderLayerParams][qkv.numpy.DecoderLayerParams].
        num_heads: number of attention heads; must divide `d_model`.
        memory_mask: boolean, `True` = may attend, broadcastable to `(*batch, seq, seq_k)`
            (e.g. a [padding_mask][qkv.numpy.padding_mask] of the source).
        norm_first: pre-LN instead of post-LN.
        activation: `"relu"` or `"gelu"`.
        eps: LayerNorm epsilon.

    Returns:
        Array of shape `(*batch, seq, d_model)`.

    Raises:
        TypeError: for `params` of the wrong kind, non-floating or mixed dtypes, a `norm_first`
            that is not a boolean (`True`/`False`; the integers 0 and 1 are not), or arrays of
            another backend.
        ValueError: for wrong shapes, `d_model % num_heads != 0`, or an unknown `activation`.
            The message names this layer, even when a sub-layer's input is wrong.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import decoder_layer, init_decoder_layer_params
        >>> rng = np.random.default_rng(0)
        >>> x, memory = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))
        >>> params = init_decoder_layer_params(8, 16, seed=0)
        >>> decoder_layer(x, memory, params, num_heads=2).shape  # (batch, seq, d_model)
        (2, 3, 8)
    """
    check_layer(
        "decoder_layer",
        "numpy",
        params,
        x,
        memory,
        num_heads=num_heads,
        mask=memory_mask,
        norm_first=norm_first,
        activation=activation,
        eps=eps,
    )
    return _decoder_layer(
        x,
        memory,
        params,
        num_heads=num_heads,
        memory_mask=memory_mask,
        norm_first=norm_first,
        activation=activation,
        eps=eps,
    )


def _decoder_layer(
    x, memory, params, *, num_heads, memory_mask=None, norm_first=False, activation="relu", eps=1e-5
):
    """The math of `decoder_layer`, unchecked (its inputs are valid)."""

    def self_attention(h):
        return _multi_head_attention(
            h, h, h, params.self_attn, num_heads=num_heads, is_causal=True, need_weights=False
        )[0]

    def cross_attention(h):
        return _multi_head_attention(
            h,
            memory,
            memory,
            params.cross_attn,
            num_heads=num_heads,
            mask=memory_mask,
            need_weights=False,
        )[0]

    def ffn(h):
        return _feed_forward(
            h, params.w_1, params.b_1, params.w_2, params.b_2, activation=activation
        )

    if norm_first:
        # 1. pre-LN: causal self-attention on the normalised target, plus the residual
        x = x + self_attention(_layer_norm(x, params.norm1_weight, params.norm1_bias, eps))
        # 2. cross-attention from the normalised target to the memory, plus the residual
        x = x + cross_attention(_layer_norm(x, params.norm2_weight, params.norm2_bias, eps))
        # 3. feed-forward on the normalised result, plus the residual
        x = x + ffn(_layer_norm(x, params.norm3_weight, params.norm3_bias, eps))
    else:
        # 1. post-LN: causal self-attention, residual, normalise
        x = _layer_norm(x + self_attention(x), params.norm1_weight, params.norm1_bias, eps)
        # 2. cross-attention to the memory, residual, normalise
        x = _layer_norm(x + cross_attention(x), params.norm2_weight, params.norm2_bias, eps)
        # 3. feed-forward, residual, normalise
        x = _layer_norm(x + ffn(x), params.norm3_weight, params.norm3_bias, eps)
    return x  # (*batch, seq, d_model)
