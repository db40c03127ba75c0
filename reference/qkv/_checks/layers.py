"""Layers: parameter factories, positional encodings, heads, multi-head attention, LayerNorm,
the feed-forward network, and the encoder and decoder layers built from them."""

from __future__ import annotations

from typing import Any

from .arrays import (
    _check_kind,
    _present,
    check_arrays,
    check_device_arg,
    check_float,
    check_same_device,
    check_same_dtype,
    fail,
    shape_of,
)
from .scalars import check_bool, check_choice, check_int, check_positive
from .shapes import _broadcast, check_mask, check_ndim, check_same_size


def check_factory(func: str, backend: str, device: Any, **sizes: Any) -> None:
    """Parameter factories: every size an integer >= 1; NumPy: `device` None or "cpu"."""
    for name, size in sizes.items():
        check_int(func, name, size, minimum=1)
    if backend == "numpy":
        check_device_arg(func, device)


def check_positional(
    func: str, backend: str, num_positions: Any, d_model: Any, device: Any
) -> None:
    """Sinusoidal encodings: `num_positions >= 0`, an even `d_model >= 2`; NumPy: cpu only."""
    check_int(func, "num_positions", num_positions, minimum=0)
    check_int(func, "d_model", d_model, minimum=2)
    if d_model % 2 != 0:
        fail(func, "d_model must be even (one sine and one cosine per frequency)", d_model=d_model)
    if backend == "numpy":
        check_device_arg(func, device)


def _check_heads(func: str, name: str, x: Any, num_heads: Any) -> None:
    check_int(func, "num_heads", num_heads, minimum=1)
    if shape_of(x)[-1] % num_heads != 0:
        rule = f"d_model (last axis of {name}) must be divisible by num_heads"
        fail(func, rule, **{name: x}, num_heads=num_heads)


def check_split_heads(func: str, backend: str, x: Any, num_heads: Any) -> None:
    """`split_heads`: x `(*batch, seq, d_model)` with `d_model % num_heads == 0`."""
    check_arrays(func, backend, x=x)
    check_ndim(func, "x", x, min_ndim=2, legend="(*batch, seq, d_model)")
    _check_heads(func, "x", x, num_heads)


def check_merge_heads(func: str, backend: str, x: Any) -> None:
    """`merge_heads`: x `(*batch, heads, seq, d_head)`."""
    check_arrays(func, backend, x=x)
    check_ndim(func, "x", x, min_ndim=3, legend="(*batch, heads, seq, d_head)")


MULTI_HEAD_FIELDS = ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o")


def check_multi_head(
    func: str,
    backend: str,
    query: Any,
    key: Any,
    value: Any,
    params: Any,
    num_heads: Any,
    mask: Any = None,
    *,
    is_causal: Any = False,
    need_weights: Any = True,
    params_name: str = "params",
) -> tuple[int, ...]:
    """Multi-head attention: inputs `(*batch, seq, d_model)` with `d_model >= 1`, a
    MultiHeadParams of `(d_model, d_model)` weights and `(d_model,)` biases, `num_heads` dividing
    `d_model`, a mask, two flags. Returns the scores' shape without heads."""
    _check_kind(func, params_name, params, "MultiHeadParams", MULTI_HEAD_FIELDS)
    arrays = {"query": query, "key": key, "value": value}
    arrays.update({f"{params_name}.{field}": p for field, p in params._asdict().items()})
    check_arrays(func, backend, **arrays, mask=mask)
    check_float(func, **arrays)
    check_same_dtype(func, **arrays)
    check_same_device(func, **arrays, mask=mask)
    check_ndim(func, "query", query, min_ndim=2, legend="(*batch, seq_q, d_model)")
    check_ndim(func, "key", key, min_ndim=2, legend="(*batch, seq_k, d_model)")
    check_ndim(func, "value", value, min_ndim=2, legend="(*batch, seq_k, d_model)")
    rule = "query, key and value must share d_model (last axis)"
    check_same_size(func, rule, "query", query, -1, "key", key, -1)
    check_same_size(func, rule, "query", query, -1, "value", value, -1)
    rule = "key and value must share seq_k (axis -2)"
    check_same_size(func, rule, "key", key, -2, "value", value, -2)
    d_model = shape_of(query)[-1]
    if d_model < 1:
        fail(func, "d_model (last axis of query) must be >= 1", query=query)
    for field, p in params._asdict().items():
        expected = (d_model, d_model) if field.startswith("w_") else (d_model,)
        if p is not None and shape_of(p) != expected:
            legend = "(d_model, d_model)" if field.startswith("w_") else "(d_model,)"
            fail(
                func,
                f"{params_name}.{field} must have shape {legend}",
                query=query,
                **{f"{params_name}.{field}": p},
            )
    _check_heads(func, "query", query, num_heads)
    batch = {n: shape_of(x)[:-2] for n, x in (("query", query), ("key", key), ("value", value))}
    rule = "query, key and value batch axes must broadcast"
    batch_shape = _broadcast(*batch.values())
    if batch_shape is None:
        fail(func, rule, **batch)
    scores_shape = (*batch_shape, shape_of(query)[-2], shape_of(key)[-2])
    check_mask(func, mask, scores_shape)
    check_bool(func, "is_causal", is_causal)
    check_bool(func, "need_weights", need_weights)
    return scores_shape


