"""Interactive figures: the data their script reads, and the still table shown without JavaScript.

An interactive figure is a `Figure` whose `data` is a dict that `docs/javascripts/interactive.js`
draws; `figure_parts` (directives.py) embeds it as JSON beside the still (`Figure.svg`), which
the script hides once it has drawn the live version. The data of every figure has one shape:

- `keys`: the column labels (tokens); `queries`: the labels of the query buttons, or None when
  the figure has no query to choose; `query`: the query chosen first;
- `controls`: sliders (`range`), button groups (`choice`) and on/off buttons (`toggle`), each
  `{"id", "type", "label", "options": [labels], "value": index}` (a toggle has no options);
- `views`: for every combination of control indices (joined by ",", "" without controls) the
  lines of the table: `{"label", "kind": "weight" | "value" | "mask", "values": [query][key]}`
  (weights get a bar and `data-weight`, values a number, a mask greys the keys it hides in the
  other lines, except those with `"masked": false`), and
  optionally `result` `{"label", "values": [query][component]}` and `note` `[query]`;
- `text`: the words of the controls in the page's language.
"""

from __future__ import annotations

from html import escape
from itertools import product

import numpy as np

from . import Figure

DIGITS = 6  # decimals kept in the JSON; the script shows 3 (weights) or 2 (other numbers)

TEXT = {
    "en": {
        "query": "query",
        "corner": "query: {token}",
        "key": "key",
        "choose": "Choose a query token",
        "masked": "masked",
        "still": "Without JavaScript, the table for one setting: {settings}",
        "on": "on",
        "off": "off",
        "toggle": "{label}: {state}",
        "sep": ", ",
    },
    "zh": {
        "query": "查询",
        "corner": "查询：{token}",
        "key": "键",
        "choose": "选择一个查询词元",
        "masked": "被屏蔽",
        "still": "未启用 JavaScript 时只显示一种设置下的表格：{settings}",
        "on": "开",
        "off": "关",
        "toggle": "{label}：{state}",
        "sep": "，",
    },
}


def numbers(array) -> list:
    """A NumPy array as nested lists of floats rounded to DIGITS decimals (for the JSON)."""
    return np.round(np.asarray(array, dtype=float), DIGITS).tolist()


def line(label: str, kind: str, values, *, masked: bool = True) -> dict:
    """One line of a view: `values` `(queries, keys)` (or `(keys,)` without a query to choose);
    `masked=False`: the view's mask does not grey this line (the weights before masking)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    found = {"label": label, "kind": kind, "values": numbers(values)}
    return found if masked else {**found, "masked": False}


def range_control(name: str, label: str, options, value: int = 0) -> dict:
    return {"id": name, "type": "range", "label": label, "options": [str(o) for o in options],
            "value": value}  # fmt: skip


def choice_control(name: str, label: str, options, value: int = 0) -> dict:
    return {"id": name, "type": "choice", "label": label, "options": [str(o) for o in options],
            "value": value}  # fmt: skip


def toggle_control(name: str, label: str, value: int = 0) -> dict:
    return {"id": name, "type": "toggle", "label": label, "value": value}


def settings(controls: list[dict]):
    """Every combination of control indices, as `(view key, indices)`."""
    sizes = [len(c["options"]) if c["type"] != "toggle" else 2 for c in controls]
    for indices in product(*(range(n) for n in sizes)):
        yield ",".join(str(i) for i in indices), indices


def still_table(data: dict, lang: str) -> str:
    """The figure at its first settings as a plain HTML table (what a reader without JavaScript
    sees): one row per line of the view, one column per key; for a figure with queries, the rows
    of the chosen query only."""
    key = ",".join(str(c["value"]) for c in data["controls"])
    view = data["views"][key]
    query = data["query"] if data["queries"] else 0
    head = "".join(f"<th>{escape(k)}</th>" for k in data["keys"])
    corner = TEXT[lang]["key"]
    if data["queries"]:
        corner = TEXT[lang]["corner"].format(token=data["queries"][query])
    masks = [item["values"][query] for item in view["lines"] if item["kind"] == "mask"]
    hidden = [not allowed for allowed in masks[0]] if masks else [False] * len(data["keys"])
    rows = []
    for item in view["lines"]:
        if item["kind"] == "mask":
            continue
        digits = 3 if item["kind"] == "weight" else 2
        greyed = hidden if item.get("masked", True) else [False] * len(hidden)
        cells = "".join(
            f'<td class="qkv-masked">{v:.{digits}f}</td>' if off else f"<td>{v:.{digits}f}</td>"
            for v, off in zip(item["values"][query], greyed, strict=True)
        )
        rows.append(f"<tr><th>{escape(item['label'])}</th>{cells}</tr>")
    table = (
        f'<table class="qkv-table"><thead><tr><th>{escape(corner)}</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    after = ""
    if "result" in view:
        result = ", ".join(f"{v:.2f}" for v in view["result"]["values"][query])
        after += f"<p>{escape(view['result']['label'])} = ({result})</p>"
    if view.get("note") and view["note"][query]:
        after += f"<p>{escape(view['note'][query])}</p>"
    chosen = []
    for control in data["controls"]:
        if control["type"] == "toggle":
            state = TEXT[lang]["on" if control["value"] else "off"]
            chosen.append(TEXT[lang]["toggle"].format(label=control["label"], state=state))
        else:
            chosen.append(f"{control['label']} = {control['options'][control['value']]}")
    if data["queries"]:
        chosen.append(TEXT[lang]["corner"].format(token=data["queries"][query]))
    intro = TEXT[lang]["still"].format(settings=TEXT[lang]["sep"].join(chosen))
    return f'<div class="qkv-interactive__still"><p>{escape(intro)}</p>{table}{after}</div>'


def interactive(data: dict, lang: str, caption: str, alt: str) -> Figure:
    """The `Figure` of an interactive figure: the still table, the data, the caption, alt text."""
    data = {**data, "text": {**TEXT[lang], **data.get("text", {})}}
    for key, _ in settings(data["controls"]):
        if key not in data["views"]:
            raise ValueError(f"interactive figure: no view for the settings {key!r}")
    return Figure(svg=still_table(data, lang), caption=caption, alt=alt, data=data)
