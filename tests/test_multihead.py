"""Multi-head attention: NumPy <-> PyTorch, against nn.MultiheadAttention, the fused path,
gradients, properties (heads = 1, h independent heads, merge undoes split, padding, permutation
equivariance); bad input in test_multihead_errors.py.

nn.MultiheadAttention's masks have the opposite polarity (`attn_mask` / `key_padding_mask`:
True = blocked), so the tests pass it `~mask`. On a query row whose keys are all masked it returns
NaN; ours returns zero weights and the output bias there (zero before W^O).
"""

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st
from random_multihead import params_to_torch, random_params

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
nn = lazy_import("torch.nn")
qt = lazy_import("qkv.torch")


def make_mask(kind, batch, seq_q, seq_k, rng):
    """Boolean masks (True = may attend) of several broadcast shapes, some rows fully masked."""
    if kind is None:
        return None
    if kind == "2d":
        return rng.random((seq_q, seq_k)) > 0.3
    if kind == "batched":
        return rng.random((*batch, seq_q, seq_k)) > 0.3
    if kind == "padding":  # (batch, 1, seq_k): broadcasts over the queries
        lengths = np.arange(1, batch[-1] + 1) % seq_k + 1
        return np.arange(seq_k) < lengths[:, None, None]
    if kind == "fully_masked_row":
        mask = np.ones((seq_q, seq_k), dtype=bool)
        mask[0] = False
        return mask
    raise AssertionError(kind)


# --- parameters, split and merge --------------------------------------------------------------


def test_init_gives_the_same_numbers_in_both_backends():
    p_np = qn.init_multi_head_params(6, seed=3)
    p_t = qt.init_multi_head_params(6, seed=3, dtype=torch.float64)
    for a, b in zip(p_np, p_t, strict=True):
        np.testing.assert_array_equal(a, to_numpy(b))
    assert p_np.w_q.dtype == np.float64
    assert qt.init_multi_head_params(6).w_q.dtype == torch.get_default_dtype()
    assert not np.array_equal(p_np.w_q, p_np.w_k)  # four different matrices
    assert not np.array_equal(p_np.w_q, qn.init_multi_head_params(6, seed=4).w_q)
    np.testing.assert_array_equal(p_np.b_q, np.zeros(6))
    assert all(b is None for b in qn.init_multi_head_params(6, bias=False)[4:])
    assert all(b is None for b in qt.init_multi_head_params(6, bias=False)[4:])
    assert qn.init_multi_head_params(4, dtype=np.float32).w_o.dtype == np.float32


def test_init_keeps_unit_variance():
    """Glorot uniform: each weight has variance 1 / d_model."""
    w = qn.init_multi_head_params(256, seed=0).w_q
    np.testing.assert_allclose(w.var() * 256, 1.0, rtol=0.02)


def test_split_heads_gives_each_head_its_column_block(rng):
    x = rng.standard_normal((2, 3, 8))
    heads = qn.split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)
    for i in range(4):
        np.testing.assert_array_equal(heads[:, i], x[..., 2 * i : 2 * i + 2])


@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    seq=st.integers(1, 4),
    num_heads=st.integers(1, 4),
    d_head=st.integers(1, 3),
)
def test_merge_undoes_split(batch, seq, num_heads, d_head):
    x = np.random.default_rng(0).standard_normal((*batch, seq, num_heads * d_head))
    heads = qn.split_heads(x, num_heads)
    assert heads.shape == (*batch, num_heads, seq, d_head)
    np.testing.assert_array_equal(qn.merge_heads(heads), x)
    heads_t = qt.split_heads(torch.from_numpy(x), num_heads)
    np.testing.assert_array_equal(to_numpy(heads_t), heads)
    np.testing.assert_array_equal(to_numpy(qt.merge_heads(heads_t)), x)


# --- NumPy <-> PyTorch ------------------------------------------------------------------------

CASES = {
    "self": dict(batch=(2,), seq_q=4, seq_k=4, mask=None, is_causal=False),
    "cross": dict(batch=(2,), seq_q=3, seq_k=5, mask=None, is_causal=False),
    "no_batch": dict(batch=(), seq_q=3, seq_k=5, mask="2d", is_causal=False),
    "extra_batch_axes": dict(batch=(2, 3), seq_q=3, seq_k=4, mask="batched", is_causal=False),
    "mask_2d": dict(batch=(2,), seq_q=4, seq_k=4, mask="2d", is_causal=False),
    "padding": dict(batch=(3,), seq_q=4, seq_k=4, mask="padding", is_causal=False),
    "causal": dict(batch=(2,), seq_q=4, seq_k=4, mask=None, is_causal=True),
    "causal_cross": dict(batch=(2,), seq_q=5, seq_k=3, mask=None, is_causal=True),
    "causal_and_mask": dict(batch=(2,), seq_q=4, seq_k=4, mask="batched", is_causal=True),
    "fully_masked_row": dict(
        batch=(2,), seq_q=3, seq_k=4, mask="fully_masked_row", is_causal=False
    ),
}


