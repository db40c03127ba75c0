"""The figures of the teacher-forcing page render in both languages and draw what they say.

The experiment's models are not shipped (only its results), so the tests check that the figures
draw the numbers of `teacher_forcing.json`, that those numbers agree with one another, and that
what the page says about them holds.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv.numbers.data import held_out_numbers  # noqa: E402
from qkv.numbers.teacher_forcing import RESULTS  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.teacher_forcing import MEASURES, REGIMES, budgets, gap_values, schedules  # noqa: E402


def _runs():
    return json.loads(RESULTS.read_text(encoding="utf-8"))["runs"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    "name", ["teacher-forcing-gap", "teacher-forcing-first-error", "teacher-forcing-schedules"]
)
def test_teacher_forcing_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt


def test_gap_draws_the_experiment():
    values = gap_values()
    svg = render("teacher-forcing-gap", "en").svg
    for run in _runs():
        index = budgets().index(run["steps"])
        for measure in MEASURES:
            assert values[measure][run["method"]][index] == run[measure]
            assert f"{run[measure]:.1%}" in svg
    assert sorted({run["method"] for run in _runs()}) == sorted(REGIMES)


@pytest.mark.parametrize("index", range(6))
def test_experiment_counts_agree(index):
    run = _runs()[index]
    assert run["numbers"] == len(held_out_numbers())
    histogram = np.asarray(run["first_error_histogram"])
    # every wrong free-running translation has exactly one first error
    assert histogram.sum() == run["free_running_errors"]
    exact = 1 - run["free_running_errors"] / run["numbers"]
    assert run["free_running_exact_match"] == pytest.approx(exact, abs=1e-5)
    # greedy decoding writes the gold numeral exactly when every next character is right after
    # the gold prefix, so the two whole-number scores are equal (as the page says); float32 ties
    # between the cached and the full decoder could move one number
    assert run["free_running_exact_match"] == pytest.approx(
        run["teacher_forced_sequence_accuracy"], abs=1.5 / run["numbers"]
    )
    # compounding (as the page says): after the first error, free running gets fewer characters
    # right than the same model reading the correct prefix at the same positions
    assert run["after_error_free_running_accuracy"] < run["after_error_teacher_forced_accuracy"]
    # one wrong character spoils a number: characters right >= numbers right (as the page says)
    assert run["teacher_forced_token_accuracy"] >= run["teacher_forced_sequence_accuracy"]
    for example in run["examples"]:
        assert example["free_running"] != example["gold"]


def test_what_the_page_says_about_scheduled_sampling():
    values = gap_values()["free_running_exact_match"]
    diff = np.subtract(values["scheduled_sampling"], values["teacher_forcing"])
    # "changes the exact match by less than two percentage points, ahead at some budgets and
    # behind at others"; "the smallest budget leaves hundreds of wrong numbers, the largest a few"
    assert np.abs(diff).max() < 0.02
    assert (diff > 0).any() and (diff < 0).any()
    errors = {r["steps"]: r["free_running_errors"] for r in _runs()}
    assert errors[min(errors)] >= 100 and errors[max(errors)] < 20


def test_first_error_caption_counts():
    caption = render("teacher-forcing-first-error", "en").caption
    smallest = [r for r in _runs() if r["steps"] == min(budgets())]
    for run in smallest:
        assert str(run["free_running_errors"]) in caption


def test_teacher_forcing_schedules_data():
    for name, curve in schedules().items():
        assert curve[0] == pytest.approx(1.0, abs=0.01), name
        assert np.all(np.diff(curve) <= 0), name
        assert curve[-1] < 0.05, name
