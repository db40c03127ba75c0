"""The figure of the scores page renders in both languages and draws the four score functions."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures._toy import TOKENS, toy_embeddings  # noqa: E402
from qkvdocs.figures.scores import D_MODEL, score_maps  # noqa: E402


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
    # what the caption says: with the cosine every token scores highest against itself; in the
    # dot product the longest vector also takes the top score of at least one other row, and
    # every other row still peaks on its own token
    np.testing.assert_array_equal(maps["cosine"].argmax(axis=-1), np.arange(6))
    longest = int(np.linalg.norm(toy_embeddings(D_MODEL), axis=-1).argmax())
    best = maps["dot"].argmax(axis=-1)
    assert all(b in (i, longest) for i, b in enumerate(best))
    assert sum(b == longest != i for i, b in enumerate(best)) >= 1
