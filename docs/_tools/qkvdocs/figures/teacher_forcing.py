"""Figures of the page "Teacher forcing" (concepts/teacher-forcing).

- `teacher-forcing-gap`: the number translator trained with a reduced budget, once with teacher
  forcing and once with scheduled sampling: teacher-forced accuracy against free-running exact
  match on the held-out numbers (from `teacher_forcing.json`, written by
  `python -m qkv.numbers.teacher_forcing`).
- `teacher-forcing-first-error`: for the same two models, where free running first goes wrong, and
  how the characters after that first error fare in free running and under teacher forcing.
- `teacher-forcing-schedules`: the three decay schedules of scheduled sampling (Bengio et al., 2015)
  for the probability of feeding the true token: linear, exponential and inverse sigmoid.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

from qkvdocs.checks import claim

from . import Figure, figure
from . import _trained as trained
from ._svg import new_figure, to_svg

REGIMES = ("teacher_forcing", "scheduled_sampling")
REGIME_COLOURS = {"teacher_forcing": "#1f77b4", "scheduled_sampling": "#ff7f0e"}
# characters right under teacher forcing; numbers right (free running, which for greedy decoding
# equals every character right under teacher forcing)
MEASURES = ("teacher_forced_token_accuracy", "free_running_exact_match")

GAP_TEXT = {
    "en": {
        "regimes": {
            "teacher_forcing": "trained with teacher forcing",
            "scheduled_sampling": "trained with scheduled sampling",
        },
        "measures": {
            "teacher_forced_token_accuracy": "characters right, teacher-forced",
            "free_running_exact_match": "numbers right, free running",
        },
        "steps": "training steps",
        "caption": (
            "Translators trained with {budgets} steps instead of the shipped model's {full:,} "
            "(same seed, data and schedule), at each budget once with teacher forcing and once "
            "with scheduled sampling (the chance of reading its own prediction rising from 0 to "
            "{p:g}), evaluated on the {n:,} held-out numbers. Left: the share of characters (and "
            "end tokens) predicted right when the decoder reads the correct prefix. Right: the "
            "share of numbers translated exactly when it reads its own greedy output, as at "
            "inference; with greedy decoding this equals the share of numbers with every "
            "character right under teacher forcing. Read from teacher_forcing.json, written by "
            "the experiment."
        ),
        "alt": (
            "Two panels of grouped bars against the training budget, one bar per training "
            "regime: teacher-forced character accuracy, and free-running exact match."
        ),
    },
    "zh": {
        "regimes": {
            "teacher_forcing": "用教师强制训练",
            "scheduled_sampling": "用计划采样训练",
        },
        "measures": {
            "teacher_forced_token_accuracy": "字正确的比例，教师强制",
            "free_running_exact_match": "整个数译对的比例，自由运行",
        },
        "steps": "训练步数",
        "caption": (
            "几个翻译模型只训练了 {budgets} 步，而随包发布的模型训练了 {full:,} 步（随机种子、数据"
            "和学习率计划都相同）；每种预算各训练两次，一次用教师强制，一次用计划采样（读入自己预测"
            "的概率从 0 升到 {p:g}），在 {n:,} 个留出的数上评估。左：解码器读入正确前缀时，预测正"
            "确的字（包括结束词元）所占比例。右：解码器像推理时那样读入自己贪心解码的输出时，完全"
            "译对的数所占比例；对贪心解码来说，它等于教师强制下每个字都正确的数所占比例。数据读自"
            "实验写出的 teacher_forcing.json。"
        ),
        "alt": (
            "两组以训练预算分组的柱状图，每种训练方式一根柱子：教师强制下的字准确率和自由运行的完全"
            "匹配率。"
        ),
    },
}


def budgets() -> list[int]:
    """The training budgets of the experiment, in steps."""
    return list(trained.experiment()["steps"])


def gap_values() -> dict[str, dict[str, list[float]]]:
    """`{measure: {regime: [value per budget]}}` from the experiment."""
    return {
        m: {r: [float(trained.experiment_run(b, r)[m]) for b in budgets()] for r in REGIMES}
        for m in MEASURES
    }


def _bars(ax, values, labels, fmt):
    x = np.arange(len(labels))
    for offset, regime in zip((-0.2, 0.2), REGIMES, strict=True):
        bars = ax.bar(x + offset, values[regime], width=0.4, color=REGIME_COLOURS[regime])
        for bar, value in zip(bars, values[regime], strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                value + 0.005,
                format(value, fmt),
                ha="center",
                va="bottom",
                fontsize=6.5,
            )
    ax.set_xticks(x, labels)


@figure("teacher-forcing-gap")
def draw_gap(lang: str) -> Figure:
    """Teacher-forced accuracy against free-running exact match, by budget and regime."""
    t = GAP_TEXT[lang]
    values = gap_values()
    fig, axes = new_figure(8.4, 3.0, ncols=2, gridspec_kw={"wspace": 0.25})
    for ax, measure in zip(axes, MEASURES, strict=True):
        _bars(ax, values[measure], [str(b) for b in budgets()], ".1%")
        ax.set_title(t["measures"][measure], fontsize=9)
        ax.set_xlabel(t["steps"], fontsize=8)
        low = min(min(v) for v in values[measure].values())
        ax.set_ylim(max(0.0, low - 0.1), 1.06)
    for regime in REGIMES:
        axes[1].bar([], [], color=REGIME_COLOURS[regime], label=t["regimes"][regime])
    axes[1].legend(frameon=False, fontsize=7, loc="lower right")
    data = trained.experiment()
    sep = ", " if lang == "en" else "、"
    fmt = {
        "budgets": sep.join(str(b) for b in budgets()),
        "full": trained.curves()["steps"],
        "p": data["scheduled_sampling_max"],
        "n": trained.experiment_run(budgets()[0], REGIMES[0])["numbers"],
    }
    return Figure(to_svg(fig, "teacher-forcing-gap"), t["caption"].format(**fmt), t["alt"])


ERROR_TEXT = {
    "en": {
        "regimes": GAP_TEXT["en"]["regimes"],
        "position": "position of the first wrong character ({b} steps)",
        "count": "wrong translations",
        "after": "characters right after the first error",
        "free": "free running",
        "forced": "teacher-forced",
        "steps": "{b} steps",
        "caption": (
            "The wrong free-running translations of the experiment above. Left, at the smallest "
            "budget ({b} steps: {tf_wrong} of {n:,} numbers wrong with teacher forcing, "
            "{ss_wrong} with scheduled sampling): where the first wrong character is (0 = the "
            "first character; the end token counts as a position). Right: compounding, at every "
            "budget. Over the positions after the first error, solid bars give the share where "
            "the free-running output still has the right character at that index; hatched bars "
            "the share the same model gets right at the same positions when it reads the correct "
            "prefix. Positions after a first error, by budget (teacher forcing / scheduled "
            "sampling): {after}."
        ),
        "alt": (
            "Left, a histogram of the position of the first wrong character for both training "
            "regimes. Right, for each budget and regime, accuracy after the first error in free "
            "running beside the accuracy under teacher forcing at the same positions."
        ),
    },
    "zh": {
        "regimes": GAP_TEXT["zh"]["regimes"],
        "position": "第一个错字的位置（{b} 步）",
        "count": "译错的数",
        "after": "第一个错误之后正确的字",
        "free": "自由运行",
        "forced": "教师强制",
        "steps": "{b} 步",
        "caption": (
            "上图实验中自由运行译错的数。左，最小的预算（{b} 步：{n:,} 个数中，教师强制训练的模型"
            "错 {tf_wrong} 个，计划采样训练的模型错 {ss_wrong} 个）：第一个错字在哪里（0 表示第一"
            "个字；结束词元也算一个位置）。右：错误的累积，每种预算都有。在第一个错误之后的那些位"
            "置上，实心柱是自由运行的输出在该位置仍是正确字的比例；斜线柱是同一个模型读入正确前缀"
            "时在同样位置上预测正确的比例。各预算下第一个错误之后的位置数（教师强制 / 计划采样）："
            "{after}。"
        ),
        "alt": (
            "左：两种训练方式下第一个错字位置的直方图。右：每种预算和训练方式下，自由运行在第一个"
            "错误之后的准确率，旁边是同样位置上教师强制的准确率。"
        ),
    },
}


@figure("teacher-forcing-first-error")
def draw_first_error(lang: str) -> Figure:
    """Where free running first goes wrong, and how accuracy after that error compares."""
    t = ERROR_TEXT[lang]
    smallest = budgets()[0]
    fig, (left, right) = new_figure(
        8.8, 3.2, ncols=2, gridspec_kw={"wspace": 0.3, "width_ratios": [1, 1.3]}
    )
    runs = {r: trained.experiment_run(smallest, r) for r in REGIMES}
    longest = max(
        max((i for i, c in enumerate(runs[r]["first_error_histogram"]) if c), default=0)
        for r in REGIMES
    )
    positions = np.arange(longest + 1)
    for offset, regime in zip((-0.2, 0.2), REGIMES, strict=True):
        counts = runs[regime]["first_error_histogram"][: longest + 1]
        left.bar(
            positions + offset, counts, width=0.4, color=REGIME_COLOURS[regime],
            label=t["regimes"][regime],
        )  # fmt: skip
    left.set_xticks(positions)
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel(t["position"].format(b=smallest), fontsize=8)
    left.set_ylabel(t["count"], fontsize=8)
    left.legend(frameon=False, fontsize=7, loc="upper right")
    x = np.arange(len(budgets()))
    width = 0.2
    for k, regime in enumerate(REGIMES):
        free = [
            trained.experiment_run(b, regime)["after_error_free_running_accuracy"]
            for b in budgets()
        ]
        forced = [
            trained.experiment_run(b, regime)["after_error_teacher_forced_accuracy"]
            for b in budgets()
        ]
        base = x + (k - 0.5) * 2 * width
        right.bar(base - width / 2, free, width=width, color=REGIME_COLOURS[regime])
        right.bar(
            base + width / 2, forced, width=width, color="white",
            edgecolor=REGIME_COLOURS[regime], hatch="///",
        )  # fmt: skip
    right.set_xticks(x, [t["steps"].format(b=b) for b in budgets()], fontsize=8)
    right.set_ylim(0, 1.05)
    right.set_title(t["after"], fontsize=9)
    sep = "; " if lang == "en" else "；"
    after = sep.join(
        f"{t['steps'].format(b=b)} "
        + " / ".join(str(trained.experiment_run(b, r)["after_error_positions"]) for r in REGIMES)
        for b in budgets()
    )
    fmt = {
        "b": smallest,
        "n": runs["teacher_forcing"]["numbers"],
        "tf_wrong": runs["teacher_forcing"]["free_running_errors"],
        "ss_wrong": runs["scheduled_sampling"]["free_running_errors"],
        "after": after,
    }
    return Figure(to_svg(fig, "teacher-forcing-first-error"), t["caption"].format(**fmt), t["alt"])


# Schedules of Bengio et al. (2015), section 2.4, over ITERATIONS training iterations.
ITERATIONS = 1000
LINEAR_FLOOR = 0.0  # epsilon, the smallest probability the linear schedule reaches
LINEAR_SLOPE = 1.0 / ITERATIONS
EXPONENTIAL_K = 0.995
SIGMOID_K = 100.0

SCHEDULE_TEXT = {
    "en": {
        "linear": "linear",
        "exponential": "exponential, k = {k}",
        "sigmoid": "inverse sigmoid, k = {k:g}",
        "xlabel": "training iteration i",
        "ylabel": "P(feed the true token)",
        "caption": (
            "Scheduled sampling: the probability ε<sub>i</sub> of feeding the true previous token "
            "at "
            "training iteration i, decaying from 1 so that the model sees more and more of its "
            "own predictions: linear ε<sub>i</sub> = max(0, 1 − i/{n}), exponential ε<sub>i</sub> "
            "= k<sup>i</sup> and "
            "inverse sigmoid ε<sub>i</sub> = k / (k + exp(i/k)), the three schedules of Bengio et "
            "al. (2015)."
        ),
        "alt": (
            "Three decreasing curves from 1 toward 0 over {n} iterations: a straight line, an "
            "exponential decay and an S-shaped inverse sigmoid."
        ),
    },
    "zh": {
        "linear": "线性",
        "exponential": "指数，k = {k}",
        "sigmoid": "逆 sigmoid，k = {k:g}",
        "xlabel": "训练迭代次数 i",
        "ylabel": "P(输入真实词元)",
        "caption": (
            "计划采样：第 i 次训练迭代时输入真实前一个词元的概率 ε<sub>i</sub> 从 1 开始衰减，让模"
            "型越来越多"
            "地看到"
            "自己的预测：线性 ε<sub>i</sub> = max(0, 1 − i/{n})、指数 ε<sub>i</sub> = k<sup>i</sup"
            "> 和逆 "
            "sigmoid ε<sub>i</sub> = k / (k + "
            "exp(i/k))，"
            "即 Bengio 等人（2015）的三种衰减方式。"
        ),
        "alt": "三条在 {n} 次迭代内从 1 降向 0 的曲线：一条直线、一条指数衰减曲线和一条 S 形的逆 s"
        "igmoid 曲线。",
    },
}


def schedules(iterations: int = ITERATIONS) -> dict[str, np.ndarray]:
    """Probability of the true token at each iteration `(iterations + 1,)`, for each schedule."""
    i = np.arange(iterations + 1, dtype=float)
    return {
        "linear": np.maximum(LINEAR_FLOOR, 1.0 - LINEAR_SLOPE * i),
        "exponential": EXPONENTIAL_K**i,
        "sigmoid": SIGMOID_K / (SIGMOID_K + np.exp(i / SIGMOID_K)),
    }


@figure("teacher-forcing-schedules")
def draw_schedules(lang: str) -> Figure:
    """The three decay schedules of scheduled sampling."""
    t = SCHEDULE_TEXT[lang]
    curves = schedules()
    fig, ax = new_figure(5.6, 2.8)
    i = np.arange(ITERATIONS + 1)
    ax.plot(i, curves["linear"], label=t["linear"])
    ax.plot(i, curves["exponential"], label=t["exponential"].format(k=EXPONENTIAL_K))
    ax.plot(i, curves["sigmoid"], label=t["sigmoid"].format(k=SIGMOID_K))
    ax.set_xlabel(t["xlabel"])
    ax.set_ylabel(t["ylabel"])
    ax.set_ylim(0, 1.05)
    ax.legend(frameon=False)
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        svg = to_svg(fig, "teacher-forcing-schedules")
    return Figure(
        svg=svg, caption=t["caption"].format(n=ITERATIONS), alt=t["alt"].format(n=ITERATIONS)
    )


# --------------------------------------------------------------------------------------------
# Claims (`[[check: NAME]]` on the page): each measured by the function registered with
# `@claim`; its result says whether the claim holds and what the page prints, and
# tests/test_claims.py asserts it.


@dataclass(frozen=True)
class TeacherForcingToy:
    """Result of `teacher_forcing_toy`.

    Attributes:
        target: the target sequence (counting modulo `vocab`).
        teacher_forced: the model's predictions of tokens 1.. when each input is the true previous
            token.
        free_running: its predictions when each input is its own previous prediction.
        teacher_forced_errors: wrong tokens under teacher forcing.
        free_running_errors: wrong tokens in free running.
        first_error: position of the first wrong token (the same in both modes).
        steps: number of predicted tokens.
    """

    target: tuple
    teacher_forced: tuple
    free_running: tuple
    teacher_forced_errors: int
    free_running_errors: int
    first_error: int
    steps: int

    @property
    def holds(self) -> bool:
        return (
            0 < self.teacher_forced_errors < self.free_running_errors
            and self.free_running_errors == self.steps - self.first_error + 1
        )

    def shown(self, lang: str) -> str:
        if lang == "zh":
            return (
                f"预测 {self.steps} 个词元：教师强制错 {self.teacher_forced_errors} 个，自由运行错 "
                f"{self.free_running_errors} 个（从第 {self.first_error} 个起全部错误）"
            )
        return (
            f"{self.steps} predicted tokens: {self.teacher_forced_errors} wrong under teacher "
            "forcing, "
            f"{self.free_running_errors} wrong in free running (every token from position "
            f"{self.first_error} on)"
        )


@claim(
    "teacher-forcing-one-wrong-step",
    title={
        "en": "One wrong step: teacher forcing versus free running",
        "zh": "一步出错：教师强制与自由运行",
    },
    statement={
        "en": "A toy model that counts modulo 8 but gets one successor wrong: fed the true "
        "previous token (teacher forcing) it errs only where that token appears; fed its "
        "own outputs (free running) every token after its first mistake is wrong.",
        "zh": "一个对 8 取模计数、但有一个后继算错的玩具模型："
        "输入真实的前一个词元（教师强制）时，只在那个词元出现处出错；"
        "输入自己的输出（自由运行）时，第一次出错之后的每个词元都错。",
    },
    contradiction=lambda r: {"free_running_errors": r.teacher_forced_errors},
)
def teacher_forcing_toy(length: int = 16, *, vocab: int = 8, wrong: int = 3) -> TeacherForcingToy:
    """teacher forcing versus free running on a toy counting task.

    The task: continue the sequence 0, 1, 2, ... counting modulo `vocab`. The model predicts the
    next token from the current one with a lookup table that is right for every token except
    `wrong`, after which it predicts `wrong + 2` instead of `wrong + 1`. Under teacher forcing
    (training: the input at every step is the true previous token) that one mistake costs one token
    each time `wrong` appears. In free running (inference: the input is the model's own previous
    output) the model never sees the true tokens again: after its first mistake it keeps counting
    from the wrong place and every later token is wrong. This gap between the two regimes is
    exposure bias; scheduled sampling narrows it by feeding the model some of its own predictions
    during training.

    Args:
        length: target length (the first token is given, the rest are predicted).
        vocab: vocabulary size (tokens 0 .. vocab-1).
        wrong: the one token whose successor the model gets wrong.

    Returns:
        A `TeacherForcingToy`.
    """
    target = [t % vocab for t in range(length)]
    next_token = [(t + 1) % vocab for t in range(vocab)]  # the model: one lookup per step
    next_token[wrong] = (wrong + 2) % vocab  # its single one-step mistake
    teacher_forced = [next_token[t] for t in target[:-1]]  # input: the true previous token
    free_running = []
    token = target[0]
    for _ in range(length - 1):  # input: the model's own previous output
        token = next_token[token]
        free_running.append(token)
    truth = target[1:]
    mistakes = [i + 1 for i, (p, t) in enumerate(zip(teacher_forced, truth, strict=True)) if p != t]
    return TeacherForcingToy(
        target=tuple(target),
        teacher_forced=tuple(teacher_forced),
        free_running=tuple(free_running),
        teacher_forced_errors=sum(p != t for p, t in zip(teacher_forced, truth, strict=True)),
        free_running_errors=sum(p != t for p, t in zip(free_running, truth, strict=True)),
        first_error=mistakes[0] if mistakes else -1,
        steps=length - 1,
    )
