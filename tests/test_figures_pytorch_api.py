"""The measured table of the PyTorch API page renders in both languages and records what the
page says about fully masked rows."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the site's figures need it")
from qkvdocs.figures import render  # noqa: E402
from qkvdocs.figures.pytorch_api import masked_row_cases  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_masked_rows_table_renders(lang):
    fig = render("pytorch-api-masked-rows", lang)
    assert fig.svg.startswith("<table") and fig.svg.count("<tr>") == 1 + len(masked_row_cases())
    assert fig.caption and fig.alt
    assert "nn.MultiheadAttention" in fig.svg and "NaN" in fig.svg


def test_masked_rows_data():
    by_call = {(c.call, c.mode): c.result for c in masked_row_cases()}
    # qkv and SDPA: zeros (qkv's module: the output bias alone); nn.MultiheadAttention: NaN
    assert by_call["qkv.torch.scaled_dot_product_attention(q, k, v, mask)", "any"] == "zero"
    assert by_call["F.scaled_dot_product_attention(q, k, v, attn_mask=mask)", "any"] == "zero"
    assert by_call["qkv.torch.MultiHeadAttention(x, x, x, mask)", "any"] == "bias"
    weights_call = "nn.MultiheadAttention(x, x, x, attn_mask=~mask, need_weights=True)"
    fused_call = "nn.MultiheadAttention(x, x, x, attn_mask=~mask, need_weights=False)"
    assert by_call[weights_call, "train"] == by_call[weights_call, "eval"] == "nan"
    assert by_call[fused_call, "train"] == "bias" and by_call[fused_call, "eval"] == "nan"
