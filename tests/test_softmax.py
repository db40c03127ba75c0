"""softmax: exact small cases, stability, masked entries, properties, and NumPy <-> PyTorch."""

import warnings

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
qt = lazy_import("qkv.torch")

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
matrices = arrays(
    np.float64, array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), elements=finite
)


def test_two_equal_logits_give_half_each():
    np.testing.assert_array_equal(qn.softmax(np.array([3.0, 3.0])), [0.5, 0.5])
    torch.testing.assert_close(qt.softmax(torch.tensor([3.0, 3.0])), torch.tensor([0.5, 0.5]))


def test_log_three_gives_odds_three_to_one():
    x = np.array([0.0, np.log(3.0)])
    np.testing.assert_allclose(qn.softmax(x), [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(to_numpy(qt.softmax(torch.from_numpy(x))), [0.25, 0.75], rtol=1e-15)


@given(matrices, st.integers(0, 2))
def test_rows_sum_to_one(x, axis_seed):
    axis = axis_seed % x.ndim
    weights = qn.softmax(x, axis=axis)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        to_numpy(qt.softmax(torch.from_numpy(x), axis=axis)), weights, rtol=1e-12, atol=1e-14
    )


@given(matrices, st.floats(-1e3, 1e3))
def test_shift_invariance(x, shift):
    np.testing.assert_allclose(qn.softmax(x + shift), qn.softmax(x), rtol=1e-9, atol=1e-12)
    t = torch.from_numpy(x)
    torch.testing.assert_close(qt.softmax(t + shift), qt.softmax(t), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_huge_logits_stay_finite_in_float32(device):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=np.float32)
    expected = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    weights_np = qn.softmax(x)
    weights_t = qt.softmax(to_torch(x, device))
    assert weights_np.dtype == np.float32 and weights_t.dtype == torch.float32
    assert np.isfinite(weights_np).all() and torch.isfinite(weights_t).all()
    assert_close(weights_np, expected.astype(np.float32))
    assert_close(weights_t, expected.astype(np.float32))


def test_naive_formula_overflows_where_ours_does_not():
    x = np.array([1e4, 0.0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(x) / np.exp(x).sum()
    assert np.isnan(naive).any()  # the reason for subtracting the maximum
    np.testing.assert_array_equal(qn.softmax(x), [1.0, 0.0])


@pytest.mark.parametrize("device", DEVICES)
def test_minus_inf_entries_get_zero_weight(device):
    x = np.array([[0.0, -np.inf, 0.0], [-np.inf, 1.0, -np.inf]])
    expected = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(qn.softmax(x), expected)
    assert_close(qt.softmax(to_torch(x, device)), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_all_minus_inf_row_gives_zeros_without_nan_or_warning(device, dtype):
    x = np.array([[-np.inf, -np.inf, -np.inf], [1.0, 1.0, -np.inf]], dtype=dtype)
    expected = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            weights_np = qn.softmax(x)
        weights_t = qt.softmax(to_torch(x, device))
    np.testing.assert_array_equal(weights_np, expected)
    assert not torch.isnan(weights_t).any()
    assert_close(weights_t, expected)


@pytest.mark.parametrize("device", DEVICES)
def test_all_minus_inf_row_has_zero_gradient(device):
    x = torch.tensor(
        [[-torch.inf, -torch.inf], [0.0, 1.0]],
        dtype=torch.float64,
        device=device,
        requires_grad=True,
    )
    (qt.softmax(x) * torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)).sum().backward()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(x.grad[0], torch.zeros(2, dtype=torch.float64, device=device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_matches_torch_softmax(device, axis, rng):
    x = rng.standard_normal((3, 4, 5)) * 10
    expected = torch.softmax(to_torch(x, device), dim=axis)
    torch.testing.assert_close(
        qt.softmax(to_torch(x, device), axis=axis), expected, rtol=1e-12, atol=1e-12
    )
    assert_close(qn.softmax(x, axis=axis), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_equals_torch(device, dtype, rng):
    x = (rng.standard_normal((2, 3, 7)) * 5).astype(dtype)
    x[0, 1, :3] = -np.inf
    x[1, 2, :] = -np.inf
    weights_t = qt.softmax(to_torch(x, device))
    assert weights_t.device.type == device
    assert_close(weights_t, qn.softmax(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_keeps_dtype_and_matches_float64(device, dtype, rng):
    dtype = getattr(torch, dtype)
    x = rng.standard_normal((4, 9)) * 4
    x_low = to_torch(x, device, dtype)
    weights = qt.softmax(x_low)
    assert weights.dtype == dtype and weights.device.type == device
    reference = qt.softmax(x_low.double())  # the same rounded inputs, in float64
    torch.testing.assert_close(weights, reference.to(dtype))


def test_float16_numpy_keeps_dtype():
    x = np.array([1e4, -1e4, 0.0], dtype=np.float16)  # 1e4 fits float16 (max 65504)
    weights = qn.softmax(x)
    assert weights.dtype == np.float16
    np.testing.assert_array_equal(weights, np.array([1.0, 0.0, 0.0], dtype=np.float16))


def test_gradcheck_float64(rng):
    x = torch.from_numpy(rng.standard_normal((3, 4))).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: qt.softmax(t, axis=-1), (x,))
    assert torch.autograd.gradcheck(lambda t: qt.softmax(t, axis=0), (x,))


@pytest.mark.parametrize(
    "x, axis, error, message",
    [
        (
            np.array([1, 2]),
            -1,
            TypeError,
            "softmax: x must have a floating dtype; got x int64 (2,)",
        ),
        (
            np.array([True, False]),
            -1,
            TypeError,
            "softmax: x must have a floating dtype; got x bool (2,)",
        ),
        (
            np.ones((2, 3)),
            2,
            ValueError,
            "softmax: axis must be in [-ndim, ndim) for x; got axis 2, x (2, 3)",
        ),
        (np.ones((2, 3)), 1.0, TypeError, "softmax: axis must be an integer; got axis 1.0"),
    ],
)
def test_bad_input_same_message_in_both_backends(x, axis, error, message):
    with pytest.raises(error) as np_info:
        qn.softmax(x, axis=axis)
    with pytest.raises(error) as torch_info:
        qt.softmax(torch.from_numpy(x), axis=axis)
    assert str(np_info.value) == message
    assert str(torch_info.value) == message


def test_wrong_backend_is_a_type_error():
    with pytest.raises(
        TypeError,
        match=r"^softmax: this backend takes NumPy arrays; got x "
        r"torch\.Tensor$",
    ):
        qn.softmax(torch.ones(2))
    with pytest.raises(
        TypeError,
        match=r"^softmax: this backend takes torch tensors; got x "
        r"numpy\.ndarray$",
    ):
        qt.softmax(np.ones(2))
    with pytest.raises(TypeError, match=r"^softmax: this backend takes NumPy arrays; got x list$"):
        qn.softmax([1.0, 2.0])