def _inputs(rng, case, d_model=6, dtype=np.float64):
    batch, seq_q, seq_k = case["batch"], case["seq_q"], case["seq_k"]
    query = rng.standard_normal((*batch, seq_q, d_model)).astype(dtype)
    key = rng.standard_normal((*batch, seq_k, d_model)).astype(dtype)
    value = rng.standard_normal((*batch, seq_k, d_model)).astype(dtype)
    mask = make_mask(case["mask"], batch, seq_q, seq_k, rng)
    return query, key, value, mask


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("dtype", "need_weights"),
    [(np.float64, True), (np.float64, False), (np.float32, True)],
    ids=["float64", "float64-fused", "float32"],
)
@pytest.mark.parametrize("case", list(CASES))
def test_numpy_equals_torch(case, need_weights, dtype, device, rng):
    query, key, value, mask = _inputs(rng, CASES[case], dtype=dtype)
    params = random_params(rng, 6, dtype=dtype)
    kwargs = dict(num_heads=3, is_causal=CASES[case]["is_causal"], need_weights=need_weights)
    out, weights = qn.multi_head_attention(query, key, value, params, mask=mask, **kwargs)
    out_t, weights_t = qt.multi_head_attention(
        *to_torch((query, key, value), device),
        params_to_torch(params, device),
        mask=to_torch(mask, device),
        **kwargs,
    )
    assert out_t.device.type == device and out_t.dtype == to_torch(query).dtype
    assert_close(out_t, out)
    assert not np.isnan(out).any() and not torch.isnan(out_t).any()
    if need_weights:
        assert weights.shape == (*CASES[case]["batch"], 3, query.shape[-2], key.shape[-2])
        assert_close(weights_t, weights)
    else:
        assert weights is None and weights_t is None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(CASES))
def test_fused_path_equals_weights_path(case, device, rng):
    """need_weights=False (F.scaled_dot_product_attention) equals the explicit softmax path."""
    query, key, value, mask = to_torch(_inputs(rng, CASES[case]), device)
    params = params_to_torch(random_params(rng, 6), device)
    kwargs = dict(num_heads=2, mask=mask, is_causal=CASES[case]["is_causal"])
    fused, none = qt.multi_head_attention(query, key, value, params, need_weights=False, **kwargs)
    explicit, _ = qt.multi_head_attention(query, key, value, params, need_weights=True, **kwargs)
    assert none is None
    assert_close(fused, explicit)


def test_default_dtype_doctest_style_float32():
    x = torch.randn(2, 3, 4)
    out, weights = qt.multi_head_attention(x, x, x, qt.init_multi_head_params(4), num_heads=2)
    assert out.dtype == torch.float32 and weights.dtype == torch.float32


# --- against nn.MultiheadAttention ------------------------------------------------------------


def _torch_mha(d_model, num_heads, device, dtype=None, bias=True, seed=0):
    dtype = torch.float64 if dtype is None else dtype
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(
        d_model, num_heads, batch_first=True, bias=bias, device=device, dtype=dtype
    )
    with torch.no_grad():  # non-zero biases, so the bias layout is checked too
        for p in m.parameters():
            p.normal_(0.0, 0.5)
    return m.eval()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mask_kind", [None, "attn_mask", "key_padding_mask", "both", "causal"])
