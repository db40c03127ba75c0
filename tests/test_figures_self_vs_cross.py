"""The self-vs-cross figure renders in both languages and draws cross-attention weights."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.self_vs_cross import ALIGNMENT, TARGET_LENGTH, attention_maps  # noqa: E402
from qkvdocs.toy import TOKENS  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_self_vs_cross_heatmap_renders(lang):
    fig = render("self-vs-cross-heatmap", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in TOKENS["zh"]:
        assert token in fig.svg


def test_self_vs_cross_heatmap_data():
    self_weights, cross_weights = attention_maps()
    assert self_weights.shape == (6, 6)
    assert cross_weights.shape == (TARGET_LENGTH, 6)
    np.testing.assert_allclose(cross_weights.sum(axis=-1), np.ones(TARGET_LENGTH), atol=1e-12)
    # each target token attends most to a source token that translates it
    for i, word in enumerate(TOKENS["en"][:TARGET_LENGTH]):
        assert ALIGNMENT[int(cross_weights[i].argmax())] == word
