"""Tiled attention, the backward pass: recomputing the tiles from the saved log-sum-exp gives the
gradients of the one-shot formula (autograd through `qkv.torch.tiled_attention` and
`tiled_attention_backward` in both backends), with zero gradients for fully masked rows, causal
tiles skipped and O(seq · d) memory. The forward pass is tested in tests/test_tiled.py.

PyTorch is imported inside the tests that need it (`pytest.importorskip`), so a NumPy-only install
still runs the NumPy tests."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import qkv.numpy as qn
from qkv.numpy import tiled as numpy_tiled
from tiled_cases import make_inputs, make_mask, to_torch, torch_or_skip

# (batch, seq_q, seq_k, d_k, d_v) for the gradient tests: seq_q != seq_k, single tokens, batch axes
GRAD_SHAPES = [
    ((), 7, 7, 4, 4),
    ((2,), 9, 13, 8, 3),
    ((2, 3), 13, 5, 4, 6),
    ((3,), 1, 1, 2, 2),
]
GRAD_BLOCK_SIZES = [1, 3, 4, 128]  # 3 divides none of the lengths above but 9; 128 exceeds all


def _grad_out(shape, dtype, seed=0):
    batch, seq_q, _, _, d_v = shape
    return np.random.default_rng(seed + 2).standard_normal((*batch, seq_q, d_v)).astype(dtype)


def _one_shot_grads(query, key, value, grad_out, mask, is_causal):
    """Gradients of (out * grad_out).sum() by PyTorch autograd through the one-shot formula:
    `F.scaled_dot_product_attention`, except for masks with fully masked rows, where its output
    is NaN; there `qkv.torch.scaled_dot_product_attention` (zero rows) is differentiated."""
    torch, qt, F = torch_or_skip()
    leaves = [t.detach().clone().requires_grad_() for t in (query, key, value)]
    empty_rows = mask is not None and not bool(mask.any(dim=-1).all())
    if empty_rows:
        out, _ = qt.scaled_dot_product_attention(*leaves, mask, is_causal=is_causal)
    elif mask is not None and is_causal:
        causal = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool).tril()
        out = F.scaled_dot_product_attention(*leaves, attn_mask=mask & causal)
    else:
        out = F.scaled_dot_product_attention(*leaves, attn_mask=mask, is_causal=is_causal)
    return torch.autograd.grad(out, leaves, grad_out)


def test_torch_tiled_gradients_equal_sdpa_gradients():
    torch, qt, F = torch_or_skip()
    shape = ((2,), 7, 9, 4, 3)
    mask = torch.from_numpy(make_mask("empty-rows", shape))
    leaves = [t.requires_grad_() for t in to_torch(*make_inputs(shape, np.float64))]
    grads = []
    for attend in (
        lambda q, k, v: qt.scaled_dot_product_attention(q, k, v, mask, is_causal=True)[0],
        lambda q, k, v: qt.tiled_attention(q, k, v, mask, is_causal=True, block_size=2),
    ):
        out = attend(*leaves)
        grads.append(torch.autograd.grad(out.pow(2).sum(), leaves))
    for tiled, one_shot in zip(grads[1], grads[0], strict=True):
        assert not tiled.isnan().any()
        torch.testing.assert_close(tiled, one_shot, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", GRAD_SHAPES)
@pytest.mark.parametrize("block_size", GRAD_BLOCK_SIZES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "random", "padding", "empty-rows"])
def test_torch_tiled_gradients_equal_sdpa_gradients_float64(
    shape, block_size, is_causal, mask_kind
):
    torch, qt, F = torch_or_skip()
    query, key, value, mask, grad_out = to_torch(
        *make_inputs(shape, np.float64), make_mask(mask_kind, shape), _grad_out(shape, np.float64)
    )
    if mask_kind == "random" and is_causal:
        mask[..., 0] = True  # F.scaled_dot_product_attention returns NaN for rows with no key
    expected = _one_shot_grads(query, key, value, grad_out, mask, is_causal)
    leaves = [t.clone().requires_grad_() for t in (query, key, value)]
    out = qt.tiled_attention(*leaves, mask, is_causal=is_causal, block_size=block_size)
    grads = torch.autograd.grad(out, leaves, grad_out)
    for grad, want, leaf in zip(grads, expected, leaves, strict=True):
        assert grad.shape == leaf.shape and grad.dtype == torch.float64
        torch.testing.assert_close(grad, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "case", ["plain", "mask", "causal", "causal+mask", "empty-rows", "broadcast", "scale"]
)
def test_torch_tiled_gradcheck(case):
    """Finite differences in float64 against the tiled backward, small sizes, tiles that do not
    divide the lengths."""
    torch, qt, F = torch_or_skip()
    shape = ((2,), 5, 7, 3, 2)
    query, key, value = to_torch(*make_inputs(shape, np.float64, seed=4))
    mask = None
    if case in ("mask", "causal+mask"):
        mask = torch.from_numpy(make_mask("random", shape, seed=4))
        mask[..., 0] = True
    if case == "empty-rows":
        mask = torch.from_numpy(make_mask("empty-rows", shape, seed=4))
    if case == "broadcast":  # one key/value set shared by the batch
        key, value = key[:1], value[:1]
    is_causal = case.startswith("causal")
    scale = 0.7 if case == "scale" else None
    leaves = tuple(t.clone().requires_grad_() for t in (query, key, value))

    def attend(q, k, v):
        return qt.tiled_attention(q, k, v, mask, scale=scale, is_causal=is_causal, block_size=3)

    assert torch.autograd.gradcheck(attend, leaves, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_torch_tiled_gradients_of_fully_masked_rows_are_zero_and_finite():
    torch, qt, F = torch_or_skip()
    shape = ((2,), 6, 5, 4, 3)
    mask = np.ones((6, 5), dtype=bool)
    mask[[1, 4]] = False  # rows 1 and 4 see no key
    query, key, value, mask_t = to_torch(*make_inputs(shape, np.float64), mask)
    leaves = [t.requires_grad_() for t in (query, key, value)]
    out = qt.tiled_attention(*leaves, mask_t, block_size=2)
    grad_query, grad_key, grad_value = torch.autograd.grad(out.pow(2).sum() + out.sum(), leaves)
    for grad in (grad_query, grad_key, grad_value):
        assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad_query[:, [1, 4]], torch.zeros(2, 2, 4, dtype=torch.float64))
    assert grad_query[:, [0, 2, 3, 5]].abs().min() > 0.0
    # the numpy twin: zeros in the same rows, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grads_np = qn.tiled_attention_backward(
            *make_inputs(shape, np.float64), np.ones((2, 6, 3)), mask, block_size=2
        )
    assert all(np.isfinite(g).all() for g in grads_np)
    np.testing.assert_array_equal(grads_np[0][:, [1, 4]], 0.0)


@pytest.mark.parametrize("shape", GRAD_SHAPES)
@pytest.mark.parametrize("block_size", [3, 128])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "padding", "empty-rows"])
def test_numpy_backward_equals_torch_autograd(shape, block_size, is_causal, mask_kind):
    """qkv.numpy.tiled_attention_backward against PyTorch autograd through the one-shot formula,
    and against its twin qkv.torch.tiled_attention_backward."""
    torch, qt, F = torch_or_skip()
    query, key, value = make_inputs(shape, np.float64, seed=5)
    mask, grad_out = make_mask(mask_kind, shape, seed=5), _grad_out(shape, np.float64, seed=5)
    grads = qn.tiled_attention_backward(
        query, key, value, grad_out, mask, is_causal=is_causal, block_size=block_size
    )
    tensors = to_torch(query, key, value, grad_out, mask)
    expected = _one_shot_grads(*tensors[:3], tensors[3], tensors[4], is_causal)
    twin = qt.tiled_attention_backward(*tensors, is_causal=is_causal, block_size=block_size)
    for grad, want, twin_grad, array in zip(
        grads, expected, twin, (query, key, value), strict=True
    ):
        assert grad.shape == array.shape and grad.dtype == np.float64
        np.testing.assert_allclose(grad, want.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(twin_grad.numpy(), grad, rtol=1e-12, atol=1e-12)


def test_numpy_backward_of_broadcast_batch_axes_sums_over_them():
    """A key/value shared by the batch gets the sum of the gradients of every batch element."""
    shape = ((3,), 6, 4, 2, 2)
    query, key, value = make_inputs(shape, np.float64, seed=6)
    grad_out = _grad_out(shape, np.float64, seed=6)
    shared = qn.tiled_attention_backward(query, key[:1], value[:1], grad_out, block_size=4)
    each = qn.tiled_attention_backward(
        query, np.repeat(key[:1], 3, axis=0), np.repeat(value[:1], 3, axis=0), grad_out
    )
    assert shared[1].shape == (1, 4, 2) and shared[2].shape == (1, 4, 2)
    np.testing.assert_allclose(shared[0], each[0], rtol=1e-12, atol=1e-12)
    for grad_shared, grad_each in zip(shared[1:], each[1:], strict=True):
        np.testing.assert_allclose(grad_shared, grad_each.sum(axis=0, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_numpy_backward_low_precision(dtype):
    """float32 and float16 inputs give gradients in their dtype, close to the float64 ones
    (tiles summed in float32 for float16)."""
    shape = ((2,), 20, 20, 8, 8)
    arrays = [*make_inputs(shape, np.float64, seed=7), _grad_out(shape, np.float64, seed=7)]
    expected = qn.tiled_attention_backward(*arrays, is_causal=True, block_size=8)
    grads = qn.tiled_attention_backward(
        *(a.astype(dtype) for a in arrays), is_causal=True, block_size=8
    )
    eps = float(np.finfo(dtype).eps)
    for grad, want in zip(grads, expected, strict=True):
        assert grad.dtype == dtype
        # a few units of the dtype's rounding error, relative to the gradients' size
        np.testing.assert_allclose(grad, want, rtol=0, atol=16 * eps * np.abs(want).max())


def test_torch_tiled_gradients_on_device(device):
    """float32 on every device (CUDA when present): the gradients follow the inputs' device and
    dtype and equal autograd through the one-shot formula."""
    torch, qt, F = torch_or_skip()
    shape = ((2, 2), 40, 40, 16, 16)
    query, key, value, grad_out = (
        t.to(device)
        for t in to_torch(*make_inputs(shape, np.float32, seed=8), _grad_out(shape, np.float32, 8))
    )
    mask = torch.from_numpy(make_mask("padding", shape, seed=8)).to(device)
    leaves = [t.clone().requires_grad_() for t in (query, key, value)]
    out = qt.tiled_attention(*leaves, mask, is_causal=True, block_size=16)
    grads = torch.autograd.grad(out, leaves, grad_out)
    expected = _one_shot_grads(query, key, value, grad_out, mask, True)
    for grad, want in zip(grads, expected, strict=True):
        assert grad.device == query.device and grad.dtype == torch.float32
        torch.testing.assert_close(grad, want)


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
def test_causal_backward_skips_blocks_above_the_diagonal(backend_name, monkeypatch):
    module, backend = numpy_tiled, qn
    query, key, value = make_inputs(((), 64, 64, 4, 4), np.float64)
    grad_out = _grad_out(((), 64, 64, 4, 4), np.float64)
    if backend_name == "torch":
        torch, backend, F = torch_or_skip()
        from qkv.torch import tiled as module

        query, key, value, grad_out = to_torch(query, key, value, grad_out)
    visited = []
    query_blocks = module._query_blocks

    def counting(*args):
        blocks = query_blocks(*args)
        visited.extend(blocks)
        return blocks

    monkeypatch.setattr(module, "_query_blocks", counting)
    tiles, counts = 8, {}  # 64 / 8: 8 x 8 tiles
    for is_causal in (False, True):
        visited.clear()
        backend.tiled_attention_backward(
            query, key, value, grad_out, is_causal=is_causal, block_size=8
        )
        counts[is_causal] = len(visited)
    assert counts[False] == tiles * tiles
    assert counts[True] == tiles * (tiles + 1) // 2


def test_bad_grad_out_raises_the_same_message_in_both_backends():
    torch, qt, F = torch_or_skip()
    query, key, value = make_inputs(((2,), 3, 4, 2, 5), np.float64)
    messages = {}
    for name, backend, convert in (("numpy", qn, lambda *a: a), ("torch", qt, to_torch)):
        wrong_shape = convert(query, key, value, np.ones((2, 3, 4)))  # d_v is 5
        with pytest.raises(
            ValueError, match="^tiled_attention_backward: grad_out must have"
        ) as info:
            backend.tiled_attention_backward(*wrong_shape)
        messages[name] = str(info.value)
        wrong_dtype = convert(query, key, value, np.ones((2, 3, 5), dtype=np.float32))
        with pytest.raises(
            TypeError, match="^tiled_attention_backward: query, grad_out must share"
        ):
            backend.tiled_attention_backward(*wrong_dtype)
    assert messages["numpy"] == messages["torch"]
    assert "got grad_out (2, 3, 4), out (2, 3, 5)" in messages["numpy"]


@pytest.mark.slow  # a few seconds on an idle 2-core machine
def test_numpy_backward_peak_memory_is_linear_in_seq():
    """seq = 8192, d = 64, float32: the weights alone would take 256 MiB; tracemalloc sees every
    NumPy allocation of the backward pass (and of the forward pass it runs first). Causal, so
    only the tiles on and below the diagonal are visited; each allocates what any tile does."""
    seq, d = 8192, 64
    rng = np.random.default_rng(0)
    query, key, value, grad_out = rng.standard_normal((4, seq, d), dtype=np.float32)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        grads = qn.tiled_attention_backward(
            query, key, value, grad_out, is_causal=True, block_size=1024
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # O(seq · d): inputs and gradients take 2 MiB each, a (1024, 1024) float32 tile 4 MiB
    assert (peak - before) / 2**20 < 64
    assert all(np.isfinite(g).all() and g.shape == (seq, d) for g in grads)


@pytest.mark.slow  # two fresh processes that import PyTorch: about 10 s on an idle machine
def test_torch_forward_and_backward_peak_memory_is_linear_in_seq():
    """seq = 8192, d = 64, float32, one head: the growth of the peak resident set of a fresh
    process during one forward and backward pass. PyTorch's CPU allocator is invisible to
    tracemalloc, so this uses the benchmark's probe. The naive autograd run in the same way
    shows that the probe sees what the call allocates: its (seq, seq) weights are kept for the
    backward pass."""
    pytest.importorskip("torch")
    from benchmarks.tiled import torch_cpu_peak_mib

    tiled = torch_cpu_peak_mib("torch_tiled_fwd_bwd", 8192, 64, 512)
    assert tiled < 200
    naive = torch_cpu_peak_mib("torch_naive_fwd_bwd", 4096, 64, 512)
    assert naive > 2 * 4 * 4096**2 / 2**20  # at least the float32 scores and weights, 128 MiB
