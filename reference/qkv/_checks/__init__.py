"""Input validation shared by both backends (`qkv.numpy` and `qkv.torch`).

Every check takes the public function's name first and raises `ValueError` (a wrong shape or value)
or `TypeError` (a wrong kind of object or dtype) with one message format:

    "<function>: <rule>; got <name> <shape or value>, <name> <shape or value>"

for example

    "scaled_dot_product_attention: query and key must share d_k (last axis); got query (2, 3, 4),
    key (2, 5, 8)"

The package never imports PyTorch: it reads shapes and dtypes through a small duck-typed layer,
so the message for the same bad input is the same text in both backends (dtype names are printed
without a `torch.` prefix, shapes as Python tuples). Every name below is importable from
`qkv._checks` itself.

A typical backend function starts with

    check_arrays("softmax", "numpy", x=x)      # right backend, no mixed backends
    check_float("softmax", x=x)                # floating dtype
    check_ndim("softmax", "x", x, min_ndim=1, legend="(..., n)")
    check_axis("softmax", axis, x)             # axis in range

The helpers (all raise, none returns a value unless stated), module by module:

`arrays`: what an array is.

- `backend_of(x) -> str`: "numpy", "torch" or the type name of anything else.
- `shape_of(x) -> tuple[int, ...]`, `dtype_name(x) -> str`.
- `describe(value) -> str`: how a value appears after `got` (shape, value or type).
- `fail(func, rule, error=ValueError, /, **got)`: raise with the standard message (`error`
  positional).
- `check_arrays(func, backend, **arrays)`: every non-None value is an array of `backend`
  ("numpy" or "torch"); a mix of NumPy and torch gives the "mixed backends" TypeError.
- `check_float(func, **arrays)`: floating dtype (not integer, bool or complex).
- `check_integer(func, **arrays)`: integer dtype (e.g. `lengths`; bool excluded).
- `check_same_dtype(func, **arrays)`: all arrays share one dtype.
- `check_same_device(func, **arrays)`: all arrays live on one device (NumPy arrays are on "cpu").
- `check_device_arg(func, device)`: NumPy factories accept `device` None or "cpu" only.

`shapes`: ranks and broadcasting.

- `check_ndim(func, name, x, *, ndim=None, min_ndim=None, legend="")`: rank rules.
- `check_same_size(func, rule, name_a, a, axis_a, name_b, b, axis_b)`: one axis equal in two arrays.
- `broadcast_shape(*shapes)`: the broadcast of shapes known to broadcast (for the cores).
- `check_batch_broadcast(func, rule, trailing=0, **arrays) -> tuple[int, ...]`: batch axes (all
  but the last `trailing`) broadcast together; returns their broadcast shape.
- `check_mask(func, mask, scores_shape, *, target="(*batch, seq_q, seq_k)")`: boolean mask that
  broadcasts to the scores' shape.

`scalars`: the other arguments.

- `check_bool(func, name, value)`: a boolean flag (`True`/`False` or `numpy.bool_`; the integers
  0 and 1 are not flags).
- `check_generator(func, backend, generator)`: None or a random generator of `backend`.
- `check_int(func, name, value, *, minimum=None)`: a Python/NumPy integer (not bool), >= minimum.
- `check_real(func, name, value)`: a real number (e.g. `scale`); None passes.
- `check_positive(func, name, value)`: a real number > 0.
- `check_divisible(func, name_a, a, name_b, b)`: `a % b == 0`.
- `check_choice(func, name, value, choices)`: value is one of choices.
- `check_axis(func, axis, x) -> int`: axis valid for x; returns it as a non-negative index.

Checks at the door: every public function of `qkv.numpy` and `qkv.torch` makes ONE call into this
package (the bundles below, or one of the checks above when it is enough) and then runs its
unchecked core `_name`; cores call cores, so one public call validates its inputs once and an error
names the function the user called.

`attention`: the attention family.

- `check_attention(func, backend, query, key, value=None, mask=None, *, share_d_k=True, ...)
  -> tuple[int, ...]`: the whole set of checks for `(query, key, value, mask)` inputs (backend,
  floating and equal dtypes, one device, rank >= 2, shared d_k and seq_k, broadcastable batch axes,
  mask), with the optional keywords `scale`, `is_causal`, `eps`, `tau`, `generator`, `window` of
  the attention and score functions; returns the scores' shape `(*batch, seq_q, seq_k)`.
- `check_softmax(func, backend, x, axis)`.
- `check_additive_scores`, `check_bilinear_scores`, `check_column_form`: their parameters too.
- `check_mask_factory(func, backend, seq_q, seq_k, *, window, device)`,
  `check_padding_mask(func, backend, lengths, seq_k)`.

`layers`: the layers of a Transformer.

- `check_factory(func, backend, device, **sizes)`.
- `check_positional(func, backend, num_positions, d_model, device)`.
- `check_split_heads`, `check_merge_heads`, `check_multi_head(func, backend, query, key, value,
  params, num_heads, mask, ...) -> scores' shape`.
- `check_norm(func, backend, x, weight, bias, eps, *, min_ndim)`.
- `check_feed_forward(func, backend, x, w_1, b_1, w_2, b_2, activation)`.
- `check_layer(func, backend, params, kind, x, memory, num_heads, mask, norm_first, activation,
  eps)`: everything an encoder or decoder layer passes to its sub-layers.

`seq2seq`: the encoder–decoder and its decoding.

- `check_tokens(func, backend, params, tokens, which, src_lengths=None)`: token ids within the
  vocabulary of `which` ("src" or "tgt").
- `check_decode`, `check_kv_cache`, `check_decode_step`.
"""

