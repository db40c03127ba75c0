"""Input validation shared by both backends (`qkv.numpy` and `qkv.torch`).

Every check takes the public function's name first and raises `ValueError` (a wrong shape or value)
or `TypeError` (a wrong kind of object or dtype) with one message format:

    "<function>: <rule>; got <name> <shape or value>, <name> <shape or value>"

for example

    "scaled_dot_product_attention: query and key must share d_k (last axis); got query (2, 3, 4),
    key (2, 5, 8)"

The module never imports PyTorch: it reads shapes and dtypes through a small duck-typed layer,
so the message for the same bad input is the same text in both backends (dtype names are printed
without a `torch.` prefix, shapes as Python tuples).

A typical backend function starts with

    check_arrays("softmax", "numpy", x=x)      # right backend, no mixed backends
    check_float("softmax", x=x)                # floating dtype
    check_ndim("softmax", "x", x, min_ndim=1, legend="(..., n)")
    check_axis("softmax", axis, x)             # axis in range

Public helpers (all raise, none returns a value unless stated):

- `backend_of(x) -> str`: "numpy", "torch" or the type name of anything else.
- `shape_of(x) -> tuple[int, ...]`, `dtype_name(x) -> str`, `broadcast_shape(*shapes)` (for the
  cores, whose inputs are known to broadcast).
- `describe(value) -> str`: how a value appears after `got` (shape, value or type).
- `fail(func, rule, error=ValueError, /, **got)`: raise with the standard message (`error`
  positional).
- `check_arrays(func, backend, **arrays)`: every non-None value is an array of `backend`
  ("numpy" or "torch"); a mix of NumPy and torch gives the "mixed backends" TypeError.
- `check_float(func, **arrays)`: floating dtype (not integer, bool or complex).
- `check_integer(func, **arrays)`: integer dtype (e.g. `lengths`; bool excluded).
- `check_same_dtype(func, **arrays)`: all arrays share one dtype.
- `check_same_device(func, **arrays)`: all arrays live on one device (NumPy arrays are on "cpu").
- `check_ndim(func, name, x, *, ndim=None, min_ndim=None, legend="")`: rank rules.
- `check_same_size(func, rule, name_a, a, axis_a, name_b, b, axis_b)`: one axis equal in two arrays.
- `check_batch_broadcast(func, rule, trailing=0, **arrays) -> tuple[int, ...]`: batch axes (all
  but the last `trailing`) broadcast together; returns their broadcast shape.
- `check_mask(func, mask, scores_shape, *, target="(*batch, seq_q, seq_k)")`: boolean mask that
  broadcasts to the scores' shape.
- `check_attention(func, backend, query, key, value=None, mask=None, *, share_d_k=True)
  -> tuple[int, ...]`: the whole set of checks for `(query, key, value, mask)` inputs (backend,
  floating and equal dtypes, one device, rank >= 2, shared d_k and seq_k, broadcastable batch axes,
  mask); returns the scores' shape `(*batch, seq_q, seq_k)`.
- `check_int(func, name, value, *, minimum=None)`: a Python/NumPy integer (not bool), >= minimum.
- `check_real(func, name, value)`: a real number (e.g. `scale`); None passes.
- `check_positive(func, name, value)`: a real number > 0.
- `check_divisible(func, name_a, a, name_b, b)`: `a % b == 0`.
- `check_choice(func, name, value, choices)`: value is one of choices.
- `check_axis(func, axis, x) -> int`: axis valid for x; returns it as a non-negative index.
- `check_device_arg(func, device)`: NumPy factories accept `device` None or "cpu" only.
- `check_bool(func, name, value)`: a boolean flag (`True`/`False` or `numpy.bool_`; the integers
  0 and 1 are not flags).

Checks at the door: every public function of `qkv.numpy` and `qkv.torch` makes ONE call into this
module (the bundles below, or one of the checks above when it is enough) and then runs its
unchecked core `_name`; cores call cores, so one public call validates its inputs once and an error
names the function the user called:

- `check_softmax(func, backend, x, axis)`.
- `check_attention(...)` (above) with the optional keywords `scale`, `is_causal`, `eps`, `tau`,
  `generator`, `window` of the attention and score functions.
- `check_additive_scores`, `check_bilinear_scores`, `check_column_form`: their parameters too.
- `check_mask_factory(func, backend, seq_q, seq_k, *, window, device)`,
  `check_padding_mask(func, backend, lengths, seq_k)`.
- `check_split_heads`, `check_merge_heads`, `check_multi_head(func, backend, query, key, value,
  params, num_heads, mask, ...) -> scores' shape`, `check_factory(func, backend, device, **sizes)`.
- `check_positional(func, backend, num_positions, d_model, device)`.
- `check_norm(func, backend, x, weight, bias, eps, *, min_ndim)`.
- `check_feed_forward(func, backend, x, w_1, b_1, w_2, b_2, activation)`.
- `check_layer(func, backend, params, kind, x, memory, num_heads, mask, norm_first, activation,
  eps)`: everything an encoder or decoder layer passes to its sub-layers.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

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
    "check_device_arg",
    "check_divisible",
    "check_factory",
    "check_feed_forward",
    "check_float",
    "check_int",
    "check_integer",
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
    "describe",
    "dtype_name",
    "fail",
    "shape_of",
]

_BACKEND_LABEL = {"numpy": "NumPy arrays", "torch": "torch tensors"}


# --- duck-typed access to arrays -------------------------------------------------------------


def _is_torch(x: object) -> bool:
    torch = sys.modules.get("torch")  # a torch tensor cannot exist unless torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


def _is_numpy(x: object) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, (numpy.ndarray, numpy.generic))


def backend_of(x: object) -> str:
    """Return "numpy", "torch", or the type name of any other object."""
    if _is_torch(x):
        return "torch"
    if _is_numpy(x):
        return "numpy"
    return type(x).__name__


def shape_of(x: Any) -> tuple[int, ...]:
    """Return the shape of an array, tensor or shape-like as a plain tuple of ints."""
    shape = x.shape if hasattr(x, "shape") else x
    return tuple(int(n) for n in shape)


def dtype_name(x: Any) -> str:
    """Return the dtype name without a backend prefix: "float32", "int64", "bool"."""
    return str(x.dtype).removeprefix("torch.")


def _type_label(x: object) -> str:
    if _is_torch(x):
        return "torch.Tensor"
    if _is_numpy(x):
        return "numpy.ndarray"
    return type(x).__name__


def describe(value: Any) -> str:
    """How a value is shown after "got": arrays by shape, tuples as shapes, the rest by repr."""
    if _is_torch(value) or _is_numpy(value):
        return repr(shape_of(value))
    if isinstance(value, tuple):
        return repr(tuple(int(n) for n in value))
    return repr(value)


def fail(func: str, rule: str, error: type[Exception] = ValueError, /, **got: Any) -> NoReturn:
    """Raise `error` with the message "<func>: <rule>; got <name> <value>, ...".

    Values pass through `describe` unless they are already strings, which are used verbatim
    (so a caller can pass a ready-made description such as `mask="int64 (2, 3)"`; use
    `describe(value)` to show a user-given string quoted).
    """
    parts = [f"{name} {v if isinstance(v, str) else describe(v)}" for name, v in got.items()]
    message = f"{func}: {rule}"
    if parts:
        message += "; got " + ", ".join(parts)
    raise error(message)


def _present(arrays: dict[str, Any]) -> dict[str, Any]:
    return {name: x for name, x in arrays.items() if x is not None}


# --- kinds, dtypes and devices ---------------------------------------------------------------


def check_arrays(func: str, backend: str, **arrays: Any) -> None:
    """Check every non-None keyword is an array of `backend` ("numpy" or "torch").

    Raises:
        TypeError: "<func>: inputs must all be NumPy arrays or all torch tensors (mixed backends);
            got query numpy.ndarray, key torch.Tensor" when both kinds are present, or
            "<func>: this backend takes NumPy arrays; got x list" for anything else.
    """
    present = _present(arrays)
    kinds = {name: backend_of(x) for name, x in present.items()}
    if "numpy" in kinds.values() and "torch" in kinds.values():
        fail(
            func,
            "inputs must all be NumPy arrays or all torch tensors (mixed backends)",
            TypeError,
            **{name: _type_label(x) for name, x in present.items()},
        )
    wrong = {name: _type_label(x) for name, x in present.items() if kinds[name] != backend}
    if wrong:
        fail(func, f"this backend takes {_BACKEND_LABEL[backend]}", TypeError, **wrong)


def _is_floating(x: Any) -> bool:
    if _is_torch(x):
        return bool(x.is_floating_point())
    numpy = sys.modules["numpy"]
    return bool(numpy.issubdtype(x.dtype, numpy.floating))


def check_float(func: str, **arrays: Any) -> None:
    """Check every non-None array has a floating dtype (float16/32/64, bfloat16).

    Raises:
        TypeError: "<func>: query, key must have a floating dtype; got key int64 (2, 3)"
            (only the offending arrays are listed after "got", with dtype and shape).
    """
    present = _present(arrays)
    bad = {n: f"{dtype_name(x)} {describe(x)}" for n, x in present.items() if not _is_floating(x)}
    if bad:
        names = ", ".join(present)
        fail(func, f"{names} must have a floating dtype", TypeError, **bad)


def _is_integer(x: Any) -> bool:
    if _is_torch(x):
        return not x.is_floating_point() and not x.is_complex() and dtype_name(x) != "bool"
    numpy = sys.modules["numpy"]
    return bool(numpy.issubdtype(x.dtype, numpy.integer))


def check_integer(func: str, **arrays: Any) -> None:
    """Check every non-None array has an integer dtype (bool excluded), e.g. `lengths`.

    Raises:
        TypeError: "<func>: lengths must have an integer dtype; got lengths float64 (2,)".
    """
    present = _present(arrays)
    bad = {n: f"{dtype_name(x)} {describe(x)}" for n, x in present.items() if not _is_integer(x)}
    if bad:
        names = ", ".join(present)
        fail(func, f"{names} must have an integer dtype", TypeError, **bad)


def check_same_dtype(func: str, **arrays: Any) -> None:
    """Check every non-None array shares one dtype.

    Raises:
        TypeError: "<func>: query, key must share one dtype; got query float32, key float64".
    """
    present = _present(arrays)
    if len({dtype_name(x) for x in present.values()}) > 1:
        names = ", ".join(present)
        fail(
            func,
            f"{names} must share one dtype",
            TypeError,
            **{n: dtype_name(x) for n, x in present.items()},
        )


def _device_of(x: Any) -> str:
    return str(x.device) if _is_torch(x) else "cpu"


def check_same_device(func: str, **arrays: Any) -> None:
    """Check every non-None array lives on one device (NumPy arrays count as "cpu").

    Raises:
        ValueError: "<func>: query, key must be on one device; got query cpu, key cuda:0".
    """
    present = _present(arrays)
    if len({_device_of(x) for x in present.values()}) > 1:
        names = ", ".join(present)
        fail(
            func,
            f"{names} must be on one device",
            ValueError,
            **{n: _device_of(x) for n, x in present.items()},
        )


def check_device_arg(func: str, device: Any) -> None:
    """NumPy factories accept `device=None` or `device="cpu"` only (the signature mirrors torch).

    Raises:
        ValueError: "<func>: the NumPy backend runs on cpu only (device None or 'cpu'); got
            device 'cuda'".
    """
    if device is not None and str(device) != "cpu":
        fail(
            func,
            "the NumPy backend runs on cpu only (device None or 'cpu')",
            device=repr(str(device)),
        )


# --- shapes ----------------------------------------------------------------------------------


def check_ndim(
    func: str,
    name: str,
    x: Any,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    legend: str = "",
) -> None:
    """Check the rank of one array: exactly `ndim`, or at least `min_ndim` axes.

    `legend` names the axes in the dimension vocabulary, e.g. "(*batch, seq_q, d_k)".

    Raises:
        ValueError: "<func>: query must have at least 2 axes (*batch, seq_q, d_k); got query (4,)".
    """
    rank = len(shape_of(x))
    suffix = f" {legend}" if legend else ""
    if ndim is not None and rank != ndim:
        fail(func, f"{name} must have exactly {_axes(ndim)}{suffix}", **{name: x})
    if min_ndim is not None and rank < min_ndim:
        fail(func, f"{name} must have at least {_axes(min_ndim)}{suffix}", **{name: x})


def _axes(n: int) -> str:
    return "1 axis" if n == 1 else f"{n} axes"


def check_same_size(
    func: str,
    rule: str,
    name_a: str,
    a: Any,
    axis_a: int,
    name_b: str,
    b: Any,
    axis_b: int,
) -> None:
    """Check `a.shape[axis_a] == b.shape[axis_b]`; `rule` states it, e.g.
    "query and key must share d_k (last axis)".

    Raises:
        ValueError: "<func>: <rule>; got query (2, 3, 4), key (2, 5, 8)".
    """
    if shape_of(a)[axis_a] != shape_of(b)[axis_b]:
        fail(func, rule, **{name_a: a, name_b: b})


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of shapes that are known to broadcast (NumPy rules), in plain Python."""
    shape = _broadcast(*shapes)
    if shape is None:
        raise ValueError(f"shapes {shapes} do not broadcast")
    return shape


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...] | None:
    """The broadcast of several shapes (NumPy rules), or None when they do not broadcast."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(-rank, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def check_batch_broadcast(
    func: str, rule: str, trailing: int = 0, **arrays: Any
) -> tuple[int, ...]:
    """Check that the batch axes of several arrays (or shape tuples) broadcast together.

    The batch axes are all but the last `trailing` axes; the message shows the full shapes.

    Returns:
        The broadcast batch shape (computed here in plain Python, so no backend is asked).

    Raises:
        ValueError: "<func>: <rule>; got query (2, 3, 4), key (5, 3, 4)".
    """
    batches = [shape_of(x)[: len(shape_of(x)) - trailing] for x in arrays.values()]
    batch_shape = _broadcast(*batches)
    if batch_shape is None:
        fail(func, rule, **arrays)
    return batch_shape


def check_mask(
    func: str,
    mask: Any,
    scores_shape: Iterable[int],
    *,
    target: str = "(*batch, seq_q, seq_k)",
) -> None:
    """Check a mask: boolean (True = may attend) and broadcastable to the scores' shape.

    Broadcastable means NumPy/PyTorch broadcasting whose result is exactly `scores_shape` (a mask
    may not add axes or grow the scores). `None` passes.

    Raises:
        TypeError: "<func>: mask must be boolean (True = may attend); got mask int64 (3, 4)".
        ValueError: "<func>: mask must broadcast to the scores (*batch, seq_q, seq_k); got mask
            (3, 5), scores (2, 3, 4)".
    """
    if mask is None:
        return
    if dtype_name(mask) != "bool":
        fail(
            func,
            "mask must be boolean (True = may attend)",
            TypeError,
            mask=f"{dtype_name(mask)} {describe(mask)}",
        )
    scores = tuple(int(n) for n in scores_shape)
    if _broadcast(shape_of(mask), scores) != scores:
        fail(func, f"mask must broadcast to the scores {target}", mask=mask, scores=scores)


# --- scalar arguments ------------------------------------------------------------------------

_UNSET: Any = object()  # "argument not given" for the optional keywords of the bundles


def check_bool(func: str, name: str, value: Any) -> None:
    """Check `value` is a boolean flag: `True`, `False` or a `numpy.bool_`.

    Integers are not flags, not even 0 and 1 (`is_causal=1` is rejected): a flag that is a number
    is more often a misplaced argument than a deliberate choice.

    Raises:
        TypeError: "<func>: is_causal must be a boolean (True or False); got is_causal 1".
    """
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return
    fail(func, f"{name} must be a boolean (True or False)", TypeError, **{name: describe(value)})


def check_generator(func: str, backend: str, generator: Any) -> None:
    """Check `generator` is None or the random generator of `backend`.

    Raises:
        TypeError: "<func>: generator must be None or a random generator of this backend
            (numpy.random.Generator, torch.Generator); got generator RandomState".
    """
    if generator is None:
        return
    if backend == "numpy":
        numpy = sys.modules["numpy"]
        ok = isinstance(generator, numpy.random.Generator)
    else:
        torch = sys.modules.get("torch")
        ok = torch is not None and isinstance(generator, torch.Generator)
    if not ok:
        rule = "generator must be None or a random generator of this backend"
        fail(
            func,
            rule + " (numpy.random.Generator, torch.Generator)",
            TypeError,
            generator=type(generator).__name__,
        )


def check_int(func: str, name: str, value: Any, *, minimum: int | None = None) -> None:
    """Check `value` is an integer (bool excluded) and, if given, `value >= minimum`.

    Raises:
        TypeError: "<func>: num_heads must be an integer; got num_heads 2.0".
        ValueError: "<func>: num_heads must be >= 1; got num_heads 0".
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(func, f"{name} must be an integer", TypeError, **{name: describe(value)})
    if minimum is not None and int(value) < minimum:
        fail(func, f"{name} must be >= {minimum}", **{name: describe(value)})


