"""Decoding token by token: cached steps == the full decoder, cached greedy == uncached greedy,
NumPy == PyTorch, stopping at eos, the weights a step returns, bad input."""

import numpy as np
import pytest
import qkv.numpy as qn
from tiny_seq2seq import (
    BACKENDS,
    D_MODEL,
    HEADS,
    LAYERS,
    SRC,
    SRC_LENGTHS,
    TGT,
    TGT_VOCAB,
    backend_by_name,
    float64_params,
    params_of,
)

from conftest import to_numpy


@pytest.fixture
def torch_pair():
    torch = pytest.importorskip("torch")
    import qkv.torch as qt

    return torch, qt


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("chunks", [[1, 1, 1, 1, 1, 1], [2, 1, 3], [6], [1, 4, 1]])
def test_cached_steps_equal_full_decode(backend, chunks):
    m, asarray = backend_by_name(backend)
    params = float64_params(backend, m, asarray)
    src, tgt, lengths = asarray(SRC), asarray(TGT), asarray(SRC_LENGTHS)
    memory, _ = m.encode(src, params, num_heads=HEADS, src_lengths=lengths)
    full = m.decode(tgt, memory, params, num_heads=HEADS, src_lengths=lengths)
    cache = m.init_kv_cache(memory, params, num_heads=HEADS, src_lengths=lengths)
    start, pieces = 0, []
    for size in chunks:
        logits, cache, _ = m.decode_step(
            tgt[:, start : start + size], cache, params, num_heads=HEADS
        )
        pieces.append(to_numpy(logits))
        start += size
    assert tuple(cache.self_k[0].shape) == (2, HEADS, 6, D_MODEL // HEADS)
    np.testing.assert_allclose(
        np.concatenate(pieces, axis=1), to_numpy(full), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_greedy_cached_equals_uncached(backend):
    m, asarray = backend_by_name(backend)
    params = float64_params(backend, m, asarray)
    kwargs = dict(num_heads=HEADS, bos=0, eos=1, max_len=12, src_lengths=asarray(SRC_LENGTHS))
    tokens, logits = m.greedy_decode(asarray(SRC), params, **kwargs, use_cache=True)
    tokens_ref, logits_ref = m.greedy_decode(asarray(SRC), params, **kwargs, use_cache=False)
    np.testing.assert_array_equal(to_numpy(tokens), to_numpy(tokens_ref))
    np.testing.assert_allclose(to_numpy(logits), to_numpy(logits_ref), rtol=1e-10, atol=1e-10)
    # the logits that chose each token are the ones returned
    np.testing.assert_array_equal(
        to_numpy(logits).argmax(-1), to_numpy(tokens)[:, : logits.shape[1]]
    )


def test_greedy_numpy_equal_torch(torch_pair):
    torch, qt = torch_pair
    kwargs = dict(num_heads=HEADS, bos=0, eos=1, max_len=10)
    tokens_np, logits_np = qn.greedy_decode(SRC, params_of(qn, np.float32), **kwargs)
    tokens_t, logits_t = qt.greedy_decode(
        torch.as_tensor(SRC), params_of(qt, torch.float32), **kwargs
    )
    np.testing.assert_array_equal(tokens_np, to_numpy(tokens_t))
    torch.testing.assert_close(logits_t, torch.as_tensor(logits_np))


def test_greedy_stops_at_eos_and_pads_with_eos():
    params = params_of(qn)
    tokens, _ = qn.greedy_decode(SRC, params, num_heads=HEADS, bos=0, eos=1, max_len=30)
    for row in tokens:
        hits = np.flatnonzero(row == 1)
        if hits.size:  # everything after the first eos is eos
            assert (row[hits[0] :] == 1).all()
    # a decoder whose output bias forces eos stops after one step
    forced = params._replace(b_out=np.where(np.arange(TGT_VOCAB) == 1, 100.0, 0.0))
    tokens, logits = qn.greedy_decode(SRC, forced, num_heads=HEADS, bos=0, eos=1, max_len=30)
    np.testing.assert_array_equal(tokens, [[1], [1]])
    assert logits.shape == (2, 1, TGT_VOCAB)


@pytest.mark.parametrize("backend", BACKENDS)
def test_attention_weights_shapes_and_rows(backend):
    m, asarray = backend_by_name(backend)
    params = float64_params(backend, m, asarray)
    lengths = asarray(SRC_LENGTHS)
    memory, enc = m.encode(
        asarray(SRC), params, num_heads=HEADS, src_lengths=lengths, need_weights=True
    )
    cache = m.init_kv_cache(memory, params, num_heads=HEADS, src_lengths=lengths)
    _, _, weights = m.decode_step(asarray(TGT), cache, params, num_heads=HEADS, need_weights=True)
    enc, dec, cross = to_numpy(enc), to_numpy(weights["self"]), to_numpy(weights["cross"])
    assert enc.shape == (LAYERS, 2, HEADS, 5, 5)
    assert dec.shape == (LAYERS, 2, HEADS, 6, 6)
    assert cross.shape == (LAYERS, 2, HEADS, 6, 5)
    for w in (enc, dec, cross):
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12, atol=1e-12)
    assert (np.triu(dec, k=1) == 0).all()  # causal
    assert (cross[:, 1, :, :, 3:] == 0).all() and (enc[:, 1, :, :, 3:] == 0).all()  # padding


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input(backend):
    m, asarray = backend_by_name(backend)
    params = params_of(m)
    with pytest.raises(TypeError, match="decode_step: params must be a Seq2SeqParams"):
        m.decode_step(asarray([[0]]), None, (), num_heads=HEADS)
    with pytest.raises(TypeError, match="decode_step: cache must be a KVCache"):
        m.decode_step(asarray([[0]]), (), params, num_heads=HEADS)
    with pytest.raises(
        ValueError,
        match=r"greedy_decode: src must have exactly 2 axes \(batch, seq\); got src \(2,\)",
    ):
        m.greedy_decode(asarray([1, 2]), params, num_heads=HEADS, bos=0, eos=1, max_len=3)
