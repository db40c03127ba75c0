"""The claim registry of the site (`qkvdocs.checks`): complete, consistent, rendered, and strict.

A claim whose predicate fails must raise (and so fail the build); every claim names a test that
exists and a concept page that exists; both languages render the same rows.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

# The site is built with PyTorch installed (row 15 compares with nn.TransformerEncoderLayer), so
# rendering every claim needs it; a NumPy-only test run skips this file.
pytest.importorskip("torch", reason="PyTorch is not installed: the site's checks need it")
from qkvdocs import checks  # noqa: E402
from qkvdocs.checks import Claim, ClaimFailed  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")
TITLE_PREFIX = {"en": '!!! success "Check: ', "zh": '!!! success "验证：'}


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_syllabus_row_has_a_claim():
    assert [k for k in checks.keys() if isinstance(k, int)] == list(range(1, 19))


def test_every_claim_names_an_existing_test_and_page():
    for key in checks.keys():
        claim = checks.get(key)
        path, _, name = claim.test.partition("::")
        assert (REPO / path).is_file(), f"claim {key}: no test file {path}"
        assert name in _test_functions(REPO / path), f"claim {key}: no test {claim.test}"
        for lang in LANGS:
            page = REPO / "docs" / "concepts" / f"{claim.page}.{lang}.md"
            assert page.is_file(), f"claim {key}: no page {page}"


def test_rows_tests_are_distinct():
    tests = [checks.get(k).test for k in checks.keys()]
    assert len(tests) == len(set(tests))


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
        assert claim.figure(checks.measured(key), lang) in text
        assert f"`{checks.test_name(claim)}`" in text
        assert f"](../verified-claims.md#claim-{key})" in text


def test_render_check_accepts_digit_strings_and_page_depth():
    assert checks.render_check("8", "en") == checks.render_check(8, "en")
    top = checks.render_check(8, "en", page="faq.md")
    assert "](verified-claims.md#claim-8)" in top


@pytest.mark.parametrize("lang", LANGS)
def test_render_table(lang):
    table = checks.render_table(lang).rstrip("\n").split("\n")
    header, rule, *rows = table
    assert header.count("|") == rule.count("|") == 6
    assert len(rows) == len(checks.keys())
    for key, row in zip(checks.keys(), rows, strict=True):
        assert row.startswith(f'| <a id="claim-{key}"></a>{key} |')
        # five cells: no pipe leaked out of a statement or a figure
        assert len(re.findall(r"(?<!\\)\|", row)) == 6, row
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


@pytest.fixture
def temporary_claim(monkeypatch):
    """Register claims for one test only; the measurement cache is cleared afterwards."""

    def add(claim: Claim) -> Claim:
        monkeypatch.setitem(checks._REGISTRY, claim.key, claim)
        return claim

    yield add
    checks.measured.cache_clear()


def _claim(key, *, holds, measure=lambda: 0.5, figure=lambda r, lang: f"{r}"):
    return Claim(
        key=key,
        title={"en": "a test claim", "zh": "测试用的结论"},
        statement={"en": "It holds.", "zh": "它成立。"},
        measure=measure,
        holds=holds,
        figure=figure,
        test="tests/test_claims.py::test_row_01_n_in_n_out_all_connected",
        page="scaling",
    )


def test_a_failing_claim_raises(temporary_claim):
    temporary_claim(_claim("broken", holds=lambda r: r > 1.0))
    for lang in LANGS:
        with pytest.raises(ClaimFailed, match="broken.*0.5"):
            checks.render_check("broken", lang)
        with pytest.raises(ClaimFailed):
            checks.render_table(lang)


def test_a_named_claim_renders_and_is_measured_once(temporary_claim):
    calls = []

    def measure():
        calls.append(1)
        return 2.0

    temporary_claim(_claim("extra", holds=lambda r: r > 1.0, measure=measure))
    for lang in LANGS:
        assert 'id="claim-extra"' in checks.render_table(lang)
        assert "#claim-extra)" in checks.render_check("extra", lang)
    assert checks.keys()[-1] == "extra"
    assert len(calls) == 1  # cached for the build process, shared by the languages


def test_a_pipe_in_a_cell_is_refused(temporary_claim):
    temporary_claim(_claim("pipe", holds=lambda r: True, figure=lambda r, lang: "|x| = 1"))
    with pytest.raises(ValueError, match="may not contain"):
        checks.render_table("en")


def test_register_refuses_duplicates_and_missing_languages():
    with pytest.raises(ValueError, match="twice"):
        checks.register(_claim(8, holds=lambda r: True))
    incomplete = _claim("half", holds=lambda r: True)
    incomplete = Claim(**{**vars(incomplete), "title": {"en": "only English"}})
    with pytest.raises(ValueError, match="title"):
        checks.register(incomplete)
    with pytest.raises(KeyError, match="no claim"):
        checks.get("no-such-claim")


def test_number_formatting():
    assert checks.num(0.0) == "0"
    assert checks.num(0.125) == "0.125"
    assert checks.num(2.220446049250313e-16) == "2.2e-16"
    assert checks.num(1088) == "1088"
    assert checks.num(-3.5e-7) == "-3.5e-7"
    assert checks.num(12345.6) == "1.2e4"


def test_call_accepts_a_dotted_function():
    assert checks._call("qkv.claims.teacher_forcing_toy")().steps == 15
    assert checks._call("teacher_forcing_toy")().steps == 15


# For each syllabus row: one field of the real measurement changed so that it contradicts the claim.
CONTRADICTIONS = {
    1: lambda r: {"min_change": 0.0},
    2: lambda r: {"path": {**r.path, "self-attention": 2}},
    3: lambda r: {"parameters": {**r.parameters, "cosine": 5}},
    4: lambda r: {"distance": tuple(reversed(r.distance))},
    5: lambda r: {"shift_error": 1e-3},
    6: lambda r: {"out_error": 1e-6},
    7: lambda r: {"weights_error": 1e-6},
    8: lambda r: {"jacobian_unscaled": (0.3,) * len(r.jacobian_unscaled)},
    9: lambda r: {"self_weight_shared": 0.2},
    10: lambda r: {"parameters": {**r.parameters, 1: 1}},
    11: lambda r: {"offset_spread": 1e-3},
    12: lambda r: {"causal_leak": 1e-17},
    13: lambda r: {"row_sum_error": 1e-3},
    14: lambda r: {"gumbel_distance": tuple(sorted(r.gumbel_distance))},
    15: lambda r: {"max_error": {**r.max_error, "post-LN relu": 1e-3}},
    16: lambda r: {"batch_norm_batch_change": 0.0},
    17: lambda r: {"free_running_errors": r.teacher_forced_errors},
    18: lambda r: {"shapes": {**r.shapes, "scores": (6, 300)}},
}


@pytest.mark.parametrize("row", sorted(CONTRADICTIONS))
def test_each_predicate_rejects_a_contradicting_measurement(row):
    claim = checks.get(row)
    result = checks.measured(row)
    assert claim.holds(result)
    broken = dataclasses.replace(result, **CONTRADICTIONS[row](result))
    assert not claim.holds(broken)
