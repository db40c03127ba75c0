"""The three-projections figure renders and shows symmetric, self-seeking shared scores."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.three_projections import shared_vs_separate  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_three_projections_renders(lang):
    fig = render("three-projections-shared-vs-separate", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    # both mean self-weights are printed in the titles
    for mode in ("shared", "separate"):
        self_weight = float(np.diag(shared_vs_separate()[mode]["weights"]).mean())
        assert f"{self_weight:.2f}" in fig.svg


def test_shared_scores_are_symmetric_and_diagonal_heavy():
    data = shared_vs_separate()
    shared, separate = data["shared"], data["separate"]
    np.testing.assert_allclose(shared["scores"], shared["scores"].T, rtol=0, atol=1e-12)
    assert np.abs(separate["scores"] - separate["scores"].T).max() > 0.1
    seq = shared["weights"].shape[0]
    # shared: the weights are close to the identity, as the caption and the page say
    assert np.diag(shared["weights"]).min() > 0.9
    assert np.diag(separate["weights"]).mean() < 2.0 / seq
