"""Soft, hard and local attention: hard is the one-hot limit of soft, Gumbel-softmax samples and
tends to hard as tau -> 0, local equals global attention with a band mask in O(n * w) memory;
NumPy <-> PyTorch, gradients and bad input."""

import tracemalloc

import numpy as np
import pytest
import qkv.numpy as qn
import qkv.numpy.variants as nv
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, HAS_TORCH, assert_close, lazy_import, random_qkv, to_numpy, to_torch

torch = lazy_import("torch")
qt = lazy_import("qkv.torch")
tv = lazy_import("qkv.torch.variants")


def _mask(rng, seq_q, seq_k, fully_masked_row=True):
    mask = rng.random((seq_q, seq_k)) > 0.4
    mask[:, -1] = True
    if fully_masked_row:
        mask[0] = False
    return mask


# --- hard attention ---------------------------------------------------------------------------


def test_hard_attention_picks_the_first_best_key():
    query = np.array([[1.0, 0.0], [0.0, 1.0]])
    key = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # query 1 ties keys 1 and 2
    value = np.array([[10.0], [20.0], [30.0]])
    for module, convert in ((qn, lambda a: a), (qt, to_torch)):
        out, weights = module.hard_attention(*map(convert, (query, key, value)))
        np.testing.assert_array_equal(to_numpy(weights), [[1, 0, 0], [0, 1, 0]])
        np.testing.assert_array_equal(to_numpy(out), [[10], [20]])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hard_attention_numpy_equals_torch_and_respects_the_mask(dtype, device, rng):
    query, key, value = random_qkv(rng, batch=(2, 3), seq_q=4, seq_k=5, dtype=dtype)
    mask = _mask(rng, 4, 5)
    out, weights = qn.hard_attention(query, key, value, mask)
    out_t, weights_t = qt.hard_attention(*to_torch((query, key, value, mask), device))
    assert_close(out_t, out)
    np.testing.assert_array_equal(to_numpy(weights_t), weights)
    assert weights.dtype == dtype
    # one-hot on allowed rows, at an allowed key, at the largest allowed score
    scores = np.where(mask, query @ key.swapaxes(-1, -2), -np.inf)
    np.testing.assert_array_equal(weights[..., 1:, :].sum(-1), 1.0)
    np.testing.assert_array_equal(weights.argmax(-1)[..., 1:], scores.argmax(-1)[..., 1:])
    assert not weights[..., ~mask].any()
    # the fully masked row: zero weights, zero output
    np.testing.assert_array_equal(weights[..., 0, :], 0.0)
    np.testing.assert_array_equal(out[..., 0, :], 0.0)


def test_hard_is_the_limit_of_soft_attention(rng):
    query, key, value = random_qkv(rng, batch=(2,), seq_q=3, seq_k=6)
    mask = _mask(rng, 3, 6, fully_masked_row=False)
    out, weights = qn.hard_attention(query, key, value, mask)
    for scale, tol in [(1e2, 1e-2), (1e4, 1e-12)]:
        soft_out, soft_weights = qn.scaled_dot_product_attention(
            query, key, value, mask, scale=scale
        )
        np.testing.assert_allclose(soft_weights, weights, atol=tol)
        np.testing.assert_allclose(soft_out, out, atol=tol * 10)


def test_hard_attention_has_no_gradient_through_the_scores(rng):
    query, key, value = [t.requires_grad_() for t in to_torch(random_qkv(rng))]
    out, _ = qt.hard_attention(query, key, value)
    out.sum().backward()
    assert query.grad is None or not query.grad.any()
    assert value.grad.abs().sum() > 0


# --- Gumbel-softmax ---------------------------------------------------------------------------


