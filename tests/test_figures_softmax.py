"""The figures of the softmax page render in both languages and draw proper weights."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.softmax import EXAMPLE_SCORES, normalisations, toy_weights  # noqa: E402
from qkvdocs.toy import TOKENS  # noqa: E402


@pytest.mark.parametrize("name", ["softmax-weights", "softmax-normalisations"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_softmax_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in TOKENS[lang]:
        assert token in fig.svg


def test_toy_weights_rows_sum_to_one():
    weights = toy_weights()
    assert weights.shape == (6, 6)
    assert (weights > 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), np.ones(6), rtol=0, atol=1e-12)


def test_normalisations_sum_to_one_and_relu_zeroes_negatives():
    rows = normalisations()
    scores = np.asarray(EXAMPLE_SCORES)
    for name in ("softmax", "relu"):
        np.testing.assert_allclose(rows[name].sum(), 1.0, rtol=0, atol=1e-12)
    assert (rows["softmax"] > 0).all()
    np.testing.assert_array_equal(rows["relu"] == 0, scores <= 0)
    # softmax keeps the order of the scores
    np.testing.assert_array_equal(np.argsort(rows["softmax"]), np.argsort(scores))
