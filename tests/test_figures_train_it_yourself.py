"""The figures of "Train it yourself" render and show the training run and the checkpoint's score.

The scores are recomputed independently: the same numbers translated by the PyTorch backend
(the figure uses NumPy) and compared with `chinese` here.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv import numbers  # noqa: E402
from qkv.numbers.data import held_out_numbers  # noqa: E402
from qkv.numbers.train import CURVES  # noqa: E402
from qkvdocs.figures import _trained as trained  # noqa: E402
from qkvdocs.figures import render  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_curves_renders_the_run(lang):
    fig = render("train-it-yourself-curves", lang)
    assert fig.svg.startswith("<svg")
    run = json.loads(CURVES.read_text(encoding="utf-8"))
    assert f"{run['exact_match'][-1]:.1%}" in fig.caption
    assert f"{run['steps']:,}" in fig.caption
    assert len(run["step"]) == len(run["loss"]) == len(run["token_accuracy"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_scores_renders(lang):
    fig = render("train-it-yourself-scores", lang)
    assert fig.svg.startswith("<table")
    assert fig.svg.count("<tr>") == 1 + len(trained.scores()) + 1


def test_scores_recomputed_with_torch():
    pytest.importorskip("torch")
    held = np.asarray(held_out_numbers())
    groups = [np.arange(100)] + [
        held[(held >= 10 ** (d - 1)) & (held < 10**d)] for d in (3, 4, 5, 6)
    ]
    for score, members in zip(trained.scores(), groups, strict=True):
        got = numbers.translate([numbers.english(int(n)) for n in members], backend="torch")
        correct = sum(g == numbers.chinese(int(n)) for g, n in zip(got, members, strict=True))
        assert (score.count, score.correct) == (len(members), correct)