@pytest.mark.parametrize("seq_k", [4, 6])
def test_matches_nn_multihead_attention(mask_kind, bias, seq_k, device, rng):
    batch, seq_q, d_model, num_heads = 3, 4, 8, 2
    theirs = _torch_mha(d_model, num_heads, device, bias=bias)
    ours = qt.MultiHeadAttention.from_torch(theirs)
    query = torch.randn(batch, seq_q, d_model, dtype=torch.float64, device=device)
    memory = torch.randn(batch, seq_k, d_model, dtype=torch.float64, device=device)
    attn_mask = torch.rand(seq_q, seq_k, device=device) > 0.6  # True = blocked (theirs)
    attn_mask[:, 0] = False  # no fully masked row here (theirs gives NaN; tested below)
    lengths = torch.tensor([seq_k, 2, 1], device=device)
    key_padding_mask = torch.arange(seq_k, device=device) >= lengths[:, None]  # True = padding
    kwargs, mask, is_causal = {}, None, False
    if mask_kind in ("attn_mask", "both"):
        kwargs["attn_mask"] = attn_mask
        mask = ~attn_mask
    if mask_kind in ("key_padding_mask", "both"):
        kwargs["key_padding_mask"] = key_padding_mask
        padding = ~key_padding_mask[:, None, :]  # (batch, 1, seq_k)
        mask = padding if mask is None else mask & padding
    if mask_kind == "causal":
        causal = torch.ones(seq_q, seq_k, dtype=torch.bool, device=device).tril()
        kwargs["attn_mask"] = ~causal
        is_causal = True
    expected_out, expected_weights = theirs(
        query, memory, memory, need_weights=True, average_attn_weights=False, **kwargs
    )
    out, weights = ours(query, memory, memory, mask, is_causal=is_causal)
    assert_close(out, expected_out)
    assert_close(weights, expected_weights)
    fused, _ = ours(query, memory, memory, mask, is_causal=is_causal, need_weights=False)
    assert_close(fused, expected_out)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_matches_nn_multihead_attention_fast_path(device):
    """In eval mode under no_grad, nn.MultiheadAttention takes its fused fast path."""
    theirs = _torch_mha(8, 4, device, dtype=torch.float32)
    ours = qt.MultiHeadAttention.from_torch(theirs)
    x = torch.randn(2, 5, 8, device=device)
    with torch.no_grad():
        expected, _ = theirs(x, x, x, need_weights=False)
        out, _ = ours(x, x, x, need_weights=False)
    assert_close(out, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_row_nan_in_torch_zero_in_ours(need_weights, device, rng):
    theirs = _torch_mha(4, 2, device)
    ours = qt.MultiHeadAttention.from_torch(theirs)
    x = torch.randn(1, 3, 4, dtype=torch.float64, device=device, requires_grad=True)
    blocked = torch.zeros(3, 3, dtype=torch.bool, device=device)
    blocked[1] = True  # query 1 may attend no key
    their_out, _ = theirs(x, x, x, attn_mask=blocked, average_attn_weights=False)
    assert torch.isnan(their_out[0, 1]).all()  # PyTorch: NaN
    out, weights = ours(x, x, x, ~blocked, need_weights=need_weights)
    assert not torch.isnan(out).any()
    assert_close(out[0, 1], ours.b_o)  # zero before the output projection
    assert_close(out[0, [0, 2]], their_out[0, [0, 2]])
    if need_weights:
        assert_close(weights[0, :, 1], torch.zeros(2, 3, dtype=torch.float64))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("need_weights", "is_causal"), [(True, False), (False, True)])
def test_gradcheck(is_causal, need_weights, device, rng):
    query = rng.standard_normal((1, 3, 4))
    key = rng.standard_normal((1, 2, 4))
    mask = to_torch(np.array([[True, False], [True, True], [False, False]]), device)
    p = random_params(rng, 4)
    inputs = [to_torch(t, device).requires_grad_() for t in (query, key, p.w_q, p.w_o, p.b_v)]

    def f(q, k, w_q, w_o, b_v):
        params = params_to_torch(p, device)._replace(w_q=w_q, w_o=w_o, b_v=b_v)
        return qt.multi_head_attention(
            q, k, k, params, num_heads=2, mask=mask, is_causal=is_causal, need_weights=need_weights
        )[0]

    assert torch.autograd.gradcheck(f, inputs)


def test_gradcheck_split_merge():
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: qt.merge_heads(qt.split_heads(t, 2) * t.sum()), x)


# --- properties -------------------------------------------------------------------------------

shapes = st.fixed_dictionaries(
    {
        "batch": st.lists(st.integers(1, 2), max_size=2),
        "seq_q": st.integers(1, 4),
        "seq_k": st.integers(1, 4),
        "num_heads": st.integers(1, 3),
        "d_head": st.integers(1, 3),
        "seed": st.integers(0, 2**16),
    }
)


@given(shape=shapes)
def test_one_head_is_single_head_attention(shape):
    rng = np.random.default_rng(shape["seed"])
    d_model = shape["d_head"]
    query = rng.standard_normal((*shape["batch"], shape["seq_q"], d_model))
    key = rng.standard_normal((*shape["batch"], shape["seq_k"], d_model))
    p = random_params(rng, d_model)
    out, weights = qn.multi_head_attention(query, key, key, p, num_heads=1)
    single_out, single_weights = qn.scaled_dot_product_attention(
        query @ p.w_q + p.b_q, key @ p.w_k + p.b_k, key @ p.w_v + p.b_v
    )
    np.testing.assert_allclose(out, single_out @ p.w_o + p.b_o, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights[..., 0, :, :], single_weights, rtol=1e-12, atol=1e-12)


