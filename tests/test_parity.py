"""Translation parity: every page has its twin, and twins have the same structure.

A page `docs/x.en.md` and its twin `docs/x.zh.md` must have

- the same heading outline (the same levels, in the same order),
- the same fenced code blocks (identical code: code is never translated),
- the same number of display-math blocks (`$$ ... $$`),
- the same figures (`[[figure: NAME]]` directives, in order, and `<figure>` elements),
- the same admonitions (`!!! note`, `??? tip`, ... by kind, in order),
- the same directives (`[[code: ...]]`, `[[check: ...]]`, ..., in order),
- the same links to API entries (`[text][qkv.numpy.softmax]` autorefs, as a set).

`pytest tests/test_parity.py` checks every pair and reports each difference with its lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from qkvdocs import FENCE, HTML_COMMENT, INLINE_CODE, LANGS, blocks
from sitebuild import write_docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
ADMONITION = re.compile(r"^[ \t]*(?P<marker>!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)")
DIRECTIVE = re.compile(r"^[ \t]*\[\[(?P<name>[a-z][a-z-]*)(?::\s*(?P<arg>[^\]]*?))?\s*\]\][ \t]*$")
API_LINK = re.compile(r"\]\[(?P<ref>qkv(?:\.\w+)+)\]|\[`?(?P<bare>qkv(?:\.\w+)+)`?\]\[\]")


# --------------------------------------------------------------------------------------------
# structure of one page


# the parts of a page its twin must share, each in page order (the API links as a set)
PARTS = ("headings", "code blocks", "display-math blocks", "figures", "admonitions", "directives")
Part = list[tuple[object, str, int]]  # (what must match, how a report shows it, line)


def structure(text: str) -> dict[str, Part]:
    """A page's `PARTS` and "API links" (code fences are opaque; HTML comments are ignored)."""
    out: dict[str, Part] = {part: [] for part in (*PARTS, "API links")}
    text = HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    opening: tuple[str, str, int] | None = None  # indent, language and line of a code block
    body: list[str] = []
    in_math: int | None = None
    for number, line, kind in blocks(text):
        if kind == "fence" and opening is None:
            info = FENCE.sub(r"\2", line).strip()
            language = re.split(r"[\s{]+", info)[0].lstrip(".") if info else ""
            opening, body = (line[: len(line) - len(line.lstrip(" \t"))], language, number), []
        elif kind == "fence" and opening is not None:
            indent, language, start = opening
            code = "\n".join(b[len(indent) :] if b.startswith(indent) else b.lstrip() for b in body)
            out["code blocks"].append(((language, code), language or "no language", start))
            opening = None
        elif kind == "code":
            body.append(line)
        else:
            prose = INLINE_CODE.sub("", line)
            # display math: $$ ... $$ on one line, or a block opened and closed by lines with $$
            for _ in range(prose.count("$$")):
                if in_math is None:
                    in_math = number
                else:
                    out["display-math blocks"].append((None, "$$", in_math))
                    in_math = None
            if kind == "math":
                continue
            if heading := HEADING.match(line):
                level, shown = len(heading["hashes"]), f"{heading['hashes']} {heading['text']}"
                out["headings"].append((level, shown, number))
            if admonition := ADMONITION.match(line):
                out["admonitions"].append((admonition["kind"], admonition["kind"], number))
            if directive := DIRECTIVE.match(line):
                name, arg = directive["name"], (directive["arg"] or "").strip()
                shown = f"{name}: {arg}" if arg else name
                out["directives"].append((shown, shown, number))
                if name == "figure":
                    out["figures"].append((f"[[figure: {arg}]]", f"[[figure: {arg}]]", number))
            for _ in re.finditer(r"<figure[\s>]", prose):
                out["figures"].append(("<figure>", "<figure>", number))
            for link in API_LINK.finditer(prose):
                out["API links"].append((link["ref"] or link["bare"], "", number))
    return out


# --------------------------------------------------------------------------------------------
# comparing twins


HINTS = {"code blocks": " (code is never translated: copy it exactly)"}


def compare(en: dict[str, Part], zh: dict[str, Part]) -> list[str]:
    """Human-readable differences between an English page and its Chinese twin (empty: parity)."""
    problems = []
    for what in PARTS:
        ours, theirs = en[what], zh[what]
        a, b = [item[0] for item in ours], [item[0] for item in theirs]
        if a == b:
            continue
        shorter = min(len(a), len(b))
        i = next((i for i in range(shorter) if a[i] != b[i]), shorter)
        where = [
            f"{lang} line {items[i][2]}: {items[i][1]}" if i < len(items) else f"{lang}: (none)"
            for lang, items in (("en", ours), ("zh", theirs))
        ]
        problems.append(
            f"{what} differ (en {len(a)}, zh {len(b)}); first difference at {i + 1}: "
            + " | ".join(where)
            + HINTS.get(what, "")
        )
    links = [{link for link, _, _ in page["API links"]} for page in (en, zh)]
    if links[0] != links[1]:
        only = [sorted(links[0] - links[1]), sorted(links[1] - links[0])]
        problems.append(f"API links differ: only in en {only[0]}, only in zh {only[1]}")
    return problems


