"""The figures and the live check of the cost page: they render in both languages from the saved
benchmark results, and the claim "tiled" holds."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.cost import (  # noqa: E402
    draw_gpu,
    load_results,
    series,
    tiled_check,
    tiled_check_figure,
    tiled_check_holds,
    tiles_visited,
)


@pytest.mark.parametrize(
    "name", ["cost-time", "cost-memory", "cost-mha", "cost-backward-time", "cost-backward-memory"]
)
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
    assert seq.max() >= 32768 and tiled[seq == seq.max()][0] < 256  # O(seq): far below 4 GiB
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


def test_saved_results_show_linear_memory_for_the_tiled_backward_pass():
    results = load_results()
    seq, tiled = series(results, "torch_tiled_fwd_bwd", "peak_mib", "backward")
    _, naive = series(results, "torch_naive_fwd_bwd", "peak_mib", "backward")
    assert seq.max() == 8192
    # autograd through the naive formula keeps at least the float32 (n, n) weights
    assert (naive * 2**20 >= 4.0 * seq.astype(float) ** 2).all()
    assert tiled.max() < 200  # MiB, at every n up to 8192
    caption = render("cost-backward-memory", "en").caption
    assert f"{naive[-1]:.0f} MiB" in caption and f"{tiled[-1]:.1f} MiB" in caption


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gpu_figure_names_the_device(tmp_path, lang):
    """The GPU figure is drawn from a results file of `python -m benchmarks.gpu` (none is saved
    from this machine, so the file here is a small hand-written one)."""
    rows = [
        {
            "seq": seq,
            "ratios": {"torch_tiled / f_sdpa": 2.0, "torch_tiled_fwd_bwd / f_sdpa_fwd_bwd": 1.5},
        }
        for seq in (1024, 4096)
    ]
    results = {
        "machine": {
            "gpu": "Some GPU 80GB",
            "cuda": "12.8",
            "torch": "2.13.0",
            "date_utc": "2026-12-02T00:00:00Z",
        },
        "parts": {dtype: {"tiled": {"rows": rows}} for dtype in ("float16", "bfloat16")},
    }
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    fig = draw_gpu(lang, path)
    assert fig.svg.startswith("<svg") and "Some GPU 80GB" in fig.caption and fig.alt
