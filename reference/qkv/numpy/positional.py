"""Sinusoidal positional encoding: give attention, which sees a bag of tokens, their order.

Dimension names: `num_positions` rows (one per position), `d_model` features.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_positional

__all__ = ["sinusoidal_positional_encoding"]


def sinusoidal_positional_encoding(num_positions, d_model, *, dtype=None, device=None):
    r"""The fixed sinusoidal encodings of "Attention Is All You Need", one row per position.

    Even features are sines and odd features cosines of the same angle:

    $$PE_{pos, 2i} = \sin\left(\frac{pos}{10000^{2i / d_{model}}}\right), \qquad
    PE_{pos, 2i+1} = \cos\left(\frac{pos}{10000^{2i / d_{model}}}\right).$$

    Each pair $(2i, 2i+1)$ turns at its own frequency, so $PE_{pos+k}$ is a fixed rotation of
    $PE_{pos}$ and $PE_{pos} \cdot PE_{pos+k}$ depends only on the offset $k$. Add the result to
    token embeddings of shape `(*batch, num_positions, d_model)`.

    Args:
        num_positions: number of positions (rows), `>= 0`.
        d_model: number of features; must be even (one sine and one cosine per frequency).
        dtype: floating dtype of the result (default float64).
        device: `None` or `"cpu"` (NumPy arrays live on the CPU).

    Returns:
        Array of shape `(num_positions, d_model)`. Computed in float64, then cast.

    Raises:
        ValueError: if `d_model` is odd or below 2, `num_positions` is negative, or `device`
            is not the CPU.
        TypeError: if `num_positions` or `d_model` is not an integer.

    Examples:
        >>> from qkv.numpy import sinusoidal_positional_encoding
        >>> sinusoidal_positional_encoding(3, 4).round(4)
        array([[ 0.    ,  1.    ,  0.    ,  1.    ],
               [ 0.8415,  0.5403,  0.01  ,  1.    ],
               [ 0.9093, -0.4161,  0.02  ,  0.9998]])
    """
    check_positional("sinusoidal_positional_encoding", "numpy", num_positions, d_model, device)
    return _sinusoidal_positional_encoding(num_positions, d_model, dtype=dtype, device=device)


def _sinusoidal_positional_encoding(num_positions, d_model, *, dtype=None, device=None):
    """The math of `sinusoidal_positional_encoding`, unchecked (its inputs are valid)."""
    dtype = np.float64 if dtype is None else dtype
    # 1. the positions and the even feature indices 2i
    position = np.arange(num_positions, dtype=np.float64)  # (num_positions,)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)  # (d_model / 2,)
    # 2. one angle per (position, frequency): pos / 10000^(2i / d_model), by broadcasting
    angle = position[:, None] / 10000.0 ** (two_i / d_model)  # (num_positions, d_model / 2)
    # 3. interleave: sines in the even features, cosines in the odd features
    encoding = np.zeros((num_positions, d_model), dtype=np.float64)
    encoding[:, 0::2] = np.sin(angle)
    encoding[:, 1::2] = np.cos(angle)
    return encoding.astype(dtype)
