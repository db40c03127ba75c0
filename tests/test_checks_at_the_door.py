"""Checks at the door: one public call validates its inputs once, every error names the function
the user called, and input that used to slip through (flags that are not booleans, d_k = 0,
empty sequences) gets one documented behaviour in both backends."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest
import qkv.numpy as qn
from qkv import _checks

from conftest import assert_close


def _spy_on_checks(monkeypatch):
    """Count the calls of every `check_*` of qkv._checks, wherever it is called from (inside
    qkv._checks or through a name a backend module imported), and the function names they get."""
    calls: Counter[str] = Counter()
    names: set[str] = set()
    modules = [
        m for n, m in list(sys.modules.items()) if n == "qkv._checks" or n.startswith("qkv.")
    ]
    for check in [n for n in dir(_checks) if n.startswith("check_")]:
        original = getattr(_checks, check)

        def spy(func, *args, _check=check, _original=original, **kwargs):
            calls[_check] += 1
            if _check == "check_mask" and args[0] is not None:
                calls["check_mask of a mask"] += 1
            names.add(func)
            return _original(func, *args, **kwargs)

        for module in modules:
            if getattr(module, check, None) is original:
                monkeypatch.setattr(module, check, spy)
    return calls, names


def _layer_inputs(rng):
    x = rng.standard_normal((2, 3, 4))
    memory = rng.standard_normal((2, 5, 4))
    mask = rng.random((2, 3, 3)) < 0.7
    memory_mask = rng.random((2, 3, 5)) < 0.7
    return x, memory, mask, memory_mask


CALLS = {
    "softmax": lambda m, p, x, mem, mask, mmask: m.softmax(x),
    "scaled_dot_product_attention": lambda m, p, x, mem, mask, mmask: (
        m.scaled_dot_product_attention(x, x, x, mask, is_causal=True)
    ),
    "attention_loop": lambda m, p, x, mem, mask, mmask: m.attention_loop(x, x, x, mask),
    "attention_column_form": lambda m, p, x, mem, mask, mmask: m.attention_column_form(x, x, x),
    "multi_head_attention": lambda m, p, x, mem, mask, mmask: m.multi_head_attention(
        x, mem, mem, p["mha"], num_heads=2, mask=mmask, is_causal=True
    ),
    "encoder_layer": lambda m, p, x, mem, mask, mmask: m.encoder_layer(
        x, p["encoder"], num_heads=2, mask=mask
    ),
    "decoder_layer": lambda m, p, x, mem, mask, mmask: m.decoder_layer(
        x, mem, p["decoder"], num_heads=2, memory_mask=mmask
    ),
    "hard_attention": lambda m, p, x, mem, mask, mmask: m.hard_attention(x, x, x, mask),
    "local_attention": lambda m, p, x, mem, mask, mmask: m.local_attention(x, x, x, window=1),
}
MASKED = {"scaled_dot_product_attention", "attention_loop", "multi_head_attention"}
MASKED |= {"encoder_layer", "decoder_layer", "hard_attention"}


def _all_params(backend):
    """Float64 parameters of one attention, one encoder and one decoder layer, in `backend`."""
    if backend.name == "numpy":
        kwargs = {}
    else:
        kwargs = {"dtype": backend.asarray(np.zeros(1)).dtype, "device": backend.device}
    return {
        "mha": backend.qkv.init_multi_head_params(4, **kwargs),
        "encoder": backend.qkv.init_encoder_layer_params(4, 8, **kwargs),
        "decoder": backend.qkv.init_decoder_layer_params(4, 8, **kwargs),
    }


@pytest.mark.parametrize("name", list(CALLS))
def test_one_public_call_validates_once_in_its_own_name(name, backend, monkeypatch, rng):
    """Every check that runs names the function called, and the mask is checked once: the inner
    attention, softmax and LayerNorm calls go to the unchecked cores."""
    x, memory, mask, memory_mask = backend.asarray(_layer_inputs(rng))
    params = _all_params(backend)
    calls, names = _spy_on_checks(monkeypatch)
    CALLS[name](backend.qkv, params, x, memory, mask, memory_mask)
    assert names == {name}
    assert calls["check_softmax"] == (1 if name == "softmax" else 0)
    assert calls["check_mask of a mask"] == (1 if name in MASKED else 0)


def test_a_layer_error_names_the_layer(backend, rng):
    x = backend.asarray(rng.standard_normal((2, 3, 4)))
    params = qn.init_encoder_layer_params(4, 8)
    if backend.name == "torch":
        params = backend.qkv.init_encoder_layer_params(4, 8, dtype=x.dtype, device=x.device)
    with pytest.raises(ValueError) as info:
        backend.qkv.encoder_layer(x, params, num_heads=3)
    assert str(info.value) == (
        "encoder_layer: d_model (last axis of query) must be divisible by num_heads; "
        "got query (2, 3, 4), num_heads 3"
    )


# --- flags are booleans ------------------------------------------------------------------------


FLAG_CASES = {
    "is_causal": (
        lambda m, x, p: m.scaled_dot_product_attention(x, x, x, is_causal=1),
        "scaled_dot_product_attention: is_causal must be a boolean (True or False); "
        "got is_causal 1",
    ),
    "need_weights": (
        lambda m, x, p: m.multi_head_attention(x, x, x, p, num_heads=2, need_weights="no"),
        "multi_head_attention: need_weights must be a boolean (True or False); "
        "got need_weights 'no'",
    ),
    "norm_first": (
        lambda m, x, p: m.encoder_layer(x, p, num_heads=2, norm_first=0),
        "encoder_layer: norm_first must be a boolean (True or False); got norm_first 0",
    ),
    "is_causal_none": (
        lambda m, x, p: m.multi_head_attention(x, x, x, p, num_heads=2, is_causal=None),
        "multi_head_attention: is_causal must be a boolean (True or False); got is_causal None",
    ),
}


def _params_for(backend, name, x):
    if name == "norm_first":
        init = backend.qkv.init_encoder_layer_params
        return init(4, 8) if backend.name == "numpy" else init(4, 8, dtype=x.dtype, device=x.device)
    init = backend.qkv.init_multi_head_params
    return init(4) if backend.name == "numpy" else init(4, dtype=x.dtype, device=x.device)


@pytest.mark.parametrize("case", list(FLAG_CASES))
def test_flags_must_be_booleans(case, backend, rng):
    """Integers are not flags, not even 0 and 1: the same TypeError in both backends."""
    call, message = FLAG_CASES[case]
    x = backend.asarray(rng.standard_normal((2, 3, 4)))
    with pytest.raises(TypeError) as info:
        call(backend.qkv, x, _params_for(backend, case, x))
    assert str(info.value) == message


def test_numpy_bool_is_a_flag(backend, rng):
    x = backend.asarray(rng.standard_normal((2, 3, 4)))
    out, weights = backend.qkv.scaled_dot_product_attention(x, x, x, is_causal=np.True_)
    expected = backend.qkv.scaled_dot_product_attention(x, x, x, is_causal=True)
    assert_close(out, expected[0])
    assert_close(weights, expected[1])


# --- sizes of zero ----------------------------------------------------------------------------


def test_d_k_zero_is_a_clear_error(backend):
    empty = backend.asarray(np.zeros((2, 3, 0)))
    value = backend.asarray(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError) as info:
        backend.qkv.scaled_dot_product_attention(empty, empty, value)
    assert str(info.value) == (
        "scaled_dot_product_attention: d_k (last axis of query and key) must be >= 1; "
        "got query (2, 3, 0), key (2, 3, 0)"
    )
    with pytest.raises(ValueError, match=r"^attention_column_form: d_k \(axis -2"):
        backend.qkv.attention_column_form(*backend.asarray((np.zeros((0, 3)),) * 3))
    params = backend.qkv.MultiHeadParams(*backend.asarray((np.zeros((0, 0)),) * 4))
    with pytest.raises(ValueError) as info:
        backend.qkv.multi_head_attention(empty, empty, empty, params, num_heads=1)
    assert str(info.value) == (
        "multi_head_attention: d_model (last axis of query) must be >= 1; got query (2, 3, 0)"
    )


EMPTY_FORMS = {
    "scaled_dot_product_attention": lambda m, q, k, v: m.scaled_dot_product_attention(q, k, v),
    "attention_loop": lambda m, q, k, v: m.attention_loop(q, k, v),
    "hard_attention": lambda m, q, k, v: m.hard_attention(q, k, v),
    "gumbel_softmax_attention": lambda m, q, k, v: m.gumbel_softmax_attention(q, k, v, hard=True),
}


@pytest.mark.parametrize("form", list(EMPTY_FORMS))
def test_no_keys_gives_zero_weights_and_a_zero_output(form, backend, rng):
    """seq_k == 0: every query is fully masked, as in "a fully masked row gives zero"."""
    query = backend.asarray(rng.standard_normal((2, 3, 4)))
    key = backend.asarray(np.zeros((2, 0, 4)))
    value = backend.asarray(np.zeros((2, 0, 5)))
    out, weights = EMPTY_FORMS[form](backend.qkv, query, key, value)
    assert tuple(weights.shape) == (2, 3, 0)
    assert_close(out, np.zeros((2, 3, 5)))


@pytest.mark.parametrize("form", list(EMPTY_FORMS))
def test_no_queries_gives_empty_results(form, backend, rng):
    query = backend.asarray(np.zeros((2, 0, 4)))
    key = backend.asarray(rng.standard_normal((2, 3, 4)))
    value = backend.asarray(rng.standard_normal((2, 3, 5)))
    out, weights = EMPTY_FORMS[form](backend.qkv, query, key, value)
    assert tuple(out.shape) == (2, 0, 5) and tuple(weights.shape) == (2, 0, 3)


@pytest.mark.parametrize("seq_q, seq_k", [(3, 0), (0, 3)])
def test_local_attention_with_an_empty_sequence(seq_q, seq_k, backend, rng):
    query = backend.asarray(rng.standard_normal((2, seq_q, 4)))
    key = backend.asarray(rng.standard_normal((2, seq_k, 4)))
    value = backend.asarray(rng.standard_normal((2, seq_k, 5)))
    out, weights = backend.qkv.local_attention(query, key, value, window=1)
    assert tuple(weights.shape) == (2, seq_q, 3)
    assert_close(out, np.zeros((2, seq_q, 5)))
    assert_close(weights, np.zeros((2, seq_q, 3)))


@pytest.mark.parametrize("need_weights", [True, False])
def test_multi_head_attention_with_no_keys_outputs_the_bias(need_weights, backend, rng):
    x = backend.asarray(rng.standard_normal((2, 3, 4)))
    memory = backend.asarray(np.zeros((2, 0, 4)))
    p = qn.init_multi_head_params(4)
    b_o = rng.standard_normal(4)
    params = backend.qkv.MultiHeadParams(*backend.asarray((*p[:7], b_o)))
    out, weights = backend.qkv.multi_head_attention(
        x, memory, memory, params, num_heads=2, need_weights=need_weights
    )
    assert_close(out, np.broadcast_to(b_o, (2, 3, 4)))
    assert weights is None if not need_weights else tuple(weights.shape) == (2, 2, 3, 0)


def test_softmax_of_an_empty_axis_is_empty(backend):
    x = backend.asarray(np.zeros((3, 0)))
    assert tuple(backend.qkv.softmax(x).shape) == (3, 0)
    assert tuple(backend.qkv.softmax(x, axis=0).shape) == (3, 0)
