r"""Tiled attention with an online softmax, forward and backward: the result of scaled dot-product
attention and its gradients without ever holding the `(seq_q, seq_k)` score matrix (the idea
behind FlashAttention).

Dimension names: `*batch` (any leading axes), `seq_q` queries, `seq_k` keys and values, `d_k`
(query and key features), `d_v` (value features), `block_size` rows of a tile.

Queries are cut into blocks of `block_size` rows and keys/values into blocks of `block_size` rows.
For one query block, the key blocks are visited in order while three running quantities per query
row are kept: the largest score seen so far $m$, the softmax normaliser $\ell$ measured against
$m$, and the unnormalised output $o$. The forward pass keeps the output and, per query row, the
log-sum-exp $L = m + \log \ell$ of its scores; the backward pass recomputes each tile of weights
from them, $P = e^{S - L}$, instead of storing the `(seq_q, seq_k)` weights. Peak extra memory is
one `(block_size, block_size)` tile per batch element plus arrays of the inputs' size:
O(seq · d), not O(seq²).

The steps are those of the NumPy twin, written for speed on the CPU in two ways. The scores are
measured in base 2: the query is scaled once by $s \log_2 e$, so $2^{x \log_2 e} = e^x$ gives the
same weights, and on the CPU PyTorch computes `exp2` faster than `exp`. Every tile of scores
is written into one buffer allocated before the loop (`torch.bmm(..., out=)`) and updated in
place (`sub_`, `exp2_`, `baddbmm_`), so a tile allocates no new `(block_size, block_size)` array.
"""

from __future__ import annotations

import math

import torch

from qkv._checks import (
    _broadcast,
    check_arrays,
    check_attention,
    check_int,
    check_real,
    check_same_device,
    check_same_dtype,
    fail,
    shape_of,
)

__all__ = ["tiled_attention", "tiled_attention_backward"]

LOG2_E = math.log2(math.e)  # e^x = 2^(x log2 e): scores are measured in base 2
LN_2 = math.log(2.0)  # back from base 2: log(x) = log2(x) ln 2


def _key_blocks(i0, i1, seq_k, block_size, is_causal):
    """The key blocks `(j0, j1)` that query rows `i0 .. i1 - 1` must visit.

    With `is_causal`, query `i` may attend key `j` only when `j <= i` (top-left aligned), so keys
    from `i1` on are masked for every row of the block: those blocks are skipped, not computed.
    """
    stop = min(seq_k, i1) if is_causal else seq_k
    return [(j0, min(j0 + block_size, stop)) for j0 in range(0, stop, block_size)]


def _query_blocks(j0, j1, seq_q, block_size, is_causal):
    """The query blocks `(i0, i1)` whose tiles with keys `j0 .. j1 - 1` the backward pass visits.

    The same tiles as the forward pass: with `is_causal`, a query block that ends at or before
    key `j0` sees none of these keys and is skipped.
    """
    blocks = [(i0, min(i0 + block_size, seq_q)) for i0 in range(0, seq_q, block_size)]
    return [(i0, i1) for i0, i1 in blocks if not is_causal or i1 > j0]


def _allowed(mask, i0, i1, j0, j1, is_causal, device):
    """The boolean tile `(..., bq, bk)` of what may be attended, or None when everything may."""
    allowed = None if mask is None else mask[..., i0:i1, j0:j1]  # (..., bq, bk)
    if is_causal and j1 - 1 > i0:
        # this tile crosses the diagonal: key j is visible to query i when j <= i
        below = (
            torch.arange(j0, j1, device=device) <= torch.arange(i0, i1, device=device)[:, None]
        )  # (bq, bk)
        allowed = below if allowed is None else allowed & below
    return allowed


