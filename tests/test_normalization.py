"""LayerNorm and BatchNorm: against torch.nn.functional, NumPy <-> PyTorch, gradients, the
batch-(in)dependence that decides which suits text, and bad input."""

import numpy as np
import pytest
import qkv.numpy as qn
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
qt = lazy_import("qkv.torch")

SHAPES = [(5,), (3, 5), (2, 3, 5), (2, 2, 3, 5)]


def _affine(rng, d_model, kind):
    if kind == "none":
        return None, None
    return rng.standard_normal(d_model) + 1.0, rng.standard_normal(d_model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("affine", ["random", "none"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_layer_norm_matches_torch(shape, affine, dtype, device, rng):
    dtype = getattr(torch, dtype)
    x = rng.standard_normal(shape) * 3 + 1
    weight, bias = _affine(rng, shape[-1], affine)
    x_t, weight_t, bias_t = to_torch((x, weight, bias), device, dtype)
    expected = F.layer_norm(x_t, (shape[-1],), weight_t, bias_t, eps=1e-5)
    out_t = qt.layer_norm(x_t, weight_t, bias_t)
    assert out_t.dtype == dtype and out_t.device.type == device
    assert_close(out_t, expected)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    out = qn.layer_norm(*[None if a is None else a.astype(np_dtype) for a in (x, weight, bias)])
    assert out.dtype == np_dtype
    assert_close(out, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("affine", ["random", "none"])
@pytest.mark.parametrize("shape", SHAPES[1:], ids=str)
def test_batch_norm_matches_torch_training_mode(shape, affine, dtype, device, rng):
    dtype = getattr(torch, dtype)
    x = rng.standard_normal(shape) * 3 + 1
    weight, bias = _affine(rng, shape[-1], affine)
    x_t, weight_t, bias_t = to_torch((x, weight, bias), device, dtype)
    flat = x_t.reshape(-1, shape[-1])  # (tokens, d_model): features are BatchNorm's channels
    expected = F.batch_norm(flat, None, None, weight_t, bias_t, training=True, eps=1e-5)
    expected = expected.reshape(shape)
    assert_close(qt.batch_norm(x_t, weight_t, bias_t), expected)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    out = qn.batch_norm(*[None if a is None else a.astype(np_dtype) for a in (x, weight, bias)])
    assert_close(out, expected)


def test_batch_norm_equals_nn_batchnorm1d_on_channels_first(rng):
    """(batch, seq, d_model) through nn.BatchNorm1d takes (batch, d_model, seq)."""
    x = to_torch(rng.standard_normal((3, 4, 5)))
    bn = torch.nn.BatchNorm1d(5, dtype=torch.float64).train()
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
    expected = bn(x.transpose(1, 2)).transpose(1, 2)
    assert_close(qt.batch_norm(x, bn.weight, bn.bias), expected)


@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_eps_is_used(eps, rng):
    x = rng.standard_normal((4, 3))
    expected = F.layer_norm(to_torch(x), (3,), eps=eps)
    assert_close(qn.layer_norm(x, None, None, eps=eps), expected)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["layer_norm", "batch_norm"])
def test_low_precision_smoke_on_cpu(name, dtype, rng):
    dtype = getattr(torch, dtype)
    x = rng.standard_normal((3, 4, 8)) * 100
    weight, bias = _affine(rng, 8, "random")
    out = getattr(qt, name)(*to_torch((x, weight, bias), dtype=dtype))
    assert out.dtype == dtype and torch.isfinite(out).all()
    expected = getattr(qn, name)(x, weight, bias)
    # tolerance from the float64 reference: a few units of the dtype's rounding error
    eps = torch.finfo(dtype).eps
    np.testing.assert_allclose(
        to_numpy(out).astype(np.float64), expected, rtol=8 * eps, atol=8 * eps
    )


def test_float16_numpy_keeps_dtype(rng):
    x = (rng.standard_normal((3, 4)) * 100).astype(np.float16)
    for name in ("layer_norm", "batch_norm"):
        out = getattr(qn, name)(x, None, None)
        assert out.dtype == np.float16 and np.isfinite(out).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["layer_norm", "batch_norm"])
def test_gradcheck(name, device, rng):
    tensors = to_torch(
        (rng.standard_normal((2, 3, 4)), rng.standard_normal(4), rng.standard_normal(4)), device
    )
    tensors = [t.requires_grad_() for t in tensors]
    assert torch.autograd.gradcheck(getattr(qt, name), tensors)


# --- the property that decides: does a sentence's output depend on the rest of the batch? ------

batches = st.fixed_dictionaries(
    {
        "batch": st.integers(2, 4),
        "seq": st.integers(1, 4),
        "d_model": st.integers(2, 5),
        "seed": st.integers(0, 2**16),
    }
)


@given(case=batches)
def test_layer_norm_of_a_sentence_ignores_the_rest_of_the_batch(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["batch"], case["seq"], case["d_model"]))
    weight, bias = _affine(rng, case["d_model"], "random")
    other = x.copy()
    other[1:] = rng.standard_normal(other[1:].shape) * 10 + 5  # change every other sentence
    for module, convert in ((qn, lambda a: a), (qt, to_torch)):
        alone = module.layer_norm(convert(x[:1]), convert(weight), convert(bias))
        full = module.layer_norm(*map(convert, (x, weight, bias)))
        np.testing.assert_allclose(to_numpy(full)[:1], to_numpy(alone), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            to_numpy(module.layer_norm(*map(convert, (other, weight, bias))))[:1],
            to_numpy(alone),
            rtol=1e-12,
            atol=1e-12,
        )


@given(case=batches)
def test_batch_norm_of_a_sentence_depends_on_the_rest_of_the_batch(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["batch"], case["seq"], case["d_model"]))
    other = x.copy()
    other[1:] = rng.standard_normal(other[1:].shape) * 10 + 5
    for module, convert in ((qn, lambda a: a), (qt, to_torch)):
        first = to_numpy(module.batch_norm(convert(x), None, None))[0]
        changed = to_numpy(module.batch_norm(convert(other), None, None))[0]
        assert np.abs(first - changed).max() > 1e-3


