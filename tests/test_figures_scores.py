"""The figure of the scores page renders in both languages and draws the four score functions."""

import numpy as np
import pytest
from qkvdocs.figures import render
from qkvdocs.figures.scores import score_maps
from qkvdocs.toy import TOKENS


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_scores_compared_renders(lang):
    fig = render("scores-compared", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in TOKENS[lang]:
        assert token in fig.svg


def test_score_maps_symmetry_and_cosine_diagonal():
    maps = score_maps()
    assert set(maps) == {"dot", "cosine", "additive", "bilinear"}
    for scores in maps.values():
        assert scores.shape == (6, 6)
    # parameter-free similarities of a sentence with itself are symmetric ...
    np.testing.assert_allclose(maps["dot"], maps["dot"].T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(maps["cosine"], maps["cosine"].T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.diag(maps["cosine"]), np.ones(6), rtol=0, atol=1e-12)
    # ... the ones with parameters are not
    for name in ("additive", "bilinear"):
        assert np.abs(maps[name] - maps[name].T).max() > 1e-3, name
    # what the caption says: here every token scores highest against itself or its twin
    for name in ("dot", "cosine"):
        best = maps[name].argmax(axis=-1)
        same_word = [TOKENS["en"][b] == TOKENS["en"][i] for i, b in enumerate(best)]
        assert all(same_word), name
