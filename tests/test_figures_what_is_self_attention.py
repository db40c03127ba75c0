"""The what-is-self-attention figures render in both languages and draw what they claim."""

import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures._toy import TOKENS  # noqa: E402
from qkvdocs.figures.what_is_self_attention import reach_maps, table1_rows  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_table_renders(lang):
    fig = render("what-is-self-attention-table", lang)
    assert fig.svg.startswith("<table")
    assert fig.svg.count("<tr>") == 2 + 5  # two header rows, five layer types
    assert "O(n²·d)" in fig.svg and "O(log_k(n))" in fig.svg
    assert "Vaswani" in fig.caption and fig.alt


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reach_renders(lang):
    fig = render("what-is-self-attention-reach", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for token in TOKENS[lang]:
        assert token in fig.svg


def test_table_values_follow_the_formulas():
    n, d, k, r = 100, 32, 4, 10
    attention, recurrent, contiguous, dilated, restricted = table1_rows(n, d, k, r)
    assert (attention["ops"], attention["steps"], attention["hops"]) == (n * n * d, 1, 1)
    assert (recurrent["ops"], recurrent["steps"], recurrent["hops"]) == (n * d * d, n, n - 1)
    # contiguous kernels: the receptive field 1 + L (k - 1) must cover n positions
    layers = contiguous["hops"]
    assert 1 + layers * (k - 1) >= n > 1 + (layers - 1) * (k - 1)
    # dilated kernels: the receptive field k^L must cover n positions
    assert k ** dilated["hops"] >= n > k ** (dilated["hops"] - 1)
    assert restricted["hops"] == math.ceil((n - 1) / r)


def test_reach_maps_show_global_banded_and_causal_dependence():
    maps = reach_maps(seq=6)
    i, j = np.indices((6, 6))
    np.testing.assert_array_equal(maps["attention"], np.ones((6, 6), dtype=bool))
    np.testing.assert_array_equal(maps["convolution"], np.abs(i - j) <= 1)
    np.testing.assert_array_equal(maps["recurrent"], j <= i)
