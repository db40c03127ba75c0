r"""Tiled attention with an online softmax: the result of scaled dot-product attention without
ever holding the `(seq_q, seq_k)` score matrix (the idea behind FlashAttention).

Dimension names: `*batch` (any leading axes), `seq_q` queries, `seq_k` keys and values, `d_k`
(query and key features), `d_v` (value features), `block_size` rows of a tile.

Queries are cut into blocks of `block_size` rows and keys/values into blocks of `block_size` rows.
For one query block, the key blocks are visited in order while three running quantities per query
row are kept: the largest score seen so far $m$, the softmax normaliser $\ell$ measured against
$m$, and the unnormalised output $o$. Peak extra memory is one `(block_size, block_size)` tile
per batch element plus the `(seq_q, d_v)` output: O(seq · d), not O(seq²).
"""

from __future__ import annotations

import math

import torch

from qkv._checks import check_attention, check_int, check_real

__all__ = ["tiled_attention"]


def _key_blocks(i0, i1, seq_k, block_size, is_causal):
    """The key blocks `(j0, j1)` that query rows `i0 .. i1 - 1` must visit.

    With `is_causal`, query `i` may attend key `j` only when `j <= i` (top-left aligned), so keys
    from `i1` on are masked for every row of the block: those blocks are skipped, not computed.
    """
    stop = min(seq_k, i1) if is_causal else seq_k
    return [(j0, min(j0 + block_size, stop)) for j0 in range(0, stop, block_size)]


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
        >>> q, k, v = torch.randn(3, 2, 5, 4, generator=generator)
        >>> out = tiled_attention(q, k, v, is_causal=True, block_size=2)
        >>> out.shape
        torch.Size([2, 5, 4])
        >>> bool(torch.allclose(out, scaled_dot_product_attention(q, k, v, is_causal=True)[0]))
        True
    """
    name = "tiled_attention"
    scores_shape = check_attention(name, "torch", query, key, value, mask)
    check_real(name, "scale", scale)
    check_int(name, "block_size", block_size, minimum=1)
    seq_q, d_k = query.shape[-2:]
    seq_k, d_v = value.shape[-2:]
    batch = scores_shape[:-2]
    if mask is not None:
        # a view with full (seq_q, seq_k) axes, so tiles can be sliced from it (no copy)
        mask = mask.expand(*mask.shape[:-2], seq_q, seq_k)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    # float16 and bfloat16 tiles are summed in float32, as the one-shot softmax does
    work = torch.float32 if query.dtype in (torch.float16, torch.bfloat16) else query.dtype
    out = query.new_zeros((*batch, seq_q, d_v))

    for i0 in range(0, seq_q, block_size):
        i1 = min(i0 + block_size, seq_q)
        bq = i1 - i0
        # 1. scale the query tile once instead of every score tile
        q = query[..., i0:i1, :] * scale  # (*batch, bq, d_k)
        # 2. running maximum m, normaliser ell and unnormalised output o of each query row
        m = query.new_full((*batch, bq, 1), -math.inf, dtype=work)  # (*batch, bq, 1)
        ell = query.new_zeros((*batch, bq, 1), dtype=work)  # (*batch, bq, 1)
        o = query.new_zeros((*batch, bq, d_v), dtype=work)  # (*batch, bq, d_v)
        for j0, j1 in _key_blocks(i0, i1, seq_k, block_size, is_causal):
            k = key[..., j0:j1, :]  # (*batch, bk, d_k)
            v = value[..., j0:j1, :]  # (*batch, bk, d_v)
            # 3. one tile of scores: (*batch, bq, d_k) @ (*batch, d_k, bk) -> (*batch, bq, bk)
            scores = torch.matmul(q, k.transpose(-1, -2)).to(work)
            allowed = None if mask is None else mask[..., i0:i1, j0:j1]  # (..., bq, bk)
            if is_causal and j1 - 1 > i0:
                # this tile crosses the diagonal: key j is visible to query i when j <= i
                below = (
                    torch.arange(j0, j1, device=query.device)
                    <= torch.arange(i0, i1, device=query.device)[:, None]
                )  # (bq, bk)
                allowed = below if allowed is None else allowed & below
            if allowed is not None:
                scores = torch.where(allowed, scores, -math.inf)
            # 4. new running maximum; rows with nothing visible yet keep -inf, so subtract 0 there
            m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))  # (*batch, bq, 1)
            shift = torch.where(torch.isfinite(m_new), m_new, 0.0)  # (*batch, bq, 1)
            # 5. exponentials against the new maximum; masked scores give exp(-inf) = 0
            p = torch.exp(scores - shift)  # (*batch, bq, bk)
            # 6. rescale what was summed against the old maximum: alpha = exp(m_old - m_new)
            alpha = torch.exp(m - shift)  # (*batch, bq, 1)
            ell = alpha * ell + p.sum(dim=-1, keepdim=True)  # (*batch, bq, 1)
            # (*batch, bq, bk) @ (*batch, bk, d_v) -> (*batch, bq, d_v)
            o = alpha * o + torch.matmul(p.to(v.dtype), v).to(work)
            m = m_new
        # 7. normalise; a row that saw no visible key has ell = 0 and o = 0: divide it by 1
        out[..., i0:i1, :] = o / torch.where(ell > 0, ell, 1.0)  # (*batch, bq, d_v)
    return out
