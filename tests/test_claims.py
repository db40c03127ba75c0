"""Every claim the site makes, asserted by the function that measures it for the page.

A claim is registered once, in its concept's figure module (`@claim` in
`docs/_tools/qkvdocs/figures/<concept>.py`): what it returns says whether it `holds` and what the
page prints. `test_claim_holds` runs each one by name. The tests after it make the predicates
impossible to pass vacuously: each contradicting measurement is rejected, and a few facts are
checked against numbers computed here by hand, with other sizes and seeds than the page uses.
"""

from __future__ import annotations

import dataclasses
import math
from itertools import pairwise

import numpy as np
import pytest
from qkvdocs import checks
from qkvdocs.figures import (
    matrix_form,
    multi_head,
    scaling,
    scores,
    soft_hard_local,
    teacher_forcing,
    three_projections,
    what_is_self_attention,
)

TIGHT = 1e-12  # float64 equalities: rounding only


def _measured(name: str, *, fresh: bool = False):
    """The claim's result (measured now when `fresh`, else as the build caches it); a claim that
    measures with PyTorch skips where it is not installed."""
    try:
        return checks.get(name).measure() if fresh else checks.measured(name)
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        pytest.skip("PyTorch is not installed: this claim measures with it")


@pytest.mark.parametrize("name", checks.keys())
def test_claim_holds(name):
    result = _measured(name, fresh=True)
    assert result.holds, f"{name}: {result.shown('en')}"
    for lang in ("en", "zh"):
        assert result.shown(lang).strip()


@pytest.mark.parametrize("name", checks.keys())
def test_each_claim_rejects_its_contradiction(name):
    """Each claim names, next to its definition, one field of its measurement changed so that it
    contradicts the claim: the claim must then not hold."""
    result = _measured(name)
    changes = checks.get(name).contradiction(result)
    assert changes and all(result.__dict__[k] != v for k, v in changes.items()), changes
    assert not dataclasses.replace(result, **changes).holds


@pytest.mark.parametrize("n, kernel, window", [(16, 2, 4), (64, 3, 4), (100, 4, 7)])
def test_path_lengths_against_the_formulas(n, kernel, window):
    r = what_is_self_attention.sequential_cost(n, kernel=kernel, window=window)
    assert r.path["recurrent"] == n - 1
    assert r.path["convolutional"] == math.ceil(math.log(n) / math.log(kernel) - 1e-9)
    assert r.path["restricted self-attention"] == math.ceil((n - 1) / window)
    assert r.holds


def test_score_function_parameter_counts():
    r = scores.score_functions(seq_q=3, seq_k=5, d_k=4, hidden=6)
    assert r.parameters["additive"] == 4 * 6 + 4 * 6 + 6  # W_q, W_k, v
    assert r.parameters["bilinear"] == 4 * 4  # W
    assert set(r.shapes.values()) == {(3, 5)}


@pytest.mark.parametrize("seed", [1, 2])
def test_scaling_with_other_seeds(seed):
    r = scaling.scaling_effect(d_k=(4, 16, 64, 256), seed=seed)
    assert r.holds
    assert r.jacobian_scaled[-1] > 2 * r.jacobian_unscaled[-1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shared_projection_with_other_seeds(seed):
    r = three_projections.shared_projection_effect(seq=8, d_model=128, seed=seed)
    assert r.holds and r.uniform == pytest.approx(1 / 8)


def test_multi_head_parameter_count():
    r = multi_head.multi_head_decomposition(num_heads=4, d_model=16, seq=5)
    assert r.parameters == {h: 4 * 16 * 16 + 4 * 16 for h in (1, 2, 4, 8, 16)}


def test_local_attention_scores_the_band():
    r = soft_hard_local.soft_hard_local(taus=(10.0, 1.0, 0.1, 0.01), seq=64, window=2)
    n, w = 64, 2
    assert r.band_entries == n * (2 * w + 1) - w * (w + 1)  # the band, minus its clipped corners
    assert r.full_entries == n * n
    assert r.gumbel_distance[0] > 0.5


@pytest.mark.parametrize("length, vocab, wrong", [(16, 8, 3), (12, 6, 4), (10, 5, 0)])
def test_free_running_compounds_errors(length, vocab, wrong):
    r = teacher_forcing.teacher_forcing_toy(length, vocab=vocab, wrong=wrong)
    truth = r.target[1:]
    assert r.target == tuple(t % vocab for t in range(length))
    # teacher forcing: wrong exactly where the true input is the one mishandled token
    expected_tf = [i for i, t in enumerate(r.target[:-1]) if t == wrong]
    got_tf = [i for i, (p, t) in enumerate(zip(r.teacher_forced, truth, strict=True)) if p != t]
    assert got_tf == expected_tf and r.teacher_forced_errors == len(expected_tf)
    # free running: correct before the first mistake, wrong at every position from it on
    first = expected_tf[0]
    assert r.free_running[:first] == truth[:first]
    assert all(p != t for p, t in zip(r.free_running[first:], truth[first:], strict=True))
    assert r.holds


def test_score_matrix_is_n_by_n_whatever_the_widths():
    r = matrix_form.score_matrix_shapes(seq=9, d_model=12, d_k=3)
    assert r.shapes["scores"] == (9, 9) and r.shapes["out"] == (9, 12)


def test_claims_return_plain_python():
    """What the site prints is built from plain Python values, not arrays."""
    for name in ("scaling-keeps-softmax-responsive", "score-matrix-n-by-n"):
        for value in vars(checks.measured(name)).values():
            assert not isinstance(value, np.ndarray | np.generic), value


def test_soft_lookup_is_soft_at_first():
    r = checks.measured("soft-lookup-limit")
    assert r.distance[0] > 0.1  # at c = 1 the lookup is genuinely soft
    assert all(a < b for a, b in pairwise(r.max_weight))
