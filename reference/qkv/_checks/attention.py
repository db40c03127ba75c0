"""The attention family: the `(query, key, value, mask)` bundle, softmax, the score functions,
the column form and the mask factories."""

from __future__ import annotations

from typing import Any

from .arrays import (
    _present,
    check_arrays,
    check_device_arg,
    check_float,
    check_integer,
    check_same_device,
    check_same_dtype,
    fail,
    shape_of,
)
from .scalars import (
    _UNSET,
    check_axis,
    check_bool,
    check_choice,
    check_generator,
    check_int,
    check_positive,
    check_real,
)
from .shapes import _broadcast, check_batch_broadcast, check_mask, check_ndim, check_same_size


def check_attention(
    func: str,
    backend: str,
    query: Any,
    key: Any,
    value: Any = None,
    mask: Any = None,
    *,
    share_d_k: bool = True,
    scale: Any = None,
    is_causal: Any = False,
    eps: Any = _UNSET,
    tau: Any = _UNSET,
    generator: Any = None,
    window: Any = _UNSET,
) -> tuple[int, ...]:
    r"""Run every check for attention-style inputs and return the scores' shape.

    Shapes: query `(*batch, seq_q, d_k)`, key `(*batch, seq_k, d_k)`, value `(*batch, seq_k, d_v)`
    (optional), mask broadcastable to `(*batch, seq_q, seq_k)` (optional). The batch axes of
    query, key and value broadcast together. With `share_d_k=True` (dot-product scores) query and
    key share `d_k >= 1` (the scale is $1/\sqrt{d_k}$); with `share_d_k=False` (additive or
    bilinear scores) query and key may have different feature sizes. `seq_q` and `seq_k` may be 0.

    The keywords check the function's other arguments: `scale` a real number or None,
    `is_causal` a boolean, `eps` and `tau` real numbers > 0, `generator` None or a random
    generator of `backend`, `window` an integer >= 0 (the last three only when given).

    Returns:
        The scores' shape `(*batch, seq_q, seq_k)` as a tuple of ints.

    Raises:
        TypeError: mixed backends, wrong backend, non-floating or unequal dtypes, non-boolean mask.
        ValueError: rank < 2, d_k or seq_k mismatch, batch axes or mask that do not broadcast,
            arrays on different devices.
    """
    tensors = {"query": query, "key": key, "value": value}
    check_arrays(func, backend, **tensors, mask=mask)
    check_float(func, **tensors)
    check_same_dtype(func, **tensors)
    check_same_device(func, **tensors, mask=mask)
    check_ndim(func, "query", query, min_ndim=2, legend="(*batch, seq_q, d_k)")
    check_ndim(func, "key", key, min_ndim=2, legend="(*batch, seq_k, d_k)")
    if value is not None:
        check_ndim(func, "value", value, min_ndim=2, legend="(*batch, seq_k, d_v)")
    if share_d_k:
        check_same_size(
            func, "query and key must share d_k (last axis)", "query", query, -1, "key", key, -1
        )
        if shape_of(query)[-1] < 1:
            fail(func, "d_k (last axis of query and key) must be >= 1", query=query, key=key)
    if value is not None:
        check_same_size(
            func, "key and value must share seq_k (axis -2)", "key", key, -2, "value", value, -2
        )
    present = _present(tensors)
    batch = _broadcast(*(shape_of(x)[:-2] for x in present.values()))
    if batch is None:
        names = ", ".join(present)
        fail(func, f"the batch axes (all but the last two) of {names} must broadcast", **present)
    scores_shape = (*batch, shape_of(query)[-2], shape_of(key)[-2])
    check_mask(func, mask, scores_shape)
    check_real(func, "scale", scale)
    check_bool(func, "is_causal", is_causal)
    if eps is not _UNSET:
        check_positive(func, "eps", eps)
    if tau is not _UNSET:
        check_positive(func, "tau", tau)
    check_generator(func, backend, generator)
    if window is not _UNSET:
        check_int(func, "window", window, minimum=0)
    return scores_shape


# --- one bundle per public function (checks at the door) -------------------------------------


def check_softmax(func: str, backend: str, x: Any, axis: Any) -> None:
    """Softmax inputs: a floating array of `backend` and a valid `axis`."""
    check_arrays(func, backend, x=x)
    check_float(func, x=x)
    check_axis(func, axis, x)


