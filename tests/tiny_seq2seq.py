"""The tiny encoder–decoder that test_seq2seq.py and test_decoding.py share: sizes, a padded
source batch, a target batch, seeded parameters, and the backend by name."""

import numpy as np
import pytest
import qkv.numpy as qn

SRC_VOCAB, TGT_VOCAB, D_MODEL, D_FF, LAYERS, HEADS = 11, 9, 8, 16, 2, 2
SRC = np.array([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])  # (batch, seq_src); row 1 padded
SRC_LENGTHS = np.array([5, 3])
TGT = np.array([[0, 3, 4, 5, 6, 7], [0, 8, 2, 2, 1, 3]])  # (batch, seq_tgt)
BACKENDS = ["numpy", "torch"]


def params_of(m, dtype=None, seed=0):
    """Seeded parameters of the tiny model in the backend module `m`."""
    return m.init_seq2seq_params(
        SRC_VOCAB, TGT_VOCAB, d_model=D_MODEL, d_ff=D_FF, num_layers=LAYERS, seed=seed, dtype=dtype
    )


def float64_params(name, m, asarray):
    """Float64 parameters in backend `name` (NumPy's default; PyTorch's default is float32)."""
    return params_of(m) if name == "numpy" else params_of(m, dtype=asarray(0.0).double().dtype)


def backend_by_name(name):
    """`(module, asarray)` of a backend; the PyTorch one is skipped without PyTorch."""
    if name == "numpy":
        return qn, np.asarray
    torch = pytest.importorskip("torch")
    import qkv.torch as qt

    return qt, torch.as_tensor
