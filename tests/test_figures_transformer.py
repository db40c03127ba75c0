"""The figure of the Transformer page renders in both languages and traces the reference layers."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
import qkv.numpy as qnp  # noqa: E402
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.transformer import (  # noqa: E402
    BATCH,
    D_FF,
    D_MODEL,
    NUM_HEADS,
    SOURCE_SEQ,
    TARGET_SEQ,
    traced_layers,
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_transformer_block_renders(lang):
    fig = render("transformer-block", lang)
    assert fig.svg.startswith("<svg")
    assert fig.caption and fig.alt
    assert f"({BATCH}, {SOURCE_SEQ}, {D_MODEL})" in fig.svg


def test_transformer_block_traces_the_reference_layers():
    traced = traced_layers()
    source, target, enc, dec = traced["inputs"]
    # the step-by-step trace drawn in the figure is exactly what the reference layers compute
    np.testing.assert_allclose(
        traced["encoder_out"], qnp.encoder_layer(source, enc, num_heads=NUM_HEADS), atol=1e-12
    )
    memory = traced["encoder_out"]
    np.testing.assert_allclose(
        traced["decoder_out"],
        qnp.decoder_layer(target, memory, dec, num_heads=NUM_HEADS),
        atol=1e-12,
    )
    shapes = dict(traced["decoder"])
    assert shapes["cross"] == (
        (BATCH, TARGET_SEQ, D_MODEL),
        (BATCH, NUM_HEADS, TARGET_SEQ, SOURCE_SEQ),
    )
    assert shapes["ffn"][1] == (BATCH, TARGET_SEQ, D_FF)
