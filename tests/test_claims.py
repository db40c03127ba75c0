"""One named test per "Check" of the syllabus (rows 1-18).

Each test calls the same `qkv.claims` function whose numbers the site prints at build time, and
asserts the claim as a mathematical property (an equality to rounding, a monotone trend, a ratio in
a band), never a number copied from an earlier run. The site's registry
(`docs/_tools/qkvdocs/checks.py`) names these tests next to each claim.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from qkv import claims

TIGHT = 1e-12  # float64 equalities: rounding only


def test_row_01_n_in_n_out_all_connected():
    r = claims.self_attention_io(seq=6, d_model=8)
    assert r.num_inputs == r.num_outputs == 6
    # every (output, input) pair responds to a nudge of size 0.1 far above rounding noise
    assert r.min_change > 1e-8
    assert r.max_change < 0.5  # attention is smooth: a small nudge gives a small change


@pytest.mark.parametrize("n, kernel, window", [(16, 2, 4), (64, 3, 4), (100, 4, 7)])
def test_row_02_path_lengths_and_steps(n, kernel, window):
    r = claims.sequential_cost(n, kernel=kernel, window=window)
    assert [row["layer"] for row in r.table] == [
        "self-attention",
        "recurrent",
        "convolutional",
        "restricted self-attention",
    ]
    assert r.path["self-attention"] == 1
    assert r.path["recurrent"] == n - 1
    assert r.path["convolutional"] == math.ceil(math.log(n) / math.log(kernel) - 1e-9)
    assert r.path["restricted self-attention"] == math.ceil((n - 1) / window)
    assert r.path == r.path_formula
    assert r.steps == {"self-attention": 1, "recurrent": n}


def test_row_03_score_functions_and_parameters():
    r = claims.score_functions(seq_q=3, seq_k=5, d_k=4, hidden=6)
    names = {"dot", "scaled dot", "cosine", "additive", "bilinear"}
    assert set(r.max_error) == set(r.shapes) == set(r.parameters) == names
    for name, error in r.max_error.items():
        assert error < TIGHT, name
    assert set(r.shapes.values()) == {(3, 5)}
    assert r.parameters["dot"] == r.parameters["scaled dot"] == r.parameters["cosine"] == 0
    assert r.parameters["additive"] == 4 * 6 + 4 * 6 + 6  # W_q, W_k, v
    assert r.parameters["bilinear"] == 4 * 4  # W


def test_row_04_soft_lookup_tends_to_hard():
    r = claims.soft_lookup_limit()
    assert all(a > b for a, b in pairwise(r.distance))  # sharper -> closer
    assert r.distance[0] > 0.1  # at c = 1 the lookup is genuinely soft
    assert r.distance[-1] < 1e-6  # at large c it is the hard lookup
    assert all(a < b for a, b in pairwise(r.max_weight))
    assert r.max_weight[-1] > 1 - 1e-6


def test_row_05_softmax_rows_shift_and_huge_logits():
    r = claims.softmax_properties()
    assert r.row_sum_error < TIGHT
    assert r.min_weight >= 0.0
    assert r.shift_error < TIGHT
    assert r.huge_finite and r.huge_logits == (1.0, 0.0, 0.0)
    assert not r.naive_finite  # the stable form is needed: exp(1e4) overflows in float32


def test_row_06_loop_equals_matrix():
    r = claims.loop_equals_matrix(seq_q=5, seq_k=7, d_k=4, d_v=3)
    assert r.out_error < TIGHT
    assert r.weights_error < TIGHT


def test_row_07_columns_equal_rows_transposed():
    r = claims.columns_equal_rows(seq=6, d_k=4, d_v=3)
    assert r.out_error < TIGHT
    assert r.weights_error < TIGHT
    assert r.column_shapes == {"q_cols": (4, 6), "weights_cols": (6, 6), "out_cols": (3, 6)}
    assert r.row_shapes == {"query": (6, 4), "weights": (6, 6), "out": (6, 3)}


@pytest.mark.parametrize("seed", [0, 1])
def test_row_08_scaling_keeps_jacobian(seed):
    r = claims.scaling_effect(d_k=(4, 16, 64, 256), seed=seed)
    # Var(q . k) = d_k for unit-variance entries (4000 samples: about 3% sampling error)
    assert len(r.variance_ratio) == len(r.jacobian_unscaled) == len(r.jacobian_scaled) == 4
    for ratio in r.variance_ratio:
        assert 0.9 <= ratio <= 1.1
    # the finite-difference Jacobian is diag(p) - p p^T
    assert r.jacobian_formula_error < 1e-6
    # unscaled: the Jacobian shrinks at every step of d_k, to less than half
    unscaled = r.jacobian_unscaled
    assert all(a > b for a, b in pairwise(unscaled))
    assert unscaled[-1] < 0.5 * unscaled[0]
    # scaled: it keeps its size
    scaled = r.jacobian_scaled
    assert max(scaled) / min(scaled) < 1.25
    assert scaled[-1] > 2 * unscaled[-1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_row_09_shared_projection_symmetric_and_self_attending(seed):
    r = claims.shared_projection_effect(seq=8, d_model=128, seed=seed)
    assert r.asymmetry_shared < TIGHT  # W^q = W^k: S = S^T
    assert r.asymmetry_separate > 0.1
    assert r.self_weight_shared > 0.9  # near identity attention
    assert 0.8 <= r.self_weight_separate / r.uniform <= 1.25  # near 1/n
    assert r.uniform == pytest.approx(1 / 8)


def test_row_10_multi_head_is_heads_concatenated():
    r = claims.multi_head_decomposition(num_heads=4, d_model=16, seq=5)
    assert r.split_error < TIGHT
    assert r.one_head_error < TIGHT
    d_model = 16
    assert r.parameters == {h: 4 * d_model * d_model + 4 * d_model for h in (1, 2, 4, 8, 16)}


def test_row_11_positions_equivariance_rotation_offset():
    r = claims.positional_properties(num_positions=64, d_model=16, offsets=(1, 2, 5, 10))
    assert r.equivariance_error < TIGHT
    assert r.with_positions_change > 1e-3  # adding positions breaks the symmetry
    assert r.rotation_error < 1e-9
    assert r.orthogonality_error < TIGHT  # M_k is a rotation
    assert r.offset_spread < 1e-9


def test_row_12_causal_gradient_and_padding():
    r = claims.mask_properties(seq=6, d_model=4)
    assert r.causal_leak == 0.0  # exactly: masked scores are -inf, their weights exactly 0
    assert r.causal_dependence > 1e-6  # the past does get through
    assert r.unmasked_leak > 1e-3  # without the mask the future leaks: the test can fail
    assert r.padding_change < TIGHT


def test_row_13_cross_attention_shapes():
    r = claims.cross_attention_shapes(seq_q=3, seq_k=5, d_model=8, num_heads=2)
    assert r.target_shape == (3, 8) and r.source_shape == (5, 8)
    assert r.weights_shape == (2, 3, 5)
    assert r.out_shape == (3, 8)
    assert r.row_sum_error < TIGHT
    assert r.target_isolation < TIGHT  # a target token reads the source, not the other targets


def test_row_14_hard_gumbel_local():
    r = claims.soft_hard_local(taus=(10.0, 1.0, 0.1, 0.01), seq=64, window=2)
    assert r.hard_is_argmax_one_hot
    assert r.hard_out_error < TIGHT
    d = r.gumbel_distance
    assert all(a > b for a, b in pairwise(d))  # colder -> closer to one-hot
    assert d[0] > 0.5 and d[-1] < 0.05
    assert r.local_error < TIGHT
    n, w = 64, 2
    assert r.band_entries == n * (2 * w + 1) - w * (w + 1)  # the band, minus its clipped corners
    assert r.full_entries == n * n


def test_row_15_encoder_layer_equals_pytorch():
    pytest.importorskip("torch")
    r = claims.encoder_layer_vs_pytorch(d_model=8, num_heads=2, dim_feedforward=16)
    assert set(r.max_error) == {"post-LN relu", "pre-LN gelu"}
    for name, error in r.max_error.items():
        assert error < 1e-10, name


def test_row_16_layer_norm_ignores_batch():
    r = claims.norm_independence(seq=5, d_model=8, batch=4)
    assert r.layer_norm_batch_change < TIGHT
    assert r.layer_norm_padding_change < TIGHT
    assert r.batch_norm_batch_change > 0.1
    assert r.batch_norm_padding_change > 0.1


@pytest.mark.parametrize("length, vocab, wrong", [(16, 8, 3), (12, 6, 4), (10, 5, 0)])
def test_row_17_free_running_compounds_errors(length, vocab, wrong):
    r = claims.teacher_forcing_toy(length, vocab=vocab, wrong=wrong)
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
    assert r.free_running_errors == r.steps - first
    assert r.free_running_errors > r.teacher_forced_errors


def test_row_18_score_matrix_shapes():
    r = claims.score_matrix_shapes(seq=6, d_model=300, d_k=64)
    assert r.shapes["x"] == (6, 300)
    assert r.shapes["scores"] == (6, 6)
    assert r.shapes["weights"] == (6, 6)
    assert r.shapes["out"] == (6, 300)
    assert r.row_sum_error < TIGHT
    # the score matrix is n x n whatever the widths
    other = claims.score_matrix_shapes(seq=9, d_model=12, d_k=3)
    assert other.shapes["scores"] == (9, 9) and other.shapes["out"] == (9, 12)


def test_claims_return_plain_python():
    """What the site prints is built from plain Python values, not arrays."""
    for result in (
        claims.scaling_effect(),
        claims.shared_projection_effect(),
        claims.teacher_forcing_toy(),
        claims.score_matrix_shapes(),
    ):
        for value in vars(result).values():
            assert not isinstance(value, np.ndarray | np.generic), value
