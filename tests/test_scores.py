"""Score functions: exact small cases, PyTorch's own references, NumPy <-> PyTorch, gradients,
properties and bad input."""

import math
import warnings

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
qt = lazy_import("qkv.torch")


def _inputs(rng, batch=(2,), seq_q=3, seq_k=4, d_q=5, d_k=5, d_hidden=6, dtype=np.float64):
    """query, key and the parameters of additive and bilinear scores."""

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)

    return {
        "query": normal(*batch, seq_q, d_q),
        "key": normal(*batch, seq_k, d_k),
        "w_q": normal(d_q, d_hidden),
        "w_k": normal(d_k, d_hidden),
        "v": normal(d_hidden),
        "weight": normal(d_q, d_k),
    }


def _call(module, name, x, **kwargs):
    args = {
        "dot_product_scores": ("query", "key"),
        "scaled_dot_product_scores": ("query", "key"),
        "cosine_scores": ("query", "key"),
        "additive_scores": ("query", "key", "w_q", "w_k", "v"),
        "bilinear_scores": ("query", "key", "weight"),
    }[name]
    return getattr(module, name)(*(x[a] for a in args), **kwargs)


NAMES = [
    "dot_product_scores",
    "scaled_dot_product_scores",
    "cosine_scores",
    "additive_scores",
    "bilinear_scores",
]


# --- exact small cases ------------------------------------------------------------------------


def test_exact_small_cases():
    query = np.array([[1.0, 2.0]])
    key = np.array([[3.0, 4.0], [1.0, 0.0]])
    np.testing.assert_array_equal(qn.dot_product_scores(query, key), [[11.0, 1.0]])
    np.testing.assert_array_equal(
        qn.scaled_dot_product_scores(query, key, scale=2.0), [[22.0, 2.0]]
    )
    np.testing.assert_array_equal(qn.bilinear_scores(query, key, np.eye(2)), [[11.0, 1.0]])
    np.testing.assert_allclose(
        qn.cosine_scores(query, key), [[11 / (5 * math.sqrt(5)), 1 / math.sqrt(5)]], rtol=1e-15
    )
    w = np.eye(2)
    np.testing.assert_allclose(
        qn.additive_scores(query, key, w, w, np.array([1.0, 0.0])),
        [[math.tanh(4.0), math.tanh(2.0)]],
        rtol=1e-15,
    )


# --- against PyTorch's own functions ----------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_against_pytorch_references(device, rng):
    x = to_torch(_inputs(rng, d_k=5), device)
    query, key = x["query"], x["key"]
    tol = {"rtol": 1e-12, "atol": 1e-12}
    # Dot product: torch.matmul.
    torch.testing.assert_close(
        qt.dot_product_scores(query, key), torch.matmul(query, key.mT), **tol
    )
    # Scaled: the softmax of our scores is SDPA's attention; its output matches SDPA's.
    weights = torch.softmax(qt.scaled_dot_product_scores(query, key), dim=-1)
    value = torch.eye(4, dtype=torch.float64, device=device).expand(2, 4, 4)
    torch.testing.assert_close(weights, F.scaled_dot_product_attention(query, key, value), **tol)
    # Cosine: F.cosine_similarity on every (query, key) pair.
    expected = F.cosine_similarity(query[..., :, None, :], key[..., None, :, :], dim=-1)
    torch.testing.assert_close(qt.cosine_scores(query, key), expected, **tol)
    # Bilinear: F.bilinear on every pair, with its weight (out_features=1, d_q, d_k).
    q_pairs = query[..., :, None, :].expand(2, 3, 4, 5)
    k_pairs = key[..., None, :, :].expand(2, 3, 4, 5)
    expected = F.bilinear(q_pairs, k_pairs, x["weight"][None])[..., 0]
    torch.testing.assert_close(qt.bilinear_scores(query, key, x["weight"]), expected, **tol)
    # Additive: two nn.Linear layers without bias, tanh, and a third Linear for v.
    expected = F.linear(
        torch.tanh(F.linear(q_pairs, x["w_q"].T) + F.linear(k_pairs, x["w_k"].T)), x["v"][None]
    )[..., 0]
    torch.testing.assert_close(
        qt.additive_scores(query, key, x["w_q"], x["w_k"], x["v"]), expected, **tol
    )


