"""Transformer layers: feed-forward, encoder and decoder layers against nn.TransformerEncoderLayer
and nn.TransformerDecoderLayer (eval mode, weights copied), NumPy <-> PyTorch, causality of the
decoder by gradient, gradients and bad input."""

import numpy as np
import pytest
import qkv.numpy as qn

from conftest import DEVICES, assert_close, lazy_import, to_numpy, to_torch

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
nn = lazy_import("torch.nn")
qt = lazy_import("qkv.torch")


def _mha_params(m):
    """qkv.torch.MultiHeadParams from an nn.MultiheadAttention (x @ W.T -> x @ w)."""
    w_q, w_k, w_v = m.in_proj_weight.detach().chunk(3)
    biases = (None,) * 4
    if m.in_proj_bias is not None:
        biases = (*m.in_proj_bias.detach().chunk(3), m.out_proj.bias.detach())
    return qt.MultiHeadParams(w_q.T, w_k.T, w_v.T, m.out_proj.weight.detach().T, *biases)


def _detach(t):
    return None if t is None else t.detach()


def _ffn_and_norms(layer, norms):
    parts = [
        layer.linear1.weight.detach().T,
        _detach(layer.linear1.bias),
        layer.linear2.weight.detach().T,
        _detach(layer.linear2.bias),
    ]
    for norm in norms:
        parts += [_detach(norm.weight), _detach(norm.bias)]
    return parts


def encoder_params(layer):
    return qt.EncoderLayerParams(
        _mha_params(layer.self_attn), *_ffn_and_norms(layer, (layer.norm1, layer.norm2))
    )


def decoder_params(layer):
    return qt.DecoderLayerParams(
        _mha_params(layer.self_attn),
        _mha_params(layer.multihead_attn),
        *_ffn_and_norms(layer, (layer.norm1, layer.norm2, layer.norm3)),
    )


def params_to_numpy(params):
    """Nested params (NamedTuples of tensors) to the same NamedTuples of the NumPy backend."""
    converted = []
    for p in params:
        if isinstance(p, qt.MultiHeadParams):
            converted.append(qn.MultiHeadParams(*map(to_numpy, p)))
        else:
            converted.append(to_numpy(p))
    encoder = isinstance(params, qt.EncoderLayerParams)
    kind = qn.EncoderLayerParams if encoder else qn.DecoderLayerParams
    return kind(*converted)


def _randomise(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1.0 if p.ndim == 1 else 0.0) * 0.1)
    return module.eval()


# --- feed-forward -----------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("bias", [True, False])
def test_feed_forward_matches_torch_linear_layers(bias, activation, device, rng):
    x = rng.standard_normal((2, 3, 4))
    w_1, w_2 = rng.standard_normal((4, 6)), rng.standard_normal((6, 4))
    b_1, b_2 = (rng.standard_normal(6), rng.standard_normal(4)) if bias else (None, None)
    x_t, w_1t, b_1t, w_2t, b_2t = to_torch((x, w_1, b_1, w_2, b_2), device)
    act = F.relu if activation == "relu" else F.gelu
    expected = F.linear(act(F.linear(x_t, w_1t.T, b_1t)), w_2t.T, b_2t)
    assert_close(qt.feed_forward(x_t, w_1t, b_1t, w_2t, b_2t, activation=activation), expected)
    assert_close(qn.feed_forward(x, w_1, b_1, w_2, b_2, activation=activation), expected)


def test_feed_forward_is_position_wise(rng):
    x = rng.standard_normal((5, 4))
    p = qn.init_encoder_layer_params(4, 8, seed=1)
    out = qn.feed_forward(x, p.w_1, p.b_1, p.w_2, p.b_2)
    for t in range(5):
        np.testing.assert_allclose(
            out[t], qn.feed_forward(x[t], p.w_1, p.b_1, p.w_2, p.b_2), rtol=1e-12
        )


def test_numpy_gelu_keeps_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    p = qn.init_encoder_layer_params(4, 8, dtype=np.float32)
    out = qn.feed_forward(x, p.w_1, p.b_1, p.w_2, p.b_2, activation="gelu")
    assert out.dtype == np.float32