def check_additive_scores(
    func: str, backend: str, query: Any, key: Any, w_q: Any, w_k: Any, v: Any
) -> None:
    """Additive scores: query `(*batch, seq_q, d_q)`, key `(*batch, seq_k, d_k)`, `w_q`
    `(d_q, d_hidden)`, `w_k` `(d_k, d_hidden)`, `v` `(d_hidden,)`, one dtype."""
    params = {"w_q": w_q, "w_k": w_k, "v": v}
    check_arrays(func, backend, query=query, key=key, **params)
    check_attention(func, backend, query, key, share_d_k=False)
    check_float(func, **params)
    check_same_dtype(func, query=query, **params)
    check_ndim(func, "w_q", w_q, ndim=2, legend="(d_q, d_hidden)")
    check_ndim(func, "w_k", w_k, ndim=2, legend="(d_k, d_hidden)")
    check_ndim(func, "v", v, ndim=1, legend="(d_hidden,)")
    check_same_size(func, "query and w_q must share d_q", "query", query, -1, "w_q", w_q, 0)
    check_same_size(func, "key and w_k must share d_k", "key", key, -1, "w_k", w_k, 0)
    check_same_size(func, "w_q and w_k must share d_hidden", "w_q", w_q, 1, "w_k", w_k, 1)
    check_same_size(func, "w_q and v must share d_hidden", "w_q", w_q, 1, "v", v, 0)


def check_bilinear_scores(func: str, backend: str, query: Any, key: Any, weight: Any) -> None:
    """Bilinear scores: query `(*batch, seq_q, d_q)`, key `(*batch, seq_k, d_k)`, `weight`
    `(d_q, d_k)`, one dtype."""
    check_arrays(func, backend, query=query, key=key, weight=weight)
    check_attention(func, backend, query, key, share_d_k=False)
    check_float(func, weight=weight)
    check_same_dtype(func, query=query, weight=weight)
    check_ndim(func, "weight", weight, ndim=2, legend="(d_q, d_k)")
    rule = "query and weight must share d_q"
    check_same_size(func, rule, "query", query, -1, "weight", weight, 0)
    check_same_size(func, "key and weight must share d_k", "key", key, -1, "weight", weight, 1)


def check_column_form(
    func: str, backend: str, q_cols: Any, k_cols: Any, v_cols: Any, scale: Any
) -> None:
    """Attention with tokens as columns: `(*batch, d_k, seq_q)`, `(*batch, d_k, seq_k)`,
    `(*batch, d_v, seq_k)`, `d_k >= 1`, a real `scale` or None."""
    tensors = {"q_cols": q_cols, "k_cols": k_cols, "v_cols": v_cols}
    check_arrays(func, backend, **tensors)
    check_float(func, **tensors)
    check_same_dtype(func, **tensors)
    check_same_device(func, **tensors)
    check_ndim(func, "q_cols", q_cols, min_ndim=2, legend="(*batch, d_k, seq_q)")
    check_ndim(func, "k_cols", k_cols, min_ndim=2, legend="(*batch, d_k, seq_k)")
    check_ndim(func, "v_cols", v_cols, min_ndim=2, legend="(*batch, d_v, seq_k)")
    rule = "q_cols and k_cols must share d_k (axis -2)"
    check_same_size(func, rule, "q_cols", q_cols, -2, "k_cols", k_cols, -2)
    rule = "k_cols and v_cols must share seq_k (last axis)"
    check_same_size(func, rule, "k_cols", k_cols, -1, "v_cols", v_cols, -1)
    if shape_of(q_cols)[-2] < 1:
        fail(func, "d_k (axis -2 of q_cols and k_cols) must be >= 1", q_cols=q_cols, k_cols=k_cols)
    rule = "the batch axes (all but the last two) of q_cols, k_cols, v_cols must broadcast"
    check_batch_broadcast(func, rule, trailing=2, **tensors)
    check_real(func, "scale", scale)


def check_mask_factory(
    func: str,
    backend: str,
    seq_q: Any,
    seq_k: Any,
    *,
    window: Any = _UNSET,
    align: Any = _UNSET,
    device: Any = None,
) -> None:
    """`causal_mask` and `local_mask`: sizes >= 1 (`seq_k` None = `seq_q`), `window` >= 0 and
    `align` "top_left" or "bottom_right" when given; NumPy: `device` None or "cpu"."""
    check_int(func, "seq_q", seq_q, minimum=1)
    if seq_k is not None:
        check_int(func, "seq_k", seq_k, minimum=1)
    if window is not _UNSET:
        check_int(func, "window", window, minimum=0)
    if align is not _UNSET:
        check_choice(func, "align", align, ("top_left", "bottom_right"))
    if backend == "numpy":
        check_device_arg(func, device)


def check_padding_mask(func: str, backend: str, lengths: Any, seq_k: Any) -> None:
    """`padding_mask`: integer `lengths` `(batch,)` with values in `[0, seq_k]`, `seq_k >= 1`."""
    check_arrays(func, backend, lengths=lengths)
    check_integer(func, lengths=lengths)
    check_ndim(func, "lengths", lengths, ndim=1, legend="(batch,)")
    check_int(func, "seq_k", seq_k, minimum=1)
    if (lengths < 0).any() or (lengths > seq_k).any():
        fail(func, "lengths must lie in [0, seq_k]", lengths=repr(lengths.tolist()), seq_k=seq_k)
