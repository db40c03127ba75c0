"""Figures of the page "Teacher forcing" (concepts/teacher-forcing).

- `teacher-forcing-steps`: the toy counting task of `qkv.claims.teacher_forcing_toy`, step by step:
  the target, the predictions under teacher forcing and in free running, wrong tokens marked, and
  the running count of errors under each regime.
- `teacher-forcing-schedules`: the three decay schedules of scheduled sampling (Bengio et al., 2015)
  for the probability of feeding the true token: linear, exponential and inverse sigmoid.
"""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.patches import Rectangle
from qkv.claims import teacher_forcing_toy

from ..svg import new_figure, to_svg
from . import Figure, figure

WRONG_COLOUR = "#d62728"
RIGHT_COLOUR = "#2ca02c"

STEPS_TEXT = {
    "en": {
        "rows": ["target", "teacher forcing", "free running"],
        "step": "step t",
        "errors": "errors so far",
        "caption": (
            "A toy decoder that counts modulo {vocab} but, after token {wrong}, says {bad} instead "
            "of {good}. Top: the target, and the token predicted at each step when the input is th"
            "e "
            "true previous token (teacher forcing, as in training) and when it is the model's own "
            "previous prediction (free running, as at inference); wrong tokens are red. Bottom: "
            "errors so far. Under teacher forcing the mistake costs one token each time {wrong} "
            "comes round ({tf} of {steps}); in free running every token after the first mistake "
            "is wrong ({fr} of {steps}). Computed by qkv.claims.teacher_forcing_toy."
        ),
        "alt": (
            "A grid of tokens in three rows over {steps} steps, with red cells where the predictio"
            "n "
            "is wrong, and below it two step curves of accumulated errors: teacher forcing rises t"
            "o "
            "{tf}, free running to {fr}."
        ),
    },
    "zh": {
        "rows": ["目标", "教师强制", "自由运行"],
        "step": "第 t 步",
        "errors": "累计错误数",
        "caption": (
            "一个按模 {vocab} 计数的玩具解码器，但在词元 {wrong} 之后它会说 {bad} 而不是 {good}。"
            "上图："
            "目标序列，以及每一步的预测——输入是真实的前一个词元时（教师强制，即训练时的做法），和"
            "输入是"
            "模型自己上一步的预测时（自由运行，即推理时的做法）；错误的词元标为红色。下图：累计错"
            "误数。"
            "在教师强制下，每次遇到 {wrong} 只错一个词元（{steps} 个中错 {tf} 个）；在自由运行中，"
            "第一次"
            "出错之后的每个词元都是错的（{steps} 个中错 {fr} 个）。由 qkv.claims.teacher_forcing_t"
            "oy 算出。"
        ),
        "alt": (
            "一个三行、{steps} 步的词元网格，预测错误处为红色；下方是两条累计错误数的阶梯曲线："
            "教师强制升到 {tf}，自由运行升到 {fr}。"
        ),
    },
}


def cumulative_errors() -> tuple[np.ndarray, np.ndarray]:
    """Errors so far `(steps,)` under teacher forcing and in free running, from the claims toy."""
    toy = teacher_forcing_toy()
    truth = np.array(toy.target[1:])
    teacher = np.cumsum(np.array(toy.teacher_forced) != truth)
    free = np.cumsum(np.array(toy.free_running) != truth)
    return teacher, free


@figure("teacher-forcing-steps")
def draw_steps(lang: str) -> Figure:
    """The toy task step by step under both regimes, with accumulated errors."""
    t = STEPS_TEXT[lang]
    toy = teacher_forcing_toy()
    truth = toy.target[1:]
    rows = [truth, toy.teacher_forced, toy.free_running]
    fig, (grid, curve) = new_figure(
        8.4, 3.8, nrows=2, gridspec_kw={"height_ratios": [1.1, 1], "hspace": 0.45}
    )
    for r, tokens in enumerate(rows):
        y = len(rows) - 1 - r
        for s, token in enumerate(tokens):
            wrong = r > 0 and token != truth[s]
            grid.add_patch(
                Rectangle(
                    (s + 0.5, y - 0.5),
                    1,
                    1,
                    edgecolor="white",
                    linewidth=1.5,
                    facecolor=WRONG_COLOUR if wrong else ("#e8e8e8" if r == 0 else "#d9f0d3"),
                )
            )
            grid.text(
                s + 1, y, str(token), ha="center", va="center", color="white" if wrong else "black"
            )
    grid.set_xlim(0.5, toy.steps + 0.5)
    grid.set_ylim(-0.5, len(rows) - 0.5)
    grid.set_yticks(range(len(rows)), list(reversed(t["rows"])))
    grid.set_xticks(range(1, toy.steps + 1))
    grid.tick_params(length=0)
    for spine in grid.spines.values():
        spine.set_visible(False)
    teacher, free = cumulative_errors()
    steps = np.arange(1, toy.steps + 1)
    curve.step(steps, free, where="mid", color=WRONG_COLOUR, label=t["rows"][2])
    curve.step(steps, teacher, where="mid", color=RIGHT_COLOUR, label=t["rows"][1])
    curve.set_xlim(0.5, toy.steps + 0.5)
    curve.set_xticks(range(1, toy.steps + 1))
    curve.set_xlabel(t["step"])
    curve.set_ylabel(t["errors"])
    curve.legend(frameon=False, loc="upper left")
    first = toy.first_error - 1  # index into the predictions of the first wrong one
    fmt = {
        "vocab": max(toy.target) + 1,
        "wrong": toy.target[first],
        "bad": toy.teacher_forced[first],
        "good": truth[first],
        "tf": toy.teacher_forced_errors,
        "fr": toy.free_running_errors,
        "steps": toy.steps,
    }
    with warnings.catch_warnings():  # CJK glyphs are drawn by the browser, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        svg = to_svg(fig, "teacher-forcing-steps")
    return Figure(svg=svg, caption=t["caption"].format(**fmt), alt=t["alt"].format(**fmt))


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
