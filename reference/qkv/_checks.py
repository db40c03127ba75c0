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
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

__all__ = [
    "backend_of",
    "check_arrays",
    "check_attention",
    "check_axis",
    "check_batch_broadcast",
    "check_choice",
    "check_device_arg",
    "check_divisible",
    "check_float",
    "check_int",
    "check_integer",
    "check_mask",
    "check_ndim",
    "check_positive",
    "check_real",
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
) -> tuple[int, ...]:
    """Run every check for attention-style inputs and return the scores' shape.

    Shapes: query `(*batch, seq_q, d_k)`, key `(*batch, seq_k, d_k)`, value `(*batch, seq_k, d_v)`
    (optional), mask broadcastable to `(*batch, seq_q, seq_k)` (optional). The batch axes of
    query, key and value broadcast together. With `share_d_k=False` (additive or bilinear scores)
    query and key may have different feature sizes.

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
    return scores_shape