def check_real(func: str, name: str, value: Any) -> None:
    """Check `value` is None or a real number (Python or NumPy; bool excluded), e.g. `scale`.

    Raises:
        TypeError: "<func>: scale must be a real number or None; got scale 'a'".
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(func, f"{name} must be a real number or None", TypeError, **{name: describe(value)})


def check_positive(func: str, name: str, value: Any) -> None:
    """Check `value` is a real number greater than 0 (e.g. `tau`, `eps`).

    Raises:
        TypeError: "<func>: tau must be a real number; got tau 'a'".
        ValueError: "<func>: tau must be > 0; got tau 0.0".
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(func, f"{name} must be a real number", TypeError, **{name: describe(value)})
    if not float(value) > 0:  # also rejects NaN
        fail(func, f"{name} must be > 0", **{name: describe(value)})


def check_divisible(func: str, name_a: str, a: int, name_b: str, b: int) -> None:
    """Check `a % b == 0`, e.g. d_model divisible by num_heads.

    Raises:
        ValueError: "<func>: d_model must be divisible by num_heads; got d_model 10, num_heads 3".
    """
    if a % b != 0:
        fail(func, f"{name_a} must be divisible by {name_b}", **{name_a: a, name_b: b})


def check_choice(func: str, name: str, value: Any, choices: Sequence[Any]) -> None:
    """Check `value` is one of `choices`.

    Raises:
        ValueError: "<func>: activation must be one of 'relu', 'gelu'; got activation 'tanh'".
    """
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        fail(func, f"{name} must be one of {options}", **{name: describe(value)})


