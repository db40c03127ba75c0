r"""Scaled dot-product attention in three equivalent forms (PyTorch backend).

- [scaled_dot_product_attention][qkv.torch.scaled_dot_product_attention]: the matrix form of the
  paper and of PyTorch, tokens as rows: $\operatorname{softmax}(QK^\top/\sqrt{d_k})\,V$.
- [attention_loop][qkv.torch.attention_loop]: one query at a time,
  $b^i = \sum_j \alpha'_{i,j} v^j$, as the notes first write it.
- [attention_column_form][qkv.torch.attention_column_form]: the notes' matrix form with tokens as
  columns: $A = K^\top Q$, $A' = \operatorname{softmax}(A)$, $O = VA'$.
"""

import math

import torch

from qkv._checks import broadcast_shape, check_attention, check_column_form, shape_of

from .masks import _causal_mask
from .softmax import _softmax, _softmax_fused

__all__ = ["scaled_dot_product_attention", "attention_loop", "attention_column_form"]


def scaled_dot_product_attention(query, key, value, mask=None, *, scale=None, is_causal=False):
    r"""Scaled dot-product attention: every query takes a weighted average of the values.

    $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt{d_k}}
    + M\Big)\,V, \qquad M_{ij} = \begin{cases} 0 & \text{mask}_{ij} \\ -\infty & \text{else}
    \end{cases}$$

    Shapes:

    - `query`: `(*batch, seq_q, d_k)`, `key`: `(*batch, seq_k, d_k)`,
      `value`: `(*batch, seq_k, d_v)`; the batch axes broadcast.
    - `mask`: boolean, broadcastable to `(*batch, seq_q, seq_k)`, `True` = may attend.
    - returns `out` `(*batch, seq_q, d_v)` and `weights` `(*batch, seq_q, seq_k)`.

    A query row whose keys are all masked gets zero weights and a zero output (no NaN, no
    warning), as PyTorch's `F.scaled_dot_product_attention` does on CPU. So does every query when
    there is no key at all (`seq_k == 0`): weights of shape `(*batch, seq_q, 0)`, a zero output.
    With no query (`seq_q == 0`) both results are empty.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype as `query`.
        value: Values, same dtype as `query`.
        mask: Optional boolean mask, `True` = may attend.
        scale: Multiplier of the scores; `None` means $1/\sqrt{d_k}$.
        is_causal: Also apply [causal_mask][qkv.torch.causal_mask] (top-left aligned); combines
            with `mask` by logical and.

    Returns:
        `(out, weights)`: the outputs and the attention weights (rows sum to 1, or to 0 when
            fully masked).

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes, a non-boolean mask,
            an `is_causal` that is not a boolean (`True`/`False`; the integers 0 and 1 are not).
        ValueError: Rank below 2, `d_k == 0`, `query`/`key` disagree on `d_k`, `key`/`value`
            disagree on `seq_k`, batch axes or mask that do not broadcast.

    Examples:
        Two equal keys share the weight, so the output is the mean of the values:

        >>> import torch
        >>> from qkv.torch import scaled_dot_product_attention
        >>> query = torch.tensor([[1.0, 0.0]])
        >>> key = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> value = torch.tensor([[0.0, 2.0], [4.0, 6.0]])
        >>> out, weights = scaled_dot_product_attention(query, key, value)
        >>> weights.round(decimals=4)
        tensor([[0.5000, 0.5000]])
        >>> out.round(decimals=4)
        tensor([[2., 4.]])

        With a causal mask the first query sees only the first key:

        >>> out, weights = scaled_dot_product_attention(key, key, value, is_causal=True)
        >>> weights.round(decimals=4)
        tensor([[1.0000, 0.0000],
                [0.5000, 0.5000]])
    """
    check_attention(
        "scaled_dot_product_attention",
        "torch",
        query,
        key,
        value,
        mask,
        scale=scale,
        is_causal=is_causal,
    )
    return _scaled_dot_product_attention(query, key, value, mask, scale=scale, is_causal=is_causal)


