"""Attention: against F.scaled_dot_product_attention, the three forms against each other, NumPy
<-> PyTorch, gradients, properties and fully masked rows (bad input: test_attention_errors.py).

PyTorch's SDPA and fully masked rows: with a boolean `attn_mask` whose row is all False, PyTorch
2.13's CPU math path returns a zero output row (it uses a "safe" softmax), the same as ours; fused
CUDA kernels have returned NaN for such rows in some versions, so on CUDA the comparison skips
fully masked rows and only checks ours is zero there. SDPA raises when both `attn_mask` and
`is_causal=True` are given; ours combines them by logical and, so the test feeds SDPA the combined
mask `mask & tril`.
"""

import math
import warnings

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, assert_close, lazy_import, random_qkv, to_numpy, to_torch

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
qt = lazy_import("qkv.torch")

FORMS = ["scaled_dot_product_attention", "attention_loop"]


def _row_form(query, key, value, mask=None, scale=None, *, module):
    """The matrix form through the column form: transpose in, transpose out."""
    out_cols, weights_cols = module.attention_column_form(
        _t(query), _t(key), _t(value), scale=scale
    )
    return _t(out_cols), _t(weights_cols)


def _t(x):
    return np.swapaxes(x, -1, -2) if isinstance(x, np.ndarray) else x.transpose(-2, -1)


# --- exact small cases ----------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMS)
def test_two_equal_keys_share_the_weight(name):
    query = np.array([[1.0, 0.0]])
    key = np.array([[1.0, 0.0], [1.0, 0.0]])
    value = np.array([[0.0, 2.0], [4.0, 6.0]])
    out, weights = getattr(qn, name)(query, key, value)
    np.testing.assert_array_equal(weights, [[0.5, 0.5]])
    np.testing.assert_array_equal(out, [[2.0, 4.0]])
    out_t, weights_t = getattr(qt, name)(*to_torch((query, key, value)))
    np.testing.assert_array_equal(to_numpy(weights_t), [[0.5, 0.5]])
    np.testing.assert_array_equal(to_numpy(out_t), [[2.0, 4.0]])


def test_scale_zero_gives_uniform_weights(rng):
    query, key, value = random_qkv(rng, batch=(), seq_q=2, seq_k=4)
    out, weights = qn.scaled_dot_product_attention(query, key, value, scale=0.0)
    np.testing.assert_array_equal(weights, np.full((2, 4), 0.25))
    np.testing.assert_allclose(out, np.broadcast_to(value.mean(axis=0), (2, 6)), rtol=1e-14)


def test_default_scale_is_inverse_sqrt_d_k(rng):
    query, key, value = random_qkv(rng, d_k=9)
    out_default, _ = qn.scaled_dot_product_attention(query, key, value)
    out_third, _ = qn.scaled_dot_product_attention(query, key, value, scale=1 / 3)
    np.testing.assert_allclose(out_default, out_third, rtol=1e-14)
    out_unscaled, _ = qn.scaled_dot_product_attention(query, key, value, scale=1.0)
    assert np.abs(out_unscaled - out_default).max() > 1e-3


# --- against PyTorch's own SDPA ---------------------------------------------------------------

CASES = {
    "plain": dict(batch=(), seq_q=4, seq_k=4, mask=None, is_causal=False),
    "batch": dict(batch=(2,), seq_q=3, seq_k=5, mask=None, is_causal=False),
    "heads": dict(batch=(2, 3), seq_q=5, seq_k=2, mask=None, is_causal=False),
    "mask-2d": dict(batch=(2,), seq_q=3, seq_k=5, mask="random", is_causal=False),
    "mask-padding": dict(batch=(2,), seq_q=4, seq_k=4, mask="padding", is_causal=False),
    "mask-heads": dict(batch=(2, 3), seq_q=4, seq_k=6, mask="per-head", is_causal=False),
    "causal": dict(batch=(2,), seq_q=4, seq_k=4, mask=None, is_causal=True),
    "causal-wide": dict(batch=(2,), seq_q=3, seq_k=6, mask=None, is_causal=True),
    "causal-tall": dict(batch=(2,), seq_q=6, seq_k=3, mask=None, is_causal=True),
    "causal+mask": dict(batch=(2,), seq_q=5, seq_k=5, mask="random", is_causal=True),
    "fully-masked-row": dict(batch=(2,), seq_q=3, seq_k=4, mask="empty-row", is_causal=False),
}


