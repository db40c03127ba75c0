"""The figures of the softmax page render in both languages and draw proper weights."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv import numbers  # noqa: E402
from qkvdocs.figures import _trained as trained  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures._toy import TOKENS  # noqa: E402
from qkvdocs.figures.softmax import (  # noqa: E402
    EXAMPLE_SCORES,
    SOFTMAX_LAYER,
    normalisations,
    trained_weights,
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_softmax_weights_renders(lang):
    fig = render("softmax-weights", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in trained_weights()["tokens"]:
        assert f">{token}<" in fig.svg or token in fig.svg


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_softmax_normalisations_renders(lang):
    fig = render("softmax-normalisations", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in TOKENS[lang]:
        assert token in fig.svg


def test_trained_weights_are_one_head_of_the_model():
    data = trained_weights()
    weights = data["weights"]
    seq = len(data["tokens"])
    assert weights.shape == (seq, seq)
    assert (weights > 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), np.ones(seq), rtol=0, atol=1e-6)
    pytest.importorskip("torch")
    result = numbers.attention(numbers.english(trained.PLAIN), backend="torch")
    layer = np.asarray(result.encoder)[SOFTMAX_LAYER]  # (heads, seq, seq)
    np.testing.assert_allclose(weights, layer[data["head"]], atol=1e-5)
    # the head drawn is the sharpest of the layer: the largest mean top weight
    tops = [layer[h].max(axis=-1).mean() for h in range(layer.shape[0])]
    assert data["head"] == int(np.argmax(tops))


def test_normalisations_sum_to_one_and_relu_zeroes_negatives():
    rows = normalisations()
    scores = np.asarray(EXAMPLE_SCORES)
    for name in ("softmax", "relu"):
        np.testing.assert_allclose(rows[name].sum(), 1.0, rtol=0, atol=1e-12)
    assert (rows["softmax"] > 0).all()
    np.testing.assert_array_equal(rows["relu"] == 0, scores <= 0)
    # softmax keeps the order of the scores
    np.testing.assert_array_equal(np.argsort(rows["softmax"]), np.argsort(scores))
