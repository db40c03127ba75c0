"""Attention's bad input: every rule of the door gives the same message in both backends, for
the row forms (`scaled_dot_product_attention`, `attention_loop`) and the column form."""

import numpy as np
import pytest
import qkv.numpy as qn

from conftest import lazy_import, to_torch

torch = lazy_import("torch")
qt = lazy_import("qkv.torch")

FORMS = ["scaled_dot_product_attention", "attention_loop"]


Q = np.zeros((2, 3, 4))
K = np.zeros((2, 5, 4))
V = np.zeros((2, 5, 6))
BAD = {
    "rank": (
        (np.zeros(4), K, V, None),
        ValueError,
        "{f}: query must have at least 2 axes (*batch, seq_q, d_k); got query (4,)",
    ),
    "d_k": (
        (Q, np.zeros((2, 5, 8)), V, None),
        ValueError,
        "{f}: query and key must share d_k (last axis); got query (2, 3, 4), key (2, 5, 8)",
    ),
    "seq_k": (
        (Q, K, np.zeros((2, 4, 6)), None),
        ValueError,
        "{f}: key and value must share seq_k (axis -2); got key (2, 5, 4), value (2, 4, 6)",
    ),
    "batch": (
        (Q, np.zeros((3, 5, 4)), np.zeros((3, 5, 6)), None),
        ValueError,
        "{f}: the batch axes (all but the last two) of query, key, value must broadcast; "
        "got query (2, 3, 4), key (3, 5, 4), value (3, 5, 6)",
    ),
    "mask-shape": (
        (Q, K, V, np.ones((3, 4), dtype=bool)),
        ValueError,
        "{f}: mask must broadcast to the scores (*batch, seq_q, seq_k); "
        "got mask (3, 4), scores (2, 3, 5)",
    ),
    "mask-grows": (
        (Q, K, V, np.ones((4, 2, 3, 5), dtype=bool)),
        ValueError,
        "{f}: mask must broadcast to the scores (*batch, seq_q, seq_k); "
        "got mask (4, 2, 3, 5), scores (2, 3, 5)",
    ),
    "mask-dtype": (
        (Q, K, V, np.ones((3, 5))),
        TypeError,
        "{f}: mask must be boolean (True = may attend); got mask float64 (3, 5)",
    ),
    "integer": (
        (Q, K.astype(np.int64), V, None),
        TypeError,
        "{f}: query, key, value must have a floating dtype; got key int64 (2, 5, 4)",
    ),
    "dtypes": (
        (Q, K.astype(np.float32), V, None),
        TypeError,
        "{f}: query, key, value must share one dtype; got query float64, key float32, "
        "value float64",
    ),
}


@pytest.mark.parametrize("name", FORMS)
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_same_message_in_both_backends(case, name):
    args, error, template = BAD[case]
    message = template.format(f=name)
    with pytest.raises(error) as np_info:
        getattr(qn, name)(*args)
    with pytest.raises(error) as torch_info:
        getattr(qt, name)(*to_torch(args))
    assert str(np_info.value) == message
    assert str(torch_info.value) == message


@pytest.mark.parametrize("name", FORMS)
def test_mixed_backends_are_rejected(name):
    message = (
        f"{name}: inputs must all be NumPy arrays or all torch tensors (mixed backends); "
        "got query numpy.ndarray, key torch.Tensor, value numpy.ndarray"
    )
    for module in (qn, qt):
        with pytest.raises(TypeError) as info:
            getattr(module, name)(Q, torch.from_numpy(K), V)
        assert str(info.value) == message
    with pytest.raises(TypeError, match="mixed backends"):
        getattr(qt, name)(*to_torch((Q, K, V)), np.ones((3, 5), dtype=bool))
    with pytest.raises(TypeError, match=f"^{name}: this backend takes torch tensors"):
        getattr(qt, name)(Q, K, V)


def test_bad_scale(backend):
    module = backend.qkv
    args = backend.asarray((Q, K, V))
    with pytest.raises(TypeError) as info:
        module.scaled_dot_product_attention(*args, scale="0.5")
    assert str(info.value) == (
        "scaled_dot_product_attention: scale must be a real number or None; got scale '0.5'"
    )


COLUMN_BAD = {
    "rank": (
        (np.zeros(4), np.zeros((4, 5)), np.zeros((6, 5))),
        ValueError,
        "attention_column_form: q_cols must have at least 2 axes (*batch, d_k, seq_q); "
        "got q_cols (4,)",
    ),
    "d_k": (
        (np.zeros((4, 3)), np.zeros((8, 5)), np.zeros((6, 5))),
        ValueError,
        "attention_column_form: q_cols and k_cols must share d_k (axis -2); "
        "got q_cols (4, 3), k_cols (8, 5)",
    ),
    "seq_k": (
        (np.zeros((4, 3)), np.zeros((4, 5)), np.zeros((6, 2))),
        ValueError,
        "attention_column_form: k_cols and v_cols must share seq_k (last axis); "
        "got k_cols (4, 5), v_cols (6, 2)",
    ),
    "batch": (
        (np.zeros((2, 4, 3)), np.zeros((3, 4, 5)), np.zeros((6, 5))),
        ValueError,
        "attention_column_form: the batch axes (all but the last two) of q_cols, k_cols, "
        "v_cols must broadcast; got q_cols (2, 4, 3), k_cols (3, 4, 5), v_cols (6, 5)",
    ),
    "integer": (
        (np.zeros((4, 3), dtype=np.int32), np.zeros((4, 5)), np.zeros((6, 5))),
        TypeError,
        "attention_column_form: q_cols, k_cols, v_cols must have a floating dtype; "
        "got q_cols int32 (4, 3)",
    ),
}


@pytest.mark.parametrize("case", list(COLUMN_BAD))
def test_column_form_bad_input_same_message(case):
    args, error, message = COLUMN_BAD[case]
    with pytest.raises(error) as np_info:
        qn.attention_column_form(*args)
    with pytest.raises(error) as torch_info:
        qt.attention_column_form(*to_torch(args))
    assert str(np_info.value) == message
    assert str(torch_info.value) == message
    with pytest.raises(TypeError, match="mixed backends"):
        qn.attention_column_form(args[0], *to_torch(args[1:]))