# --- initialisers -----------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_initialisers_give_the_same_numbers_in_both_backends(bias):
    for init in ("init_encoder_layer_params", "init_decoder_layer_params"):
        p_np = getattr(qn, init)(4, 6, bias=bias, seed=2)
        p_t = getattr(qt, init)(4, 6, bias=bias, seed=2, dtype=torch.float64)
        flat_np = [x for p in p_np for x in (p if isinstance(p, tuple) else (p,))]
        flat_t = [x for p in p_t for x in (p if isinstance(p, tuple) else (p,))]
        assert len(flat_np) == len(flat_t)
        for a, b in zip(flat_np, flat_t, strict=True):
            assert (a is None) == (b is None) == (not bias and a is None)
            if a is not None:
                np.testing.assert_array_equal(a, to_numpy(b))
        assert not np.array_equal(p_np.self_attn.w_q, getattr(qn, init)(4, 6, seed=3).self_attn.w_q)
    dec = qn.init_decoder_layer_params(4, 6)
    assert not np.array_equal(dec.self_attn.w_q, dec.cross_attn.w_q)
    assert qt.init_encoder_layer_params(4, 6).w_1.dtype == torch.get_default_dtype()


# --- against PyTorch's layers -----------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_nn_transformer_encoder_layer(
    norm_first, activation, bias, device, rng
):
    layer = _randomise(
        nn.TransformerEncoderLayer(
            8,
            2,
            16,
            dropout=0.1,
            activation=activation,
            norm_first=norm_first,
            bias=bias,
            batch_first=True,
            device=device,
            dtype=torch.float64,
        )
    )
    params = encoder_params(layer)
    x = to_torch(rng.standard_normal((3, 5, 8)), device)
    key_padding_mask = (
        torch.arange(5, device=device) >= torch.tensor([5, 3, 1], device=device)[:, None]
    )  # True = padding (theirs)
    src_mask = torch.rand(5, 5, device=device) > 0.7
    src_mask.fill_diagonal_(False)
    kwargs = dict(num_heads=2, norm_first=norm_first, activation=activation)
    cases = [
        ({}, None),
        ({"src_key_padding_mask": key_padding_mask}, ~key_padding_mask[:, None, :]),
        ({"src_mask": src_mask}, ~src_mask),
    ]
    for their_kwargs, mask in cases:
        expected = layer(x, **their_kwargs)
        out = qt.encoder_layer(x, params, mask=mask, **kwargs)
        # padded positions: PyTorch still computes them; compare every position
        assert_close(out, expected)
        out_np = qn.encoder_layer(
            to_numpy(x), params_to_numpy(params), mask=to_numpy(mask), **kwargs
        )
        assert_close(out_np, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_nn_transformer_decoder_layer(norm_first, activation, device, rng):
    layer = _randomise(
        nn.TransformerDecoderLayer(
            8,
            2,
            16,
            activation=activation,
            norm_first=norm_first,
            batch_first=True,
            device=device,
            dtype=torch.float64,
        )
    )
    params = decoder_params(layer)
    x = to_torch(rng.standard_normal((2, 4, 8)), device)
    memory = to_torch(rng.standard_normal((2, 6, 8)), device)
    causal = nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=torch.float64)
    memory_blocked = torch.arange(6, device=device) >= torch.tensor([6, 2], device=device)[:, None]
    kwargs = dict(num_heads=2, norm_first=norm_first, activation=activation)
    for their_kwargs, memory_mask in [
        ({}, None),
        ({"memory_key_padding_mask": memory_blocked}, ~memory_blocked[:, None, :]),
    ]:
        expected = layer(x, memory, tgt_mask=causal, tgt_is_causal=True, **their_kwargs)
        out = qt.decoder_layer(x, memory, params, memory_mask=memory_mask, **kwargs)
        assert_close(out, expected)
        out_np = qn.decoder_layer(
            to_numpy(x),
            to_numpy(memory),
            params_to_numpy(params),
            memory_mask=to_numpy(memory_mask),
            **kwargs,
        )
        assert_close(out_np, expected)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_encoder_matches_torch_fast_path(device):
    """Under no_grad in eval mode PyTorch takes its fused encoder fast path."""
    layer = _randomise(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, device=device))
    x = torch.randn(2, 5, 8, device=device)
    with torch.no_grad():
        expected = layer(x)
        out = qt.encoder_layer(x, encoder_params(layer), num_heads=2)
    assert_close(out, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_first", [False, True])
def test_numpy_equals_torch_with_extra_batch_axes(norm_first, dtype, device, rng):
    enc = qn.init_encoder_layer_params(6, 10, seed=4, dtype=dtype)
    dec = qn.init_decoder_layer_params(6, 10, seed=5, dtype=dtype)
    x = rng.standard_normal((2, 2, 3, 6)).astype(dtype)
    memory = rng.standard_normal((2, 2, 4, 6)).astype(dtype)
    mask = rng.random((2, 1, 3, 4)) > 0.3
    enc_t = qt.init_encoder_layer_params(6, 10, seed=4, dtype=to_torch(x).dtype, device=device)
    dec_t = qt.init_decoder_layer_params(6, 10, seed=5, dtype=to_torch(x).dtype, device=device)
    out = qn.encoder_layer(x, enc, num_heads=3, norm_first=norm_first, activation="gelu")
    out_t = qt.encoder_layer(
        to_torch(x, device), enc_t, num_heads=3, norm_first=norm_first, activation="gelu"
    )
    assert_close(out_t, out)
    out = qn.decoder_layer(x, memory, dec, num_heads=3, memory_mask=mask, norm_first=norm_first)
    out_t = qt.decoder_layer(
        *to_torch((x, memory), device),
        dec_t,
        num_heads=3,
        memory_mask=to_torch(mask, device),
        norm_first=norm_first,
    )
    assert_close(out_t, out)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_is_causal_by_gradient(norm_first, rng):
    """Output position t does not depend on target positions after t, but on all the memory."""
    params = qt.init_decoder_layer_params(4, 8, seed=0, dtype=torch.float64)
    x = to_torch(rng.standard_normal((5, 4))).requires_grad_()
    memory = to_torch(rng.standard_normal((3, 4))).requires_grad_()
    out = qt.decoder_layer(x, memory, params, num_heads=2, norm_first=norm_first)
    for t in range(5):
        probe = (out[t] * torch.arange(1.0, 5.0, dtype=torch.float64)).sum()  # not the LN sum
        grad_x, grad_m = torch.autograd.grad(probe, (x, memory), retain_graph=True)
        assert not grad_x[t + 1 :].any()
        assert grad_x[: t + 1].abs().sum(-1).min() > 0
        assert grad_m.abs().sum(-1).min() > 0


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, rng):
    enc = qt.init_encoder_layer_params(4, 6, seed=0, dtype=torch.float64, device=device)
    dec = qt.init_decoder_layer_params(4, 6, seed=0, dtype=torch.float64, device=device)
    x = to_torch(rng.standard_normal((2, 4)), device).requires_grad_()
    memory = to_torch(rng.standard_normal((2, 4)), device)
    assert torch.autograd.gradcheck(
        lambda x: qt.encoder_layer(x, enc, num_heads=2, activation="gelu"), (x,)
    )
    assert torch.autograd.gradcheck(
        lambda x: qt.decoder_layer(x, memory, dec, num_heads=2, norm_first=True), (x,)
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_smoke_on_cpu(dtype, rng):
    dtype = getattr(torch, dtype)
    x = rng.standard_normal((2, 3, 8))
    enc = qn.init_encoder_layer_params(8, 16, seed=0)
    expected = qn.encoder_layer(x, enc, num_heads=2, activation="gelu")
    out = qt.encoder_layer(
        to_torch(x, dtype=dtype),
        qt.init_encoder_layer_params(8, 16, seed=0, dtype=dtype),
        num_heads=2,
        activation="gelu",
    )
    assert out.dtype == dtype and torch.isfinite(out).all()
    # tolerance from the float64 reference: a few units of the dtype's rounding error
    eps = torch.finfo(dtype).eps
    np.testing.assert_allclose(
        to_numpy(out).astype(np.float64), expected, rtol=8 * eps, atol=8 * eps
    )
    dec = qt.init_decoder_layer_params(8, 16, seed=0, dtype=dtype)
    out = qt.decoder_layer(to_torch(x, dtype=dtype), to_torch(x, dtype=dtype), dec, num_heads=2)
    assert out.dtype == dtype and torch.isfinite(out).all()


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_messages_are_identical(rng):
    x = rng.standard_normal((2, 3, 4))
    enc = qn.init_encoder_layer_params(4, 6)
    dec = qn.init_decoder_layer_params(4, 6)
    enc_t = qt.init_encoder_layer_params(4, 6, dtype=torch.float64)
    dec_t = qt.init_decoder_layer_params(4, 6, dtype=torch.float64)
    cases = [
        (
            "encoder_layer",
            (x, dec),
            (dec_t,),
            {"num_heads": 2},
            "encoder_layer: params must be a EncoderLayerParams; got params DecoderLayerParams",
        ),
        (
            "encoder_layer",
            (x, enc),
            (enc_t,),
            {"num_heads": 2, "activation": "tanh"},
            "encoder_layer: activation must be one of 'relu', 'gelu'; got activation 'tanh'",
        ),
        (
            "encoder_layer",
            (x[0, 0], enc),
            (enc_t,),
            {"num_heads": 2},
            "encoder_layer: x must have at least 2 axes (*batch, seq, d_model); got x (4,)",
        ),
        (
            "encoder_layer",
            (x, enc),
            (enc_t,),
            {"num_heads": 3},
            "encoder_layer: d_model (last axis of query) must be divisible by num_heads; "
            "got query (2, 3, 4), num_heads 3",
        ),
        (
            "decoder_layer",
            (x, x, enc),
            (enc_t,),
            {"num_heads": 2},
            "decoder_layer: params must be a DecoderLayerParams; got params EncoderLayerParams",
        ),
        (
            "decoder_layer",
            (x, x, dec),
            (dec_t,),
            {"num_heads": 2, "norm_first": "yes"},
            "decoder_layer: norm_first must be a boolean (True or False); got norm_first 'yes'",
        ),
        (
            "feed_forward",
            (x, enc.w_1, enc.b_1, enc.w_1, enc.b_2),
            None,
            {},
            "feed_forward: shapes must chain: x (*batch, d_model), w_1 (d_model, d_ff), "
            "b_1 (d_ff,), w_2 (d_ff, d_model), b_2 (d_model,); got x (2, 3, 4), w_1 (4, 6), "
            "b_1 (6,), w_2 (4, 6), b_2 (4,)",
        ),
        (
            "feed_forward",
            (x, enc.w_1, enc.b_1, enc.w_2, enc.b_2),
            None,
            {"activation": "tanh"},
            "feed_forward: activation must be one of 'relu', 'gelu'; got activation 'tanh'",
        ),
        (
            "init_encoder_layer_params",
            (4, 0),
            (),
            {},
            "init_encoder_layer_params: d_ff must be >= 1; got d_ff 0",
        ),
        (
            "init_decoder_layer_params",
            (4.0, 2),
            (),
            {},
            "init_decoder_layer_params: d_model must be an integer; got d_model 4.0",
        ),
    ]
    for name, args, torch_params, kwargs, message in cases:
        torch_args = [to_torch(a) if isinstance(a, np.ndarray) else a for a in args]
        if torch_params:
            torch_args[-1] = torch_params[0]
        for module, call_args in ((qn, args), (qt, torch_args)):
            with pytest.raises((ValueError, TypeError)) as info:
                getattr(module, name)(*call_args, **kwargs)
            assert str(info.value) == message
    with pytest.raises(ValueError, match="runs on cpu only"):
        qn.init_encoder_layer_params(4, 6, device="cuda")