from __future__ import annotations

from .arrays import (
    _present,
    backend_of,
    check_arrays,
    check_device_arg,
    check_float,
    check_integer,
    check_same_device,
    check_same_dtype,
    describe,
    dtype_name,
    fail,
    shape_of,
)
from .attention import (
    check_additive_scores,
    check_attention,
    check_bilinear_scores,
    check_column_form,
    check_mask_factory,
    check_padding_mask,
    check_softmax,
)
from .layers import (
    ACTIVATIONS,
    DECODER_FIELDS,
    ENCODER_FIELDS,
    MULTI_HEAD_FIELDS,
    check_factory,
    check_feed_forward,
    check_layer,
    check_merge_heads,
    check_multi_head,
    check_norm,
    check_positional,
    check_split_heads,
)
from .scalars import (
    _UNSET,
    check_axis,
    check_bool,
    check_choice,
    check_divisible,
    check_generator,
    check_int,
    check_positive,
    check_real,
)
from .seq2seq import (
    KV_CACHE_FIELDS,
    SEQ2SEQ_FIELDS,
    check_decode,
    check_decode_step,
    check_kv_cache,
    check_tokens,
)
from .shapes import (
    _broadcast,
    broadcast_shape,
    check_batch_broadcast,
    check_mask,
    check_ndim,
    check_same_size,
)

__all__ = [
    "backend_of",
    "broadcast_shape",
    "check_arrays",
    "check_additive_scores",
    "check_attention",
    "check_axis",
    "check_batch_broadcast",
    "check_bilinear_scores",
    "check_bool",
    "check_choice",
    "check_column_form",
    "check_decode",
    "check_decode_step",
    "check_device_arg",
    "check_divisible",
    "check_factory",
    "check_feed_forward",
    "check_float",
    "check_generator",
    "check_int",
    "check_integer",
    "check_kv_cache",
    "check_layer",
    "check_mask",
    "check_mask_factory",
    "check_merge_heads",
    "check_multi_head",
    "check_ndim",
    "check_norm",
    "check_padding_mask",
    "check_positional",
    "check_positive",
    "check_real",
    "check_softmax",
    "check_split_heads",
    "check_same_device",
    "check_same_dtype",
    "check_same_size",
    "check_tokens",
    "describe",
    "dtype_name",
    "fail",
    "shape_of",
    # the field names of the parameter tuples, and the pieces the tiled backends reuse
    "ACTIVATIONS",
    "DECODER_FIELDS",
    "ENCODER_FIELDS",
    "KV_CACHE_FIELDS",
    "MULTI_HEAD_FIELDS",
    "SEQ2SEQ_FIELDS",
    "_UNSET",
    "_broadcast",
    "_present",
]
