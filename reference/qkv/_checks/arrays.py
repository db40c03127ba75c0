"""What an array is: duck-typed access to shapes and dtypes, the message format, kinds, dtypes and
devices (no PyTorch import: torch is looked up in `sys.modules`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

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


def _check_kind(func: str, name: str, params: Any, kind: str, fields: Sequence[str]) -> None:
    """`params` is the NamedTuple `kind` (compared by its fields, the same in both backends)."""
    if getattr(params, "_fields", None) != tuple(fields):
        fail(func, f"{name} must be a {kind}", TypeError, **{name: type(params).__name__})
