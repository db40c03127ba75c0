"""The site's verified claims: a registry filled by the concept's figure modules.

A claim is one function in `qkvdocs/figures/<concept>.py`, registered with `@claim(name, title=...,
statement=..., contradiction=...)`. It measures the claim with the reference code and returns a
result that carries `holds` (a bool: does the claim hold on what was measured?) and `shown(lang)`
(the numbers the page prints). The build prints `shown` and fails when `holds` is false;
`tests/test_claims.py` asserts `holds` for every registered claim, and that `holds` is false once
the fields named by `contradiction` are changed: one definition, read by the page and the tests.

A page shows a claim with `[[check: NAME]]` ([`render_check`][qkvdocs.checks.render_check]); the
verified-claims page lists them all with `[[claims-table]]`
([`render_table`][qkvdocs.checks.render_table]). The claim's page is its module's concept.
"""

from __future__ import annotations

import pickle
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import LANGS, nav_concepts

DOCS = Path(__file__).resolve().parents[2]
TEST = "tests/test_claims.py::test_claim_holds"


class ClaimFailed(RuntimeError):
    """A claim does not hold on the numbers measured now: the build must stop."""


@dataclass(frozen=True)
class Claim:
    """One verified claim: its name, title and statement in each language, its measuring function
    (returning a result with `holds` and `shown(lang)`), the concept page it belongs to, and its
    contradiction: the fields to change in a real result so that it contradicts the claim (the
    tests assert that `holds` is then false, so a claim cannot hold vacuously)."""

    key: str
    title: dict[str, str]
    statement: dict[str, str]
    measure: Callable[[], Any]
    page: str
    contradiction: Callable[[Any], dict[str, Any]]


_REGISTRY: dict[str, Claim] = {}


def register(item: Claim) -> Claim:
    """Add a claim to the registry (a name may be registered once)."""
    if item.key in _REGISTRY:
        raise ValueError(f"claim {item.key!r} is registered twice")
    for field_name in ("title", "statement"):
        if set(getattr(item, field_name)) != set(LANGS):
            raise ValueError(f"claim {item.key!r}: {field_name} needs exactly {LANGS}")
    _REGISTRY[item.key] = item
    return item


def claim(key: str, *, title: dict[str, str], statement: dict[str, str], contradiction):
    """Register the decorated function (called with its defaults) as claim `key`; its page is the
    concept of its module (`figures/soft_hard_local.py` -> `soft-hard-local`)."""

    def decorate(measure):
        page = measure.__module__.rpartition(".")[2].replace("_", "-")
        register(Claim(key, title, statement, measure, page, contradiction))
        return measure

    return decorate


def keys() -> list[str]:
    """Every registered claim, in the order of the pages in the nav (and of the source)."""
    from . import figures

    figures.names()  # imports every figure module, which registers its claims
    order = [*nav_concepts(), *(claim.page for claim in _REGISTRY.values())]  # not in the nav: last
    return sorted(_REGISTRY, key=lambda key: order.index(_REGISTRY[key].page))


def get(key: str) -> Claim:
    if key not in _REGISTRY and key not in keys():
        raise KeyError(f"no claim {key!r}; known: {', '.join(keys())}")
    return _REGISTRY[key]


@cache
def measured(key: str) -> Any:
    """What the claim's function returns, computed once per process (both languages share it)
    and kept on disk with the figures, keyed by all it can depend on (`drawings.cache_path`)."""
    from .drawings import cache_path

    measure = get(key).measure
    path = cache_path(f"claim-{key}", "pickle")
    if not measure.__module__.startswith(f"{__package__}.figures."):
        path = None  # a claim registered elsewhere (by a test) is measured afresh
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    result = measure()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(result))
    return result


def verify(key: str) -> Any:
    """Measure claim `key` and return the result; raise ClaimFailed if it does not hold."""
    result = measured(key)
    if not result.holds:
        raise ClaimFailed(
            f"claim {key!r} ({get(key).title['en']}) does not hold: measured "
            f"{result.shown('en')}; its test is {TEST}[{key}]"
        )
    return result


def page_title(slug: str, lang: str) -> str:
    """The H1 of `docs/concepts/<slug>.<lang>.md`, or the slug when the page has none."""
    path = DOCS / "concepts" / f"{slug}.{lang}.md"
    title = re.search(r"^# (.+)$", path.read_text(encoding="utf-8") if path.exists() else "", re.M)
    return title[1].strip() if title else slug


_LABELS = {
    "en": {
        "check": "Check",
        "measured": "Measured when this page was built",
        "all": "All verified claims",
        "head": ("Claim", "Measured at build time", "Page"),
        "sep": ": ",
    },
    "zh": {
        "check": "验证",
        "measured": "本页构建时的测量结果",
        "all": "全部已验证的结论",
        "head": ("结论", "构建时的测量结果", "页面"),
        "sep": "：",
    },
}


def render_check(key: str, lang: str, *, page: str = "concepts/page.md") -> str:
    """The check box of claim `key` in `lang` (a Material success admonition, Markdown), with the
    claim, the number measured now and a link to its row on the verified-claims page (relative to
    `page`, the docs-relative path of the page the box goes on). Raises ClaimFailed, KeyError."""
    labels = _LABELS[lang]
    item = get(key)
    result = verify(key)
    link = "../" * page.count("/") + f"verified-claims.md#claim-{key}"
    sep = labels["sep"]
    body = f"{item.statement[lang]}\n\n{labels['measured']}{sep}{result.shown(lang)}"
    body = textwrap.indent(f"{body} · [{labels['all']}]({link})", "    ")
    return f'!!! success "{labels["check"]}{sep}{item.title[lang]}"\n\n{body}\n'


def _cell(text: str) -> str:
    """A table cell: one line, no unescaped pipe."""
    text = " ".join(text.split())
    if re.search(r"(?<!\\)\|", text):
        raise ValueError(f"a claims-table cell may not contain '|': {text!r}")
    return text


def render_table(lang: str) -> str:
    """The table of every claim in `lang` (Markdown): the claim with an anchor `claim-<name>`, the
    numbers measured in this build, and a link to its concept page. Raises ClaimFailed."""
    labels = _LABELS[lang]
    sep = labels["sep"]
    rows = ["| " + " | ".join(labels["head"]) + " |", "|---|---|---|"]
    for key in keys():
        item = _REGISTRY[key]
        cells = [
            f'<a id="claim-{key}"></a>**{item.title[lang]}**{sep}{item.statement[lang]}',
            verify(key).shown(lang),
            f"[{page_title(item.page, lang)}](concepts/{item.page}.md)",
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"
