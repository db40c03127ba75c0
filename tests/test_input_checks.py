"""qkv._checks: the shared validation helpers give the documented message, whatever the backend."""

import numpy as np
import pytest
from qkv import _checks

from conftest import lazy_import

torch = lazy_import("torch")


def _message(call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return type(info.value).__name__, str(info.value)


def test_describe_and_names_are_backend_neutral():
    for x in (np.zeros((2, 3), dtype=np.float32), torch.zeros(2, 3)):
        assert _checks.describe(x) == "(2, 3)"
        assert _checks.dtype_name(x) == "float32"
        assert _checks.shape_of(x) == (2, 3)
    assert _checks.backend_of(np.zeros(1)) == "numpy"
    assert _checks.backend_of(torch.zeros(1)) == "torch"
    assert _checks.backend_of([1.0]) == "list"
    assert _checks.describe("a") == "'a'"


def test_fail_format():
    assert _message(lambda: _checks.fail("f", "x must be odd", TypeError, x=2, y=(1, 2))) == (
        "TypeError",
        "f: x must be odd; got x 2, y (1, 2)",
    )
    assert _message(lambda: _checks.fail("f", "no details")) == ("ValueError", "f: no details")


@pytest.mark.parametrize(
    "call, expected",
    [
        (
            lambda: _checks.check_int("f", "num_heads", 2.0),
            ("TypeError", "f: num_heads must be an integer; got num_heads 2.0"),
        ),
        (
            lambda: _checks.check_int("f", "num_heads", 0, minimum=1),
            ("ValueError", "f: num_heads must be >= 1; got num_heads 0"),
        ),
        (
            lambda: _checks.check_positive("f", "tau", "a"),
            ("TypeError", "f: tau must be a real number; got tau 'a'"),
        ),
        (
            lambda: _checks.check_positive("f", "tau", float("nan")),
            ("ValueError", "f: tau must be > 0; got tau nan"),
        ),
        (
            lambda: _checks.check_real("f", "scale", True),
            ("TypeError", "f: scale must be a real number or None; got scale True"),
        ),
        (
            lambda: _checks.check_divisible("f", "d_model", 10, "num_heads", 3),
            (
                "ValueError",
                "f: d_model must be divisible by num_heads; got d_model 10, num_heads 3",
            ),
        ),
        (
            lambda: _checks.check_choice("f", "activation", "tanh", ("relu", "gelu")),
            ("ValueError", "f: activation must be one of 'relu', 'gelu'; got activation 'tanh'"),
        ),
        (
            lambda: _checks.check_device_arg("f", "cuda"),
            (
                "ValueError",
                "f: the NumPy backend runs on cpu only (device None or 'cpu'); got device 'cuda'",
            ),
        ),
        (
            lambda: _checks.check_ndim("f", "x", np.zeros(3), ndim=2, legend="(seq, d_model)"),
            ("ValueError", "f: x must have exactly 2 axes (seq, d_model); got x (3,)"),
        ),
    ],
)
def test_scalar_and_shape_checks(call, expected):
    assert _message(call) == expected


def test_passing_checks_return_quietly():
    _checks.check_int("f", "n", np.int64(3), minimum=1)
    _checks.check_positive("f", "eps", 1e-5)
    _checks.check_real("f", "scale", None)
    _checks.check_divisible("f", "a", 6, "b", 3)
    _checks.check_choice("f", "activation", "gelu", ("relu", "gelu"))
    _checks.check_device_arg("f", "cpu")
    _checks.check_mask("f", None, (2, 3))
    _checks.check_mask("f", np.ones((3, 1), dtype=bool), (2, 3, 4))
    assert _checks.check_axis("f", -1, np.zeros((2, 3))) == 1
    assert _checks.check_attention(
        "f", "torch", torch.zeros(2, 1, 3, 4), torch.zeros(5, 4), torch.zeros(5, 6)
    ) == (2, 1, 3, 5)


def test_same_text_for_both_backends(backend):
    make = np.zeros if backend.name == "numpy" else lazy_import("torch").zeros

    def bool_mask(shape):
        return make(shape) > 0

    assert _message(lambda: _checks.check_mask("f", bool_mask((3, 5)), (2, 3, 4))) == (
        "ValueError",
        "f: mask must broadcast to the scores (*batch, seq_q, seq_k); got mask (3, 5), "
        "scores (2, 3, 4)",
    )
    assert _message(lambda: _checks.check_integer("f", lengths=make(2))) == (
        "TypeError",
        "f: lengths must have an integer dtype; got lengths float64 (2,)"
        if make is np.zeros
        else "f: lengths must have an integer dtype; got lengths float32 (2,)",
    )


def test_devices_must_agree():
    query = torch.zeros(3, 4)
    key = torch.zeros(5, 4, device="meta")  # a second device that exists without a GPU
    value = torch.zeros(5, 6)
    assert _message(lambda: _checks.check_attention("f", "torch", query, key, value)) == (
        "ValueError",
        "f: query, key, value must be on one device; got query cpu, key meta, value cpu",
    )
    _checks.check_same_device("f", a=np.zeros(1), b=torch.zeros(1))  # NumPy counts as cpu


def test_batch_broadcast_returns_the_broadcast_batch_shape():
    shape = _checks.check_batch_broadcast(
        "f", "batch axes must broadcast", trailing=2, query=(2, 1, 5, 4), key=(3, 7, 4)
    )
    assert shape == (2, 3)
    with pytest.raises(ValueError, match=r"^f: batch axes must broadcast; got query \(2, 5, 4\)"):
        _checks.check_batch_broadcast(
            "f", "batch axes must broadcast", trailing=2, query=(2, 5, 4), key=(3, 5, 4)
        )


def test_broadcast_shape_for_the_cores():
    assert _checks.broadcast_shape((2, 1), (3,), ()) == (2, 3)
    with pytest.raises(ValueError, match="do not broadcast"):
        _checks.broadcast_shape((2,), (3,))


def test_the_fields_the_checks_compare_are_those_of_the_parameter_tuples():
    """The checks recognise a parameter tuple by its field names without importing a backend;
    these must be the fields the backends define."""
    import qkv.numpy as qn

    assert _checks.MULTI_HEAD_FIELDS == qn.MultiHeadParams._fields
    assert _checks.ENCODER_FIELDS == qn.EncoderLayerParams._fields
    assert _checks.DECODER_FIELDS == qn.DecoderLayerParams._fields
    assert _checks.SEQ2SEQ_FIELDS == qn.Seq2SeqParams._fields
    assert _checks.KV_CACHE_FIELDS == qn.KVCache._fields
