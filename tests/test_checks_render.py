"""The claim registry of the site (`qkvdocs.checks`): complete, consistent, rendered, and strict.

A claim that does not hold must raise (and so fail the build); every claim belongs to a concept page
that exists and is placed on it; both languages render the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

# The site is built with PyTorch installed (one claim compares with nn.TransformerEncoderLayer), so
# rendering every claim needs it; a NumPy-only test run skips this file.
pytest.importorskip("torch", reason="PyTorch is not installed: the site's checks need it")
from qkvdocs import checks  # noqa: E402
from qkvdocs.checks import Claim, ClaimFailed  # noqa: E402
from qkvdocs.figures import _kit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")
TITLE_PREFIX = {"en": '!!! success "Check: ', "zh": '!!! success "验证：'}


def test_every_claim_is_on_its_page_in_both_languages():
    for key in checks.keys():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", key), f"{key}: name it by its concept"
        for lang in LANGS:
            page = REPO / "docs" / "concepts" / f"{checks.get(key).page}.{lang}.md"
            assert f"[[check: {key}]]" in page.read_text(encoding="utf-8"), f"{key}: not on {page}"


@pytest.mark.parametrize("lang", LANGS)
def test_render_check_every_claim(lang):
    for key in checks.keys():
        claim = checks.get(key)
        text = checks.render_check(key, lang)
        lines = text.rstrip("\n").split("\n")
        assert lines[0].startswith(TITLE_PREFIX[lang]) and lines[0].endswith('"')
        assert claim.title[lang] in lines[0]
        # the body is indented into the admonition; no stray unindented line
        assert all(line == "" or line.startswith("    ") for line in lines[1:])
        assert claim.statement[lang] in text
        assert checks.measured(key).shown(lang) in text
        assert f"](../verified-claims.md#claim-{key})" in text


def test_render_check_page_depth():
    top = checks.render_check("scaling-keeps-softmax-responsive", "en", page="faq.md")
    assert "](verified-claims.md#claim-scaling-keeps-softmax-responsive)" in top


@pytest.mark.parametrize("lang", LANGS)
def test_render_table(lang):
    table = checks.render_table(lang).rstrip("\n").split("\n")
    header, rule, *rows = table
    assert header.count("|") == rule.count("|") == 4
    assert len(rows) == len(checks.keys())
    for key, row in zip(checks.keys(), rows, strict=True):
        assert row.startswith(f'| <a id="claim-{key}"></a>**')
        # three cells: no pipe leaked out of a statement or a measurement
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
        page = checks.get(key).page
        assert f"](concepts/{page}.md) |" in row
        assert checks.page_title(page, lang) in row


def test_tables_have_the_same_rows_in_both_languages():
    anchor = re.compile(r'<a id="([^"]+)"></a>')
    anchors = {lang: anchor.findall(checks.render_table(lang)) for lang in LANGS}
    assert anchors["en"] == anchors["zh"]
    assert len(set(anchors["en"])) == len(anchors["en"])


def test_zh_text_uses_ascii_shapes():
    # a shape such as (3, 8) is written with ASCII punctuation, never （3，8） or (3，8)
    fullwidth_shape = re.compile(r"（\d+[，,]|\(\d+，|\d+，\s*\d+\)")
    for key in checks.keys():
        assert not fullwidth_shape.search(checks.render_check(key, "zh")), key
    assert fullwidth_shape.search("形状 （3，8）") and fullwidth_shape.search("(3，8)")


@dataclass(frozen=True)
class Measured:
    value: float
    limit: float = 1.0
    text: str = ""

    @property
    def holds(self) -> bool:
        return self.value > self.limit

    def shown(self, lang: str) -> str:
        return self.text or f"{self.value}"


@pytest.fixture
def temporary_claim(monkeypatch):
    """Register claims for one test only; the measurement cache is cleared afterwards."""

    def add(key, measure) -> Claim:
        claim = Claim(
            key=key,
            title={"en": "a test claim", "zh": "测试用的结论"},
            statement={"en": "It holds.", "zh": "它成立。"},
            measure=measure,
            page="scaling",
            contradiction=lambda result: {"value": 0.0},
        )
        monkeypatch.setitem(checks._REGISTRY, key, claim)
        return claim

    yield add
    checks.measured.cache_clear()


def test_a_failing_claim_raises(temporary_claim):
    temporary_claim("broken", lambda: Measured(0.5))
    for lang in LANGS:
        with pytest.raises(ClaimFailed, match="broken.*0.5"):
            checks.render_check("broken", lang)
        with pytest.raises(ClaimFailed):
            checks.render_table(lang)


def test_a_claim_is_measured_once(temporary_claim):
    calls = []

    def measure():
        calls.append(1)
        return Measured(2.0)

    temporary_claim("extra", measure)
    for lang in LANGS:
        assert 'id="claim-extra"' in checks.render_table(lang)
        assert "#claim-extra)" in checks.render_check("extra", lang)
    assert len(calls) == 1  # cached for the build process, shared by the languages


def test_a_pipe_in_a_cell_is_refused(temporary_claim):
    temporary_claim("pipe", lambda: Measured(2.0, text="|x| = 1"))
    with pytest.raises(ValueError, match="may not contain"):
        checks.render_table("en")


def test_register_refuses_duplicates_and_missing_languages():
    existing = checks.get("softmax-shift-invariance")
    with pytest.raises(ValueError, match="twice"):
        checks.register(existing)
    with pytest.raises(ValueError, match="title"):
        checks.register(Claim("half", {"en": "only English"}, existing.statement, print, "x", dict))
    with pytest.raises(KeyError, match="no claim"):
        checks.get("no-such-claim")


def test_number_formatting():
    assert _kit.num(0.0) == "0"
    assert _kit.num(0.125) == "0.125"
    assert _kit.num(2.220446049250313e-16) == "2.2e-16"
    assert _kit.num(1088) == "1088"
    assert _kit.num(-3.5e-7) == "-3.5e-7"
    assert _kit.num(12345.6) == "1.2e4"
