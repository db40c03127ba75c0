"""The figure of the soft-hard-local page renders in both languages and draws what it says."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.soft_hard_local import TAUS, WINDOW, local_weights, weight_rows  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_soft_hard_local_weights_renders(lang):
    fig = render("soft-hard-local-weights", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert "Gumbel" in fig.svg


def test_soft_hard_local_weights_data():
    rows = weight_rows()
    soft, hard = rows["soft"], rows["hard"]
    np.testing.assert_array_equal(hard, np.eye(len(soft))[soft.argmax()])
    # the Gumbel weights sharpen as the temperature falls, toward a one-hot vector
    peaks = [rows[f"gumbel {tau:g}"].max() for tau in TAUS]
    assert peaks == sorted(peaks)
    assert peaks[-1] > 0.95
    band = local_weights()
    i, j = np.indices(band.shape)
    np.testing.assert_array_equal(band[np.abs(i - j) > WINDOW], 0.0)
    np.testing.assert_allclose(band.sum(axis=-1), np.ones(band.shape[0]), atol=1e-12)