def test_additive_against_explicit_double_loop(rng):
    x = _inputs(rng, batch=(), d_q=3, d_k=4, d_hidden=5)
    scores = qn.additive_scores(x["query"], x["key"], x["w_q"], x["w_k"], x["v"])
    expected = np.empty((3, 4))
    for i in range(3):
        for j in range(4):
            expected[i, j] = x["v"] @ np.tanh(x["query"][i] @ x["w_q"] + x["key"][j] @ x["w_k"])
    np.testing.assert_allclose(scores, expected, rtol=1e-13, atol=1e-14)


# --- NumPy <-> PyTorch ------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_numpy_equals_torch(name, dtype, device, rng):
    d_k = 5 if name in NAMES[:3] else 7
    x = _inputs(rng, batch=(2, 3), d_k=d_k, dtype=dtype)
    expected = _call(qn, name, x)
    actual = _call(qt, name, to_torch(x, device))
    assert actual.shape == (2, 3, 3, 4) and actual.device.type == device
    assert actual.dtype == to_torch(expected).dtype
    assert_close(actual, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", NAMES)
def test_low_precision_keeps_dtype(name, dtype, device, rng):
    dtype = getattr(torch, dtype)
    x = to_torch(_inputs(rng, batch=(2,)), device, dtype)
    scores = _call(qt, name, x)
    assert scores.dtype == dtype and scores.device.type == device
    reference = _call(qt, name, {k: t.double() for k, t in x.items()})
    # tolerance from the float64 reference: a few units of the dtype's rounding error
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(scores.double(), reference, rtol=8 * eps, atol=8 * eps)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name, rng):
    x = {
        k: t.requires_grad_()
        for k, t in to_torch(
            _inputs(rng, batch=(), seq_q=2, seq_k=3, d_q=3, d_k=3, d_hidden=2)
        ).items()
    }
    keys = list(x)

    def f(*tensors):
        return _call(qt, name, dict(zip(keys, tensors, strict=True)))

    assert torch.autograd.gradcheck(f, tuple(x.values()))


# --- properties -------------------------------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)


@given(seeds, st.integers(1, 6))
def test_scaled_is_dot_over_sqrt_d_k(seed, d_k):
    x = _inputs(np.random.default_rng(seed), d_q=d_k, d_k=d_k)
    np.testing.assert_allclose(
        qn.scaled_dot_product_scores(x["query"], x["key"]),
        qn.dot_product_scores(x["query"], x["key"]) / math.sqrt(d_k),
        rtol=1e-12,
        atol=1e-12,
    )


@given(seeds, st.floats(0.01, 100), st.floats(0.01, 100))
def test_cosine_is_bounded_and_ignores_lengths(seed, a, b):
    x = _inputs(np.random.default_rng(seed))
    scores = qn.cosine_scores(x["query"], x["key"])
    assert (np.abs(scores) <= 1 + 1e-12).all()
    np.testing.assert_allclose(
        qn.cosine_scores(a * x["query"], b * x["key"]), scores, rtol=1e-10, atol=1e-12
    )


@given(seeds)
def test_bilinear_with_identity_is_dot_product(seed):
    x = _inputs(np.random.default_rng(seed))
    np.testing.assert_allclose(
        qn.bilinear_scores(x["query"], x["key"], np.eye(5)),
        qn.dot_product_scores(x["query"], x["key"]),
        rtol=1e-12,
        atol=1e-12,
    )