def check_axis(func: str, axis: Any, x: Any) -> int:
    """Check `axis` is an integer valid for `x`; return it as a non-negative index.

    Raises:
        TypeError: "<func>: axis must be an integer; got axis 1.5".
        ValueError: "<func>: axis must be in [-ndim, ndim) for x; got axis 3, x (2, 3)".
    """
    check_int(func, "axis", axis)
    rank = len(shape_of(x))
    if not -rank <= axis < rank:
        fail(func, "axis must be in [-ndim, ndim) for x", axis=axis, x=x)
    return int(axis) % rank


# --- the usual (query, key, value, mask) bundle ----------------------------------------------


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


def _check_kind(func: str, name: str, params: Any, kind: str, fields: Sequence[str]) -> None:
    """`params` is the NamedTuple `kind` (compared by its fields, the same in both backends)."""
    if getattr(params, "_fields", None) != tuple(fields):
        fail(func, f"{name} must be a {kind}", TypeError, **{name: type(params).__name__})


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
    if decoder:
        check_multi_head(
            func, backend, x, x, x, params.self_attn, num_heads, params_name="params.self_attn"
        )
        check_multi_head(
            func,
            backend,
            x,
            memory,
            memory,
            params.cross_attn,
            num_heads,
            mask,
            params_name="params.cross_attn",
        )
    else:
        check_multi_head(
            func,
            backend,
            x,
            x,
            x,
            params.self_attn,
            num_heads,
            mask,
            params_name="params.self_attn",
        )
    check_feed_forward(func, backend, x, params.w_1, params.b_1, params.w_2, params.b_2, activation)
    for i in (1, 2, 3) if decoder else (1, 2):
        weight, bias = getattr(params, f"norm{i}_weight"), getattr(params, f"norm{i}_bias")
        check_norm(func, backend, x, weight, bias, eps, min_ndim=2)
    check_bool(func, "norm_first", norm_first)