@given(shape=shapes)
def test_multi_head_is_independent_heads_concatenated_then_w_o(shape):
    rng = np.random.default_rng(shape["seed"])
    h, d_head = shape["num_heads"], shape["d_head"]
    d_model = h * d_head
    query = rng.standard_normal((*shape["batch"], shape["seq_q"], d_model))
    key = rng.standard_normal((*shape["batch"], shape["seq_k"], d_model))
    p = random_params(rng, d_model)
    out, weights = qn.multi_head_attention(query, key, key, p, num_heads=h)
    heads = []
    for i in range(h):
        cols = slice(i * d_head, (i + 1) * d_head)
        head, head_weights = qn.scaled_dot_product_attention(
            query @ p.w_q[:, cols] + p.b_q[cols],
            key @ p.w_k[:, cols] + p.b_k[cols],
            key @ p.w_v[:, cols] + p.b_v[cols],
        )
        np.testing.assert_allclose(weights[..., i, :, :], head_weights, rtol=1e-12, atol=1e-12)
        heads.append(head)
    expected = np.concatenate(heads, axis=-1) @ p.w_o + p.b_o
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d_model", [8, 12])
def test_parameter_count_is_independent_of_heads(d_model):
    divisors = [h for h in range(1, d_model + 1) if d_model % h == 0]
    counts = {
        sum(p.numel() for p in qt.MultiHeadAttention(d_model, h).parameters()) for h in divisors
    }
    assert counts == {4 * d_model * d_model + 4 * d_model}
    sizes = {sum(p.size for p in qn.init_multi_head_params(d_model)) for _ in divisors}
    assert sizes == counts


@given(
    lengths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    extra=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_padding_leaves_real_tokens_unchanged(lengths, extra, seed):
    """Self-attention with a padding mask: real tokens' outputs equal those without padding."""
    rng = np.random.default_rng(seed)
    seq = max(lengths) + extra
    x = rng.standard_normal((len(lengths), seq, 4))
    p = random_params(rng, 4)
    mask = qn.padding_mask(np.array(lengths), seq)  # (batch, 1, seq)
    out, _ = qn.multi_head_attention(x, x, x, p, num_heads=2, mask=mask)
    out_t, _ = qt.multi_head_attention(
        *to_torch((x, x, x)),
        params_to_torch(p),
        num_heads=2,
        mask=to_torch(mask),
        need_weights=False,
    )
    for b, n in enumerate(lengths):
        alone, _ = qn.multi_head_attention(x[b, :n], x[b, :n], x[b, :n], p, num_heads=2)
        np.testing.assert_allclose(out[b, :n], alone, rtol=1e-12, atol=1e-12)
        assert_close(out_t[b, :n], alone)


@given(seq=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_permutation_equivariance_without_positions(seq, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, 6))
    p = random_params(rng, 6)
    perm = rng.permutation(seq)
    out, weights = qn.multi_head_attention(x, x, x, p, num_heads=3)
    out_perm, weights_perm = qn.multi_head_attention(x[perm], x[perm], x[perm], p, num_heads=3)
    np.testing.assert_allclose(out_perm, out[perm], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights_perm, weights[:, perm][:, :, perm], rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**16))
def test_weight_rows_sum_to_one(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 4))
    _, weights = qn.multi_head_attention(x, x, x, random_params(rng, 4), num_heads=2)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


# --- low precision ----------------------------------------------------------------------------


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_smoke_on_cpu(dtype, need_weights, rng):
    dtype = getattr(torch, dtype)
    query, key, value, mask = _inputs(rng, CASES["mask_2d"])
    params = random_params(rng, 6)
    expected, _ = qn.multi_head_attention(query, key, value, params, num_heads=2, mask=mask)
    out, weights = qt.multi_head_attention(
        *to_torch((query, key, value), dtype=dtype),
        params_to_torch(params, dtype=dtype),
        num_heads=2,
        mask=to_torch(mask),
        need_weights=need_weights,
    )
    assert out.dtype == dtype and torch.isfinite(out).all()
    # tolerance from the float64 reference: a few units of the dtype's rounding error
    tol = 8 * torch.finfo(dtype).eps
    np.testing.assert_allclose(to_numpy(out).astype(np.float64), expected, rtol=tol, atol=tol)
    if need_weights:
        assert weights.dtype == dtype


@pytest.mark.parametrize("need_weights", [True, False])
def test_is_causal_by_gradient(need_weights, rng):
    """With is_causal, output t does not depend on inputs after t (both torch paths)."""
    x = to_torch(rng.standard_normal((5, 4))).requires_grad_()
    params = params_to_torch(random_params(rng, 4))
    out, _ = qt.multi_head_attention(
        x, x, x, params, num_heads=2, is_causal=True, need_weights=need_weights
    )
    for t in range(5):
        (grad,) = torch.autograd.grad(out[t].sum(), x, retain_graph=True)
        assert not grad[t + 1 :].any()
        assert grad[: t + 1].abs().sum(-1).min() > 0
