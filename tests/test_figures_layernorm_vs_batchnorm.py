"""The LayerNorm/BatchNorm figure renders in both languages and draws the right groups."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.layernorm_vs_batchnorm import BATCH, D_MODEL, PROBE, SEQ, sharing_groups  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_layernorm_vs_batchnorm_axes_renders(lang):
    fig = render("layernorm-vs-batchnorm-axes", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert "d_model" in fig.svg


def test_layernorm_vs_batchnorm_axes_data():
    groups = sharing_groups()
    b, s, f = PROBE
    expected_layer = np.zeros((BATCH, SEQ, D_MODEL), dtype=bool)
    expected_layer[b, s, :] = True  # LayerNorm: the nudged token's own features
    expected_batch = np.zeros((BATCH, SEQ, D_MODEL), dtype=bool)
    expected_batch[:, :, f] = True  # BatchNorm: the nudged feature everywhere, padding included
    np.testing.assert_array_equal(groups["layer"], expected_layer)
    np.testing.assert_array_equal(groups["batch"], expected_batch)
