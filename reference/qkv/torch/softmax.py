"""Softmax: turn a row of scores into weights that are positive and sum to 1 (PyTorch backend)."""

import torch

from qkv._checks import check_softmax

__all__ = ["softmax"]


def softmax(x, axis=-1):
    r"""Softmax along one axis, stable for huge logits and safe for fully masked rows.

    $$\operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
    \qquad m = \max_j x_j$$

    Subtracting the maximum $m$ changes nothing mathematically (softmax is shift invariant) but
    keeps every exponent $\le 0$, so logits of $\pm 10^4$ stay finite even in float32. An entry of
    $-\infty$ (a masked score) gets weight 0. A row whose entries are all $-\infty$ (every key
    masked) gets weight 0 everywhere instead of NaN, with no warning. float16 and bfloat16
    inputs are computed in float32 and cast back.

    An empty `axis` (no keys at all) gives an empty result.

    Shapes: `x` is any tensor `(..., n, ...)`; the result has the same shape, dtype and device,
    and sums to 1 along `axis` (or to 0 on a fully masked row).

    Args:
        x: Scores, a floating torch tensor; `-inf` marks masked entries.
        axis: The axis that is normalised (the keys' axis, usually the last).

    Returns:
        The weights, a tensor of the same shape, dtype and device as `x`.

    Raises:
        TypeError: `x` is not a floating torch tensor.
        ValueError: `axis` is out of range for `x`.

    Examples:
        Two equal scores share the weight; a difference of $\log 3$ gives odds of 3 to 1:

        >>> import math
        >>> import torch
        >>> from qkv.torch import softmax
        >>> softmax(torch.tensor([1.0, 1.0]))
        tensor([0.5000, 0.5000])
        >>> softmax(torch.tensor([0.0, math.log(3.0)])).round(decimals=4)
        tensor([0.2500, 0.7500])

        Huge logits stay finite; a masked entry gets 0; a fully masked row gives zeros:

        >>> softmax(torch.tensor([1e4, -1e4], dtype=torch.float32))
        tensor([1., 0.])
        >>> softmax(torch.tensor([[0.0, -torch.inf], [-torch.inf, -torch.inf]]))
        tensor([[1., 0.],
                [0., 0.]])
    """
    check_softmax("softmax", "torch", x, axis)
    return _softmax(x, axis)


def _softmax(x, axis):
    """The stable softmax of `x` along `axis` (unchecked core of `softmax`)."""
    if x.shape[axis] == 0:  # an empty axis (no keys): nothing to normalise, no weights
        return torch.zeros_like(x)
    # 0. Low-precision inputs accumulate in float32; the result is cast back at the end.
    work = x.to(torch.promote_types(x.dtype, torch.float32))
    # 1. m = max_j x_j; a fully masked row has m = -inf, use 0 there so no -inf - (-inf) = NaN.
    m = torch.amax(work, dim=axis, keepdim=True)
    m = torch.where(m == -torch.inf, 0.0, m)
    # 2. e^{x_i - m}: every exponent <= 0, so nothing overflows; exp(-inf) = 0 for masked entries.
    e = torch.exp(work - m)
    # 3. Divide by the row sum; a fully masked row sums to 0, divide by 1 there so it stays 0.
    total = torch.sum(e, dim=axis, keepdim=True)
    weights = e / torch.where(total == 0.0, 1.0, total)
    return weights.to(x.dtype)


def _softmax_fused(scores, mask):
    """`_softmax(scores, axis=-1)` in one fused PyTorch kernel, for the attention functions.

    The one place where `qkv.torch` does not repeat `qkv.numpy` step for step. PyTorch's softmax
    computes the same stable formula (accumulating float16 and bfloat16 in float32) in one pass
    instead of five, and when no gradient is needed it writes the weights over the scores instead
    of allocating a second `(*batch, seq_q, seq_k)` tensor, the largest one in attention (README,
    Performance). It gives NaN on a row whose keys are all masked; `mask` sets those rows to 0.
    """
    work_dtype = torch.promote_types(scores.dtype, torch.float32)
    if work_dtype == scores.dtype and not (torch.is_grad_enabled() and scores.requires_grad):
        weights = torch.softmax(scores, dim=-1, out=scores)  # in place: no gradient is needed
    else:
        weights = torch.softmax(scores, dim=-1, dtype=work_dtype)
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights.to(scores.dtype)
