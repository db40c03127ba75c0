"""The Transformer page's figure and table render and show the trained translator.

The step-by-step trace drawn in `transformer-block` must reproduce the model's own `encode` and
`decode`; the parameter table must count every array of the checkpoint file.
"""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
import qkv.numpy as qnp  # noqa: E402
from qkv.numbers.model import CHECKPOINT  # noqa: E402
from qkvdocs.figures import _trained as trained  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.transformer import decode_results  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_transformer_block_renders(lang):
    fig = render("transformer-block", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    traced = trained.traced_model()
    seq_src = traced["src"].shape[-1]
    assert f"(1, {seq_src}, {trained.config().d_model})" in fig.svg
    assert "W^out" in fig.svg and "softmax" in fig.svg


def test_transformer_block_traces_the_model():
    traced = trained.traced_model()
    params, heads = trained.params(), trained.config().num_heads
    memory, _ = qnp.encode(traced["src"], params, num_heads=heads)
    np.testing.assert_allclose(traced["memory"], memory, rtol=1e-5, atol=1e-5)
    logits = qnp.decode(traced["tgt"], memory, params, num_heads=heads)
    np.testing.assert_allclose(traced["logits"], logits, rtol=1e-5, atol=1e-5)
    # the model reads "twelve thousand" and, fed the correct prefix, writes 一万二千 then <eos>
    shapes = dict(traced["decoder"])
    seq_tgt, seq_src = traced["tgt"].shape[-1], traced["src"].shape[-1]
    assert shapes["cross"][1] == (1, heads, seq_tgt, seq_src)
    assert shapes["head"] == (1, seq_tgt, len(trained.TGT_VOCAB))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_parameter_table_renders(lang):
    fig = render("transformer-parameters", lang)
    assert fig.svg.startswith("<table")
    assert f"{trained.parameter_counts()['total'][1]:,}" in fig.svg


def test_parameter_counts_match_the_checkpoint_file():
    with np.load(CHECKPOINT, allow_pickle=False) as data:
        weights = [data[k] for k in data.files if not k.startswith(("config.", "vocab."))]
    counts = trained.parameter_counts()
    assert counts["total"] == (len(weights), sum(w.size for w in weights))
    d = trained.config().d_model
    # every attention sub-layer holds 4 d_model^2 + 4 d_model, as the caption says
    for attn in [a for kind in trained.attention_params().values() for a in kind]:
        assert sum(np.asarray(w).size for w in attn) == 4 * d * d + 4 * d


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_decode_speed_table_shows_the_benchmark(lang):
    data = decode_results()
    fig = render("transformer-decode-speed", lang)
    assert fig.svg.startswith("<table")
    long = data["long"]["numpy"]
    for ratio in long["uncached_over_cached"]:
        assert f"<td>{ratio:.1f}</td>" in fig.svg
    assert f"n<sup>{long['cached_growth_exponent']:.1f}</sup>" in fig.caption
    # the ratios are the benchmark's own: uncached / cached of the same run
    for cached, uncached, ratio in zip(
        long["cached_step_ms"], long["uncached_step_ms"], long["uncached_over_cached"], strict=True
    ):
        assert ratio == pytest.approx(uncached / cached, abs=0.01)