def _make_mask(kind, batch, seq_q, seq_k, rng):
    if kind is None:
        return None
    if kind == "random":
        mask = rng.random((seq_q, seq_k)) < 0.6
        mask[:, 0] = True  # keep every row attendable so SDPA has nothing ambiguous
        return mask
    if kind == "padding":
        return qn.padding_mask(np.array([2, 4]), seq_k)  # (batch, 1, seq_k)
    if kind == "per-head":
        mask = rng.random((*batch, seq_q, seq_k)) < 0.5
        mask[..., 0] = True
        return mask
    if kind == "empty-row":
        mask = np.ones((*batch, seq_q, seq_k), dtype=bool)
        mask[0, 1, :] = False  # query 1 of sequence 0 may attend to nothing
        return mask
    raise AssertionError(kind)


def _reference_weights(query, key, mask, scale):
    """softmax(QK^T * scale, masked) with torch's own softmax; fully masked rows set to 0."""
    scores = query @ key.transpose(-2, -1) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, -torch.inf)
        weights = torch.softmax(scores, dim=-1)
        return torch.nan_to_num(weights, nan=0.0)
    return torch.softmax(scores, dim=-1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_sdpa(case, dtype, device, rng):
    dtype = getattr(torch, dtype)
    spec = CASES[case]
    batch, seq_q, seq_k = spec["batch"], spec["seq_q"], spec["seq_k"]
    query, key, value = to_torch(random_qkv(rng, batch, seq_q, seq_k, 8, 3), device, dtype)
    mask = to_torch(_make_mask(spec["mask"], batch, seq_q, seq_k, rng), device)
    is_causal = spec["is_causal"]
    out, weights = qt.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    # SDPA refuses attn_mask together with is_causal: give it the combined mask instead.
    sdpa_mask = mask
    if is_causal:
        causal = torch.ones(seq_q, seq_k, dtype=torch.bool, device=device).tril()
        sdpa_mask = causal if mask is None else mask & causal
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=sdpa_mask)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == torch.float64 else {}
    assert out.dtype == dtype and out.device.type == device
    assert out.shape == (*batch, seq_q, 3) and weights.shape == (*batch, seq_q, seq_k)
    live = torch.ones(out.shape[:-1], dtype=torch.bool, device=device)
    if sdpa_mask is not None:
        live = sdpa_mask.expand(weights.shape).any(dim=-1)
    torch.testing.assert_close(out[live], expected[live], **tol)
    torch.testing.assert_close(out[~live], torch.zeros_like(out[~live]))
    reference = _reference_weights(query, key, sdpa_mask, 1 / math.sqrt(8))
    torch.testing.assert_close(weights, reference, **tol)


def test_sdpa_fully_masked_row_on_cpu_is_zero_like_ours():
    """Document PyTorch's behaviour we match: SDPA (CPU math path) gives a zero row."""
    query, key, value = (torch.ones(1, 2, 2, dtype=torch.float64),) * 3
    mask = torch.tensor([[True, True], [False, False]])
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    torch.testing.assert_close(expected[0, 1], torch.zeros(2, dtype=torch.float64))
    out, weights = qt.scaled_dot_product_attention(query, key, value, mask)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    torch.testing.assert_close(weights[0, 1], torch.zeros(2, dtype=torch.float64))
    # The plain formula softmax(masked scores) @ V gives NaN there: the case we guard against.
    naive = torch.softmax((query @ key.mT).masked_fill(~mask, -torch.inf), dim=-1) @ value
    assert torch.isnan(naive[0, 1]).all()