@given(seeds)
def test_dot_product_of_a_sequence_with_itself_is_symmetric(seed):
    x = _inputs(np.random.default_rng(seed))
    scores = qn.dot_product_scores(x["query"], x["query"])
    np.testing.assert_allclose(scores, np.swapaxes(scores, -1, -2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_cosine_of_a_zero_vector_is_zero_without_warning(device):
    query = np.array([[0.0, 0.0], [1.0, 0.0]])
    key = np.array([[0.0, 0.0], [2.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            scores = qn.cosine_scores(query, key)
        scores_t = qt.cosine_scores(*to_torch((query, key), device))
    np.testing.assert_array_equal(scores, [[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(to_numpy(scores_t), [[0.0, 0.0], [0.0, 1.0]])


# --- bad input --------------------------------------------------------------------------------

Q = np.zeros((2, 3, 4))
K = np.zeros((2, 5, 4))
BAD = [
    (
        "dot_product_scores",
        (np.zeros(4), K),
        ValueError,
        "dot_product_scores: query must have at least 2 axes (*batch, seq_q, d_k); got query (4,)",
    ),
    (
        "dot_product_scores",
        (Q, np.zeros((2, 5, 3))),
        ValueError,
        "dot_product_scores: query and key must share d_k (last axis); "
        "got query (2, 3, 4), key (2, 5, 3)",
    ),
    (
        "scaled_dot_product_scores",
        (Q, K.astype(np.int64)),
        TypeError,
        "scaled_dot_product_scores: query, key must have a floating dtype; got key int64 (2, 5, 4)",
    ),
    (
        "cosine_scores",
        (Q, np.zeros((3, 5, 4))),
        ValueError,
        "cosine_scores: the batch axes (all but the last two) of query, key must broadcast; "
        "got query (2, 3, 4), key (3, 5, 4)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((3, 6)), np.zeros((4, 6)), np.zeros(6)),
        ValueError,
        "additive_scores: query and w_q must share d_q; got query (2, 3, 4), w_q (3, 6)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((4, 6)), np.zeros((3, 6)), np.zeros(6)),
        ValueError,
        "additive_scores: key and w_k must share d_k; got key (2, 5, 4), w_k (3, 6)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((4, 6)), np.zeros((4, 5)), np.zeros(6)),
        ValueError,
        "additive_scores: w_q and w_k must share d_hidden; got w_q (4, 6), w_k (4, 5)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((4, 6)), np.zeros((4, 6)), np.zeros(5)),
        ValueError,
        "additive_scores: w_q and v must share d_hidden; got w_q (4, 6), v (5,)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((4, 6)), np.zeros((4, 6)), np.zeros((6, 1))),
        ValueError,
        "additive_scores: v must have exactly 1 axis (d_hidden,); got v (6, 1)",
    ),
    (
        "additive_scores",
        (Q, K, np.zeros((4, 6), dtype=np.int64), np.zeros((4, 6)), np.zeros(6)),
        TypeError,
        "additive_scores: w_q, w_k, v must have a floating dtype; got w_q int64 (4, 6)",
    ),
    (
        "bilinear_scores",
        (Q, K, np.zeros((4, 3))),
        ValueError,
        "bilinear_scores: key and weight must share d_k; got key (2, 5, 4), weight (4, 3)",
    ),
    (
        "bilinear_scores",
        (Q, K, np.zeros((3, 4))),
        ValueError,
        "bilinear_scores: query and weight must share d_q; got query (2, 3, 4), weight (3, 4)",
    ),
    (
        "bilinear_scores",
        (Q, K, np.zeros(4)),
        ValueError,
        "bilinear_scores: weight must have exactly 2 axes (d_q, d_k); got weight (4,)",
    ),
    (
        "bilinear_scores",
        (Q, K, np.zeros((4, 4), dtype=np.float32)),
        TypeError,
        "bilinear_scores: query, weight must share one dtype; got query float64, weight float32",
    ),
]


@pytest.mark.parametrize(
    "name, args, error, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_input_same_message_in_both_backends(name, args, error, message):
    with pytest.raises(error) as np_info:
        getattr(qn, name)(*args)
    with pytest.raises(error) as torch_info:
        getattr(qt, name)(*to_torch(args))
    assert str(np_info.value) == message
    assert str(torch_info.value) == message


def test_bad_scalar_arguments(backend):
    module = backend.qkv
    query, key = backend.asarray((Q, K))
    with pytest.raises(ValueError) as info:
        module.cosine_scores(query, key, eps=0.0)
    assert str(info.value) == "cosine_scores: eps must be > 0; got eps 0.0"
    with pytest.raises(TypeError) as info:
        module.scaled_dot_product_scores(query, key, scale=[2.0])
    assert str(info.value) == (
        "scaled_dot_product_scores: scale must be a real number or None; got scale [2.0]"
    )


@pytest.mark.parametrize("name", NAMES)
def test_mixed_backends_are_rejected(name, rng):
    x = _inputs(rng, d_k=5)
    for mixed_name in ("key", "w_q", "weight"):
        mixed = dict(x)
        mixed[mixed_name] = torch.from_numpy(x[mixed_name])
        if (
            mixed_name == "key"
            or (mixed_name == "w_q" and name == "additive_scores")
            or (mixed_name == "weight" and name == "bilinear_scores")
        ):
            with pytest.raises(TypeError, match=r"\(mixed backends\)"):
                _call(qn, name, mixed)
            with pytest.raises(TypeError, match=r"\(mixed backends\)"):
                _call(qt, name, mixed)
