"""The figure of the matrix-form page renders in both languages and draws consistent matrices."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.matrix_form import D_K, D_MODEL, D_V, matrices  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_matrix_form_shapes_renders(lang):
    fig = render("matrix-form-shapes", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert "6 × 6" in fig.caption
    assert "(seq_q, seq_k)" in fig.svg and "(seq_k, d_v)" in fig.svg


def test_matrix_form_shapes_data():
    m = matrices()
    seq = m["x"].shape[0]
    assert m["x"].shape == (seq, D_MODEL)
    assert m["q"].shape == m["k"].shape == (seq, D_K)
    assert m["scores"].shape == m["weights"].shape == (seq, seq)
    assert m["out"].shape == (seq, D_V)
    # the drawn blocks are one computation: weights = softmax(scores) by rows, out = weights @ v
    expected = np.exp(m["scores"] - m["scores"].max(axis=-1, keepdims=True))
    expected /= expected.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(m["weights"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m["out"], m["weights"] @ m["v"], rtol=0, atol=1e-12)
