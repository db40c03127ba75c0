"""The figures of the query-key-value page render in both languages and draw what they claim."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.query_key_value import D_K, D_MODEL, D_V, LAYOUT, flow_shapes, soft_to_hard  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_flow_renders(lang):
    fig = render("query-key-value-flow", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for _, _, symbolic in LAYOUT.values():
        assert symbolic in fig.svg


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_soft_to_hard_renders(lang):
    fig = render("query-key-value-soft-to-hard", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt


def test_flow_shapes_match_the_dimension_names():
    seq = 6
    sizes = {"seq": seq, "seq_q": seq, "seq_k": seq, "d_model": D_MODEL, "d_k": D_K, "d_v": D_V}
    shapes = flow_shapes()
    for name, (_, _, symbolic) in LAYOUT.items():
        expected = tuple(sizes[dim.strip()] for dim in symbolic.strip("()").split(","))
        assert shapes[name] == expected, name


def test_soft_weights_tend_to_the_hard_lookup():
    rows, hard = soft_to_hard()
    top = [row.max() for row in rows]
    # sharper scores put more weight on the best key
    assert all(a < b for a, b in zip(top[:-1], top[1:], strict=True))
    np.testing.assert_array_equal(hard, np.eye(len(hard))[np.argmax(rows[0])])
    np.testing.assert_allclose(rows[-1], hard, rtol=0, atol=0.01)
    for row in rows:
        np.testing.assert_allclose(row.sum(), 1.0, rtol=0, atol=1e-12)