# --- fully masked rows: zeros, no NaN, no warning ----------------------------------------------


@pytest.mark.parametrize("name", FORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fully_masked_row_gives_zeros_without_warning(name, dtype, rng):
    query, key, value = random_qkv(rng, batch=(2,), seq_q=3, seq_k=4, dtype=dtype)
    mask = np.ones((2, 3, 4), dtype=bool)
    mask[1, 2] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out, weights = getattr(qn, name)(query, key, value, mask)
        out_t, weights_t = getattr(qt, name)(*to_torch((query, key, value, mask)))
    for o, w in ((out, weights), (to_numpy(out_t), to_numpy(weights_t))):
        assert np.isfinite(o).all() and np.isfinite(w).all()
        np.testing.assert_array_equal(o[1, 2], 0.0)
        np.testing.assert_array_equal(w[1, 2], 0.0)
        np.testing.assert_allclose(w[0].sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_fully_masked_row_has_finite_zero_gradient(device, rng):
    query, key, value = to_torch(random_qkv(rng, batch=(), seq_q=2, seq_k=3), device)
    for x in (query, key, value):
        x.requires_grad_()
    mask = torch.tensor([[True, False, True], [False, False, False]], device=device)
    out, _ = qt.scaled_dot_product_attention(query, key, value, mask)
    out.sum().backward()
    for x in (query, key, value):
        assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(query.grad[1], torch.zeros_like(query.grad[1]))


# --- is_causal --------------------------------------------------------------------------------


def test_is_causal_combines_with_mask(backend, rng):
    module = backend.qkv
    query, key, value = random_qkv(rng, batch=(2,), seq_q=4, seq_k=5)
    mask = rng.random((2, 4, 5)) < 0.5
    combined = mask & qn.causal_mask(4, 5)
    query, key, value, mask, combined = backend.asarray((query, key, value, mask, combined))
    out_a, weights_a = module.scaled_dot_product_attention(query, key, value, mask, is_causal=True)
    out_b, weights_b = module.scaled_dot_product_attention(query, key, value, combined)
    assert_close(out_a, out_b)
    assert_close(weights_a, weights_b)


@pytest.mark.parametrize("device", DEVICES)
def test_causality_by_gradient(device, rng):
    """d out[t] / d x[s] == 0 for every s > t: no output looks at a later input."""
    seq = 5
    x = to_torch(rng.standard_normal((seq, 4)), device).requires_grad_()

    def self_attention(inputs):
        return qt.scaled_dot_product_attention(inputs, inputs, inputs, is_causal=True)[0]

    jacobian = torch.autograd.functional.jacobian(self_attention, x)  # (seq, 4, seq, 4)
    norms = jacobian.abs().sum(dim=(1, 3))  # (t, s)
    later = torch.triu(torch.ones(seq, seq, dtype=torch.bool, device=device), diagonal=1)
    assert (norms[later] == 0).all()
    assert (norms[~later] > 0).all()  # and every earlier input does matter


# --- the three forms agree; NumPy <-> PyTorch -------------------------------------------------

SHAPES = [
    dict(batch=(), seq_q=3, seq_k=3),
    dict(batch=(2,), seq_q=2, seq_k=5),
    dict(batch=(2, 3), seq_q=4, seq_k=1),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s['batch']}-{s['seq_q']}x{s['seq_k']}")
@pytest.mark.parametrize("with_mask", [False, True])
def test_loop_equals_matrix_form(shape, with_mask, rng):
    query, key, value = random_qkv(rng, **shape)
    mask = None
    if with_mask:
        mask = rng.random((shape["seq_q"], shape["seq_k"])) < 0.5
        mask[0] = False  # include a fully masked row
    for module, args in (
        (qn, (query, key, value, mask)),
        (qt, to_torch((query, key, value, mask))),
    ):
        out_loop, weights_loop = module.attention_loop(*args, scale=0.7)
        out, weights = module.scaled_dot_product_attention(*args, scale=0.7)
        assert_close(out_loop, out)
        assert_close(weights_loop, weights)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s['batch']}-{s['seq_q']}x{s['seq_k']}")
def test_column_form_equals_row_form_transposed(shape, rng):
    query, key, value = random_qkv(rng, **shape)
    for module, args in ((qn, (query, key, value)), (qt, to_torch((query, key, value)))):
        out, weights = module.scaled_dot_product_attention(*args)
        out_cols, weights_cols = module.attention_column_form(*(_t(a) for a in args))
        assert_close(_t(out_cols), out)
        assert_close(_t(weights_cols), weights)
        assert_close(_row_form(*args, module=module)[0], out)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", FORMS)
def test_numpy_equals_torch(name, dtype, device, rng):
    query, key, value = random_qkv(rng, batch=(2, 1), seq_q=3, seq_k=4, dtype=dtype)
    value = np.broadcast_to(value, (2, 2, 4, 6)).copy()  # value with a larger batch
    mask = rng.random((2, 1, 3, 4)) < 0.6
    mask[0, 0, 1] = False
    kwargs = {"scale": 0.4}
    expected = getattr(qn, name)(query, key, value, mask, **kwargs)
    actual = getattr(qt, name)(*to_torch((query, key, value, mask), device), **kwargs)
    for a, e in zip(actual, expected, strict=True):
        assert a.device.type == device and a.dtype == to_torch(e).dtype
        assert_close(a, e)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("is_causal", [False, True])
def test_numpy_equals_torch_is_causal(is_causal, device, rng):
    query, key, value = random_qkv(rng, batch=(3,), seq_q=5, seq_k=3)
    expected = qn.scaled_dot_product_attention(query, key, value, is_causal=is_causal)
    actual = qt.scaled_dot_product_attention(
        *to_torch((query, key, value), device), is_causal=is_causal
    )
    for a, e in zip(actual, expected, strict=True):
        assert_close(a, e)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_form_numpy_equals_torch(dtype, device, rng):
    q_cols = rng.standard_normal((2, 4, 3)).astype(dtype)
    k_cols = rng.standard_normal((2, 4, 5)).astype(dtype)
    v_cols = rng.standard_normal((2, 6, 5)).astype(dtype)
    expected = qn.attention_column_form(q_cols, k_cols, v_cols, scale=0.3)
    actual = qt.attention_column_form(*to_torch((q_cols, k_cols, v_cols), device), scale=0.3)
    for a, e in zip(actual, expected, strict=True):
        assert a.device.type == device
        assert_close(a, e)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_keeps_dtype(dtype, device, rng):
    dtype = getattr(torch, dtype)
    query, key, value = to_torch(random_qkv(rng, batch=(2,), seq_q=4, seq_k=6), device, dtype)
    mask = to_torch(rng.random((4, 6)) < 0.7, device)
    out, weights = qt.scaled_dot_product_attention(query, key, value, mask, is_causal=True)
    assert out.dtype == dtype and weights.dtype == dtype and out.device.type == device
    ref_out, ref_weights = qt.scaled_dot_product_attention(
        query.double(), key.double(), value.double(), mask, is_causal=True
    )
    # Tolerances from the float64 reference: a few units in the last place of the dtype.
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(out.double(), ref_out, rtol=8 * eps, atol=8 * eps)
    torch.testing.assert_close(weights.double(), ref_weights, rtol=4 * eps, atol=4 * eps)


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMS)
def test_gradcheck_float64(name, rng):
    query, key, value = (
        t.requires_grad_()
        for t in to_torch(random_qkv(rng, batch=(2,), seq_q=3, seq_k=4, d_k=3, d_v=2))
    )
    mask = torch.from_numpy(rng.random((3, 4)) < 0.6)
    mask[2] = False
    mask[0, 0] = True

    def f(q, k, v):
        return getattr(qt, name)(q, k, v, mask)

    assert torch.autograd.gradcheck(f, (query, key, value))


