"""Inputs shared by the tests of tiled attention: tests/test_tiled.py (the forward pass) and
tests/test_tiled_backward.py (the backward pass). PyTorch is imported only when a test asks."""

from __future__ import annotations

import numpy as np
import pytest


def make_inputs(shape, dtype, seed=0):
    batch, seq_q, seq_k, d_k, d_v = shape
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((*batch, seq_q, d_k)).astype(dtype)
    key = rng.standard_normal((*batch, seq_k, d_k)).astype(dtype)
    value = rng.standard_normal((*batch, seq_k, d_v)).astype(dtype)
    return query, key, value


def make_mask(kind, shape, seed=0):
    """A boolean mask (True = may attend) broadcastable to (*batch, seq_q, seq_k), or None."""
    batch, seq_q, seq_k, _, _ = shape
    rng = np.random.default_rng(seed + 1)
    if kind == "none":
        return None
    if kind == "random":
        return rng.random((*batch, seq_q, seq_k)) < 0.6
    if kind == "padding":  # (*batch, 1, seq_k): the last keys of each sequence are padding
        lengths = rng.integers(1, seq_k + 1, size=batch)
        return (np.arange(seq_k) < np.asarray(lengths)[..., None])[..., None, :]
    mask = rng.random((seq_q, seq_k)) < 0.6  # (seq_q, seq_k), shared by the batch
    mask[::2] = False  # every other query row sees no key at all
    return mask


def torch_or_skip():
    """PyTorch, qkv.torch and torch.nn.functional, or skip the test without PyTorch."""
    torch = pytest.importorskip("torch")
    import qkv.torch as qt
    import torch.nn.functional as F

    return torch, qt, F


def to_torch(*arrays):
    torch = pytest.importorskip("torch")
    return [None if a is None else torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
