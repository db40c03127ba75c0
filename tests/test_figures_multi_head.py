"""The multi-head figure renders, and its heads are the column blocks of the projection."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.multi_head import D_MODEL, NUM_HEADS, heads_of_toy  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_multi_head_split_renders(lang):
    fig = render("multi-head-split", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert f"d_model = {D_MODEL}" in fig.caption


def test_heads_are_column_blocks():
    data = heads_of_toy()
    d_head = D_MODEL // NUM_HEADS
    assert data["q_heads"].shape == (NUM_HEADS, data["q"].shape[0], d_head)
    for i in range(NUM_HEADS):
        np.testing.assert_array_equal(
            data["q_heads"][i], data["q"][:, i * d_head : (i + 1) * d_head]
        )
    np.testing.assert_allclose(data["weights"].sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # the heads compute different patterns
    assert np.abs(data["weights"][0] - data["weights"][1]).max() > 0.05