def _scaled_dot_product_attention(query, key, value, mask=None, *, scale=None, is_causal=False):
    """The math of `scaled_dot_product_attention`, unchecked (its inputs are valid)."""
    seq_q, seq_k = shape_of(query)[-2], shape_of(key)[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(shape_of(query)[-1])
    # 1. Scores QK^T: every query against every key; scaled so their variance does not grow
    #    with d_k and the softmax does not saturate. Scaling the queries (seq_q * d_k numbers)
    #    gives the same product as scaling the scores (seq_q * seq_k numbers), for less work.
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    scores = (query * scale) @ key.transpose(-2, -1)
    # 2. Mask: is_causal adds the causal mask; masked scores become -inf (weight 0 after softmax).
    if is_causal:
        causal = _causal_mask(seq_q, seq_k, device=query.device)
        mask = causal if mask is None else mask & causal
    if mask is not None:
        scores = torch.where(mask, scores, -torch.inf)
    # 3. Weights: softmax over the keys, each row sums to 1 (0 if every key is masked).
    weights = _softmax_fused(scores, mask)  # the twins' one difference: see _softmax_fused
    # 4. Output: each query's weighted average of the values.
    out = weights @ value  # (*batch, seq_q, seq_k) @ (*batch, seq_k, d_v) -> (*batch, seq_q, d_v)
    return out, weights


def attention_loop(query, key, value, mask=None, *, scale=None):
    r"""Attention one query at a time, the way the notes first write it.

    $$\alpha_{i,j} = s\, q^i \cdot k^j, \qquad \alpha'_{i,:} = \operatorname{softmax}(\alpha_{i,:}),
    \qquad b^i = \sum_j \alpha'_{i,j}\, v^j$$

    with $s = 1/\sqrt{d_k}$ by default. Slow (a Python loop over queries and keys) and written for
    reading; it equals [scaled_dot_product_attention][qkv.torch.scaled_dot_product_attention].

    Shapes:

    - `query`: `(*batch, seq_q, d_k)`, `key`: `(*batch, seq_k, d_k)`,
      `value`: `(*batch, seq_k, d_v)`; the batch axes broadcast.
    - `mask`: boolean, broadcastable to `(*batch, seq_q, seq_k)`, `True` = may attend.
    - returns `out` `(*batch, seq_q, d_v)` and `weights` `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype as `query`.
        value: Values, same dtype as `query`.
        mask: Optional boolean mask, `True` = may attend.
        scale: Multiplier $s$ of the scores; `None` means $1/\sqrt{d_k}$.

    Returns:
        `(out, weights)`, equal to those of the matrix form.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes, a non-boolean mask.
        ValueError: Rank below 2, `d_k == 0`, `query`/`key` disagree on `d_k`, `key`/`value`
            disagree on `seq_k`, batch axes or mask that do not broadcast.

    Examples:
        >>> import torch
        >>> from qkv.torch import attention_loop
        >>> query = torch.tensor([[1.0, 0.0]])
        >>> key = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> value = torch.tensor([[0.0, 2.0], [4.0, 6.0]])
        >>> out, weights = attention_loop(query, key, value)
        >>> weights.round(decimals=4)
        tensor([[0.5000, 0.5000]])
        >>> out.round(decimals=4)
        tensor([[2., 4.]])
    """
    check_attention("attention_loop", "torch", query, key, value, mask, scale=scale)
    return _attention_loop(query, key, value, mask, scale=scale)


def _attention_loop(query, key, value, mask=None, *, scale=None):
    """The math of `attention_loop`, unchecked (its inputs are valid)."""
    seq_q, seq_k = shape_of(query)[-2], shape_of(key)[-2]
    if seq_q == 0 or seq_k == 0:  # nothing to loop over: the matrix form's empty or zero result
        return _scaled_dot_product_attention(query, key, value, mask, scale=scale)
    if scale is None:
        scale = 1.0 / math.sqrt(shape_of(query)[-1])
    if mask is not None:
        batch = broadcast_shape(*(shape_of(x)[:-2] for x in (query, key, value)))
        mask = mask.expand(*batch, seq_q, seq_k)  # -> (*batch, seq_q, seq_k)
    out_rows, weight_rows = [], []
    for i in range(seq_q):
        q_i = query[..., i, :]  # (*batch, d_k)
        # 1. Scores alpha_{i,j} = s q^i . k^j for every key j.
        scores_i = torch.stack(
            [torch.sum(q_i * key[..., j, :], dim=-1) * scale for j in range(seq_k)], dim=-1
        )  # seq_k x (*batch,) -> (*batch, seq_k)
        if mask is not None:
            scores_i = torch.where(mask[..., i, :], scores_i, -torch.inf)
        # 2. Weights alpha'_{i,:} = softmax over the keys.
        weights_i = _softmax(scores_i, axis=-1)  # (*batch, seq_k)
        # 3. b^i = sum_j alpha'_{i,j} v^j.
        # (*batch, 1) * (*batch, d_v) -> (*batch, d_v), summed over j
        b_i = sum(weights_i[..., j, None] * value[..., j, :] for j in range(seq_k))
        out_rows.append(b_i)
        weight_rows.append(weights_i)
    out = torch.stack(out_rows, dim=-2)  # seq_q x (*batch, d_v) -> (*batch, seq_q, d_v)
    weights = torch.stack(weight_rows, dim=-2)  # seq_q x (*batch, seq_k) -> (*batch, seq_q, seq_k)
    return out, weights


def attention_column_form(q_cols, k_cols, v_cols, *, scale=None):
    r"""Attention with tokens as columns, in the notes' notation.

    $$A = s\,K^\top Q, \qquad A' = \operatorname{softmax}_{\text{keys}}(A), \qquad O = V A'$$

    Column $i$ of $Q$ is query $q^i$; entry $A_{j,i}$ scores key $j$ against query $i$, so the
    softmax runs down each column (axis -2). With $s = 1/\sqrt{d_k}$ (the default) the result is
    the row form transposed:
    $O = \big(\operatorname{softmax}(Q_r K_r^\top / \sqrt{d_k})\, V_r\big)^\top$ with
    $Q_r = Q^\top$, $K_r = K^\top$, $V_r = V^\top$.

    Shapes:

    - `q_cols`: `(*batch, d_k, seq_q)`, `k_cols`: `(*batch, d_k, seq_k)`,
      `v_cols`: `(*batch, d_v, seq_k)`; the batch axes broadcast.
    - returns `out_cols` `(*batch, d_v, seq_q)` and `weights_cols` `(*batch, seq_k, seq_q)`.

    Args:
        q_cols: Queries as columns, a floating torch tensor.
        k_cols: Keys as columns, same dtype.
        v_cols: Values as columns, same dtype.
        scale: Multiplier $s$ of the scores; `None` means $1/\sqrt{d_k}$.

    Returns:
        `(out_cols, weights_cols)`: $O$ and $A'$ (each column of $A'$ sums to 1).

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes.
        ValueError: Rank below 2, `d_k == 0`, `q_cols`/`k_cols` disagree on `d_k`,
            `k_cols`/`v_cols` disagree on `seq_k`, batch axes that do not broadcast.

    Examples:
        One query column, two equal key columns: each key gets half the weight.

        >>> import torch
        >>> from qkv.torch import attention_column_form
        >>> q_cols = torch.tensor([[1.0], [0.0]])
        >>> k_cols = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
        >>> v_cols = torch.tensor([[0.0, 4.0], [2.0, 6.0]])
        >>> out_cols, weights_cols = attention_column_form(q_cols, k_cols, v_cols)
        >>> weights_cols.round(decimals=4)
        tensor([[0.5000],
                [0.5000]])
        >>> out_cols.round(decimals=4)
        tensor([[2.],
                [4.]])
    """
    check_column_form("attention_column_form", "torch", q_cols, k_cols, v_cols, scale)
    return _attention_column_form(q_cols, k_cols, v_cols, scale=scale)


def _attention_column_form(q_cols, k_cols, v_cols, *, scale=None):
    """The math of `attention_column_form`, unchecked (its inputs are valid)."""
    if scale is None:
        scale = 1.0 / math.sqrt(shape_of(q_cols)[-2])
    # 1. A = s K^T Q: entry (j, i) scores key j against query i.
    # (*batch, seq_k, d_k) @ (*batch, d_k, seq_q) -> (*batch, seq_k, seq_q)
    scores_cols = k_cols.transpose(-2, -1) @ q_cols * scale
    # 2. A' = softmax down each column: the keys of one query are on axis -2.
    weights_cols = _softmax(scores_cols, axis=-2)  # (*batch, seq_k, seq_q)
    # 3. O = V A': column i is the weighted sum of the value columns.
    # (*batch, d_v, seq_k) @ (*batch, seq_k, seq_q) -> (*batch, d_v, seq_q)
    out_cols = v_cols @ weights_cols
    return out_cols, weights_cols
