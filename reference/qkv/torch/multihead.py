"""Multi-head attention: h smaller attentions side by side, concatenated, then mixed by W^O.

Dimension names: `*batch` leading axes, `heads` (= `num_heads`), `seq_q` queries, `seq_k` keys
(values share it), `d_model` features, `d_head = d_model // num_heads` features per head.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_factory, check_merge_heads, check_multi_head, check_split_heads
from .attention import _scaled_dot_product_attention
from .masks import _causal_mask

__all__ = [
    "MultiHeadParams",
    "init_multi_head_params",
    "split_heads",
    "merge_heads",
    "multi_head_attention",
]


class MultiHeadParams(NamedTuple):
    r"""The learned parameters of one multi-head attention layer.

    Every weight has shape `(d_model, d_model)` and is applied on the right, $x W + b$, so
    $Q = X_q W^Q + b^Q$, $K = X_k W^K + b^K$, $V = X_v W^V + b^V$ and the output is
    $\mathrm{concat}(\mathrm{head}_1, \dots, \mathrm{head}_h) W^O + b^O$. Column block
    $i \cdot d_{head} : (i+1) \cdot d_{head}$ of $W^Q$, $W^K$, $W^V$ belongs to head $i$.
    (`nn.MultiheadAttention` stores the transposes: `in_proj_weight[:d_model] == w_q.T`.)
    A bias of `None` means no bias.

    Attributes:
        w_q: query projection $W^Q$, `(d_model, d_model)`.
        w_k: key projection $W^K$, `(d_model, d_model)`.
        w_v: value projection $W^V$, `(d_model, d_model)`.
        w_o: output projection $W^O$, `(d_model, d_model)`.
        b_q: query bias `(d_model,)` or `None`.
        b_k: key bias `(d_model,)` or `None`.
        b_v: value bias `(d_model,)` or `None`.
        b_o: output bias `(d_model,)` or `None`.

    Examples:
        >>> import torch
        >>> from qkv.torch import MultiHeadParams
        >>> params = MultiHeadParams(torch.eye(2), torch.eye(2), torch.eye(2), torch.eye(2))
        >>> tuple(params.w_q.shape), params.b_q
        ((2, 2), None)
    """

    w_q: Any
    w_k: Any
    w_v: Any
    w_o: Any
    b_q: Any = None
    b_k: Any = None
    b_v: Any = None
    b_o: Any = None


def init_multi_head_params(d_model, *, bias=True, seed=0, dtype=None, device=None):
    r"""Seeded random parameters for [multi_head_attention][qkv.torch.multi_head_attention].

    Weights are drawn from the Glorot (Xavier) uniform distribution
    $\mathcal{U}(-a, a)$ with $a = \sqrt{3 / d_{model}}$, so each entry has variance
    $1 / d_{model}$ and a projection keeps unit-variance inputs at unit variance. Biases start at
    zero, as in `nn.MultiheadAttention`. The numbers come from `numpy.random.default_rng(seed)`
    in both backends, so `qkv.numpy` and `qkv.torch` give the same parameters for the same seed.

    Args:
        d_model: model width, `>= 1`.
        bias: whether to create the four biases (zeros) or leave them `None`.
        seed: seed of `numpy.random.default_rng`.
        dtype: floating dtype (default `torch.get_default_dtype()`).
        device: device of the tensors (default: the current default device).

    Returns:
        A [MultiHeadParams][qkv.torch.MultiHeadParams] with weights `(d_model, d_model)` and
        biases `(d_model,)` or `None`.

    Raises:
        TypeError: if `d_model` is not an integer.
        ValueError: if `d_model < 1`.

    Examples:
        >>> from qkv.torch import init_multi_head_params
        >>> params = init_multi_head_params(4, seed=0)
        >>> tuple(params.w_q.shape), params.b_o.round(decimals=4)
        ((4, 4), tensor([0., 0., 0., 0.]))
        >>> init_multi_head_params(4, bias=False).b_q is None
        True
    """
    check_factory("init_multi_head_params", "torch", device, d_model=d_model)
    return _init_multi_head_params(d_model, bias=bias, seed=seed, dtype=dtype, device=device)


def _init_multi_head_params(d_model, *, bias=True, seed=0, dtype=None, device=None):
    """The math of `init_multi_head_params`, unchecked (its inputs are valid)."""
    dtype = torch.get_default_dtype() if dtype is None else dtype
    # 1. draw W^Q, W^K, W^V, W^O at once from one seeded generator (the same in both backends)
    rng = np.random.default_rng(seed)
    bound = math.sqrt(3.0 / d_model)
    draw = rng.uniform(-bound, bound, size=(4, d_model, d_model))  # (4, d_model, d_model)
    weights = torch.as_tensor(draw, dtype=dtype, device=device)
    # 2. biases start at zero: (4, d_model), or four None without bias
    biases = torch.zeros((4, d_model), dtype=dtype, device=device) if bias else (None,) * 4
    return MultiHeadParams(*weights, *biases)


def split_heads(x, num_heads):
    r"""Cut the last axis into `num_heads` heads and move the heads before the sequence.

    Feature block $i \cdot d_{head} : (i+1) \cdot d_{head}$ becomes head $i$, where
    $d_{head} = d_{model} / h$. [merge_heads][qkv.torch.merge_heads] undoes it.

    Args:
        x: tensor of shape `(*batch, seq, d_model)`.
        num_heads: number of heads $h$; must divide `d_model`.

    Returns:
        Tensor of shape `(*batch, heads, seq, d_head)`.

    Raises:
        TypeError: if `x` is not a torch tensor or `num_heads` is not an integer.
        ValueError: if `x` has fewer than 2 axes or `d_model % num_heads != 0`.

    Examples:
        >>> import torch
        >>> from qkv.torch import split_heads
        >>> x = torch.tensor([[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]])  # (seq, d_model)
        >>> split_heads(x, 2)  # (heads, seq, d_head)
        tensor([[[0., 1.],
                 [4., 5.]],
        <BLANKLINE>
                [[2., 3.],
                 [6., 7.]]])
    """
    check_split_heads("split_heads", "torch", x, num_heads)
    return _split_heads(x, num_heads)


def _split_heads(x, num_heads):
    """The math of `split_heads`, unchecked (its inputs are valid)."""
    *batch, seq, d_model = x.shape
    d_head = d_model // num_heads
    # (*batch, seq, d_model) -> (*batch, seq, heads, d_head)
    x = x.reshape(*batch, seq, num_heads, d_head)
    # (*batch, seq, heads, d_head) -> (*batch, heads, seq, d_head)
    return x.swapaxes(-3, -2)


def merge_heads(x):
    r"""Concatenate the heads along the features (undoes [split_heads][qkv.torch.split_heads]).

    $\mathrm{concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)$ with $d_{model} = h \cdot d_{head}$.

    Args:
        x: tensor of shape `(*batch, heads, seq, d_head)`.

    Returns:
        Tensor of shape `(*batch, seq, heads * d_head)`.

    Raises:
        TypeError: if `x` is not a torch tensor.
        ValueError: if `x` has fewer than 3 axes.

    Examples:
        >>> import torch
        >>> from qkv.torch import merge_heads
        >>> heads = torch.tensor([[[0.0, 1.0], [4.0, 5.0]], [[2.0, 3.0], [6.0, 7.0]]])
        >>> merge_heads(heads)  # (seq, d_model)
        tensor([[0., 1., 2., 3.],
                [4., 5., 6., 7.]])
    """
    check_merge_heads("merge_heads", "torch", x)
    return _merge_heads(x)


def _merge_heads(x):
    """The math of `merge_heads`, unchecked (its inputs are valid)."""
    *batch, heads, seq, d_head = x.shape
    # (*batch, heads, seq, d_head) -> (*batch, seq, heads, d_head)
    x = x.swapaxes(-3, -2)
    # (*batch, seq, heads, d_head) -> (*batch, seq, heads * d_head)
    return x.reshape(*batch, seq, heads * d_head)


def _project(x, w, b):
    """One learned projection $x W + b$ (no bias when `b` is None)."""
    # (*batch, seq, d_model) @ (d_model, d_model) -> (*batch, seq, d_model)
    out = x @ w
    return out if b is None else out + b


def _fused_attention(q, k, v, mask, *, is_causal):
    """`F.scaled_dot_product_attention` with qkv's mask semantics (fully masked rows give zeros).

    The fused kernels return NaN for a query row whose keys are all masked; such a row is let
    through to every key inside the kernel (so nothing is NaN, in the output or the gradient)
    and zeroed afterwards.
    """
    # 1. no mask, or only a square causal one: the kernel's own (fastest) path
    if mask is None and (not is_causal or q.shape[-2] == k.shape[-2]):
        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    # 2. the kernel takes a mask or is_causal, not both, and kernels have disagreed on where a
    #    non-square causal mask is aligned: fold causal_mask (top-left aligned) into the mask
    if is_causal:
        causal = _causal_mask(q.shape[-2], k.shape[-2], device=q.device)
        mask = causal if mask is None else mask & causal
    # 3. find the fully masked query rows and let them see every key inside the kernel
    any_key = mask.any(dim=-1, keepdim=True)  # (..., seq_q, seq_k) -> (..., seq_q, 1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~any_key)
    # 4. zero output for the fully masked rows
    return out.masked_fill(~any_key, 0.0)  # (*batch, heads, seq_q, d_head)


def multi_head_attention(
    query, key, value, params, *, num_heads, mask=None, is_causal=False, need_weights=True
):
    r"""Multi-head attention: project, split into heads, attend in every head, merge, project.

    $$\mathrm{head}_i = \mathrm{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d_{head}}}\right) V_i,
    \qquad \mathrm{out} = \mathrm{concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O + b^O,$$

    where $Q_i, K_i, V_i$ are head $i$'s `d_head` columns of $Q = X_q W^Q + b^Q$, $K = X_k W^K +
    b^K$, $V = X_v W^V + b^V$. Each head only sees its own slice of q, k and v. With
    `num_heads=1` this is [scaled_dot_product_attention][qkv.torch.scaled_dot_product_attention]
    between the projections, followed by $W^O$. Self-attention passes the same array three times;
    cross-attention passes a `key`/`value` sequence of another length.

    Args:
        query: `(*batch, seq_q, d_model)`.
        key: `(*batch, seq_k, d_model)`.
        value: `(*batch, seq_k, d_model)`.
        params: a [MultiHeadParams][qkv.torch.MultiHeadParams].
        num_heads: number of heads $h$; must divide `d_model`.
        mask: boolean, `True` = may attend, broadcastable to `(*batch, seq_q, seq_k)`; the same
            mask applies to every head. A query whose keys are all masked (or that has no key
            at all, `seq_k == 0`) gets zero weights and an output of $b^O$ (zero before the
            output projection).
        is_causal: also apply [causal_mask][qkv.torch.causal_mask] (query $i$ sees keys
            $j \le i$).
        need_weights: return the per-head weights; if `False` return `None` instead and run
            the fused `torch.nn.functional.scaled_dot_product_attention` kernel (with the same
            mask semantics: a fully masked query row gives zeros, not NaN).

    Returns:
        `(out, weights)`: `out` of shape `(*batch, seq_q, d_model)`; `weights` of shape
        `(*batch, heads, seq_q, seq_k)` (each unmasked row sums to 1), or `None`.

    Raises:
        TypeError: for non-MultiHeadParams `params`, non-floating or mixed dtypes, a non-boolean
            mask, `is_causal` or `need_weights` that are not booleans (`True`/`False`; the
            integers 0 and 1 are not), or tensors of another backend.
        ValueError: for wrong ranks, `d_model == 0`, `d_model` mismatches,
            `d_model % num_heads != 0`, batch axes or a mask that do not broadcast.

    Examples:
        Two equal tokens with identity projections: every head splits its weight evenly.

        >>> import torch
        >>> from qkv.torch import MultiHeadParams, multi_head_attention, init_multi_head_params
        >>> x = torch.tensor([[1.0, 2.0], [1.0, 2.0]])  # (seq, d_model)
        >>> eye = MultiHeadParams(torch.eye(2), torch.eye(2), torch.eye(2), torch.eye(2))
        >>> out, weights = multi_head_attention(x, x, x, eye, num_heads=2)
        >>> weights.round(decimals=4)  # (heads, seq_q, seq_k)
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]],
        <BLANKLINE>
                [[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
        >>> out.round(decimals=4)
        tensor([[1., 2.],
                [1., 2.]])

        Shapes of a batched, causal self-attention:

        >>> x = torch.randn(3, 5, 8)  # (batch, seq, d_model)
        >>> params = init_multi_head_params(8, seed=0)
        >>> out, weights = multi_head_attention(x, x, x, params, num_heads=4, is_causal=True)
        >>> tuple(out.shape), tuple(weights.shape)
        ((3, 5, 8), (3, 4, 5, 5))
    """
    check_multi_head(
        "multi_head_attention",
        "torch",
        query,
        key,
        value,
        params,
        num_heads,
        mask,
        is_causal=is_causal,
        need_weights=need_weights,
    )
    return _multi_head_attention(
        query,
        key,
        value,
        params,
        num_heads=num_heads,
        mask=mask,
        is_causal=is_causal,
        need_weights=need_weights,
    )


def _multi_head_attention(
    query, key, value, params, *, num_heads, mask=None, is_causal=False, need_weights=True
):
    """The math of `multi_head_attention`, unchecked (its inputs are valid)."""
    # 1. the learned projections Q = X_q W^Q + b^Q, K = X_k W^K + b^K, V = X_v W^V + b^V
    q = _project(query, params.w_q, params.b_q)  # (*batch, seq_q, d_model)
    k = _project(key, params.w_k, params.b_k)  # (*batch, seq_k, d_model)
    v = _project(value, params.w_v, params.b_v)  # (*batch, seq_k, d_model)
    # 2. every head gets its own d_head columns
    q = _split_heads(q, num_heads)  # (*batch, heads, seq_q, d_head)
    k = _split_heads(k, num_heads)  # (*batch, heads, seq_k, d_head)
    v = _split_heads(v, num_heads)  # (*batch, heads, seq_k, d_head)
    # 3. one mask for every head: add a heads axis before (seq_q, seq_k)
    if mask is not None and mask.ndim >= 2:
        mask = mask[..., None, :, :]  # (*batch, seq_q, seq_k) -> (*batch, 1, seq_q, seq_k)
    # 4. scaled dot-product attention in all heads at once (heads act as a batch axis)
    if need_weights:
        out, weights = _scaled_dot_product_attention(q, k, v, mask, is_causal=is_causal)
    else:
        out, weights = _fused_attention(q, k, v, mask, is_causal=is_causal), None
    # out: (*batch, heads, seq_q, d_head); weights: (*batch, heads, seq_q, seq_k)
    # 5. concatenate the heads and mix them with W^O
    out = _merge_heads(out)  # (*batch, heads, seq_q, d_head) -> (*batch, seq_q, d_model)
    out = _project(out, params.w_o, params.b_o)  # (*batch, seq_q, d_model)
    return out, weights