def test_gradcheck_causal_and_column_form(rng):
    query, key, value = (
        t.requires_grad_()
        for t in to_torch(random_qkv(rng, batch=(), seq_q=3, seq_k=3, d_k=2, d_v=2))
    )
    assert torch.autograd.gradcheck(
        lambda q, k, v: qt.scaled_dot_product_attention(q, k, v, is_causal=True),
        (query, key, value),
    )
    assert torch.autograd.gradcheck(
        lambda q, k, v: qt.attention_column_form(q.mT, k.mT, v.mT), (query, key, value)
    )


# --- properties (hypothesis) ------------------------------------------------------------------

dims = st.integers(1, 4)


@st.composite
def attention_inputs(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    seq_q, seq_k, d_k, d_v = draw(dims), draw(dims), draw(dims), draw(dims)
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    query, key, value = random_qkv(gen, batch, seq_q, seq_k, d_k, d_v)
    mask = gen.random((*batch, seq_q, seq_k)) < draw(st.sampled_from([0.0, 0.5, 1.0]))
    return query * 3, key * 3, value, mask, gen


@given(attention_inputs())
def test_weight_rows_sum_to_one_or_zero(inputs):
    query, key, value, mask, _ = inputs
    _, weights = qn.scaled_dot_product_attention(query, key, value, mask)
    expected = mask.any(axis=-1).astype(float)  # 1 where some key is visible, 0 otherwise
    np.testing.assert_allclose(weights.sum(axis=-1), expected, rtol=1e-12, atol=1e-12)
    assert (weights[~mask] == 0).all()


@given(attention_inputs())
def test_permutation_equivariance(inputs):
    """Permuting queries permutes outputs; permuting key/value pairs changes nothing."""
    query, key, value, mask, gen = inputs
    out, weights = qn.scaled_dot_product_attention(query, key, value, mask)
    perm_q = gen.permutation(query.shape[-2])
    perm_k = gen.permutation(key.shape[-2])
    out_p, weights_p = qn.scaled_dot_product_attention(
        query[..., perm_q, :],
        key[..., perm_k, :],
        value[..., perm_k, :],
        mask[..., perm_q, :][..., perm_k],
    )
    np.testing.assert_allclose(out_p, out[..., perm_q, :], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        weights_p, weights[..., perm_q, :][..., perm_k], rtol=1e-10, atol=1e-12
    )


@given(attention_inputs())
def test_loop_equals_matrix_property(inputs):
    query, key, value, mask, _ = inputs
    out, weights = qn.scaled_dot_product_attention(query, key, value, mask)
    out_loop, weights_loop = qn.attention_loop(query, key, value, mask)
    np.testing.assert_allclose(out_loop, out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights_loop, weights, rtol=1e-10, atol=1e-12)


@given(attention_inputs())
def test_column_form_equals_row_form_property(inputs):
    query, key, value, _, _ = inputs
    out, weights = qn.scaled_dot_product_attention(query, key, value)
    out_cols, weights_cols = qn.attention_column_form(_t(query), _t(key), _t(value))
    np.testing.assert_allclose(_t(out_cols), out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_t(weights_cols), weights, rtol=1e-10, atol=1e-12)


@given(attention_inputs())
def test_torch_equals_numpy_property(inputs):
    query, key, value, mask, _ = inputs
    expected = qn.scaled_dot_product_attention(query, key, value, mask, is_causal=True)
    actual = qt.scaled_dot_product_attention(*to_torch((query, key, value, mask)), is_causal=True)
    for a, e in zip(actual, expected, strict=True):
        assert_close(a, e)


@given(st.integers(2, 6), st.integers(1, 3), st.integers(0, 1000))
def test_causality_by_gradient_property(seq, width, seed):
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((seq, width)))
    x.requires_grad_()
    out, _ = qt.scaled_dot_product_attention(x, x, x, is_causal=True)
    for t in range(seq):
        (grad,) = torch.autograd.grad(out[t].sum(), x, retain_graph=True)
        assert (grad[t + 1 :] == 0).all()
