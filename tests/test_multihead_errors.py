"""Multi-head attention's bad input: the same message in both backends for every rule of the
door, and the mixed-backend and device rules."""

import numpy as np
import pytest
import qkv.numpy as qn
from random_multihead import params_to_torch, random_params

from conftest import lazy_import, to_torch

qt = lazy_import("qkv.torch")


def _both(fn_name, *args, **kwargs):
    """Call a function in both backends (torch args converted) and return both error messages."""
    messages = []
    for module, convert in ((qn, lambda a: a), (qt, to_torch)):
        conv_args = [
            qt.MultiHeadParams(*map(convert, a))
            if isinstance(a, qn.MultiHeadParams)
            else convert(a)
            if isinstance(a, np.ndarray)
            else a
            for a in args
        ]
        conv_kwargs = {k: convert(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with pytest.raises((ValueError, TypeError)) as info:
            getattr(module, fn_name)(*conv_args, **conv_kwargs)
        messages.append((info.type, str(info.value)))
    assert messages[0] == messages[1]
    return messages[0]


def test_bad_input_messages_are_identical(rng):
    x = rng.standard_normal((2, 3, 6))
    p = random_params(rng, 6)
    kind, msg = _both("multi_head_attention", x, x, x, p, num_heads=4)
    assert kind is ValueError
    assert msg == (
        "multi_head_attention: d_model (last axis of query) must be divisible by "
        "num_heads; got query (2, 3, 6), num_heads 4"
    )
    kind, msg = _both("multi_head_attention", x, x[..., :4], x, p, num_heads=2)
    assert msg.startswith("multi_head_attention: query, key and value must share d_model")
    assert "(2, 3, 6)" in msg and "(2, 3, 4)" in msg
    kind, msg = _both(
        "multi_head_attention", x, x, x, p, num_heads=2, mask=np.ones((3, 3), dtype=np.int64)
    )
    assert kind is TypeError and "mask must be boolean" in msg
    kind, msg = _both(
        "multi_head_attention", x, x, x, p, num_heads=2, mask=np.ones((4, 3), dtype=bool)
    )
    assert kind is ValueError and "mask must broadcast" in msg and "(2, 3, 3)" in msg
    kind, msg = _both("multi_head_attention", x.astype(np.int64), x, x, p, num_heads=2)
    assert kind is TypeError and "floating dtype" in msg
    kind, msg = _both("multi_head_attention", x, x, x, tuple(p), num_heads=2)
    assert msg == "multi_head_attention: params must be a MultiHeadParams; got params tuple"
    kind, msg = _both("multi_head_attention", x, x, x, p._replace(w_o=p.w_o[:4]), num_heads=2)
    assert msg == (
        "multi_head_attention: params.w_o must have shape (d_model, d_model); "
        "got query (2, 3, 6), params.w_o (4, 6)"
    )
    kind, msg = _both("multi_head_attention", x, x, x, p._replace(b_k=p.b_k[:2]), num_heads=2)
    assert "params.b_k must have shape (d_model,)" in msg
    kind, msg = _both("multi_head_attention", x[0, 0], x, x, p, num_heads=2)
    assert "query must have at least 2 axes (*batch, seq_q, d_model); got query (6,)" in msg
    kind, msg = _both("multi_head_attention", x, x, x[:, :2], p, num_heads=2)
    assert "key and value must share seq_k" in msg
    kind, msg = _both("multi_head_attention", x, x, x, p, num_heads=0)
    assert msg == "multi_head_attention: num_heads must be >= 1; got num_heads 0"
    kind, msg = _both("split_heads", x, 4)
    assert msg == (
        "split_heads: d_model (last axis of x) must be divisible by num_heads; "
        "got x (2, 3, 6), num_heads 4"
    )
    kind, msg = _both("split_heads", x[0, 0], 2)
    assert "split_heads: x must have at least 2 axes" in msg
    kind, msg = _both("merge_heads", x[0])
    assert "merge_heads: x must have at least 3 axes" in msg
    kind, msg = _both("init_multi_head_params", 0)
    assert msg == "init_multi_head_params: d_model must be >= 1; got d_model 0"


def test_batch_axes_that_do_not_broadcast(rng):
    p = random_params(rng, 4)
    q, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 3, 4))
    with pytest.raises(ValueError, match="batch axes must broadcast; got query \\(2,\\)"):
        qn.multi_head_attention(q, k, k, p, num_heads=2)


def test_mixed_backends_and_numpy_device(rng):
    x = rng.standard_normal((2, 3, 4))
    p = random_params(rng, 4)
    with pytest.raises(TypeError, match="mixed backends"):
        qn.multi_head_attention(x, to_torch(x), x, p, num_heads=2)
    with pytest.raises(TypeError, match="mixed backends"):
        qt.multi_head_attention(to_torch(x), x, to_torch(x), params_to_torch(p), num_heads=2)
    with pytest.raises(TypeError, match="mixed backends"):
        qt.multi_head_attention(*to_torch((x, x, x)), p, num_heads=2)
    with pytest.raises(TypeError, match="this backend takes torch tensors"):
        qt.multi_head_attention(x, x, x, p, num_heads=2)
    with pytest.raises(ValueError, match="runs on cpu only"):
        qn.init_multi_head_params(4, device="cuda")
