"""The multi-head figures render, draw the trained translator, and measure its heads correctly."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkv import numbers  # noqa: E402
from qkvdocs.figures import _trained as trained  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.multi_head import SPLIT_NUMBER, furthest_head, heads_of_number  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    "name", ["multi-head-split", "multi-head-trained-heads", "multi-head-magnitude-heads"]
)
def test_multi_head_figures_render(name, lang):
    fig = render(name, lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt


def test_split_heads_are_column_blocks_of_the_trained_layer():
    data = heads_of_number()
    heads = trained.config().num_heads
    d_head = trained.config().d_model // heads
    assert data["q_heads"].shape == (heads, data["q"].shape[0], d_head)
    for i in range(heads):
        np.testing.assert_array_equal(
            data["q_heads"][i], data["q"][:, i * d_head : (i + 1) * d_head]
        )
    # the weights drawn are the model's first encoder layer, recomputed with PyTorch
    pytest.importorskip("torch")
    result = numbers.attention(numbers.english(SPLIT_NUMBER), backend="torch")
    np.testing.assert_allclose(data["weights"], np.asarray(result.encoder)[0], atol=1e-5)


def _shares_by_loops(weights):
    """Same, previous, next, other: an explicit loop over queries, `(layers, heads, 4)`."""
    layers, heads, seq, _ = weights.shape
    out = np.zeros((layers, heads, 4))
    for i in range(seq):
        row = weights[:, :, i, :]  # (layers, heads, seq_k)
        out[..., 0] += row[..., i]
        out[..., 1] += row[..., i - 1] if i > 0 else 0.0
        out[..., 2] += row[..., i + 1] if i + 1 < seq else 0.0
    out[..., :3] /= seq
    out[..., 3] = 1.0 - out[..., :3].sum(axis=-1)
    return out


@pytest.mark.parametrize("is_trained", [True, False])
def test_head_shares_are_measured_over_the_sample(is_trained):
    expected = np.mean(
        [_shares_by_loops(trained.maps(n, is_trained).encoder) for n in trained.sample()], axis=0
    )
    np.testing.assert_allclose(
        trained.encoder_head_shares(is_trained), expected, rtol=1e-5, atol=1e-6
    )


def test_sample_maps_are_the_models():
    pytest.importorskip("torch")
    for number in trained.sample()[:5]:
        # the encoder reads only the English words, whatever the decoder writes
        result = numbers.attention(numbers.english(number), backend="torch")
        np.testing.assert_allclose(
            trained.maps(number).encoder, np.asarray(result.encoder), atol=1e-5
        )


def test_magnitude_heads_renders_and_counts_the_rows():
    fig = render("multi-head-magnitude-heads", "en")
    assert fig.svg.startswith("<svg")
    rows = sum(
        sum(c in "百千万" for c in numbers.chinese(n)) for n in trained.sample()
    )  # every magnitude character of the sample is one row of the measure
    assert f"the {rows} such characters" in fig.caption


@pytest.mark.parametrize("is_trained", [True, False])
def test_magnitude_shares_by_hand(is_trained):
    layers, heads = trained.config().num_layers, trained.config().num_heads
    total, rows = np.zeros((layers, heads)), 0
    for n in trained.sample():
        words = numbers.english(n).replace("-", " ").split()
        cross = trained.maps(n, is_trained).cross  # (layers, heads, seq_tgt, seq_src)
        for t, character in enumerate(numbers.chinese(n)):
            word = {"百": "hundred", "千": "thousand", "万": "thousand"}.get(character)
            if word is None:
                continue
            columns = [j for j, w in enumerate(words) if w == word]
            total += cross[:, :, t][:, :, columns].sum(axis=-1)
            rows += 1
    np.testing.assert_allclose(
        trained.cross_magnitude_shares(is_trained), total / rows, rtol=1e-5, atol=1e-6
    )


def test_uniform_baselines_by_hand():
    lengths = [len(numbers.english(n).replace("-", " ").split()) for n in trained.sample()]
    same = np.mean([1 / s for s in lengths])
    neighbour = np.mean([(s - 1) / s**2 for s in lengths])
    np.testing.assert_allclose(
        trained.uniform_shares(), [same, neighbour, neighbour, 1 - same - 2 * neighbour]
    )


def test_what_the_page_says_about_the_heads():
    uniform = trained.uniform_shares()
    # "at initialisation every head spreads its weight ... close to an even spread"
    assert np.abs(trained.encoder_head_shares(False) - uniform).max() < 0.1
    # the caption's furthest head is the largest excess over the even spread
    excess = trained.encoder_head_shares(True)[..., :3] - uniform[:3]
    layer, head, kind = furthest_head()
    assert excess[layer, head, kind] == excess.max()
    # magnitude heads: some far above any random head and the even share; others at or below it
    ours, init = trained.cross_magnitude_shares(True), trained.cross_magnitude_shares(False)
    even = trained.uniform_magnitude_share()
    assert ours.max() >= 2 * even
    assert ours.max() >= init.max() + 0.1
    assert ours.min() <= even