def _fixed_noise(monkeypatch, noise):
    """Make both backends use the same Gumbel noise."""
    monkeypatch.setattr(nv, "_gumbel_noise", lambda scores, generator: noise.astype(scores.dtype))
    if not HAS_TORCH:
        return
    monkeypatch.setattr(
        tv, "_gumbel_noise", lambda scores, generator: to_torch(noise, scores.device, scores.dtype)
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_gumbel_numpy_equals_torch_with_the_same_noise(tau, hard, device, rng, monkeypatch):
    query, key, value = random_qkv(rng, batch=(2,), seq_q=3, seq_k=4)
    mask = _mask(rng, 3, 4)
    _fixed_noise(monkeypatch, -np.log(rng.exponential(size=(2, 3, 4))))
    out, weights = qn.gumbel_softmax_attention(query, key, value, mask, tau=tau, hard=hard)
    out_t, weights_t = qt.gumbel_softmax_attention(
        *to_torch((query, key, value, mask), device), tau=tau, hard=hard
    )
    assert_close(out_t, out)
    assert_close(weights_t, weights)
    np.testing.assert_allclose(weights.sum(-1)[:, 1:], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(weights[:, 0], 0.0)  # the fully masked row
    assert not weights[:, ~mask].any()


def test_gumbel_tends_to_hard_as_tau_goes_to_zero(rng, monkeypatch):
    query, key, value = random_qkv(rng, batch=(2,), seq_q=3, seq_k=5)
    noise = -np.log(rng.exponential(size=(2, 3, 5)))
    _fixed_noise(monkeypatch, noise)
    scores = query @ key.swapaxes(-1, -2) / np.sqrt(5)
    sampled = np.eye(5)[(scores + noise).argmax(-1)]  # one-hot of the perturbed argmax
    distances = []
    for tau in [10.0, 1.0, 0.1, 1e-3]:
        _, weights = qn.gumbel_softmax_attention(query, key, value, tau=tau)
        distances.append(np.abs(weights - sampled).max())
    assert distances == sorted(distances, reverse=True)
    assert distances[-1] < 1e-6
    _, weights = qn.gumbel_softmax_attention(query, key, value, hard=True)
    np.testing.assert_array_equal(weights, sampled)


def test_gumbel_argmax_samples_the_softmax():
    """Gumbel-max trick: argmax(scores + g) is distributed as softmax(scores)."""
    n = 20000
    key = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    query = np.tile(np.array([[2.0, 0.5]]), (n, 1))
    rng = np.random.default_rng(0)
    _, weights = qn.gumbel_softmax_attention(query, key, np.eye(3), hard=True, generator=rng)
    expected = qn.softmax(query[:1] @ key.T / np.sqrt(2))[0]
    np.testing.assert_allclose(weights.mean(0), expected, atol=0.015)


@pytest.mark.parametrize("device", DEVICES)
def test_gumbel_generator_makes_it_reproducible(device, rng):
    query, key, value = random_qkv(rng)
    a = qn.gumbel_softmax_attention(query, key, value, generator=np.random.default_rng(5))[1]
    b = qn.gumbel_softmax_attention(query, key, value, generator=np.random.default_rng(5))[1]
    c = qn.gumbel_softmax_attention(query, key, value, generator=np.random.default_rng(6))[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    tensors = to_torch((query, key, value), device)
    a_t = qt.gumbel_softmax_attention(*tensors, generator=torch.Generator(device).manual_seed(5))[1]
    b_t = qt.gumbel_softmax_attention(*tensors, generator=torch.Generator(device).manual_seed(5))[1]
    torch.testing.assert_close(a_t, b_t, rtol=0, atol=0)
    assert qn.gumbel_softmax_attention(query, key, value)[1].shape == (2, 3, 4)  # no generator
    assert qt.gumbel_softmax_attention(*tensors)[1].shape == (2, 3, 4)


def test_gumbel_hard_straight_through_gradient(rng):
    query, key, value = [t.requires_grad_() for t in to_torch(random_qkv(rng))]
    gen = torch.Generator().manual_seed(0)
    out, weights = qt.gumbel_softmax_attention(query, key, value, hard=True, generator=gen)
    assert set(torch.unique(weights.detach()).tolist()) <= {0.0, 1.0}
    (out * torch.randn_like(out)).sum().backward()
    assert query.grad.abs().sum() > 0  # unlike hard_attention, the scores get a gradient


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["hard_attention", "gumbel_softmax_attention", "local_attention"])
def test_low_precision_smoke_on_cpu(name, dtype, rng):
    dtype = getattr(torch, dtype)
    tensors = to_torch(random_qkv(rng), dtype=dtype)
    kwargs = {"window": 1} if name == "local_attention" else {}
    out, weights = getattr(qt, name)(*tensors, **kwargs)
    assert out.dtype == dtype and weights.dtype == dtype and torch.isfinite(out).all()


# --- local attention --------------------------------------------------------------------------

local_cases = st.fixed_dictionaries(
    {
        "batch": st.lists(st.integers(1, 2), max_size=2),
        "seq_q": st.integers(1, 7),
        "seq_k": st.integers(1, 7),
        "window": st.integers(0, 4),
        "seed": st.integers(0, 2**16),
    }
)


@given(case=local_cases)
def test_local_equals_global_attention_with_local_mask(case):
    rng = np.random.default_rng(case["seed"])
    query, key, value = random_qkv(
        rng, batch=case["batch"], seq_q=case["seq_q"], seq_k=case["seq_k"], d_k=3, d_v=2
    )
    window = case["window"]
    out, band = qn.local_attention(query, key, value, window=window)
    mask = qn.local_mask(case["seq_q"], case["seq_k"], window=window)
    expected_out, expected_weights = qn.scaled_dot_product_attention(query, key, value, mask)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    # scatter the band back into a dense (seq_q, seq_k) matrix
    assert band.shape == (*case["batch"], case["seq_q"], 2 * window + 1)
    dense = np.zeros_like(expected_weights)
    for i in range(case["seq_q"]):
        for t in range(2 * window + 1):
            j = i - window + t
            if 0 <= j < case["seq_k"]:
                dense[..., i, j] = band[..., i, t]
            else:
                assert not band[..., i, t].any()
    np.testing.assert_allclose(dense, expected_weights, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("seq_q", "seq_k", "window"), [(6, 6, 1), (3, 7, 2), (7, 3, 0), (8, 2, 1)])
def test_local_numpy_equals_torch(seq_q, seq_k, window, dtype, device, rng):
    query, key, value = random_qkv(rng, batch=(2, 1), seq_q=seq_q, seq_k=seq_k, dtype=dtype)
    key, value = np.repeat(key, 3, axis=1), np.repeat(value, 3, axis=1)  # batch (2, 1) x (2, 3)
    out, weights = qn.local_attention(query, key, value, window=window, scale=0.7)
    out_t, weights_t = qt.local_attention(
        *to_torch((query, key, value), device), window=window, scale=0.7
    )
    assert out.shape == (2, 3, seq_q, 6)
    assert_close(out_t, out)
    assert_close(weights_t, weights)


def test_local_attention_uses_o_n_w_memory():
    """seq 4096, window 2: the dense scores alone would take 4096^2 * 8 B = 128 MiB."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 8))
    tracemalloc.start()
    out, weights = qn.local_attention(x, x, x, window=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert weights.shape == (4096, 5)
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, rng):
    tensors = [
        t.requires_grad_()
        for t in to_torch(random_qkv(rng, batch=(1,), seq_q=4, seq_k=3, d_k=2, d_v=2), device)
    ]
    mask = to_torch(_mask(rng, 4, 3), device)
    assert torch.autograd.gradcheck(lambda q, k, v: qt.local_attention(q, k, v, window=1), tensors)
    assert torch.autograd.gradcheck(
        lambda q, k, v: qt.gumbel_softmax_attention(
            q, k, v, mask, tau=0.7, generator=torch.Generator(device).manual_seed(0)
        )[0],
        tensors,
    )


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "kind", "message"),
    [
        (
            "local_attention",
            {"window": -1},
            ValueError,
            "local_attention: window must be >= 1; got window -1",
        ),
        (
            "local_attention",
            {"window": 1.5},
            TypeError,
            "local_attention: window must be an integer; got window 1.5",
        ),
        (
            "gumbel_softmax_attention",
            {"tau": 0.0},
            ValueError,
            "gumbel_softmax_attention: tau must be > 0; got tau 0.0",
        ),
        (
            "gumbel_softmax_attention",
            {"generator": 0},
            TypeError,
            "gumbel_softmax_attention: generator must be None or a random generator of this "
            "backend (numpy.random.Generator, torch.Generator); got generator int",
        ),
        (
            "hard_attention",
            {"scale": "a"},
            TypeError,
            "hard_attention: scale must be a real number or None; got scale 'a'",
        ),
    ],
)
def test_bad_arguments_messages_are_identical(name, kwargs, kind, message, rng):
    tensors = random_qkv(rng)
    if name == "local_attention" and kwargs["window"] == -1:
        message = message.replace(">= 1", ">= 0")
    for module, convert in ((qn, lambda a: a), (qt, to_torch)):
        with pytest.raises(kind) as info:
            getattr(module, name)(*map(convert, tensors), **kwargs)
        assert str(info.value) == message


@pytest.mark.parametrize("name", ["hard_attention", "gumbel_softmax_attention", "local_attention"])
def test_bad_shapes_messages_are_identical(name, rng):
    query, key, value = random_qkv(rng)
    kwargs = {"window": 1} if name == "local_attention" else {}
    for args in [
        (query, key[..., :2], value),
        (query, key, value[:, :2]),
        (query.astype(np.int64), key, value),
        (query[0, 0], key, value),
    ]:
        messages = []
        for module, convert in ((qn, lambda a: a), (qt, to_torch)):
            with pytest.raises((ValueError, TypeError)) as info:
                getattr(module, name)(*map(convert, args), **kwargs)
            messages.append(str(info.value))
        assert messages[0] == messages[1] and messages[0].startswith(f"{name}: ")
    if name != "local_attention":
        for module, convert in ((qn, lambda a: a), (qt, to_torch)):
            with pytest.raises(TypeError, match=f"{name}: mask must be boolean"):
                getattr(module, name)(*map(convert, (query, key, value, np.ones((3, 4)))))
