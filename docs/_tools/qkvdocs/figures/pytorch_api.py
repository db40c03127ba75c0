"""Figures of the page "The PyTorch API" (concepts/pytorch-api).

- `pytorch-api-masked-rows`: a table measured at build time with the installed PyTorch: what
  each attention entry point returns for a query row whose keys are all masked (NaN, zero, or the
  output bias alone), in which mode, and with which mask polarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape

import qkv.torch as qt
import torch
import torch.nn.functional as F
from torch import nn

from . import Figure, figure
from ._kit import html_table

MASK_TRUE_ALLOWS = "allow"
MASK_TRUE_BLOCKS = "block"
MASK_ADDED = "added"


@dataclass(frozen=True)
class MaskedRowCase:
    """One call and what it returned on the fully masked query row."""

    call: str  # the call, as code
    mask: str  # MASK_TRUE_ALLOWS, MASK_TRUE_BLOCKS or MASK_ADDED
    mode: str  # "any", "train", "eval + no_grad"
    result: str  # "nan", "zero" (attention output 0, so out = b^O after the projection)


TEXT = {
    "en": {
        "head": ["call", "mask convention", "mode", "fully masked row"],
        "mask": {
            MASK_TRUE_ALLOWS: "bool, True = may attend",
            MASK_TRUE_BLOCKS: "bool, True = blocked",
            MASK_ADDED: "float, added to the scores",
        },
        "mode": {"any": "any", "train": "training", "eval": "eval + no_grad"},
        "result": {
            "nan": "NaN",
            "zero": "zeros",
            "bias": "attention part 0: out = bᴼ",
        },
        "caption": "What each entry point returns for a query whose keys are all masked, measured "
        "while this page was built with PyTorch {version} on the CPU (a 3-token self-attention, "
        "d_model 4, 2 heads, query 1 fully masked). Multi-head rows: when the attention part of "
        "a row is 0, the output projection leaves its bias b<sup>O</sup> there.",
        "alt": "Table: call, mask convention, mode, and the result on a fully masked row.",
    },
    "zh": {
        "head": ["调用", "掩码约定", "模式", "全被屏蔽的行"],
        "mask": {
            MASK_TRUE_ALLOWS: "bool，True = 可以关注",
            MASK_TRUE_BLOCKS: "bool，True = 屏蔽",
            MASK_ADDED: "float，加到分数上",
        },
        "mode": {"any": "任意", "train": "训练", "eval": "eval + no_grad"},
        "result": {
            "nan": "NaN",
            "zero": "零",
            "bias": "注意力部分为 0：out = bᴼ",
        },
        "caption": "对一个所有键都被屏蔽的查询，各入口返回什么；"
        "本页构建时用 PyTorch {version} "
        "在 CPU 上测得（3 个词元的自注意力，d_model 4，2 个头，第 1 个查询全被屏蔽）。"
        "多头的各行：一行的注意力部分为 0 时，输出投影在那里只留下偏置 b<sup>O</sup>。",
        "alt": "表格：调用、掩码约定、模式，以及全遮住的行上的结果。",
    },
}


@cache
def masked_row_cases() -> tuple[MaskedRowCase, ...]:
    """Run every entry point on one input whose query 1 sees no key; classify that row."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 4, generator=generator)  # (batch, seq, d_model)
    q, k, v = torch.randn(3, 1, 2, 3, 2, generator=generator)  # (batch, heads, seq, d_head)
    allow = torch.tensor([[True, True, False], [False, False, False], [True, True, True]])
    added = torch.zeros(3, 3).masked_fill(~allow, float("-inf"))
    torch.manual_seed(0)
    module = nn.MultiheadAttention(4, 2, batch_first=True)
    with torch.no_grad():
        module.out_proj.bias.normal_()  # a visible b^O (PyTorch initialises it to 0)
    bias = module.out_proj.bias.detach()
    ours = qt.MultiHeadAttention.from_torch(module)

    def classify(out: torch.Tensor, *, projected: bool) -> str:
        row = out.detach()[..., 1, :]
        if row.isnan().any():
            return "nan"
        if projected and torch.allclose(row, bias.expand_as(row)):
            return "bias"
        if (row == 0).all():
            return "zero"
        return "finite"

    cases = []

    def add(call, mask, mode, out, *, projected=False):
        cases.append(MaskedRowCase(call, mask, mode, classify(out, projected=projected)))

    add(
        "qkv.torch.scaled_dot_product_attention(q, k, v, mask)",
        MASK_TRUE_ALLOWS,
        "any",
        qt.scaled_dot_product_attention(q, k, v, allow)[0],
    )
    add(
        "F.scaled_dot_product_attention(q, k, v, attn_mask=mask)",
        MASK_TRUE_ALLOWS,
        "any",
        F.scaled_dot_product_attention(q, k, v, attn_mask=allow),
    )
    add(
        "F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask)",
        MASK_ADDED,
        "any",
        F.scaled_dot_product_attention(q, k, v, attn_mask=added),
    )
    add(
        "qkv.torch.MultiHeadAttention(x, x, x, mask)",
        MASK_TRUE_ALLOWS,
        "any",
        ours(x, x, x, allow)[0],
        projected=True,
    )
    for mode in ("train", "eval"):
        module.train(mode == "train")
        with torch.set_grad_enabled(mode == "train"):
            for need_weights in (True, False):
                add(
                    f"nn.MultiheadAttention(x, x, x, attn_mask=~mask, need_weights={need_weights})",
                    MASK_TRUE_BLOCKS,
                    mode,
                    module(x, x, x, attn_mask=~allow, need_weights=need_weights)[0],
                    projected=True,
                )
            add(
                "nn.MultiheadAttention(x, x, x, attn_mask=float_mask)",
                MASK_ADDED,
                mode,
                module(x, x, x, attn_mask=added)[0],
                projected=True,
            )
    module.train()
    return tuple(cases)


def draw_table(lang: str) -> str:
    """The HTML table of `masked_row_cases()` in `lang`."""
    t = TEXT[lang]
    rows = []
    for case in masked_row_cases():
        mode = t["mode"]["eval" if case.mode == "eval" else case.mode]
        result = t["result"].get(case.result, case.result)
        call = f"<code>{escape(case.call)}</code>"
        rows.append((call, escape(t["mask"][case.mask]), escape(mode), escape(result)))
    return html_table(t["head"], rows)


@figure("pytorch-api-masked-rows")
def draw_masked_rows(lang: str) -> Figure:
    """Table: the fully masked row in every entry point, measured now."""
    t = TEXT[lang]
    caption = t["caption"].format(version=torch.__version__)
    return Figure(svg=draw_table(lang), caption=caption, alt=t["alt"])
