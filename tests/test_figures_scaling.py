"""The figures of the scaling page render in both languages and show saturation without scaling."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.scaling import D_KS, SEQ_K, softmax_jacobian, sweep  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["scaling-saturation", "scaling-jacobian"])
def test_scaling_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert "d_k" in fig.svg


def test_softmax_jacobian_formula():
    p = np.array([0.5, 0.25, 0.25])
    expected = np.array(
        [[0.25, -0.125, -0.125], [-0.125, 0.1875, -0.0625], [-0.125, -0.0625, 0.1875]]
    )
    np.testing.assert_allclose(softmax_jacobian(p), expected, rtol=0, atol=1e-15)
    # a one-hot distribution has a zero Jacobian: the saturated softmax passes back nothing
    np.testing.assert_array_equal(softmax_jacobian(np.eye(SEQ_K)[0]), np.zeros((SEQ_K, SEQ_K)))


def test_scaling_sweep_shows_saturation():
    data = sweep()
    scaled, unscaled = data["scaled"], data["unscaled"]
    assert len(unscaled["jacobian"]) == len(D_KS)
    # d_k = 1: scaling changes nothing
    np.testing.assert_allclose(scaled["max"][0], unscaled["max"][0], rtol=1e-12)
    # unscaled: the largest weight goes to 1, the entropy and the Jacobian shrink
    assert unscaled["max"][-1] > 0.9 > 0.3 > scaled["max"][-1]
    assert unscaled["entropy"][-1] < 0.25 * scaled["entropy"][-1]
    assert unscaled["jacobian"][-1] < 0.3 * scaled["jacobian"][-1]
    # scaled: the Jacobian stays put across three orders of magnitude of d_k
    assert np.ptp(scaled["jacobian"]) < 0.1 * scaled["jacobian"].mean()
    # the misleading measure grows unscaled while the Jacobian shrinks
    assert unscaled["grad_q"][-1] > 3 * unscaled["grad_q"][0]
