"""Sinusoidal positional encoding: the paper's formula, NumPy <-> PyTorch, the rotation and
offset properties, what positions do to permutation equivariance, and bad input."""

import math

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
qt = lazy_import("qkv.torch")


def _formula(num_positions, d_model):
    """The paper's formula, one entry at a time."""
    pe = np.zeros((num_positions, d_model))
    for pos in range(num_positions):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            pe[pos, 2 * i] = math.sin(angle)
            pe[pos, 2 * i + 1] = math.cos(angle)
    return pe


@pytest.mark.parametrize(("num_positions", "d_model"), [(1, 2), (5, 4), (7, 10), (0, 6)])
def test_matches_the_papers_formula(num_positions, d_model):
    pe = qn.sinusoidal_positional_encoding(num_positions, d_model)
    assert pe.shape == (num_positions, d_model) and pe.dtype == np.float64
    np.testing.assert_allclose(pe, _formula(num_positions, d_model), rtol=0, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_numpy_equals_torch(dtype, device):
    dtype = getattr(torch, dtype)
    pe = qt.sinusoidal_positional_encoding(9, 6, dtype=dtype, device=device)
    assert pe.dtype == dtype and pe.device.type == device
    assert_close(pe, qn.sinusoidal_positional_encoding(9, 6), dtype=dtype)


def test_default_dtypes():
    assert qt.sinusoidal_positional_encoding(2, 2).dtype == torch.get_default_dtype()
    assert qn.sinusoidal_positional_encoding(2, 2, dtype=np.float32).dtype == np.float32


def test_position_zero_and_bounds():
    pe = qn.sinusoidal_positional_encoding(50, 8)
    np.testing.assert_array_equal(pe[0], [0, 1] * 4)
    assert np.abs(pe).max() <= 1.0
    # each (sin, cos) pair lies on the unit circle
    np.testing.assert_allclose(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, 1.0, rtol=1e-14)


@given(offset=st.integers(1, 20), half=st.integers(1, 4))
def test_shift_is_a_fixed_rotation(offset, half):
    """PE(pos + k) = PE(pos) R_k with one block-rotation matrix R_k for every position."""
    d_model = 2 * half
    pe = qn.sinusoidal_positional_encoding(30 + offset, d_model)
    rotation = np.zeros((d_model, d_model))
    for i in range(half):
        w = 1.0 / 10000 ** (2 * i / d_model)
        c, s = math.cos(w * offset), math.sin(w * offset)
        # [sin(a + b), cos(a + b)] = [sin a, cos a] @ [[cos b, -sin b], [sin b, cos b]]
        rotation[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[c, -s], [s, c]]
    np.testing.assert_allclose(pe[offset:], pe[:-offset] @ rotation, rtol=1e-9, atol=1e-9)


@given(offset=st.integers(0, 10), half=st.integers(1, 4))
def test_dot_product_depends_only_on_offset(offset, half):
    pe = qn.sinusoidal_positional_encoding(25 + offset, 2 * half)
    dots = np.einsum("pd,pd->p", pe[:25], pe[offset : 25 + offset])
    np.testing.assert_allclose(dots, dots[0], rtol=1e-9, atol=1e-9)


def test_positions_break_permutation_equivariance(rng):
    """Without positions self-attention is permutation equivariant (tests/test_multihead.py);
    adding the encoding makes the output depend on the order."""
    x = rng.standard_normal((5, 8))
    params = qn.init_multi_head_params(8, seed=1)
    perm = np.array([1, 0, 2, 3, 4])
    pe = qn.sinusoidal_positional_encoding(5, 8)

    def attend(tokens):
        return qn.multi_head_attention(tokens, tokens, tokens, params, num_heads=2)[0]

    np.testing.assert_allclose(attend(x[perm]), attend(x)[perm], rtol=1e-12)
    assert not np.allclose(attend(x[perm] + pe), attend(x + pe)[perm], atol=1e-3)


def test_bad_input_messages_are_identical():
    for args, kind, message in [
        (
            (4, 5),
            ValueError,
            "sinusoidal_positional_encoding: d_model must be even (one sine and "
            "one cosine per frequency); got d_model 5",
        ),
        ((4, 0), ValueError, "sinusoidal_positional_encoding: d_model must be >= 2; got d_model 0"),
        (
            (-1, 4),
            ValueError,
            "sinusoidal_positional_encoding: num_positions must be >= 0; got num_positions -1",
        ),
        (
            (4.0, 4),
            TypeError,
            "sinusoidal_positional_encoding: num_positions must be an integer; "
            "got num_positions 4.0",
        ),
    ]:
        for module in (qn, qt):
            with pytest.raises(kind) as info:
                module.sinusoidal_positional_encoding(*args)
            assert str(info.value) == message
    with pytest.raises(ValueError, match="runs on cpu only"):
        qn.sinusoidal_positional_encoding(2, 2, device="cuda")


def test_torch_device_argument(device):
    pe = qt.sinusoidal_positional_encoding(3, 4, device=device)
    assert pe.device.type == device
    np.testing.assert_allclose(to_numpy(pe), to_numpy(to_torch(_formula(3, 4)).float()), rtol=1e-6)
