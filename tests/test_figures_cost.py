"""The figures and the live check of the cost page: they render in both languages from the saved
benchmark results, and the claim "tiled" holds."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.cost import (  # noqa: E402
    load_results,
    series,
    tiled_check,
    tiled_check_figure,
    tiled_check_holds,
    tiles_visited,
)


@pytest.mark.parametrize("name", ["cost-time", "cost-memory", "cost-mha"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cost_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith(("<svg", "<table"))
    assert fig.caption and fig.alt
    # the caption names the machine the numbers come from
    assert load_results()["machine"]["cpu_model"] in fig.caption


def test_saved_results_show_linear_memory_for_tiled_and_quadratic_for_naive():
    results = load_results()
    seq, tiled = series(results, "numpy_tiled", "peak_mib")
    assert seq.max() >= 32768 and tiled[seq == seq.max()][0] < 256  # issue 5's bound
    seq_n, naive = series(results, "numpy_naive", "peak_mib")
    # doubling seq roughly quadruples the naive peak (at least 3x), but not the tiled one
    assert (naive[1:] / naive[:-1] > 3.0).all()
    assert (tiled[1:] / tiled[:-1] < 3.0).all()
    # the naive version needs at least the float32 score matrix
    assert (naive * 2**20 >= 4.0 * seq_n.astype(float) ** 2).all()


def test_claim_tiled_equals_naive():
    r = tiled_check()
    assert max(r.max_diff_numpy, r.max_diff_torch) < 1e-10
    assert r.tiles_full == 25 and r.tiles_causal == 15  # 5 x 5 tiles; 5 + 4 + 3 + 2 + 1 causal
    assert tiled_check_holds(r)
    assert "15" in tiled_check_figure(r, "en") and "15" in tiled_check_figure(r, "zh")
    assert r.holds and r.shown("en") == tiled_check_figure(r, "en")
    from qkvdocs import checks

    assert checks.get("tiled-equals-full").measure is tiled_check


def test_tiles_visited_about_halves_with_causal():
    assert tiles_visited(1024, 1024, 128, False) == 64
    assert tiles_visited(1024, 1024, 128, True) == 36  # 8 * 9 / 2
    # seq_q > seq_k: only the first query tile [0, 3) can skip the key tile [3, 4)
    assert tiles_visited(10, 4, 3, False) == 8 and tiles_visited(10, 4, 3, True) == 7
