"""The figures of the teacher-forcing page render in both languages and draw what they say."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv.claims import teacher_forcing_toy  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.teacher_forcing import cumulative_errors, schedules  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["teacher-forcing-steps", "teacher-forcing-schedules"])
def test_teacher_forcing_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt


def test_teacher_forcing_steps_data():
    toy = teacher_forcing_toy()
    teacher, free = cumulative_errors()
    assert teacher[-1] == toy.teacher_forced_errors
    assert free[-1] == toy.free_running_errors
    # free running is wrong at every step from the first mistake on; teacher forcing is not
    first = toy.first_error - 1
    np.testing.assert_array_equal(np.diff(free[first:]), np.ones(toy.steps - first - 1))
    assert teacher[-1] < free[-1]


def test_teacher_forcing_schedules_data():
    for name, curve in schedules().items():
        assert curve[0] == pytest.approx(1.0, abs=0.01), name
        assert np.all(np.diff(curve) <= 0), name
        assert curve[-1] < 0.05, name
