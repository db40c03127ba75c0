r"""Relevance scores $\alpha_{i,j}$ between query $i$ and key $j$ (PyTorch backend).

Every function returns scores `(*batch, seq_q, seq_k)`, one row per query, ready for
[softmax][qkv.torch.softmax]. Dot product, scaled dot product and cosine have no parameters;
additive and bilinear scores have their own learned matrices.
"""

import math

import torch

from qkv._checks import check_additive_scores, check_attention, check_bilinear_scores, shape_of

__all__ = [
    "dot_product_scores",
    "scaled_dot_product_scores",
    "cosine_scores",
    "additive_scores",
    "bilinear_scores",
]


def dot_product_scores(query, key):
    r"""Dot-product scores, the common choice: $\alpha_{i,j} = q^i \cdot k^j$.

    $$A = Q K^\top$$

    Shapes: `query` `(*batch, seq_q, d_k)`, `key` `(*batch, seq_k, d_k)` (batch axes broadcast);
    returns `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype as `query`.

    Returns:
        The scores, one row per query.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes.
        ValueError: Rank below 2, `query`/`key` disagree on `d_k`, batch axes do not broadcast.

    Examples:
        >>> import torch
        >>> from qkv.torch import dot_product_scores
        >>> query = torch.tensor([[1.0, 2.0]])
        >>> key = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
        >>> dot_product_scores(query, key)
        tensor([[11.,  1.]])
    """
    check_attention("dot_product_scores", "torch", query, key)
    return _dot_product_scores(query, key)


def _dot_product_scores(query, key):
    """The math of `dot_product_scores`, unchecked (its inputs are valid)."""
    # 1. One dot product per (query, key) pair.
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    scores = query @ key.transpose(-2, -1)
    return scores


def scaled_dot_product_scores(query, key, *, scale=None):
    r"""Scaled dot-product scores: $\alpha_{i,j} = q^i \cdot k^j / \sqrt{d_k}$.

    $$A = \frac{Q K^\top}{\sqrt{d_k}}$$

    For entries of unit variance, $q \cdot k$ has variance $d_k$; dividing by $\sqrt{d_k}$ brings
    it back to 1, so the softmax does not saturate as $d_k$ grows.

    Shapes: `query` `(*batch, seq_q, d_k)`, `key` `(*batch, seq_k, d_k)` (batch axes broadcast);
    returns `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype as `query`.
        scale: Multiplier of the dot products; `None` means $1/\sqrt{d_k}$.

    Returns:
        The scores, one row per query.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes, non-real `scale`.
        ValueError: Rank below 2, `query`/`key` disagree on `d_k`, batch axes do not broadcast.

    Examples:
        With $d_k = 4$ the dot product is divided by 2:

        >>> import torch
        >>> from qkv.torch import scaled_dot_product_scores
        >>> query = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
        >>> key = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 0.0, 0.0]])
        >>> scaled_dot_product_scores(query, key)
        tensor([[2., 0.]])
    """
    check_attention("scaled_dot_product_scores", "torch", query, key, scale=scale)
    return _scaled_dot_product_scores(query, key, scale=scale)


def _scaled_dot_product_scores(query, key, *, scale=None):
    """The math of `scaled_dot_product_scores`, unchecked (its inputs are valid)."""
    if scale is None:
        scale = 1.0 / math.sqrt(shape_of(query)[-1])
    # 1. Dot products, then the 1/sqrt(d_k) that keeps their variance near 1.
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    scores = query @ key.transpose(-2, -1) * scale
    return scores


def cosine_scores(query, key, *, eps=1e-8):
    r"""Cosine-similarity scores: the dot product of unit vectors, in $[-1, 1]$.

    $$\alpha_{i,j} = \frac{q^i}{\max(\lVert q^i \rVert, \varepsilon)} \cdot
    \frac{k^j}{\max(\lVert k^j \rVert, \varepsilon)}$$

    The clamp by $\varepsilon$ (as in `torch.nn.functional.cosine_similarity`) keeps a zero
    vector from dividing by zero; its scores are 0.

    Shapes: `query` `(*batch, seq_q, d_k)`, `key` `(*batch, seq_k, d_k)` (batch axes broadcast);
    returns `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype as `query`.
        eps: Smallest norm used in the division, $> 0$.

    Returns:
        The scores, one row per query, each in $[-1, 1]$.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes, non-real `eps`.
        ValueError: Rank below 2, `query`/`key` disagree on `d_k`, batch axes do not broadcast,
            `eps <= 0`.

    Examples:
        Same direction gives 1, opposite gives -1, orthogonal gives 0, whatever the lengths:

        >>> import torch
        >>> from qkv.torch import cosine_scores
        >>> query = torch.tensor([[2.0, 0.0]])
        >>> key = torch.tensor([[5.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
        >>> cosine_scores(query, key).round(decimals=4)
        tensor([[ 1., -1.,  0.]])
    """
    check_attention("cosine_scores", "torch", query, key, eps=eps)
    return _cosine_scores(query, key, eps=eps)


