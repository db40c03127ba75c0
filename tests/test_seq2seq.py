"""The encoder–decoder: NumPy == PyTorch, causality, source padding, gradients, bad input.
Decoding token by token (KV cache, greedy) is tested in test_decoding.py."""

import numpy as np
import pytest
import qkv.numpy as qn
from tiny_seq2seq import (
    BACKENDS,
    HEADS,
    LAYERS,
    SRC,
    SRC_LENGTHS,
    TGT,
    TGT_VOCAB,
    backend_by_name,
    params_of,
)

from conftest import to_numpy


@pytest.fixture
def torch_pair():
    torch = pytest.importorskip("torch")
    import qkv.torch as qt

    return torch, qt


def test_init_is_the_same_in_both_backends(torch_pair):
    torch, qt = torch_pair
    p_np, p_t = params_of(qn), params_of(qt, dtype=torch.float64)
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
    assert not np.array_equal(params_of(qn, seed=0).w_out, params_of(qn, seed=1).w_out)
    np.testing.assert_array_equal(params_of(qn, seed=3).w_out, params_of(qn, seed=3).w_out)


def test_logits_numpy_equal_torch_float64(torch_pair):
    torch, qt = torch_pair
    expected = qn.seq2seq_logits(SRC, TGT, params_of(qn), num_heads=HEADS, src_lengths=SRC_LENGTHS)
    got = qt.seq2seq_logits(
        torch.as_tensor(SRC),
        torch.as_tensor(TGT),
        params_of(qt, dtype=torch.float64),
        num_heads=HEADS,
        src_lengths=torch.as_tensor(SRC_LENGTHS),
    )
    assert expected.shape == (2, 6, TGT_VOCAB)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-10, atol=1e-10)


def test_logits_numpy_equal_torch_float32(torch_pair):
    torch, qt = torch_pair
    expected = qn.seq2seq_logits(SRC, TGT, params_of(qn, np.float32), num_heads=HEADS)
    got = qt.seq2seq_logits(
        torch.as_tensor(SRC), torch.as_tensor(TGT), params_of(qt, torch.float32), num_heads=HEADS
    )
    assert expected.dtype == np.float32 and got.dtype == torch.float32
    torch.testing.assert_close(got, torch.as_tensor(expected))


def test_decoder_is_causal():
    params = params_of(qn)
    memory, _ = qn.encode(SRC, params, num_heads=HEADS)
    changed = TGT.copy()
    changed[:, 4:] = 2  # change the last two target tokens
    before = qn.decode(TGT, memory, params, num_heads=HEADS)
    after = qn.decode(changed, memory, params, num_heads=HEADS)
    np.testing.assert_allclose(after[:, :4], before[:, :4], rtol=1e-12, atol=1e-12)
    assert not np.allclose(after[:, 4:], before[:, 4:])


def test_source_padding_is_invisible():
    params = params_of(qn)
    short = SRC[1:, :3]  # the padded row without its padding
    logits = qn.seq2seq_logits(SRC, TGT, params, num_heads=HEADS, src_lengths=SRC_LENGTHS)
    alone = qn.seq2seq_logits(short, TGT[1:], params, num_heads=HEADS)
    np.testing.assert_allclose(logits[1:], alone, rtol=1e-10, atol=1e-10)
    other_pad = SRC.copy()
    other_pad[1, 3:] = 9  # different tokens in the padding change nothing
    again = qn.seq2seq_logits(other_pad, TGT, params, num_heads=HEADS, src_lengths=SRC_LENGTHS)
    np.testing.assert_allclose(again, logits, rtol=1e-12, atol=1e-12)


def test_gradients_reach_every_parameter(torch_pair):
    torch, qt = torch_pair
    params = params_of(qt, dtype=torch.float64)
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
    m, asarray = backend_by_name(backend)
    params = params_of(m)
    with pytest.raises(ValueError, match=r"encode: src token ids must lie in \[0, 11\)"):
        m.encode(asarray([[1, 11]]), params, num_heads=HEADS)
