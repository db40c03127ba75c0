"""The encoder–decoder: NumPy == PyTorch, cached decoding == full recomputation, causality,
padding, attention weights, bad input."""

import numpy as np
import pytest
import qkv.numpy as qn

from conftest import to_numpy

SRC_VOCAB, TGT_VOCAB, D_MODEL, D_FF, LAYERS, HEADS = 11, 9, 8, 16, 2, 2
SRC = np.array([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])  # (batch, seq_src); row 1 padded
SRC_LENGTHS = np.array([5, 3])
TGT = np.array([[0, 3, 4, 5, 6, 7], [0, 8, 2, 2, 1, 3]])  # (batch, seq_tgt)


def _params(m, dtype=None, seed=0):
    return m.init_seq2seq_params(
        SRC_VOCAB, TGT_VOCAB, d_model=D_MODEL, d_ff=D_FF, num_layers=LAYERS, seed=seed, dtype=dtype
    )


@pytest.fixture
def torch_pair():
    torch = pytest.importorskip("torch")
    import qkv.torch as qt

    return torch, qt


def _backend(name):
    if name == "numpy":
        return qn, np.asarray
    torch = pytest.importorskip("torch")
    import qkv.torch as qt

    return qt, torch.as_tensor


BACKENDS = ["numpy", "torch"]


def test_init_is_the_same_in_both_backends(torch_pair):
    torch, qt = torch_pair
    p_np, p_t = _params(qn), _params(qt, dtype=torch.float64)
    leaves_np = [x for x in _leaves(p_np)]
    leaves_t = [to_numpy(x) for x in _leaves(p_t)]
    assert len(leaves_np) == len(leaves_t) == 8 + LAYERS * (16 + 26)
    for a, b in zip(leaves_np, leaves_t, strict=True):
        np.testing.assert_array_equal(a, b)


def _leaves(tree):
    if isinstance(tree, tuple):
        for item in tree:
            yield from _leaves(item)
    elif tree is not None:
        yield tree


def test_init_seed_changes_weights():
    assert not np.array_equal(_params(qn, seed=0).w_out, _params(qn, seed=1).w_out)
    np.testing.assert_array_equal(_params(qn, seed=3).w_out, _params(qn, seed=3).w_out)


def test_logits_numpy_equal_torch_float64(torch_pair):
    torch, qt = torch_pair
    expected = qn.seq2seq_logits(SRC, TGT, _params(qn), num_heads=HEADS, src_lengths=SRC_LENGTHS)
    got = qt.seq2seq_logits(
        torch.as_tensor(SRC),
        torch.as_tensor(TGT),
        _params(qt, dtype=torch.float64),
        num_heads=HEADS,
        src_lengths=torch.as_tensor(SRC_LENGTHS),
    )
    assert expected.shape == (2, 6, TGT_VOCAB)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-10, atol=1e-10)


def test_logits_numpy_equal_torch_float32(torch_pair):
    torch, qt = torch_pair
    expected = qn.seq2seq_logits(SRC, TGT, _params(qn, np.float32), num_heads=HEADS)
    got = qt.seq2seq_logits(
        torch.as_tensor(SRC), torch.as_tensor(TGT), _params(qt, torch.float32), num_heads=HEADS
    )
    assert expected.dtype == np.float32 and got.dtype == torch.float32
    torch.testing.assert_close(got, torch.as_tensor(expected))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("chunks", [[1, 1, 1, 1, 1, 1], [2, 1, 3], [6], [1, 4, 1]])
def test_cached_steps_equal_full_decode(backend, chunks):
    m, asarray = _backend(backend)
    params = _params(m) if backend == "numpy" else _params(m, dtype=asarray(0.0).double().dtype)
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
    m, asarray = _backend(backend)
    params = _params(m) if backend == "numpy" else _params(m, dtype=asarray(0.0).double().dtype)
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
    tokens_np, logits_np = qn.greedy_decode(SRC, _params(qn, np.float32), **kwargs)
    tokens_t, logits_t = qt.greedy_decode(
        torch.as_tensor(SRC), _params(qt, torch.float32), **kwargs
    )
    np.testing.assert_array_equal(tokens_np, to_numpy(tokens_t))
    torch.testing.assert_close(logits_t, torch.as_tensor(logits_np))


def test_greedy_stops_at_eos_and_pads_with_eos():
    params = _params(qn)
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


def test_decoder_is_causal():
    params = _params(qn)
    memory, _ = qn.encode(SRC, params, num_heads=HEADS)
    changed = TGT.copy()
    changed[:, 4:] = 2  # change the last two target tokens
    before = qn.decode(TGT, memory, params, num_heads=HEADS)
    after = qn.decode(changed, memory, params, num_heads=HEADS)
    np.testing.assert_allclose(after[:, :4], before[:, :4], rtol=1e-12, atol=1e-12)
    assert not np.allclose(after[:, 4:], before[:, 4:])


def test_source_padding_is_invisible():
    params = _params(qn)
    short = SRC[1:, :3]  # the padded row without its padding
    logits = qn.seq2seq_logits(SRC, TGT, params, num_heads=HEADS, src_lengths=SRC_LENGTHS)
    alone = qn.seq2seq_logits(short, TGT[1:], params, num_heads=HEADS)
    np.testing.assert_allclose(logits[1:], alone, rtol=1e-10, atol=1e-10)
    other_pad = SRC.copy()
    other_pad[1, 3:] = 9  # different tokens in the padding change nothing
    again = qn.seq2seq_logits(other_pad, TGT, params, num_heads=HEADS, src_lengths=SRC_LENGTHS)
    np.testing.assert_allclose(again, logits, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_attention_weights_shapes_and_rows(backend):
    m, asarray = _backend(backend)
    params = _params(m) if backend == "numpy" else _params(m, dtype=asarray(0.0).double().dtype)
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


def test_gradients_reach_every_parameter(torch_pair):
    torch, qt = torch_pair
    params = _params(qt, dtype=torch.float64)
    leaves = [x.requires_grad_() for x in _leaves(params)]
    logits = qt.seq2seq_logits(
        torch.as_tensor(SRC), torch.as_tensor(TGT[:, :-1]), params, num_heads=HEADS
    )
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, TGT_VOCAB), torch.as_tensor(TGT[:, 1:]).reshape(-1)
    )
    loss.backward()
    assert all(x.grad is not None and bool(x.grad.abs().sum() > 0) for x in leaves)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input(backend):
    m, asarray = _backend(backend)
    params = _params(m)
    with pytest.raises(ValueError, match=r"encode: src token ids must lie in \[0, 11\)"):
        m.encode(asarray([[1, 11]]), params, num_heads=HEADS)
    with pytest.raises(TypeError, match="decode_step: params must be a Seq2SeqParams"):
        m.decode_step(asarray([[0]]), None, (), num_heads=HEADS)
    with pytest.raises(TypeError, match="decode_step: cache must be a KVCache"):
        m.decode_step(asarray([[0]]), (), params, num_heads=HEADS)
    with pytest.raises(
        ValueError,
        match=r"greedy_decode: src must have exactly 2 axes \(batch, seq\); got src \(2,\)",
    ):
        m.greedy_decode(asarray([1, 2]), params, num_heads=HEADS, bos=0, eos=1, max_len=3)