def _cosine_scores(query, key, *, eps=1e-8):
    """The math of `cosine_scores`, unchecked (its inputs are valid)."""
    # 1. Scale every query and key to unit length (lengths below eps are clamped to eps).
    q_norm = torch.linalg.vector_norm(query, dim=-1, keepdim=True)  # (*batch, seq_q, 1)
    k_norm = torch.linalg.vector_norm(key, dim=-1, keepdim=True)  # (*batch, seq_k, 1)
    q_unit = query / torch.clamp(q_norm, min=eps)  # (*batch, seq_q, d_k)
    k_unit = key / torch.clamp(k_norm, min=eps)  # (*batch, seq_k, d_k)
    # 2. Dot products of unit vectors are the cosines of the angles.
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    scores = q_unit @ k_unit.transpose(-2, -1)
    return scores


def additive_scores(query, key, w_q, w_k, v):
    r"""Additive (Bahdanau) scores: a one-hidden-layer network scores each pair.

    $$\alpha_{i,j} = v^\top \tanh\!\big(q^i W_q + k^j W_k\big)$$

    with learned $W_q$, $W_k$ and $v$: unlike the dot product, it has parameters to train, and
    query and key may have different sizes.

    Shapes (`d_hidden` is the width of the hidden layer):

    - `query` `(*batch, seq_q, d_q)`, `key` `(*batch, seq_k, d_k)` (batch axes broadcast);
    - `w_q` `(d_q, d_hidden)`, `w_k` `(d_k, d_hidden)`, `v` `(d_hidden,)`;
    - returns `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype.
        w_q: Projection of the queries into the hidden layer.
        w_k: Projection of the keys into the hidden layer.
        v: Weights that turn a hidden vector into one score.

    Returns:
        The scores, one row per query.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes.
        ValueError: Wrong ranks, or sizes that disagree (`d_q`, `d_k`, `d_hidden`), batch axes
            that do not broadcast.

    Examples:
        With identity projections and $v = (1, 1)$, a pair scores
        $\tanh(q_1 + k_1) + \tanh(q_2 + k_2)$:

        >>> import torch
        >>> from qkv.torch import additive_scores
        >>> query = torch.tensor([[0.0, 0.0]])
        >>> key = torch.tensor([[0.0, 0.0], [100.0, -100.0]])
        >>> w = torch.eye(2)
        >>> additive_scores(query, key, w, w, torch.tensor([1.0, 1.0])).round(decimals=4)
        tensor([[0., 0.]])
        >>> additive_scores(query, key, w, w, torch.tensor([1.0, -1.0])).round(decimals=4)
        tensor([[0., 2.]])
    """
    check_additive_scores("additive_scores", "torch", query, key, w_q, w_k, v)
    return _additive_scores(query, key, w_q, w_k, v)


def _additive_scores(query, key, w_q, w_k, v):
    """The math of `additive_scores`, unchecked (its inputs are valid)."""
    # 1. Project queries and keys into the hidden layer.
    q_hidden = query @ w_q  # (*batch, seq_q, d_q) @ (d_q, d_hidden) -> (*batch, seq_q, d_hidden)
    k_hidden = key @ w_k  # (*batch, seq_k, d_k) @ (d_k, d_hidden) -> (*batch, seq_k, d_hidden)
    # 2. Add every query to every key, then tanh.
    # (*batch, seq_q, 1, d_hidden) + (*batch, 1, seq_k, d_hidden)
    #     -> (*batch, seq_q, seq_k, d_hidden)
    hidden = torch.tanh(q_hidden[..., :, None, :] + k_hidden[..., None, :, :])
    # 3. v^T h: one number per pair.
    scores = hidden @ v  # (*batch, seq_q, seq_k, d_hidden) @ (d_hidden,) -> (*batch, seq_q, seq_k)
    return scores


def bilinear_scores(query, key, weight):
    r"""Bilinear ("general") scores: a learned matrix between query and key.

    $$\alpha_{i,j} = q^i\, W\, {k^j}^\top, \qquad A = Q W K^\top$$

    With $W = I$ it is the dot product; a learned $W$ lets query and key have different sizes.

    Shapes: `query` `(*batch, seq_q, d_q)`, `key` `(*batch, seq_k, d_k)` (batch axes broadcast),
    `weight` `(d_q, d_k)`; returns `(*batch, seq_q, seq_k)`.

    Args:
        query: Queries, a floating torch tensor.
        key: Keys, same dtype.
        weight: The matrix $W$.

    Returns:
        The scores, one row per query.

    Raises:
        TypeError: Mixed or wrong backends, non-floating or unequal dtypes.
        ValueError: Wrong ranks, `weight` that does not fit `d_q` and `d_k`, batch axes that do
            not broadcast.

    Examples:
        >>> import torch
        >>> from qkv.torch import bilinear_scores
        >>> query = torch.tensor([[1.0, 2.0]])
        >>> key = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
        >>> bilinear_scores(query, key, torch.eye(2))
        tensor([[11.,  1.]])
        >>> bilinear_scores(query, key, torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
        tensor([[4., 0.]])
    """
    check_bilinear_scores("bilinear_scores", "torch", query, key, weight)
    return _bilinear_scores(query, key, weight)


def _bilinear_scores(query, key, weight):
    """The math of `bilinear_scores`, unchecked (its inputs are valid)."""
    # 1. Map the queries through W.
    q_w = query @ weight  # (*batch, seq_q, d_q) @ (d_q, d_k) -> (*batch, seq_q, d_k)
    # 2. Dot products with the keys.
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    scores = q_w @ key.transpose(-2, -1)
    return scores
