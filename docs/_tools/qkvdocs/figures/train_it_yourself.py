"""Figures and tables of the page "Train it yourself" (concepts/train-it-yourself).

- `train-it-yourself-curves`: loss, teacher-forced accuracy and held-out exact match of the
  training run, read from the `curves.json` it wrote next to the checkpoint.
- `train-it-yourself-scores`: exact match of the shipped checkpoint by magnitude, translated with
  `qkv.numbers.translate` when the site is built (`qkvdocs.figures._trained.scores`).
"""

from __future__ import annotations

import inspect
from html import escape

from qkv.numbers.train import train

from . import Figure, figure
from . import _trained as trained
from ._kit import html_table
from ._svg import new_figure, to_svg

# what a run records only through its defaults (the evaluation set's size)
_TRAIN_DEFAULTS = inspect.signature(train).parameters

SCORE_TEXT = {
    "en": {
        "head": ("numbers", "how many", "exact match", "examples of mistakes"),
        "digits": "{d} digits",
        "small": "1 and 2 digits (all, seen in training)",
        "held": "{d} digits (held out)",
        "total": "all held-out numbers",
        "none": "none",
        "caption": (
            "The shipped checkpoint, translating with greedy decoding when the site is built: the "
            "share of numbers whose whole Chinese numeral is right, character for character. The "
            "numbers of 3 to 6 digits are the fixed held-out set that training never draws; the "
            "100 numbers of 1 and 2 digits are too few to hold any out, so training sees them all."
        ),
        "alt": "A table of exact-match scores by number of digits, with examples of mistakes.",
    },
    "zh": {
        "head": ("数", "个数", "完全匹配率", "错误示例"),
        "digits": "{d} 位数",
        "small": "1 位和 2 位数（全部，训练中见过）",
        "held": "{d} 位数（留出）",
        "total": "全部留出的数",
        "none": "无",
        "caption": (
            "随包发布的检查点在构建网站时用贪心解码翻译的结果：整个中文数字逐字正确的数所占的比例。"
            "3 到 6 位数取自固定的留出集，训练从不抽到它们；1 位和 2 位数一共只有 100 个，少到留不"
            "出来，所以训练全都见过。"
        ),
        "alt": "一张表，按位数列出完全匹配率，并给出错误示例。",
    },
}


@figure("train-it-yourself-scores")
def draw_scores(lang: str) -> Figure:
    """Table: exact match by magnitude, computed now."""
    t = SCORE_TEXT[lang]
    rows = []
    held_count = held_correct = 0
    for score in trained.scores():
        if score.held_out:
            label = t["held"].format(d=score.digits[0])
            held_count += score.count
            held_correct += score.correct
        else:
            label = t["small"]
        mistakes = "; ".join(f"{n:,} → {out or '∅'}" for n, out in score.wrong_examples)
        share = f"{score.correct / score.count:.1%}"
        rows.append((escape(label), f"{score.count:,}", share, escape(mistakes or t["none"])))
    share = f"{held_correct / held_count:.1%}"
    rows.append((escape(t["total"]), f"{held_count:,}", share, ""))
    table = html_table(t["head"], rows)
    return Figure(table, t["caption"], t["alt"])


CURVE_TEXT = {
    "en": {
        "loss": "training loss (cross-entropy)",
        "accuracy": "accuracy",
        "token": "next-character accuracy, teacher-forced (training batches)",
        "exact": "exact match, greedy (held-out numbers)",
        "step": "training step",
        "caption": (
            "The run that produced the shipped checkpoint: {steps:,} Adam steps of {batch} "
            "numbers drawn from a pool of {pool:,} training numbers, {seconds:.0f} s of training "
            "on {threads} CPU threads. Left: the cross-entropy of the next character, averaged "
            "over every 25 steps. Right: the share of next characters right when the decoder "
            "reads the correct prefix (teacher forcing, on the training batches), and the share "
            "of {evals} held-out numbers translated exactly right by greedy decoding, measured "
            "every {every} steps; the last is {final:.1%}. Read from curves.json, written by the "
            "training run."
        ),
        "alt": (
            "Two line charts against the training step: the loss falling steeply and then "
            "slowly; next-character accuracy and exact match rising toward 1, exact match "
            "later than accuracy."
        ),
    },
    "zh": {
        "loss": "训练损失（交叉熵）",
        "accuracy": "准确率",
        "token": "下一个字的准确率，教师强制（训练批次）",
        "exact": "完全匹配率，贪心解码（留出的数）",
        "step": "训练步数",
        "caption": (
            "产生随包发布的检查点的那次训练：{steps:,} 步 Adam，每步从 {pool:,} 个训练用的数组成的"
            "池子里抽 {batch} 个数，在 {threads} 个 CPU 线程上训练了 {seconds:.0f} 秒。左：下一个字"
            "的交叉熵，每 25 步取一次平均。右：解码器读入正确前缀时（教师强制，在训练批次上）下一个"
            "字预测正确的比例，以及每 {every} 步测一次的、{evals} 个留出的数被贪心解码完全译对的"
            "比例，最后一次为 {final:.1%}。数据读自训练写出的 curves.json。"
        ),
        "alt": (
            "两幅以训练步数为横轴的折线图：损失先陡降后缓降；下一个字的准确率和完全匹配率都升向 1，"
            "完全匹配率比准确率升得晚。"
        ),
    },
}


@figure("train-it-yourself-curves")
def draw_curves(lang: str) -> Figure:
    """Loss, teacher-forced accuracy and held-out exact match against the training step."""
    t = CURVE_TEXT[lang]
    data = trained.curves()
    fig, (left, right) = new_figure(8.4, 3.0, ncols=2, gridspec_kw={"wspace": 0.3})
    left.plot(data["step"], data["loss"], color="#1f77b4")
    left.set_yscale("log")
    left.set_xlabel(t["step"])
    left.set_title(t["loss"], fontsize=9)
    right.plot(data["step"], data["token_accuracy"], color="#2ca02c", label=t["token"])
    right.plot(
        data["eval_step"], data["exact_match"], color="#d62728", marker="o", ms=3, label=t["exact"]
    )
    right.set_ylim(0, 1.02)
    right.set_xlabel(t["step"])
    right.set_title(t["accuracy"], fontsize=9)
    right.legend(frameon=False, fontsize=7, loc="lower right")
    fmt = {
        "steps": data["steps"],
        "batch": data["batch_size"],
        "pool": data["pool_size"],
        "seconds": data["train_seconds"],
        "threads": data["threads"],
        "evals": data.get("eval_count", _TRAIN_DEFAULTS["eval_count"].default),
        "every": data["eval_step"][0],
        "final": data["exact_match"][-1],
    }
    return Figure(to_svg(fig, "train-it-yourself-curves"), t["caption"].format(**fmt), t["alt"])
