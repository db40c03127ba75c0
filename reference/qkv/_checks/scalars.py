"""Scalar arguments: flags, integers, real numbers, choices, an axis, a random generator."""

from __future__ import annotations

import numbers
import sys
from collections.abc import Sequence
from typing import Any

from .arrays import describe, fail, shape_of

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
