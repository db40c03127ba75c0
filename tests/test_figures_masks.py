"""The figures of the masks page render in both languages and draw the masks they claim to."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.masks import REAL_LENGTH, TEXT, WINDOW, mask_examples  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_masks_kinds_renders(lang):
    fig = render("masks-kinds", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert "<pad>" not in fig.svg  # labels are escaped text
    assert TEXT[lang]["xlabel"] in fig.svg and TEXT[lang]["ylabel"] in fig.svg


def test_masks_kinds_data():
    causal, padding, local = mask_examples(6)
    i, j = np.indices((6, 6))
    np.testing.assert_array_equal(causal, j <= i)
    np.testing.assert_array_equal(padding, np.broadcast_to(j < REAL_LENGTH, (6, 6)))
    np.testing.assert_array_equal(local, np.abs(i - j) <= WINDOW)
