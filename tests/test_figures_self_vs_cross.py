"""The self-vs-cross figures render in both languages and draw the trained translator's weights.

The weights are recomputed independently: through the PyTorch backend of `qkv.numbers.attention`
(the figures use NumPy), then averaged over heads here.
"""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv import numbers  # noqa: E402
from qkvdocs.figures import _trained as trained  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.self_vs_cross import alignment_data, heatmap_data, strongest_words  # noqa: E402


def _torch_maps(number):
    pytest.importorskip("torch")
    result = numbers.attention(numbers.english(number), backend="torch")
    return result, [np.asarray(w) for w in (result.encoder, result.decoder, result.cross)]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["self-vs-cross-heatmap", "self-vs-cross-alignment"])
def test_self_vs_cross_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    for character in numbers.chinese(trained.REGROUP):
        assert character in fig.svg
    assert "twelve" in fig.svg and "thousand" in fig.svg


def test_the_examples_regroup_and_write_zero():
    assert numbers.chinese(trained.REGROUP) == "一万二千"
    assert "零" in numbers.chinese(trained.ZERO)
    assert "zero" not in numbers.english(trained.ZERO)


def test_heatmap_is_the_trained_models_head_average():
    data = heatmap_data()
    result, (encoder, _, cross) = _torch_maps(trained.REGROUP)
    # the shipped model translates the number itself, so its own target is the correct one
    assert list(result.source) == list(data["maps"].source)
    assert list(result.target) == list(data["maps"].target)
    np.testing.assert_allclose(
        data["self"], encoder[data["enc_layer"]].mean(axis=0), rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        data["cross"], cross[data["cross_layer"]].mean(axis=0), rtol=0, atol=1e-5
    )
    seq_src, seq_tgt = len(data["maps"].source), len(data["maps"].target) + 1
    assert data["self"].shape == (seq_src, seq_src)
    assert data["cross"].shape == (seq_tgt, seq_src)
    np.testing.assert_allclose(data["cross"].sum(axis=-1), np.ones(seq_tgt), atol=1e-6)


def test_alignment_draws_each_example_with_the_chosen_layer():
    data = alignment_data()
    assert [len(maps.target) for maps, _ in data] == [
        len(numbers.chinese(n)) for n in trained.EXAMPLES
    ]
    for number, (_, weights) in zip(trained.EXAMPLES, data, strict=True):
        _, (_, _, cross) = _torch_maps(number)
        np.testing.assert_allclose(
            weights, cross[trained.cross_layer()].mean(axis=0), rtol=0, atol=1e-5
        )


def test_alignment_caption_names_each_characters_strongest_word():
    caption = render("self-vs-cross-alignment", "en").caption
    for number, looks in zip(trained.EXAMPLES, strongest_words(), strict=True):
        _, (_, _, cross) = _torch_maps(number)
        weights = cross[trained.cross_layer()].mean(axis=0)  # (seq_tgt, seq_src)
        words = numbers.tokenize_en(numbers.english(number))
        expected = [
            (c, words[int(weights[t].argmax())]) for t, c in enumerate(numbers.chinese(number))
        ]
        assert looks == expected
        assert ", ".join(f"{c} → {w}" for c, w in looks) in caption


def test_cross_layer_is_the_sharpest():
    tops = []
    for layer in range(trained.config().num_layers):
        rows = [trained.maps(n).cross[layer].mean(axis=0).max(axis=-1) for n in trained.sample()]
        tops.append(np.mean(np.concatenate(rows)))
    assert trained.cross_layer() == int(np.argmax(tops))
