"""The three-projections figures render; the trained table measures the checkpoint's W^Q, W^K."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import _trained as trained  # noqa: E402
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


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_trained_table_renders_every_sub_layer(lang):
    fig = render("three-projections-trained", lang)
    assert fig.svg.startswith("<table")
    assert fig.svg.count("<tr>") == 1 + 3 * trained.config().num_layers
    for row in trained.projection_stats(True):
        assert f"<td>{row.distance:.2f}</td>" in fig.svg


def test_asymmetry_is_zero_for_shared_and_two_for_antisymmetric(rng):
    w = rng.standard_normal((8, 8))
    assert trained.score_asymmetry(w, w, 2) == pytest.approx(0.0, abs=1e-12)
    # one head, W^Q = I and W^K = S^T: M = S, antisymmetric, so ||M - M^T|| = 2 ||M||
    a = rng.standard_normal((8, 8))
    s = a - a.T
    assert trained.score_asymmetry(np.eye(8), s.T, 1) == pytest.approx(2.0, rel=1e-12)
    # swapping the roles of W^Q and W^K transposes M, which keeps the ratio
    v = rng.standard_normal((8, 8))
    assert trained.score_asymmetry(w, v, 2) == pytest.approx(trained.score_asymmetry(v, w, 2))


@pytest.mark.parametrize("is_trained", [True, False])
def test_projection_stats_recomputed_from_the_checkpoint(is_trained):
    heads = trained.config().num_heads
    d_head = trained.config().d_model // heads
    rows = trained.projection_stats(is_trained)
    params = trained.attention_params(is_trained)
    for row in rows:
        p = params[row.kind][row.layer]
        w_q, w_k = np.asarray(p.w_q), np.asarray(p.w_k)
        distance = np.sqrt(((w_q - w_k) ** 2).sum() / (w_q**2).sum())
        np.testing.assert_allclose(row.distance, distance, rtol=1e-5)
        ratios = []
        for i in range(heads):
            q_i = w_q[:, i * d_head : (i + 1) * d_head]
            k_i = w_k[:, i * d_head : (i + 1) * d_head]
            m = np.einsum("ai,bi->ab", q_i, k_i)
            ratios.append(np.sqrt(((m - m.T) ** 2).sum() / (m**2).sum()))
        np.testing.assert_allclose(row.asymmetry, np.mean(ratios), rtol=1e-5)
        if row.kind == "cross":
            assert row.self_weight is None
        else:
            diagonal = [
                w[row.layer, h, i, i]
                for n in trained.sample()
                for w in [getattr(trained.maps(n, is_trained), row.kind)]
                for h in range(heads)
                for i in range(w.shape[-1])
            ]
            np.testing.assert_allclose(row.self_weight, np.mean(diagonal), rtol=1e-5)


def test_what_the_page_says_about_the_trained_projections():
    # "W^Q and W^K stay about as far apart as two unrelated random matrices, and the score
    # forms stay about as asymmetric": within 0.2 of sqrt(2), the value of unrelated matrices
    for row in trained.projection_stats(True):
        assert abs(row.distance - np.sqrt(2)) < 0.2, row
        assert abs(row.asymmetry - np.sqrt(2)) < 0.2, row
