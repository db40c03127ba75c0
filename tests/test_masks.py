"""Masks: exact patterns, agreement with PyTorch's is_causal, NumPy <-> PyTorch, bad input."""

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
qt = lazy_import("qkv.torch")

sizes = st.integers(1, 7)


def test_causal_mask_exact():
    expected = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(qn.causal_mask(3), expected)
    np.testing.assert_array_equal(to_numpy(qt.causal_mask(3)), expected)
    assert qn.causal_mask(3).dtype == np.bool_ and qt.causal_mask(3).dtype == torch.bool


@given(sizes, sizes)
def test_causal_mask_is_top_left_tril(seq_q, seq_k):
    expected = np.tril(np.ones((seq_q, seq_k), dtype=bool))
    np.testing.assert_array_equal(qn.causal_mask(seq_q, seq_k), expected)
    np.testing.assert_array_equal(to_numpy(qt.causal_mask(seq_q, seq_k)), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seq_q, seq_k", [(3, 3), (2, 5), (5, 2)])
def test_causal_mask_matches_sdpa_is_causal(device, seq_q, seq_k):
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(seq_q, 4, generator=gen, dtype=torch.float64).to(device)
    key = torch.randn(seq_k, 4, generator=gen, dtype=torch.float64).to(device)
    value = torch.randn(seq_k, 3, generator=gen, dtype=torch.float64).to(device)
    mask = qt.causal_mask(seq_q, seq_k, device=device)
    assert mask.device.type == device
    with_mask = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    with_flag = F.scaled_dot_product_attention(query, key, value, is_causal=True)
    torch.testing.assert_close(with_mask, with_flag, rtol=1e-12, atol=1e-12)


def test_padding_mask_exact():
    expected = np.array(
        [[[1, 1, 0, 0]], [[1, 1, 1, 0]], [[0, 0, 0, 0]], [[1, 1, 1, 1]]], dtype=bool
    )
    lengths = np.array([2, 3, 0, 4])
    np.testing.assert_array_equal(qn.padding_mask(lengths, 4), expected)
    np.testing.assert_array_equal(to_numpy(qt.padding_mask(torch.from_numpy(lengths), 4)), expected)


@pytest.mark.parametrize("device", DEVICES)
def test_padding_mask_keeps_device_and_broadcasts_over_queries(device):
    lengths = torch.tensor([1, 3], device=device)
    mask = qt.padding_mask(lengths, 3)
    assert mask.device.type == device and mask.shape == (2, 1, 3)
    scores = torch.zeros(2, 5, 3, device=device)
    assert torch.broadcast_shapes(mask.shape, scores.shape) == scores.shape


def test_local_mask_exact():
    expected = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(qn.local_mask(4, window=1), expected)
    np.testing.assert_array_equal(to_numpy(qt.local_mask(4, window=1)), expected)
    np.testing.assert_array_equal(qn.local_mask(3, window=0), np.eye(3, dtype=bool))


@given(sizes, sizes, st.integers(0, 8))
def test_local_mask_is_a_band(seq_q, seq_k, window):
    i, j = np.indices((seq_q, seq_k))
    expected = np.abs(i - j) <= window
    np.testing.assert_array_equal(qn.local_mask(seq_q, seq_k, window=window), expected)
    np.testing.assert_array_equal(to_numpy(qt.local_mask(seq_q, seq_k, window=window)), expected)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_masks_on_device(device):
    assert qt.causal_mask(2, device=device).device.type == device
    assert qt.local_mask(2, window=1, device=device).device.type == device


def test_numpy_masks_accept_cpu_device_only():
    np.testing.assert_array_equal(qn.causal_mask(2, device="cpu"), qn.causal_mask(2))
    np.testing.assert_array_equal(
        qn.local_mask(2, window=0, device="cpu"), qn.local_mask(2, window=0)
    )
    message = (
        "causal_mask: the NumPy backend runs on cpu only (device None or 'cpu'); got device 'cuda'"
    )
    with pytest.raises(ValueError) as info:
        qn.causal_mask(2, device="cuda")
    assert str(info.value) == message


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: m.causal_mask(0), ValueError, "causal_mask: seq_q must be >= 1; got seq_q 0"),
        (
            lambda m: m.causal_mask(2, 2.0),
            TypeError,
            "causal_mask: seq_k must be an integer; got seq_k 2.0",
        ),
        (
            lambda m: m.local_mask(3, window=-1),
            ValueError,
            "local_mask: window must be >= 0; got window -1",
        ),
        (
            lambda m: m.local_mask(0, window=1),
            ValueError,
            "local_mask: seq_q must be >= 1; got seq_q 0",
        ),
        (
            lambda m: m.local_mask(3, 0, window=1),
            ValueError,
            "local_mask: seq_k must be >= 1; got seq_k 0",
        ),
        (
            lambda m: m.causal_mask(True),
            TypeError,
            "causal_mask: seq_q must be an integer; got seq_q True",
        ),
    ],
)
def test_bad_sizes_same_message_in_both_backends(call, error, message):
    for module in (qn, qt):
        with pytest.raises(error) as info:
            call(module)
        assert str(info.value) == message


