"""Shapes: ranks, equal axes, broadcasting batch axes, and the boolean mask that broadcasts to the
scores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .arrays import describe, dtype_name, fail, shape_of


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
