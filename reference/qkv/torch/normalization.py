"""Layer normalisation versus batch normalisation: which axis the statistics run over.

Dimension names: `*batch` leading axes (for text: sentences and positions), `d_model` features
(always the last axis). LayerNorm standardises each token over its own features; BatchNorm (training
mode) standardises each feature over every token of the batch.
"""

from __future__ import annotations

import torch

from .._checks import check_norm

__all__ = ["layer_norm", "batch_norm"]


def layer_norm(x, weight, bias, eps=1e-5):
    r"""Layer normalisation: standardise every token over its own `d_model` features.

    With $\mu$ and $\sigma^2$ the mean and (biased) variance of one token's features,

    $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta .$$

    The statistics use nothing outside the token, so a sentence's output does not depend on the
    other sentences in the batch or on padding. Equals `torch.nn.functional.layer_norm(x,
    (d_model,), weight, bias, eps)`.

    Args:
        x: input of shape `(*batch, d_model)`.
        weight: scale $\gamma$ of shape `(d_model,)`, or `None` for ones.
        bias: shift $\beta$ of shape `(d_model,)`, or `None` for zeros.
        eps: small positive number added to the variance.

    Returns:
        Tensor of shape `(*batch, d_model)`, dtype of `x` (float16, bfloat16: float32 statistics).

    Raises:
        TypeError: for non-floating or mixed dtypes, or inputs of another backend.
        ValueError: if `x` has no axis, `weight`/`bias` is not `(d_model,)`, or `eps <= 0`.

    Examples:
        >>> import torch
        >>> from qkv.torch import layer_norm
        >>> x = torch.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
        >>> layer_norm(x, torch.ones(3), torch.zeros(3)).round(decimals=4)
        tensor([[-1.2247,  0.0000,  1.2247],
                [-1.2247,  0.0000,  1.2247]])
    """
    check_norm("layer_norm", "torch", x, weight, bias, eps, min_ndim=1)
    return _layer_norm(x, weight, bias, eps)


def _layer_norm(x, weight, bias, eps=1e-5):
    """The math of `layer_norm`, unchecked (its inputs are valid)."""
    # 1. accumulate the statistics in at least float32
    acc = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    # 2. mean and biased variance of each token over its features
    mean = acc.mean(dim=-1, keepdim=True)  # (*batch, d_model) -> (*batch, 1)
    var = acc.var(dim=-1, keepdim=True, correction=0)  # (*batch, d_model) -> (*batch, 1)
    # 3. standardise, then scale by gamma and shift by beta, feature by feature
    out = ((acc - mean) / torch.sqrt(var + eps)).to(x.dtype)  # (*batch, d_model)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(x, weight, bias, eps=1e-5):
    r"""Batch normalisation in training mode: standardise every feature over all other axes.

    With $\mu_f$ and $\sigma_f^2$ the mean and (biased) variance of feature $f$ over every axis
    but the last (all sentences and positions of the batch),

    $$\mathrm{BN}(x)_{\dots f} = \frac{x_{\dots f} - \mu_f}{\sqrt{\sigma_f^2 + \epsilon}}\,
    \gamma_f + \beta_f .$$

    Unlike [layer_norm][qkv.torch.layer_norm], one sentence's output depends on the rest of the
    batch (and on its padding). Equals `torch.nn.functional.batch_norm(x.reshape(-1, d_model),
    None, None, weight, bias, training=True, eps=eps)` reshaped back; no running statistics are
    kept.

    Args:
        x: input of shape `(*batch, d_model)` with at least one batch axis.
        weight: scale $\gamma$ of shape `(d_model,)`, or `None` for ones.
        bias: shift $\beta$ of shape `(d_model,)`, or `None` for zeros.
        eps: small positive number added to the variance.

    Returns:
        Tensor of shape `(*batch, d_model)`, dtype of `x` (float16, bfloat16: float32 statistics).

    Raises:
        TypeError: for non-floating or mixed dtypes, or inputs of another backend.
        ValueError: if `x` has fewer than 2 axes, `weight`/`bias` is not `(d_model,)`, or
            `eps <= 0`.

    Examples:
        >>> import torch
        >>> from qkv.torch import batch_norm
        >>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> batch_norm(x, torch.ones(2), torch.zeros(2)).round(decimals=4)
        tensor([[-1., -1.],
                [ 1.,  1.]])
    """
    check_norm("batch_norm", "torch", x, weight, bias, eps, min_ndim=2)
    return _batch_norm(x, weight, bias, eps)


def _batch_norm(x, weight, bias, eps=1e-5):
    """The math of `batch_norm`, unchecked (its inputs are valid)."""
    # 1. accumulate the statistics in at least float32
    acc = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    # 2. mean and biased variance of each feature over every other axis
    axes = tuple(range(x.ndim - 1))
    mean = acc.mean(dim=axes, keepdim=True)  # (*batch, d_model) -> (1, ..., 1, d_model)
    var = acc.var(dim=axes, keepdim=True, correction=0)  # (*batch, d_model) -> (1, ..., 1, d_model)
    # 3. standardise, then scale by gamma and shift by beta, feature by feature
    out = ((acc - mean) / torch.sqrt(var + eps)).to(x.dtype)  # (*batch, d_model)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
