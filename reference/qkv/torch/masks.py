"""Boolean attention masks, `True` = may attend (PyTorch backend).

A mask broadcasts against the scores `(*batch, seq_q, seq_k)`; where it is `False` the score becomes
`-inf` before the softmax, so that key gets weight 0.
"""

import torch

from qkv._checks import check_mask_factory, check_padding_mask

__all__ = ["causal_mask", "padding_mask", "local_mask"]


def causal_mask(seq_q, seq_k=None, *, align="top_left", device=None):
    r"""The decoder's causal mask: query $i$ may attend to key $j$ only when $j \le i$
    (plus an offset when `seq_q != seq_k`).

    $$M_{ij} = [\, j \le i + o \,]$$

    with the offset $o = 0$ for `align="top_left"` (the default) and $o = seq_k - seq_q$ for
    `align="bottom_right"`. Top left puts query 0 on key 0, like `is_causal=True` in PyTorch's
    `F.scaled_dot_product_attention` and `causal_upper_left`: with `seq_q < seq_k` the last keys
    are hidden from every query. Bottom right puts the last query on the last key, like
    `causal_lower_right` in `torch.nn.attention.bias` and FlashAttention: the queries are the
    *last* `seq_q` positions of a sequence of `seq_k`, which is what decoding with a key/value
    cache needs (the new tokens come after the cached ones). Both agree when `seq_q == seq_k`.

    Shapes: the result is `(seq_q, seq_k)` and broadcasts against scores `(*batch, seq_q, seq_k)`.

    Args:
        seq_q: Number of queries.
        seq_k: Number of keys; defaults to `seq_q` (self-attention).
        align: `"top_left"` or `"bottom_right"`: which corner the diagonal starts from.
        device: Where to create the mask (`None` = PyTorch's default device).

    Returns:
        A boolean tensor `(seq_q, seq_k)`, `True` on and below the diagonal.

    Raises:
        TypeError: `seq_q` or `seq_k` is not an integer.
        ValueError: `seq_q` or `seq_k` is below 1, or `align` is unknown.

    Examples:
        >>> from qkv.torch import causal_mask
        >>> causal_mask(3)
        tensor([[ True, False, False],
                [ True,  True, False],
                [ True,  True,  True]])
        >>> causal_mask(2, 3)
        tensor([[ True, False, False],
                [ True,  True, False]])
        >>> causal_mask(2, 3, align="bottom_right")  # 2 new queries after 1 cached key
        tensor([[ True,  True, False],
                [ True,  True,  True]])
    """
    check_mask_factory("causal_mask", "torch", seq_q, seq_k, align=align, device=device)
    return _causal_mask(seq_q, seq_k, align=align, device=device)


def _causal_mask(seq_q, seq_k=None, *, align="top_left", device=None):
    """The math of `causal_mask`, unchecked (its inputs are valid)."""
    if seq_k is None:
        seq_k = seq_q
    # 1. Query positions down the rows, key positions along the columns.
    i = torch.arange(seq_q, device=device)[:, None]  # (seq_q, 1)
    j = torch.arange(seq_k, device=device)[None, :]  # (1, seq_k)
    # 2. the offset o: 0 top left, seq_k - seq_q bottom right (queries are the last positions)
    offset = 0 if align == "top_left" else seq_k - seq_q
    # 3. M_ij = [j <= i + o]: a query sees itself and the keys before it.
    return j <= i + offset  # (seq_q, seq_k)


def padding_mask(lengths, seq_k):
    r"""Hide the padding at the end of each sequence in a batch.

    $$M_{b,j} = [\, j < \text{lengths}_b \,]$$

    Shapes: `lengths` is `(batch,)`; the result is `(batch, 1, seq_k)`, which broadcasts against
    scores `(batch, seq_q, seq_k)`: every query of sequence $b$ sees its first
    $\text{lengths}_b$ keys.

    Args:
        lengths: Integer tensor `(batch,)`, the number of real tokens in each sequence
            (each between 0 and `seq_k`).
        seq_k: The padded length (number of keys).

    Returns:
        A boolean tensor `(batch, 1, seq_k)` on the device of `lengths`, `True` on real tokens.

    Raises:
        TypeError: `lengths` is not an integer torch tensor or `seq_k` is not an integer.
        ValueError: `lengths` is not 1-D or holds a value outside `[0, seq_k]`.

    Examples:
        >>> import torch
        >>> from qkv.torch import padding_mask
        >>> padding_mask(torch.tensor([2, 3]), 4)
        tensor([[[ True,  True, False, False]],
        <BLANKLINE>
                [[ True,  True,  True, False]]])
        >>> padding_mask(torch.tensor([2, 3]), 4).shape
        torch.Size([2, 1, 4])
    """
    check_padding_mask("padding_mask", "torch", lengths, seq_k)
    return _padding_mask(lengths, seq_k)


def _padding_mask(lengths, seq_k):
    """The math of `padding_mask`, unchecked (its inputs are valid)."""
    # 1. Key positions 0 .. seq_k - 1 against each sequence's length.
    j = torch.arange(seq_k, device=lengths.device)  # (seq_k,)
    # 2. M_bj = [j < lengths_b]: real tokens come first, padding after.
    mask = j[None, :] < lengths[:, None]  # (1, seq_k) < (batch, 1) -> (batch, seq_k)
    # 3. Insert the query axis so the mask broadcasts over every query of a sequence.
    return mask[:, None, :]  # (batch, seq_k) -> (batch, 1, seq_k)


def local_mask(seq_q, seq_k=None, *, window, device=None):
    r"""A band mask for local attention: query $i$ sees key $j$ when $|i - j| \le w$.

    $$M_{ij} = [\, |i - j| \le w \,]$$

    Shapes: the result is `(seq_q, seq_k)` and broadcasts against scores `(*batch, seq_q, seq_k)`.

    Args:
        seq_q: Number of queries.
        seq_k: Number of keys; defaults to `seq_q`.
        window: The half-width $w \ge 0$ of the band; `window=0` lets a token see only itself.
        device: Where to create the mask (`None` = PyTorch's default device).

    Returns:
        A boolean tensor `(seq_q, seq_k)`, `True` inside the band.

    Raises:
        TypeError: `seq_q`, `seq_k` or `window` is not an integer.
        ValueError: `seq_q` or `seq_k` is below 1 or `window` is negative.

    Examples:
        >>> from qkv.torch import local_mask
        >>> local_mask(4, window=1)
        tensor([[ True,  True, False, False],
                [ True,  True,  True, False],
                [False,  True,  True,  True],
                [False, False,  True,  True]])
    """
    check_mask_factory("local_mask", "torch", seq_q, seq_k, window=window, device=device)
    return _local_mask(seq_q, seq_k, window=window, device=device)


def _local_mask(seq_q, seq_k=None, *, window, device=None):
    """The math of `local_mask`, unchecked (its inputs are valid)."""
    if seq_k is None:
        seq_k = seq_q
    # 1. Query positions down the rows, key positions along the columns.
    i = torch.arange(seq_q, device=device)[:, None]  # (seq_q, 1)
    j = torch.arange(seq_k, device=device)[None, :]  # (1, seq_k)
    # 2. M_ij = [|i - j| <= w]: a band of width 2w + 1 around the diagonal.
    return torch.abs(i - j) <= window  # (seq_q, seq_k)
