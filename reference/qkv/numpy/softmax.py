"""Softmax: turn a row of scores into weights that are positive and sum to 1 (NumPy backend)."""

import numpy as np

from qkv._checks import check_softmax

__all__ = ["softmax"]


def softmax(x, axis=-1):
    r"""Softmax along one axis, stable for huge logits and safe for fully masked rows.

    $$\operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
    \qquad m = \max_j x_j$$

    Subtracting the maximum $m$ changes nothing mathematically (softmax is shift invariant) but
    keeps every exponent $\le 0$, so logits of $\pm 10^4$ stay finite even in float32. An entry of
    $-\infty$ (a masked score) gets weight 0. A row whose entries are all $-\infty$ (every key
    masked) gets weight 0 everywhere instead of NaN, with no warning. float16 inputs are
    computed in float32 and cast back.

    An empty `axis` (no keys at all) gives an empty result.

    Shapes: `x` is any array `(..., n, ...)`; the result has the same shape and dtype, and sums
    to 1 along `axis` (or to 0 on a fully masked row).

    Args:
        x: Scores, a floating NumPy array; `-inf` marks masked entries.
        axis: The axis that is normalised (the keys' axis, usually the last).

    Returns:
        The weights, an array of the same shape and dtype as `x`.

    Raises:
        TypeError: `x` is not a floating NumPy array.
        ValueError: `axis` is out of range for `x`.

    Examples:
        Two equal scores share the weight; a difference of $\log 3$ gives odds of 3 to 1:

        >>> import numpy as np
        >>> from qkv.numpy import softmax
        >>> softmax(np.array([1.0, 1.0]))
        array([0.5, 0.5])
        >>> softmax(np.array([0.0, np.log(3.0)])).round(4)
        array([0.25, 0.75])

        Huge logits stay finite; a masked entry gets 0; a fully masked row gives zeros:

        >>> softmax(np.array([1e4, -1e4], dtype=np.float32))
        array([1., 0.], dtype=float32)
        >>> softmax(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]))
        array([[1., 0.],
               [0., 0.]])
    """
    check_softmax("softmax", "numpy", x, axis)
    return _softmax(x, axis)


def _softmax(x, axis):
    """The stable softmax of `x` along `axis` (unchecked core of `softmax`)."""
    if x.shape[axis] == 0:  # an empty axis (no keys): nothing to normalise, no weights
        return np.zeros_like(x)
    # 0. Low-precision inputs accumulate in float32; the result is cast back at the end.
    work = x.astype(np.promote_types(x.dtype, np.float32), copy=False)
    # 1. m = max_j x_j; a fully masked row has m = -inf, use 0 there so no -inf - (-inf) = NaN.
    m = np.max(work, axis=axis, keepdims=True)
    m = np.where(m == -np.inf, 0.0, m)
    # 2. e^{x_i - m}: every exponent <= 0, so nothing overflows; exp(-inf) = 0 for masked entries.
    e = np.exp(work - m)
    # 3. Divide by the row sum; a fully masked row sums to 0, divide by 1 there so it stays 0.
    total = np.sum(e, axis=axis, keepdims=True)
    weights = e / np.where(total == 0.0, 1.0, total)
    return weights.astype(x.dtype, copy=False)