def test_padding_changes_batch_norm_but_not_layer_norm(rng):
    x = rng.standard_normal((2, 3, 4))
    padded = np.concatenate([x, np.zeros((2, 2, 4))], axis=1)  # two padding tokens per sentence
    np.testing.assert_allclose(
        qn.layer_norm(padded, None, None)[:, :3], qn.layer_norm(x, None, None), rtol=1e-12
    )
    assert not np.allclose(qn.batch_norm(padded, None, None)[:, :3], qn.batch_norm(x, None, None))


def test_statistics_axes(rng):
    x = rng.standard_normal((3, 4, 5)) * 4 + 2
    ln = qn.layer_norm(x, None, None)
    np.testing.assert_allclose(ln.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(ln.var(axis=-1), 1, rtol=1e-4)
    bn = qn.batch_norm(x, None, None)
    np.testing.assert_allclose(bn.mean(axis=(0, 1)), 0, atol=1e-12)
    np.testing.assert_allclose(bn.var(axis=(0, 1)), 1, rtol=1e-4)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm"])
def test_bad_input_messages_are_identical(name, rng):
    x = rng.standard_normal((2, 3, 4))
    cases = [
        (
            (x, np.ones(3), None),
            {},
            ValueError,
            f"{name}: x and weight must share d_model (last axis); got x (2, 3, 4), weight (3,)",
        ),
        ((x, None, np.ones((4, 1))), {}, ValueError, None),
        ((x, None, None), {"eps": 0.0}, ValueError, f"{name}: eps must be > 0; got eps 0.0"),
        ((x.astype(np.int64), None, None), {}, TypeError, None),
        ((x, np.ones(4, dtype=np.float32), None), {}, TypeError, None),
    ]
    if name == "batch_norm":
        cases.append(
            (
                (x[0, 0], None, None),
                {},
                ValueError,
                "batch_norm: x must have at least 2 axes (*batch, d_model); got x (4,)",
            )
        )
    for args, kwargs, kind, message in cases:
        messages = []
        for module, convert in ((qn, lambda a: a), (qt, to_torch)):
            with pytest.raises(kind) as info:
                getattr(module, name)(*map(convert, args), **kwargs)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        if message is not None:
            assert messages[0] == message
        assert messages[0].startswith(f"{name}: ")
    with pytest.raises(TypeError, match="mixed backends"):
        getattr(qt, name)(to_torch(x), np.ones(4), None)
