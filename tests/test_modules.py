"""qkv.torch's nn.Modules: from_torch copies, configurations that are refused with a clear error,
parameters and gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nn.Module tests need it")
import qkv.torch as qt  # noqa: E402
from torch import nn  # noqa: E402

from conftest import DEVICES, assert_close  # noqa: E402


def _randomise(module, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return module


# --- MultiHeadAttention -----------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
def test_mha_from_torch_copies_the_weights(bias, device):
    theirs = _randomise(nn.MultiheadAttention(6, 3, bias=bias, batch_first=True, device=device))
    ours = qt.MultiHeadAttention.from_torch(theirs)
    params = ours.params()
    d = 6
    assert_close(params.w_q, theirs.in_proj_weight[:d].T)
    assert_close(params.w_k, theirs.in_proj_weight[d : 2 * d].T)
    assert_close(params.w_v, theirs.in_proj_weight[2 * d :].T)
    assert_close(params.w_o, theirs.out_proj.weight.T)
    if bias:
        assert_close(params.b_q, theirs.in_proj_bias[:d])
        assert_close(params.b_k, theirs.in_proj_bias[d : 2 * d])
        assert_close(params.b_v, theirs.in_proj_bias[2 * d :])
        assert_close(params.b_o, theirs.out_proj.bias)
    else:
        assert all(b is None for b in params[4:])
    assert ours.num_heads == 3 and ours.w_q.device.type == device
    # copies, not views: changing ours leaves theirs alone
    with torch.no_grad():
        ours.w_q.zero_()
    assert theirs.in_proj_weight[:d].abs().sum() > 0
    x = torch.randn(2, 4, 6, device=device)
    theirs.eval()
    expected, expected_weights = theirs(x, x, x, average_attn_weights=False)
    ours = qt.MultiHeadAttention.from_torch(theirs)
    out, weights = ours(x, x, x)
    assert_close(out, expected)
    assert_close(weights, expected_weights)


def test_mha_from_torch_keeps_dtype():
    theirs = nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    ours = qt.MultiHeadAttention.from_torch(theirs)
    assert all(p.dtype == torch.float64 for p in ours.parameters())


def test_mha_dropout_is_fine_in_eval_mode():
    theirs = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True).eval()
    ours = qt.MultiHeadAttention.from_torch(theirs)
    x = torch.randn(1, 3, 4)
    assert_close(ours(x, x, x)[0], theirs(x, x, x)[0])


@pytest.mark.parametrize(
    ("kwargs", "train", "message"),
    [
        (
            {"batch_first": False},
            False,
            "MultiHeadAttention.from_torch: only batch_first=True modules "
            "are covered (inputs (*batch, seq, d_model)); got "
            "batch_first False",
        ),
        (
            {"kdim": 3},
            False,
            "MultiHeadAttention.from_torch: kdim and vdim must equal embed_dim; "
            "got embed_dim 4, kdim 3, vdim 4",
        ),
        (
            {"vdim": 5},
            False,
            "MultiHeadAttention.from_torch: kdim and vdim must equal embed_dim; "
            "got embed_dim 4, kdim 4, vdim 5",
        ),
        (
            {"add_bias_kv": True},
            False,
            "MultiHeadAttention.from_torch: add_bias_kv is not covered; got add_bias_kv True",
        ),
        (
            {"add_zero_attn": True},
            False,
            "MultiHeadAttention.from_torch: add_zero_attn is not covered; got add_zero_attn True",
        ),
        (
            {"dropout": 0.1},
            True,
            "MultiHeadAttention.from_torch: dropout is not covered: call "
            ".eval() first or use dropout=0; got dropout 0.1, training True",
        ),
    ],
)
def test_mha_from_torch_refuses_uncovered_configurations(kwargs, train, message):
    m = nn.MultiheadAttention(4, 2, **{"batch_first": True, **kwargs}).train(train)
    with pytest.raises(ValueError) as info:
        qt.MultiHeadAttention.from_torch(m)
    assert str(info.value) == message


def test_from_torch_refuses_other_modules():
    with pytest.raises(TypeError, match="expects an nn.MultiheadAttention; got m Linear"):
        qt.MultiHeadAttention.from_torch(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="expects an nn.TransformerEncoderLayer; got layer Linear"):
        qt.TransformerEncoderLayer.from_torch(nn.Linear(2, 2))


def test_mha_init_matches_the_functional_initialiser_and_trains():
    m = qt.MultiHeadAttention(8, 4, seed=7)
    ref = qt.init_multi_head_params(8, seed=7)
    for p, r in zip(m.params(), ref, strict=True):
        torch.testing.assert_close(p.detach(), r, rtol=0, atol=0)
    assert {n for n, _ in m.named_parameters()} == {
        "w_q",
        "w_k",
        "w_v",
        "w_o",
        "b_q",
        "b_k",
        "b_v",
        "b_o",
    }
    assert "d_model=8, num_heads=4, bias=True" in repr(m)
    x = torch.randn(2, 3, 8)
    out, _ = m(x, x, x, is_causal=True, need_weights=False)
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())
    assert qt.MultiHeadAttention(8, 2, bias=False).b_o is None


def test_mha_constructor_errors():
    with pytest.raises(
        ValueError,
        match="MultiHeadAttention: d_model must be divisible by "
        "num_heads; got d_model 6, num_heads 4",
    ):
        qt.MultiHeadAttention(6, 4)
    with pytest.raises(TypeError, match="MultiHeadAttention: num_heads must be an integer"):
        qt.MultiHeadAttention(6, 2.0)


def test_module_calls_name_the_module_in_their_errors():
    """Bad input to a module's forward names the module the user called, with the rule and the
    shapes; the function it runs checks nothing a second time."""
    x = torch.zeros(2, 3, 8)
    with pytest.raises(
        ValueError,
        match=r"^MultiHeadAttention: query, key and value must share d_model \(last axis\); "
        r"got query \(2, 3, 8\), key \(2, 4, 7\)",
    ):
        qt.MultiHeadAttention(8, 2)(x, torch.zeros(2, 4, 7), torch.zeros(2, 4, 8))
    with pytest.raises(TypeError, match="^MultiHeadAttention: is_causal must be a bool"):
        qt.MultiHeadAttention(8, 2)(x, x, x, is_causal=1)
    with pytest.raises(ValueError, match=r"^TransformerEncoderLayer: .*got query \(2, 3, 7\)"):
        qt.TransformerEncoderLayer(8, 2, 16)(torch.zeros(2, 3, 7))


# --- TransformerEncoderLayer ------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", ["relu", nn.GELU()], ids=str)
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_from_torch_matches(norm_first, activation, bias, device):
    theirs = _randomise(
        nn.TransformerEncoderLayer(
            8,
            2,
            12,
            activation=activation,
            norm_first=norm_first,
            bias=bias,
            batch_first=True,
            device=device,
            dtype=torch.float64,
            layer_norm_eps=1e-3,
        )
    ).eval()
    ours = qt.TransformerEncoderLayer.from_torch(theirs)
    assert ours.norm_first == norm_first and ours.eps == 1e-3
    x = torch.randn(3, 5, 8, dtype=torch.float64, device=device)
    padding = torch.arange(5, device=device) >= torch.tensor([5, 2, 4], device=device)[:, None]
    assert_close(ours(x), theirs(x))
    assert_close(ours(x, ~padding[:, None, :]), theirs(x, src_key_padding_mask=padding))
    # under no_grad PyTorch may take its fast path, which zeroes padded positions: compare the
    # real tokens only
    with torch.no_grad():
        expected = theirs(x, src_key_padding_mask=padding)
        out = ours(x, ~padding[:, None, :])
    assert_close(out[~padding], expected[~padding])


def test_encoder_params_and_training():
    layer = qt.TransformerEncoderLayer(4, 2, 8, seed=3, activation="gelu")
    params = layer.params()
    ref = qt.init_encoder_layer_params(4, 8, seed=3)
    torch.testing.assert_close(params.w_1.detach(), ref.w_1, rtol=0, atol=0)
    torch.testing.assert_close(params.self_attn.w_k.detach(), ref.self_attn.w_k, rtol=0, atol=0)
    assert "activation='gelu'" in repr(layer)
    x = torch.randn(2, 3, 4)
    layer(x).pow(3).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    assert len(grads) == 8 + 4 + 4 and all(g is not None for g in grads)
    no_bias = qt.TransformerEncoderLayer(4, 2, 8, bias=False)
    assert no_bias.params().b_1 is None and no_bias.params().norm1_bias is None
    assert tuple(no_bias(x).shape) == (2, 3, 4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: nn.TransformerEncoderLayer(
                4, 2, 8, batch_first=True, activation=torch.tanh
            ).eval(),
            "activation must be relu or exact gelu",
        ),
        (
            lambda: nn.TransformerEncoderLayer(
                4, 2, 8, batch_first=True, activation=nn.GELU(approximate="tanh")
            ).eval(),
            "activation must be relu or exact gelu",
        ),
        (
            lambda: nn.TransformerEncoderLayer(4, 2, 8, batch_first=True).train(),
            "TransformerEncoderLayer.from_torch: dropout is not covered: call .eval() first or use "
            "dropout=0; got dropout 0.1, training True",
        ),
        (
            lambda: nn.TransformerEncoderLayer(4, 2, 8, batch_first=False).eval(),
            "MultiHeadAttention.from_torch: only batch_first=True modules are covered",
        ),
    ],
)
def test_encoder_from_torch_refuses_uncovered_configurations(make, message):
    with pytest.raises(
        ValueError, match=message.replace("(", "\\(").replace(")", "\\)").replace(".", "\\.")
    ):
        qt.TransformerEncoderLayer.from_torch(make())


def test_encoder_from_torch_refuses_different_norm_eps():
    layer = nn.TransformerEncoderLayer(4, 2, 8, batch_first=True).eval()
    layer.norm2.eps = 1e-3
    with pytest.raises(ValueError, match="norm1 and norm2 must share eps"):
        qt.TransformerEncoderLayer.from_torch(layer)


def test_encoder_dropout_zero_in_training_mode_is_fine():
    theirs = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True).train()
    ours = qt.TransformerEncoderLayer.from_torch(theirs)
    x = torch.randn(2, 3, 4)
    assert_close(ours(x), theirs(x))


def test_modules_are_exported():
    assert {"MultiHeadAttention", "TransformerEncoderLayer"} <= set(qt.__all__)
    assert np.isclose(qt.TransformerEncoderLayer(4, 2, 8).eps, 1e-5)
