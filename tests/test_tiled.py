"""Tiled attention with an online softmax, the forward pass: the same `out` as the one-shot
formula, in O(seq · d) memory, with causal tiles above the diagonal skipped; and the saved benchmark
results. The backward pass is tested in tests/test_tiled_backward.py.

PyTorch is imported inside the tests that need it (`pytest.importorskip`), so a NumPy-only install
still runs the NumPy tests."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given, settings
from hypothesis import strategies as st
from qkv.numpy import tiled as numpy_tiled
from tiled_cases import make_inputs, make_mask, to_torch, torch_or_skip

# (batch, seq_q, seq_k, d_k, d_v): no batch, one and two batch axes, seq_q != seq_k, single tokens
SHAPES = [
    ((), 7, 7, 4, 4),
    ((2,), 9, 20, 8, 3),
    ((2, 3), 13, 5, 4, 6),
    ((3,), 1, 1, 2, 2),
    ((2,), 33, 17, 16, 16),
]
BLOCK_SIZES = [1, 3, 4, 128]  # 3 divides none of the sequence lengths; 128 exceeds them all
MASKS = ["none", "random", "padding", "empty-rows"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", MASKS)
def test_numpy_tiled_equals_sdpa_float64(shape, block_size, is_causal, mask_kind):
    query, key, value = make_inputs(shape, np.float64)
    mask = make_mask(mask_kind, shape)
    expected, _ = qn.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warning
        out = qn.tiled_attention(
            query, key, value, mask, is_causal=is_causal, block_size=block_size
        )
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", [3, 128])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "random"])
def test_numpy_tiled_equals_sdpa_float32(shape, block_size, is_causal, mask_kind):
    query, key, value = make_inputs(shape, np.float32)
    mask = make_mask(mask_kind, shape)
    expected, _ = qn.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    out = qn.tiled_attention(query, key, value, mask, is_causal=is_causal, block_size=block_size)
    assert out.dtype == np.float32
    # torch's default float32 tolerances
    np.testing.assert_allclose(out, expected, rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", MASKS)
def test_torch_tiled_equals_sdpa_float64(shape, block_size, is_causal, mask_kind):
    torch, qt, F = torch_or_skip()
    query, key, value, mask = to_torch(*make_inputs(shape, np.float64), make_mask(mask_kind, shape))
    expected, _ = qt.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    out = qt.tiled_attention(query, key, value, mask, is_causal=is_causal, block_size=block_size)
    assert not out.isnan().any()
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", [3, 128])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "random", "empty-rows"])
def test_torch_tiled_equals_sdpa_float32_on_device(shape, block_size, is_causal, mask_kind, device):
    torch, qt, F = torch_or_skip()
    arrays = to_torch(*make_inputs(shape, np.float32), make_mask(mask_kind, shape))
    query, key, value, mask = [None if a is None else a.to(device) for a in arrays]
    expected, _ = qt.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    out = qt.tiled_attention(query, key, value, mask, is_causal=is_causal, block_size=block_size)
    assert out.device == query.device and out.dtype == torch.float32
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("is_causal", [False, True])
def test_torch_tiled_equals_pytorch_sdpa(is_causal):
    torch, qt, F = torch_or_skip()
    shape = ((2, 3), 19, 19, 8, 8)
    query, key, value = to_torch(*make_inputs(shape, np.float64))
    mask = torch.from_numpy(make_mask("random", shape))
    expected = F.scaled_dot_product_attention(
        query, key, value, attn_mask=None if is_causal else mask, is_causal=is_causal
    )
    out = qt.tiled_attention(
        query, key, value, None if is_causal else mask, is_causal=is_causal, block_size=4
    )
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "random", "empty-rows"])
def test_numpy_and_torch_agree(is_causal, mask_kind):
    torch, qt, F = torch_or_skip()
    shape = ((2,), 21, 10, 8, 5)
    query, key, value = make_inputs(shape, np.float64, seed=3)
    mask = make_mask(mask_kind, shape, seed=3)
    out_np = qn.tiled_attention(query, key, value, mask, is_causal=is_causal, block_size=4)
    out_torch = qt.tiled_attention(
        *to_torch(query, key, value, mask), is_causal=is_causal, block_size=4
    )
    np.testing.assert_allclose(out_torch.numpy(), out_np, rtol=1e-12, atol=1e-12)


def test_fully_masked_rows_give_zeros_without_nan_or_warning():
    torch, qt, F = torch_or_skip()
    shape = ((2,), 6, 5, 4, 3)
    query, key, value = make_inputs(shape, np.float64)
    mask = np.ones((6, 5), dtype=bool)
    mask[[1, 4]] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_np = qn.tiled_attention(query, key, value, mask, block_size=2)
    out_torch = qt.tiled_attention(*to_torch(query, key, value, mask), block_size=2)
    for out in (out_np, out_torch.numpy()):
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(out[:, [1, 4]], 0.0)
        assert np.abs(out[:, [0, 2, 3, 5]]).min() > 0.0


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_torch_tiled_low_precision(dtype_name, device):
    torch, qt, F = torch_or_skip()
    dtype = getattr(torch, dtype_name)
    shape = ((2,), 40, 40, 16, 16)
    query, key, value = to_torch(*make_inputs(shape, np.float64))
    expected = qt.tiled_attention(query, key, value, is_causal=True, block_size=8)
    low = [t.to(device=device, dtype=dtype) for t in (query, key, value)]
    out = qt.tiled_attention(*low, is_causal=True, block_size=8)
    assert out.dtype == dtype and out.device == low[0].device
    # tolerance from the float64 reference: a few units of the dtype's rounding error
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(out.double().cpu(), expected, rtol=8 * eps, atol=8 * eps)


@settings(deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    seq_q=st.integers(1, 24),
    seq_k=st.integers(1, 24),
    d_k=st.integers(1, 8),
    block_size=st.integers(1, 30),
    is_causal=st.booleans(),
    use_mask=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_tiled_equals_one_shot_for_any_tiling(
    batch, seq_q, seq_k, d_k, block_size, is_causal, use_mask, seed
):
    shape = (batch, seq_q, seq_k, d_k, 3)
    query, key, value = make_inputs(shape, np.float64, seed=seed)
    mask = make_mask("random", shape, seed=seed) if use_mask else None
    expected, _ = qn.scaled_dot_product_attention(query, key, value, mask, is_causal=is_causal)
    out = qn.tiled_attention(query, key, value, mask, is_causal=is_causal, block_size=block_size)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
def test_causal_tiling_skips_blocks_above_the_diagonal(backend_name, monkeypatch):
    module, backend = numpy_tiled, qn
    if backend_name == "torch":
        torch, backend, F = torch_or_skip()
        from qkv.torch import tiled as module
    visited = []
    key_blocks = module._key_blocks

    def counting(*args):
        blocks = key_blocks(*args)
        visited.extend(blocks)
        return blocks

    monkeypatch.setattr(module, "_key_blocks", counting)
    seq, block_size, tiles = 64, 8, 8  # 8 x 8 tiles
    query, key, value = make_inputs(((), seq, seq, 4, 4), np.float64)
    if backend_name == "torch":
        query, key, value = to_torch(query, key, value)
    counts = {}
    for is_causal in (False, True):
        visited.clear()
        out = module.tiled_attention(query, key, value, is_causal=is_causal, block_size=block_size)
        counts[is_causal] = len(visited)
        expected, _ = backend.scaled_dot_product_attention(query, key, value, is_causal=is_causal)
        np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-10, atol=1e-10)
    assert counts[False] == tiles * tiles  # every tile
    assert counts[True] == tiles * (tiles + 1) // 2  # the diagonal and below only: about half


@pytest.mark.slow  # about 2 s on an idle 2-core machine, far more when the machine is shared
def test_numpy_peak_memory_is_linear_in_seq():
    """seq = 32768, d_k = d_v = 64, one head, float32: the scores alone would take 4 GiB.

    Causal, so the run visits only the tiles on and below the diagonal (about 2 s instead of 4);
    each visited tile allocates exactly what a tile of the full product does.
    """
    seq, d = 32768, 64
    rng = np.random.default_rng(0)
    query, key, value = rng.standard_normal((3, seq, d), dtype=np.float32)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        out = qn.tiled_attention(query, key, value, is_causal=True, block_size=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    scores_bytes = seq * seq * 4
    assert scores_bytes == 4 * 2**30
    assert peak - before < 256 * 2**20
    assert out.shape == (seq, d) and np.isfinite(out).all()
    # spot check a few rows against the one-shot formula on those rows only
    rows = [0, 1, seq // 2, seq - 1]
    mask = np.arange(seq) <= np.array(rows)[:, None]  # (4, seq): causal rows
    expected, _ = qn.scaled_dot_product_attention(query[rows], key, value, mask)
    np.testing.assert_allclose(out[rows], expected, rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"block_size": 0},
            ValueError,
            "tiled_attention: block_size must be >= 1; got block_size 0",
        ),
        (
            {"block_size": 2.0},
            TypeError,
            "tiled_attention: block_size must be an integer; got block_size 2.0",
        ),
        ({"scale": "a"}, TypeError, "tiled_attention: scale must be a real number or None"),
    ],
)
def test_bad_arguments_raise_the_same_message_in_both_backends(kwargs, error, message):
    torch, qt, F = torch_or_skip()
    arrays = make_inputs(((), 3, 3, 2, 2), np.float64)
    for backend, inputs in ((qn, arrays), (qt, to_torch(*arrays))):
        with pytest.raises(error) as info:
            backend.tiled_attention(*inputs, **kwargs)
        assert str(info.value).startswith(message)


def test_bad_shapes_raise_the_same_message_as_the_checks():
    torch, qt, F = torch_or_skip()
    query, key, value = make_inputs(((), 3, 4, 2, 2), np.float64)
    messages = []
    for backend, inputs in (
        (qn, (query, key[..., :1], value)),
        (qt, to_torch(query, key[..., :1], value)),
    ):
        with pytest.raises(
            ValueError, match="^tiled_attention: query and key must share d_k"
        ) as info:
            backend.tiled_attention(*inputs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    with pytest.raises(TypeError, match="mixed backends"):
        qn.tiled_attention(query, torch.from_numpy(key), value)


def test_saved_benchmark_results_are_complete_and_render():
    """benchmarks/results/cpu.json (written by `python -m benchmarks.run`) names its machine, has
    every case, and its Markdown table can be rebuilt from it."""
    pytest.importorskip("torch")
    import json
    from pathlib import Path

    from benchmarks.mha import MHA_LABELS, TARGETS
    from benchmarks.report import markdown
    from benchmarks.tiled import BACKWARD_LABELS

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "cpu.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    machine = results["machine"]
    for field in ("cpu_model", "cpu_count", "numpy", "torch", "date_utc", "loadavg_start"):
        assert machine[field] not in (None, "")
    assert [row["seq"] for row in results["mha"]["rows"]] == [128, 512, 2048]
    assert set(results["mha"]["rows"][0]["median_ms"]) == set(MHA_LABELS)
    assert set(results["targets"]) == set(TARGETS)
    assert max(row["seq"] for row in results["tiled"]["rows"]) == 32768
    largest = results["tiled"]["rows"][-1]
    assert largest["peak_mib"]["numpy_tiled"] < 256  # O(seq) memory, measured by the run
    assert set(largest["ratios"]) == {"torch_tiled / f_sdpa"}
    backward = results["backward"]
    assert [row["seq"] for row in backward["rows"]][-1] == 8192
    assert set(backward["rows"][-1]["median_ms"]) == set(BACKWARD_LABELS)
    # the tiled backward's memory stays O(seq): far below the naive autograd's (seq, seq) weights
    peaks = backward["rows"][-1]["peak_mib"]
    assert peaks["torch_tiled_fwd_bwd"] < 200 < 4 * 8192**2 / 2**20 < peaks["torch_naive_fwd_bwd"]
    text = markdown(results)
    assert machine["cpu_model"] in text and "| 32768 |" in text and "| 8192 |" in text
