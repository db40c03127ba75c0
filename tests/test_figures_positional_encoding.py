"""The positional-encoding figures render; their dot products depend on the offset only."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.positional_encoding import D_MODEL, MAX_OFFSET, offset_dots  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["positional-encoding-heatmap", "positional-encoding-offset"])
def test_positional_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt


def test_offset_dots_depend_on_offset_only():
    dots = offset_dots()
    curves = list(dots.values())
    assert len(curves) >= 2
    for curve in curves[1:]:
        np.testing.assert_allclose(curve, curves[0], rtol=0, atol=1e-10)
    k = np.arange(MAX_OFFSET + 1)
    frequencies = 10000.0 ** (-np.arange(0, D_MODEL, 2) / D_MODEL)
    # PE(p) . PE(p + k) = sum_i cos(w_i k)
    expected = np.cos(np.outer(k, frequencies)).sum(axis=-1)
    np.testing.assert_allclose(curves[0], expected, rtol=0, atol=1e-10)
    assert curves[0][0] == pytest.approx(D_MODEL / 2)
