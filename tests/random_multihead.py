"""Random multi-head parameters that test_multihead.py and test_multihead_errors.py share."""

import numpy as np
import qkv.numpy as qn

from conftest import lazy_import, to_torch

qt = lazy_import("qkv.torch")


def random_params(rng, d_model, *, bias=True, dtype=np.float64):
    """NumPy MultiHeadParams with random weights and (non-zero) random biases."""
    weights = [rng.standard_normal((d_model, d_model)) / np.sqrt(d_model) for _ in range(4)]
    biases = [rng.standard_normal(d_model) if bias else None for _ in range(4)]
    return qn.MultiHeadParams(*[None if p is None else p.astype(dtype) for p in weights + biases])


def params_to_torch(params, device="cpu", dtype=None):
    return qt.MultiHeadParams(*[to_torch(p, device, dtype) for p in params])