def check_norm(
    func: str, backend: str, x: Any, weight: Any, bias: Any, eps: Any, *, min_ndim: int
) -> None:
    """LayerNorm/BatchNorm: x `(*batch, d_model)`, `weight`/`bias` `(d_model,)` or None, one
    dtype, `eps > 0`."""
    check_arrays(func, backend, x=x, weight=weight, bias=bias)
    check_float(func, x=x, weight=weight, bias=bias)
    check_same_dtype(func, x=x, weight=weight, bias=bias)
    check_ndim(func, "x", x, min_ndim=min_ndim, legend="(*batch, d_model)")
    for param_name, param in (("weight", weight), ("bias", bias)):
        if param is not None:
            check_ndim(func, param_name, param, ndim=1, legend="(d_model,)")
            rule = f"x and {param_name} must share d_model (last axis)"
            check_same_size(func, rule, "x", x, -1, param_name, param, 0)
    check_positive(func, "eps", eps)


ACTIVATIONS = ("relu", "gelu")


def check_feed_forward(
    func: str, backend: str, x: Any, w_1: Any, b_1: Any, w_2: Any, b_2: Any, activation: Any
) -> None:
    """Feed-forward network: x `(*batch, d_model)`, `w_1` `(d_model, d_ff)`, `b_1` `(d_ff,)`,
    `w_2` `(d_ff, d_model)`, `b_2` `(d_model,)` (biases may be None), one dtype, an activation."""
    arrays = {"x": x, "w_1": w_1, "b_1": b_1, "w_2": w_2, "b_2": b_2}
    check_arrays(func, backend, **arrays)
    check_float(func, **arrays)
    check_same_dtype(func, **arrays)
    check_ndim(func, "x", x, min_ndim=1, legend="(*batch, d_model)")
    check_ndim(func, "w_1", w_1, ndim=2, legend="(d_model, d_ff)")
    check_ndim(func, "w_2", w_2, ndim=2, legend="(d_ff, d_model)")
    d_model, d_ff = shape_of(w_1)
    shapes_ok = shape_of(x)[-1] == d_model and shape_of(w_2) == (d_ff, d_model)
    shapes_ok = shapes_ok and (b_1 is None or shape_of(b_1) == (d_ff,))
    shapes_ok = shapes_ok and (b_2 is None or shape_of(b_2) == (d_model,))
    if not shapes_ok:
        rule = "shapes must chain: x (*batch, d_model), w_1 (d_model, d_ff), b_1 (d_ff,), "
        rule += "w_2 (d_ff, d_model), b_2 (d_model,)"
        fail(func, rule, **_present(arrays))
    check_choice(func, "activation", activation, ACTIVATIONS)


ENCODER_FIELDS = (
    "self_attn",
    "w_1",
    "b_1",
    "w_2",
    "b_2",
    "norm1_weight",
    "norm1_bias",
    "norm2_weight",
    "norm2_bias",
)
DECODER_FIELDS = (
    "self_attn",
    "cross_attn",
    "w_1",
    "b_1",
    "w_2",
    "b_2",
    "norm1_weight",
    "norm1_bias",
    "norm2_weight",
    "norm2_bias",
    "norm3_weight",
    "norm3_bias",
)


def check_layer(
    func: str,
    backend: str,
    params: Any,
    x: Any,
    memory: Any = None,
    *,
    num_heads: Any,
    mask: Any = None,
    norm_first: Any = False,
    activation: Any = "relu",
    eps: Any = 1e-5,
) -> None:
    """An encoder layer (`memory` None, `mask` over `x`) or a decoder layer (`memory` given,
    `mask` = `memory_mask`): everything its attention, LayerNorm and feed-forward sub-layers get,
    checked here so that an error names the layer."""
    decoder = memory is not None
    kind, fields = (
        ("DecoderLayerParams", DECODER_FIELDS)
        if decoder
        else ("EncoderLayerParams", ENCODER_FIELDS)
    )
    _check_kind(func, "params", params, kind, fields)
    check_arrays(func, backend, x=x, memory=memory)
    check_ndim(func, "x", x, min_ndim=2, legend="(*batch, seq, d_model)")
    # an encoder layer's mask is over x; a decoder layer's (memory_mask) is over the memory
    self_mask, attn = (None if decoder else mask), params.self_attn
    check_multi_head(
        func, backend, x, x, x, attn, num_heads, self_mask, params_name="params.self_attn"
    )
    if decoder:
        attn = params.cross_attn
        check_multi_head(
            func, backend, x, memory, memory, attn, num_heads, mask, params_name="params.cross_attn"
        )
    check_feed_forward(func, backend, x, params.w_1, params.b_1, params.w_2, params.b_2, activation)
    for i in (1, 2, 3) if decoder else (1, 2):
        weight, bias = getattr(params, f"norm{i}_weight"), getattr(params, f"norm{i}_bias")
        check_norm(func, backend, x, weight, bias, eps, min_ndim=2)
    check_bool(func, "norm_first", norm_first)