def _work_dtype(dtype):
    """float16 and bfloat16 tiles are summed in float32, as the one-shot softmax does."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _flat(x, batch, dtype):
    """`x` `(..., rows, cols)` broadcast to `(*batch, rows, cols)` and viewed as
    `(prod(batch), rows, cols)` in `dtype`, for `torch.bmm` (copies only what must be copied)."""
    return x.to(dtype).expand(*batch, *x.shape[-2:]).reshape(-1, *x.shape[-2:])


def _masked_fill(scores, allowed, batch):
    """Set the entries of the tile `scores` `(prod(batch), bq, bk)` that `allowed` forbids to
    -inf, in place; `allowed` `(..., bq, bk)` broadcasts against `(*batch, bq, bk)`."""
    scores.view(*batch, *scores.shape[-2:]).masked_fill_(~allowed, -math.inf)


def tiled_attention(query, key, value, mask=None, *, scale=None, is_causal=False, block_size=128):
    r"""Scaled dot-product attention computed tile by tile with an online softmax.

    Returns the same `out` as
    [`scaled_dot_product_attention`][qkv.torch.scaled_dot_product_attention],
    $\operatorname{softmax}(s Q K^\top) V$ with $s = 1/\sqrt{d_k}$, but never holds more than one
    `(block_size, block_size)` tile of scores per batch element. For one query row, after key block
    $t$ with scores $S_t = s\, q K_t^\top$ (masked scores $-\infty$):

    - running maximum: $m_t = \max(m_{t-1}, \max_j S_{t,j})$, with $m_0 = -\infty$;
    - rescale factor for what was summed before: $\alpha_t = e^{m_{t-1} - m_t}$;
    - normaliser: $\ell_t = \alpha_t \ell_{t-1} + \sum_j e^{S_{t,j} - m_t}$, with $\ell_0 = 0$;
    - accumulator: $o_t = \alpha_t o_{t-1} + e^{S_t - m_t} V_t$, with $o_0 = 0$;

    and after the last block $T$, $\text{out} = o_T / \ell_T$. Every term of $\ell_T$ and $o_T$ is
    then measured against the global maximum $m_T$, so the division gives exactly the softmax.
    A row whose keys are all masked keeps $\ell = 0$ and returns zeros (no NaN, no warning).
    With `is_causal`, key blocks lying entirely above the diagonal are skipped, so causal
    attention does about half the work.

    The result is differentiable in O(seq · d) memory: the forward pass saves `out` and the
    log-sum-exp $L = m_T + \log \ell_T$ of each row, and the backward pass is
    [`tiled_attention_backward`][qkv.torch.tiled_attention_backward], which recomputes the
    tiles. Fully masked rows get zero gradients.

    Args:
        query: `(*batch, seq_q, d_k)`.
        key: `(*batch, seq_k, d_k)`.
        value: `(*batch, seq_k, d_v)`.
        mask: optional boolean tensor, broadcastable to `(*batch, seq_q, seq_k)`; `True` = may
            attend.
        scale: factor applied to the scores; default $1/\sqrt{d_k}$.
        is_causal: if true, query `i` may attend key `j` only when `j <= i` (combined with `mask`).
        block_size: rows per query tile and per key/value tile, `>= 1`. The result does not depend
            on it (up to rounding); memory and speed do.

    Returns:
        `out` of shape `(*batch, seq_q, d_v)`, on the device and in the dtype of the inputs
        (float16 and bfloat16 tiles are accumulated in float32).

    Raises:
        TypeError: non-tensor or mixed inputs, non-floating or mismatched dtypes, a non-boolean
            mask, a non-real `scale`, a non-integer `block_size`.
        ValueError: wrong ranks, mismatched `d_k` or `seq_k`, batch axes or a mask that do not
            broadcast, inputs on different devices, `block_size < 1`.

    Examples:
        Two equal keys share the weight; the output is the mean of their values:

        >>> import torch
        >>> from qkv.torch import tiled_attention
        >>> query = torch.tensor([[1.0, 0.0]])
        >>> key = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> value = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
        >>> tiled_attention(query, key, value, block_size=1).round(decimals=4)
        tensor([[1., 2.]])

        The result equals the one-shot formula for any block size:

        >>> from qkv.torch import scaled_dot_product_attention
        >>> generator = torch.Generator().manual_seed(0)
        >>> q, k, v = torch.randn(3, 2, 5, 4, generator=generator, dtype=torch.float64)
        >>> out = tiled_attention(q, k, v, is_causal=True, block_size=2)
        >>> out.shape
        torch.Size([2, 5, 4])
        >>> bool(torch.allclose(out, scaled_dot_product_attention(q, k, v, is_causal=True)[0]))
        True
    """
    name = "tiled_attention"
    check_attention(name, "torch", query, key, value, mask)
    check_real(name, "scale", scale)
    check_int(name, "block_size", block_size, minimum=1)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value)):
        return _TiledAttention.apply(query, key, value, mask, scale, is_causal, block_size)
    out, _ = _tiled_attention(query, key, value, mask, scale, is_causal, block_size)
    return out


def _tiled_attention(query, key, value, mask, scale, is_causal, block_size):
    r"""The forward pass of `tiled_attention`, unchecked: returns `(out, lse)`.

    `lse` `(*batch, seq_q, 1)` is the log-sum-exp $L = m + \log \ell$ of each query row's
    scores, in the working dtype, $-\infty$ for a row whose keys are all masked.
    """
    seq_q, d_k = query.shape[-2:]
    seq_k, d_v = value.shape[-2:]
    batch = _broadcast(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    if mask is not None:
        # a view with full (seq_q, seq_k) axes, so tiles can be sliced from it (no copy)
        mask = mask.expand(*mask.shape[:-2], seq_q, seq_k)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    dtype, work = query.dtype, _work_dtype(query.dtype)
    # 1. scale the queries once, by s log2(e): the scores come out in base 2, for exp2
    query = _flat(query, batch, work) * (scale * LOG2_E)  # (n_batch, seq_q, d_k)
    # the keys transposed once: each tile's product then reads rows of contiguous memory
    key_t = _flat(key, batch, work).transpose(-1, -2).contiguous()  # (n_batch, d_k, seq_k)
    value = _flat(value, batch, work)  # (n_batch, seq_k, d_v)
    n_batch = query.shape[0]
    out = query.new_empty((n_batch, seq_q, d_v))
    lse = query.new_empty((n_batch, seq_q, 1))
    # the one tile of scores, written over by every step of the loop
    tile = query.new_empty((n_batch, min(block_size, seq_q), min(block_size, seq_k)))

    for i0 in range(0, seq_q, block_size):
        i1 = min(i0 + block_size, seq_q)
        bq = i1 - i0
        q = query[:, i0:i1]  # (n_batch, bq, d_k)
        # 2. running maximum m, normaliser ell and unnormalised output o of each query row
        m = query.new_full((n_batch, bq, 1), -math.inf)  # (n_batch, bq, 1)
        ell = query.new_zeros((n_batch, bq, 1))  # (n_batch, bq, 1)
        o = query.new_zeros((n_batch, bq, d_v))  # (n_batch, bq, d_v)
        for j0, j1 in _key_blocks(i0, i1, seq_k, block_size, is_causal):
            # 3. one tile of scores: (n_batch, bq, d_k) @ (n_batch, d_k, bk) -> (n_batch, bq, bk)
            scores = torch.bmm(q, key_t[..., j0:j1], out=tile[:, :bq, : j1 - j0])
            allowed = _allowed(mask, i0, i1, j0, j1, is_causal, query.device)  # (..., bq, bk)
            if allowed is not None:
                _masked_fill(scores, allowed, batch)
            # 4. new running maximum; rows with nothing visible yet keep -inf, so subtract 0 there
            m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))  # (n_batch, bq, 1)
            shift = torch.where(torch.isfinite(m_new), m_new, 0.0)  # (n_batch, bq, 1)
            # 5. exponentials against the new maximum; masked scores give 2^-inf = 0
            p = scores.sub_(shift).exp2_()  # (n_batch, bq, bk), in place of the scores
            # 6. rescale what was summed against the old maximum: alpha = 2^(m_old - m_new)
            alpha = (m - shift).exp2_()  # (n_batch, bq, 1)
            ell.mul_(alpha).add_(p.sum(dim=-1, keepdim=True))  # (n_batch, bq, 1)
            # o = alpha o + p v: (n_batch, bq, bk) @ (n_batch, bk, d_v) -> (n_batch, bq, d_v)
            o.mul_(alpha).baddbmm_(p, value[:, j0:j1])
            m = m_new
        # 7. normalise; a row that saw no visible key has ell = 0 and o = 0: divide it by 1
        ell = torch.where(ell > 0, ell, 1.0)  # (n_batch, bq, 1)
        out[:, i0:i1] = o.div_(ell)  # (n_batch, bq, d_v)
        # 8. log-sum-exp of each row for the backward pass, back in base e: L = (m + log2 ell) ln 2
        lse[:, i0:i1] = (m + torch.log2(ell)) * LN_2  # (n_batch, bq, 1), -inf if empty
    # back in the inputs' dtype (a no-op unless they are float16 or bfloat16)
    return out.to(dtype).view(*batch, seq_q, d_v), lse.view(*batch, seq_q, 1)


def tiled_attention_backward(
    query, key, value, grad_out, mask=None, *, scale=None, is_causal=False, block_size=128
):
    r"""The gradients of [`tiled_attention`][qkv.torch.tiled_attention], tile by tile.

    Given $\partial \mathcal{L} / \partial O = dO$, returns $dQ$, $dK$, $dV$ without holding the
    `(seq_q, seq_k)` weights. The forward pass is run first for `out` and the log-sum-exp $L$ of
    each query row; then, for each key block and each query block that sees it, the tile of
    weights is recomputed from the scores, $P = e^{S - L}$ with $S = s\,QK^\top$, and

    - $dV \mathrel{+}= P^\top dO$ (the output is $O = PV$);
    - $dP = dO\, V^\top$;
    - $dS = P \circ (dP - D)$ with $D = \operatorname{rowsum}(dO \circ O)$, the softmax's
      backward: $D_i = \sum_j P_{ij}\, dP_{ij}$, computed once from `out`;
    - $dQ \mathrel{+}= dS\, K \cdot s$ and $dK \mathrel{+}= dS^\top Q \cdot s$.

    With `is_causal` the tiles above the diagonal are skipped, as in the forward pass. A query row
    whose keys are all masked has $L = -\infty$, zero weights and zero gradients.

    Args:
        query: `(*batch, seq_q, d_k)`.
        key: `(*batch, seq_k, d_k)`.
        value: `(*batch, seq_k, d_v)`.
        grad_out: `(*batch, seq_q, d_v)`, the gradient of a loss with respect to `out`.
        mask: optional boolean tensor, broadcastable to `(*batch, seq_q, seq_k)`; `True` = may
            attend.
        scale: factor applied to the scores; default $1/\sqrt{d_k}$.
        is_causal: if true, query `i` may attend key `j` only when `j <= i` (combined with `mask`).
        block_size: rows per query tile and per key/value tile, `>= 1`.

    Returns:
        `(grad_query, grad_key, grad_value)`, each of the shape, dtype and device of its input.

    Raises:
        TypeError: non-tensor or mixed inputs, non-floating or mismatched dtypes, a non-boolean
            mask, a non-real `scale`, a non-integer `block_size`.
        ValueError: wrong ranks, mismatched `d_k` or `seq_k`, batch axes or a mask that do not
            broadcast, a `grad_out` whose shape is not that of `out`, inputs on different devices,
            `block_size < 1`.

    Examples:
        With one key, the weight is 1 whatever the scores: the query and key get no gradient and
        the value gets `grad_out`:

        >>> import torch
        >>> from qkv.torch import tiled_attention_backward
        >>> query = torch.tensor([[1.0, 2.0]])
        >>> key = torch.tensor([[3.0, 4.0]])
        >>> value = torch.tensor([[5.0, 6.0]])
        >>> grad_out = torch.tensor([[1.0, -1.0]])
        >>> grad_query, grad_key, grad_value = tiled_attention_backward(query, key, value, grad_out)
        >>> grad_query, grad_key, grad_value
        (tensor([[0., 0.]]), tensor([[0., 0.]]), tensor([[ 1., -1.]]))

        The gradients equal those of autograd through the one-shot formula:

        >>> from qkv.torch import scaled_dot_product_attention
        >>> generator = torch.Generator().manual_seed(0)
        >>> q, k, v, d_out = torch.randn(4, 2, 5, 4, generator=generator, dtype=torch.float64)
        >>> grads = tiled_attention_backward(q, k, v, d_out, is_causal=True, block_size=2)
        >>> leaves = [t.requires_grad_() for t in (q, k, v)]
        >>> out, _ = scaled_dot_product_attention(*leaves, is_causal=True)
        >>> expected = torch.autograd.grad(out, leaves, d_out)
        >>> all(torch.allclose(g, e) for g, e in zip(grads, expected))
        True
    """
    name = "tiled_attention_backward"
    scores_shape = check_attention(name, "torch", query, key, value, mask)
    check_arrays(name, "torch", grad_out=grad_out)
    check_same_dtype(name, query=query, grad_out=grad_out)
    check_same_device(name, query=query, grad_out=grad_out)
    out_shape = (*scores_shape[:-1], shape_of(value)[-1])
    if shape_of(grad_out) != out_shape:
        fail(
            name,
            "grad_out must have the shape of out (*batch, seq_q, d_v)",
            grad_out=grad_out,
            out=out_shape,
        )
    check_real(name, "scale", scale)
    check_int(name, "block_size", block_size, minimum=1)
    with torch.no_grad():
        out, lse = _tiled_attention(query, key, value, mask, scale, is_causal, block_size)
        return _tiled_attention_backward(
            query, key, value, grad_out, out, lse, mask, scale, is_causal, block_size
        )


def _sum_to_shape(x, shape):
    """Sum the broadcast batch axes of a gradient back to the shape of its input."""
    return x.sum_to_size(shape)


def _tiled_attention_backward(
    query, key, value, grad_out, out, lse, mask, scale, is_causal, block_size
):
    """The backward pass of `tiled_attention`, unchecked, from the forward's `out` and `lse`."""
    seq_q, d_k = query.shape[-2:]
    seq_k, d_v = value.shape[-2:]
    batch = out.shape[:-2]
    if mask is not None:
        # a view with full (seq_q, seq_k) axes, so tiles can be sliced from it (no copy)
        mask = mask.expand(*mask.shape[:-2], seq_q, seq_k)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    shapes, dtype, work = (
        (query.shape, key.shape, value.shape),
        query.dtype,
        _work_dtype(query.dtype),
    )
    # the queries scaled by s log2(e), as in the forward pass: scores in base 2, for exp2
    q_scaled = _flat(query, batch, work) * (scale * LOG2_E)  # (n_batch, seq_q, d_k)
    key, value, grad_out = (_flat(t, batch, work) for t in (key, value, grad_out))
    out, lse = _flat(out, batch, work), _flat(lse, batch, work)
    # 1. D = rowsum(dO * O), one number per query row: the softmax backward's correction
    delta = (grad_out * out).sum(dim=-1, keepdim=True)  # (n_batch, seq_q, 1)
    # rows with every key masked have lse = -inf: subtract 0 there, so P = 2^-inf = 0
    shift = torch.where(torch.isfinite(lse), lse * LOG2_E, 0.0)  # (n_batch, seq_q, 1), base 2
    grad_query = torch.zeros_like(q_scaled)  # (n_batch, seq_q, d_k)
    grad_key = torch.zeros_like(key)  # (n_batch, seq_k, d_k)
    grad_value = torch.zeros_like(value)  # (n_batch, seq_k, d_v)
    # the tiles of P and dP, written over by every step of the loop
    n_batch, bq_max, bk_max = key.shape[0], min(block_size, seq_q), min(block_size, seq_k)
    p_tile, dp_tile = (key.new_empty((n_batch, bq_max, bk_max)) for _ in range(2))

    for j0 in range(0, seq_k, block_size):
        j1 = min(j0 + block_size, seq_k)
        bk = j1 - j0
        k = key[:, j0:j1]  # (n_batch, bk, d_k)
        v = value[:, j0:j1]  # (n_batch, bk, d_v)
        dk = grad_key[:, j0:j1]  # (n_batch, bk, d_k), a view: summed into in place
        dv = grad_value[:, j0:j1]  # (n_batch, bk, d_v)
        for i0, i1 in _query_blocks(j0, j1, seq_q, block_size, is_causal):
            bq = i1 - i0
            q = q_scaled[:, i0:i1]  # (n_batch, bq, d_k)
            do = grad_out[:, i0:i1]  # (n_batch, bq, d_v)
            # 2. recompute the scores: (n_batch, bq, d_k) @ (n_batch, d_k, bk) -> (n_batch, bq, bk)
            scores = torch.bmm(q, k.transpose(-1, -2), out=p_tile[:, :bq, :bk])
            allowed = _allowed(mask, i0, i1, j0, j1, is_causal, query.device)  # (..., bq, bk)
            if allowed is not None:
                _masked_fill(scores, allowed, batch)
            # 3. the weights from the saved log-sum-exp, P = 2^(S - L) in base 2
            p = scores.sub_(shift[:, i0:i1]).exp2_()  # (n_batch, bq, bk), in place
            # 4. dV += P^T dO: (n_batch, bk, bq) @ (n_batch, bq, d_v) -> (n_batch, bk, d_v)
            dv.baddbmm_(p.transpose(-1, -2), do)
            # 5. dP = dO V^T: (n_batch, bq, d_v) @ (n_batch, d_v, bk) -> (n_batch, bq, bk)
            dp = torch.bmm(do, v.transpose(-1, -2), out=dp_tile[:, :bq, :bk])
            # 6. dS = P * (dP - D)
            ds = dp.sub_(delta[:, i0:i1]).mul_(p)  # (n_batch, bq, bk), in place of dP
            # 7. dQ += dS K s: (n_batch, bq, bk) @ (n_batch, bk, d_k) -> (n_batch, bq, d_k)
            grad_query[:, i0:i1].baddbmm_(ds, k, alpha=scale)
            # 8. dK += dS^T Q s; q holds Q s log2(e), so multiply by ln 2:
            # (n_batch, bk, bq) @ (n_batch, bq, d_k) -> (n_batch, bk, d_k)
            dk.baddbmm_(ds.transpose(-1, -2), q, alpha=LN_2)
    # 9. sum over batch axes that were broadcast, back in the inputs' dtype
    return tuple(
        _sum_to_shape(grad.view(*batch, *grad.shape[-2:]), shape).to(dtype)
        for grad, shape in zip((grad_query, grad_key, grad_value), shapes, strict=True)
    )


class _TiledAttention(torch.autograd.Function):
    """`tiled_attention` as an autograd function: saves `out` and `lse`, not the weights."""

    @staticmethod
    def forward(ctx, query, key, value, mask, scale, is_causal, block_size):
        out, lse = _tiled_attention(query, key, value, mask, scale, is_causal, block_size)
        ctx.save_for_backward(query, key, value, out, lse, mask)
        ctx.options = (scale, is_causal, block_size)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        query, key, value, out, lse, mask = ctx.saved_tensors
        scale, is_causal, block_size = ctx.options
        grads = _tiled_attention_backward(
            query, key, value, grad_out, out, lse, mask, scale, is_causal, block_size
        )
        return (*grads, None, None, None, None)