@pytest.mark.parametrize(
    "lengths, seq_k, error, message",
    [
        (
            np.array([2.0, 3.0]),
            4,
            TypeError,
            "padding_mask: lengths must have an integer dtype; got lengths float64 (2,)",
        ),
        (
            np.array([[2, 3]]),
            4,
            ValueError,
            "padding_mask: lengths must have exactly 1 axis (batch,); got lengths (1, 2)",
        ),
        (
            np.array([2, 5]),
            4,
            ValueError,
            "padding_mask: lengths must lie in [0, seq_k]; got lengths [2, 5], seq_k 4",
        ),
        (
            np.array([-1, 2]),
            4,
            ValueError,
            "padding_mask: lengths must lie in [0, seq_k]; got lengths [-1, 2], seq_k 4",
        ),
        (np.array([1, 2]), 0, ValueError, "padding_mask: seq_k must be >= 1; got seq_k 0"),
    ],
)
def test_padding_mask_bad_input_same_message_in_both_backends(lengths, seq_k, error, message):
    with pytest.raises(error) as np_info:
        qn.padding_mask(lengths, seq_k)
    with pytest.raises(error) as torch_info:
        qt.padding_mask(to_torch(lengths), seq_k)
    assert str(np_info.value) == message
    assert str(torch_info.value) == message


def test_padding_mask_wrong_backend():
    with pytest.raises(TypeError, match="^padding_mask: this backend takes NumPy arrays"):
        qn.padding_mask(torch.tensor([1, 2]), 3)
    with pytest.raises(TypeError, match="^padding_mask: this backend takes torch tensors"):
        qt.padding_mask(np.array([1, 2]), 3)


@given(sizes, sizes)
def test_causal_mask_bottom_right_is_shifted_tril(seq_q, seq_k):
    # the last query sits on the last key: the diagonal moves right by seq_k - seq_q
    expected = np.tril(np.ones((seq_q, seq_k), dtype=bool), k=seq_k - seq_q)
    np.testing.assert_array_equal(qn.causal_mask(seq_q, seq_k, align="bottom_right"), expected)
    got = qt.causal_mask(seq_q, seq_k, align="bottom_right")
    np.testing.assert_array_equal(to_numpy(got), expected)


def test_causal_mask_bottom_right_exact():
    expected = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(qn.causal_mask(2, 4, align="bottom_right"), expected)
    np.testing.assert_array_equal(qn.causal_mask(1, 4, align="bottom_right"), np.ones((1, 4), bool))


@pytest.mark.filterwarnings("ignore:Lower right causal bias will produce NaNs")
@pytest.mark.parametrize("align", ["top_left", "bottom_right"])
@pytest.mark.parametrize("seq_q, seq_k", [(3, 3), (2, 5), (1, 4), (5, 2), (4, 1)])
def test_causal_mask_matches_torch_causal_bias(align, seq_q, seq_k):
    bias = pytest.importorskip("torch.nn.attention.bias")
    variant = (
        bias.CausalVariant.UPPER_LEFT if align == "top_left" else bias.CausalVariant.LOWER_RIGHT
    )
    expected = bias.CausalBias(variant, seq_q, seq_k)._materialize()
    np.testing.assert_array_equal(qn.causal_mask(seq_q, seq_k, align=align), to_numpy(expected))
    np.testing.assert_array_equal(
        to_numpy(qt.causal_mask(seq_q, seq_k, align=align)), to_numpy(expected)
    )


@pytest.mark.parametrize("seq_q, seq_k", [(2, 5), (1, 4), (3, 3)])
def test_causal_mask_bottom_right_matches_causal_lower_right_in_sdpa(seq_q, seq_k):
    causal_lower_right = pytest.importorskip("torch.nn.attention.bias").causal_lower_right

    gen = torch.Generator().manual_seed(0)
    query = torch.randn(1, 1, seq_q, 4, generator=gen)
    key = torch.randn(1, 1, seq_k, 4, generator=gen)
    value = torch.randn(1, 1, seq_k, 3, generator=gen)
    mask = qt.causal_mask(seq_q, seq_k, align="bottom_right")
    with_mask = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    with_bias = F.scaled_dot_product_attention(
        query, key, value, attn_mask=causal_lower_right(seq_q, seq_k)
    )
    torch.testing.assert_close(with_mask, with_bias)


@pytest.mark.parametrize("m", [qn, qt], ids=["numpy", "torch"])
def test_causal_mask_unknown_align(m):
    with pytest.raises(ValueError, match="causal_mask: align must be one of"):
        m.causal_mask(2, 3, align="bottom_left")
