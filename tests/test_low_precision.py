"""float16 and bfloat16 on long rows (seq_k = 4,096): the softmax's row sums and the weighted sum
of the values must be accumulated in float32, or the rounding of thousands of small terms shows.

The reference is plain float64 NumPy on the same (rounded) inputs, written here and independent of
qkv. The tolerance is 4 machine epsilons of the dtype, relative to the largest entry: qkv stays
within about 1.2 of them (each weight and output is rounded once), while summing the 4,096 terms
in the low precision itself is off by 15 to 160 of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import qkv.numpy as qn

EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
SEQ_Q, SEQ_K, D = 8, 4096, 64


def _skip_missing(backend, dtype):
    if backend.name == "numpy" and dtype == "bfloat16":
        pytest.skip("NumPy has no bfloat16")


def _inputs(backend, dtype, rng):
    _skip_missing(backend, dtype)
    query, key, value = backend.asarray(
        (
            rng.standard_normal((SEQ_Q, D)),
            rng.standard_normal((SEQ_K, D)),
            rng.standard_normal((SEQ_K, D)),
        ),
        dtype,
    )
    return query, key, value


def _float64(x):
    """The values of a low-precision array or tensor, exactly, as float64 NumPy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _reference(query, key, value):
    """softmax(q k^T / sqrt(d)) v in float64 (plain NumPy, nothing from qkv)."""
    q, k, v = (_float64(x) for x in (query, key, value))
    scores = q @ k.T / math.sqrt(q.shape[-1])
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def _assert_within(actual, expected, dtype):
    atol = 4 * EPS[dtype] * np.abs(expected).max()
    np.testing.assert_allclose(_float64(actual), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_attention_on_long_rows_accumulates_in_float32(dtype, backend, rng):
    query, key, value = _inputs(backend, dtype, rng)
    out, weights = backend.qkv.scaled_dot_product_attention(query, key, value)
    assert str(out.dtype).endswith(dtype) and str(weights.dtype).endswith(dtype)
    expected_out, expected_weights = _reference(query, key, value)
    _assert_within(weights, expected_weights, dtype)
    _assert_within(out, expected_out, dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_softmax_of_a_long_row_accumulates_in_float32(dtype, backend, rng):
    _skip_missing(backend, dtype)
    scores = backend.asarray(3.0 * rng.standard_normal((SEQ_Q, SEQ_K)), dtype)
    s = _float64(scores)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    _assert_within(backend.qkv.softmax(scores), e / e.sum(axis=-1, keepdims=True), dtype)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_multi_head_attention_on_long_rows(dtype, need_weights, backend, rng):
    """Identity projections and one head: cross-attention of 8 queries over 4,096 keys, through
    the weights path and (PyTorch) the fused kernel."""
    query, key, value = _inputs(backend, dtype, rng)
    eye = backend.asarray(np.eye(D), dtype)
    params = backend.qkv.MultiHeadParams(eye, eye, eye, eye)
    out, _ = backend.qkv.multi_head_attention(
        query, value, value, params, num_heads=1, need_weights=need_weights
    )
    expected_out, _ = _reference(query, value, value)
    _assert_within(out, expected_out, dtype)


def test_the_tolerance_is_tight_enough_to_fail_low_precision_sums(rng):
    """The same check fails a softmax whose row sum is accumulated in float16 (NumPy's cumulative
    sum adds in the array's own dtype), so the tests above can fail."""
    scores = (3.0 * rng.standard_normal((SEQ_Q, SEQ_K))).astype(np.float16)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))  # float16
    low = e / np.cumsum(e, axis=-1)[..., -1:]  # the sum of 4,096 terms in float16
    s = scores.astype(np.float64)
    e64 = np.exp(s - s.max(axis=-1, keepdims=True))
    expected = e64 / e64.sum(axis=-1, keepdims=True)
    with pytest.raises(AssertionError):
        _assert_within(low, expected, "float16")
    _assert_within(qn.softmax(scores), expected, "float16")