def check(docs: Path = DOCS) -> dict[str, list[str]]:
    """{page stem ("concepts/x"): its problems (twins missing, or structural differences)}."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(docs.rglob("*.md")):
        relative = path.relative_to(docs).as_posix()
        if not relative.startswith("_"):
            match = re.fullmatch(r"(.+)\.([a-z]{2})\.md", relative)
            stem, lang = match.groups() if match else (relative[: -len(".md")], "")
            found.setdefault(stem, {})[lang] = path
    reports = {}
    for stem, by_lang in sorted(found.items()):
        problems = [f"docs/{stem}.{lang}.md is missing" for lang in LANGS if lang not in by_lang]
        if len(problems) == 1:
            other = next(lang for lang in LANGS if lang in by_lang)
            problems[0] += f" (twin of docs/{stem}.{other}.md)"
        if set(by_lang) - set(LANGS):
            problems.append(f"docs/{stem}.md: every page needs a language suffix (.en.md, .zh.md)")
        if not problems:
            en, zh = (structure(by_lang[lang].read_text(encoding="utf-8")) for lang in LANGS)
            problems = compare(en, zh)
        reports[stem] = problems
    return reports


def format_report(reports: dict[str, list[str]]) -> str:
    lines = []
    for stem, problems in reports.items():
        if problems:
            lines.append(f"docs/{stem}.{{en,zh}}.md")
            lines.extend(f"  - {problem}" for problem in problems)
    bad = sum(1 for problems in reports.values() if problems)
    differences = f"{bad} with differences" if bad else "all twins match"
    lines.append(f"parity: {len(reports)} page pairs checked, {differences}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# the tests


EN = """# Softmax

Intro with [`softmax`][qkv.numpy.softmax] and `$$ not math $$`.

## The math

$$
a = b
$$

!!! note "A note"

    Text.

## The code

[[code: softmax]]

```pycon
>>> 1 + 1
2
```

## Seeing it

[[figure: softmax-weights]]

## Check

[[check: 5]]
"""

ZH = """# Softmax

引言，见 [`softmax`][qkv.numpy.softmax]。

## 数学

$$
a = b
$$

!!! note "注"

    文字。

## 代码

[[code: softmax]]

```pycon
>>> 1 + 1
2
```

## 图示

[[figure: softmax-weights]]

## 验证

[[check: 5]]
"""


def test_every_page_has_its_twin_with_the_same_structure():
    reports = check()
    assert len(reports) >= 20, f"only {len(reports)} page pairs found under {DOCS}"
    assert not any(reports.values()), "\n" + format_report(reports)


def test_twins_of_the_example_match():
    assert compare(structure(EN), structure(ZH)) == []
    en = {part: [item[0] for item in items] for part, items in structure(EN).items()}
    assert en["headings"] == [1, 2, 2, 2, 2] and len(en["display-math blocks"]) == 1
    assert en["figures"] == ["[[figure: softmax-weights]]"]
    assert en["directives"] == ["code: softmax", "figure: softmax-weights", "check: 5"]
    assert en["API links"] == ["qkv.numpy.softmax"] and en["admonitions"] == ["note"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("## 代码", "### 代码"), "headings differ"),
        (("## 图示\n", "## 图示\n\n## 多余\n"), "headings differ"),
        ((">>> 1 + 1", ">>> 1 + 2"), "code blocks differ"),
        (("$$\na = b\n$$", "$a = b$"), "display-math blocks"),
        (("[[figure: softmax-weights]]", "[[figure: softmax-bars]]"), "figures differ"),
        (("## 验证\n", "## 验证\n\n<figure markdown>x</figure>\n"), "figures differ"),
        (('!!! note "注"', '!!! tip "注"'), "admonitions differ"),
        (("[[check: 5]]", "[[check: 6]]"), "directives differ"),
        (("[qkv.numpy.softmax]", "[qkv.torch.softmax]"), "API links differ"),
    ],
)
def test_each_kind_of_difference_is_reported(change, expected):
    old, new = change
    assert old in ZH
    problems = compare(structure(EN), structure(ZH.replace(old, new)))
    assert any(expected in p for p in problems), problems


def test_code_fences_hide_headings_and_directives():
    text = "# T\n\n````markdown\n## not a heading\n[[code: softmax]]\n$$\n````\n"
    s = structure(text)
    assert [h[0] for h in s["headings"]] == [1] and not s["directives"]
    assert not s["display-math blocks"]
    code = ("markdown", "## not a heading\n[[code: softmax]]\n$$")
    assert s["code blocks"] == [(code, "markdown", 3)]


def test_the_report_names_a_missing_twin_and_the_differences(tmp_path):
    docs = write_docs(
        tmp_path,
        {"a.en.md": EN, "a.zh.md": ZH.replace("## 代码", "### 代码"), "concepts/b.en.md": EN},
    )
    report = format_report(check(docs))
    assert "docs/concepts/b.zh.md is missing (twin of docs/concepts/b.en.md)" in report
    assert "docs/a.{en,zh}.md" in report and "headings differ" in report
    assert "2 page pairs checked, 2 with differences" in report
    good = write_docs(tmp_path / "good", {"a.en.md": EN, "a.zh.md": ZH})
    assert not any(check(good).values())


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", HTML_COMMENT.sub("", text)) if p.strip()]


def test_contributing_md_is_the_site_page():
    """CONTRIBUTING.md (GitHub) and docs/contributing.en.md (the site) are the same guide: every
    paragraph but the introduction, which says where the other copy is, is the same."""
    repo = _paragraphs((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    page = _paragraphs((ROOT / "docs" / "contributing.en.md").read_text(encoding="utf-8"))
    assert len(repo) == len(page) > 20
    differ = [i for i, (a, b) in enumerate(zip(repo, page, strict=True)) if a != b]
    assert differ == [1], "\n\n".join(f"{repo[i]}\n---\n{page[i]}" for i in differ[1:])
