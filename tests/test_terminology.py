"""Terminology and spelling: the glossary's Chinese terms, ASCII shapes, Chinese typography, and
codespell over everything written in English.

Each rule below scans the pages and reports `path:line: message`:

- variants: a Chinese page uses a non-preferred variant of a glossary term (`variants_zh` in
  docs/_data/glossary.yml) outside code. A page that must quote one (say, to cite the notes'
  wording) allows it with an HTML comment anywhere on the page:
  `<!-- termlint: allow 自注意力机制 -->`.
- English terms: a Chinese page writes a glossary term in English (`token`, `queries`) in its
  prose, where the Chinese term belongs; code, math, links, HTML and a parenthesis that gives the
  English term (`词元 (token)`) are not prose. Acronyms (`RNN`) and terms whose Chinese form is the
  English one (`softmax`) are left alone; `<!-- termlint: allow token -->` allows one.
- style: quotation marks “ ” (never 「 」 or ASCII quotes around Chinese), full-width （ ） around
  Chinese and ASCII ( ) around an English word alone, `Vaswani 等人` (not `等`), and no English
  words in `\\text{}` inside a formula.
- shapes: a shape tuple written with full-width punctuation, such as `（batch，seq_q）`, on any
  page (shapes are code: `(batch, seq_q)` in both languages).
- spelling: `codespell` from the repository root, with the settings in pyproject.toml
  (`[tool.codespell]`) and the project's words in `.codespell-ignore` (one lower-case word a line).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qkvdocs import HTML_COMMENT, INLINE_CODE, blocks, glossary
from sitebuild import write_docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ASCII_PARENS = re.compile(r"\([\x00-\x7f]*\)")
ALLOW = re.compile(r"<!--\s*termlint:\s*allow\s+(.+?)\s*-->")

DIMENSIONS = (
    "*batch", "batch", "heads", "num_heads", "seq", "seq_q", "seq_k", "d_model", "d_k", "d_v",
    "d_head", "d_ff", "n", "m",
)  # fmt: skip
_ITEM = r"[A-Za-z0-9_*][A-Za-z0-9_*+\-/ .]*?"
_OPEN, _CLOSE, _COMMA = "[（(]", "[）)]", "[，,、]"
SHAPE = re.compile(
    rf"(?P<open>{_OPEN})\s*(?P<items>{_ITEM}(?:\s*{_COMMA}\s*{_ITEM})*\s*{_COMMA}?)\s*(?P<close>{_CLOSE})"
)
FULL_WIDTH = set("（），、")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _pages(docs: Path, suffix: str = ".md") -> list[Path]:
    return sorted(p for p in docs.rglob(f"*{suffix}") if p.relative_to(docs).parts[0][0] != "_")


def _scan(docs: Path, rules, prose=lambda line: line, math: bool = True) -> list[Finding]:
    """The matches of `rules` ((pattern, message of a match) pairs) in `prose(line)` for every line
    of every Chinese page outside code and HTML comments (and display math unless `math`), inline
    code blanked, except the words the page's `termlint: allow` comments allow."""
    findings = []
    for page in _pages(docs, ".zh.md"):
        text = page.read_text(encoding="utf-8")
        allowed = {word.lower() for match in ALLOW.finditer(text) for word in match[1].split()}
        text = HTML_COMMENT.sub(lambda m: "\n" * m[0].count("\n"), text)
        where = page.relative_to(docs.parent).as_posix()
        for number, line, kind in blocks(text):
            if kind == "text" or kind == "math" and math:
                line = prose(INLINE_CODE.sub(" ", line))
                for pattern, message in rules:
                    for match in pattern.finditer(line):
                        if match[0].lower() not in allowed:
                            findings.append(Finding(where, number, message(match)))
    return findings


def variant_findings(docs: Path = DOCS, entries=None) -> list[Finding]:
    """Uses of `variants_zh` on Chinese pages, outside code (the glossary page itself included)."""
    entries = glossary.load() if entries is None else entries
    preferred = {v: e for e in entries for v in e.variants_zh if v and v != e.zh}
    # one alternation, longer variants first, so that one occurrence is reported once
    pattern = re.compile("|".join(map(re.escape, sorted(preferred, key=len, reverse=True))))
    say = "{0!r} is a variant of the glossary term {1.zh!r} ({1.en}): use {1.zh!r}"
    rules = [(pattern, lambda m: say.format(m[0], preferred[m[0]]))] if preferred else []
    # a parenthesis in ASCII gives the English term at first use
    return _scan(docs, rules, lambda line: ASCII_PARENS.sub(" ", line))


# what is not prose on a Chinese page: math, links (text and target), HTML, directives, and a
# parenthesis holding only ASCII (the English term given at first use)
NOT_PROSE = re.compile(
    r"\$[^$]+\$|!?\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])|\[\[[^\]]*\]\]|<[^>]*>|https?://\S+"
    r"|[(（][\x00-\x7f–—‘’]*[)）]"
)


def _english_term(en: str) -> re.Pattern[str]:
    if re.search(r"[^aeiou]y$", en):  # query, queries; but key, keys
        plural = re.escape(en[:-1]) + "(?:y|ies)"
    else:
        plural = re.escape(en) + "(?:s|es)?"
    return re.compile(rf"(?<![\w.-]){plural}(?![\w-])", re.IGNORECASE)


def english_findings(docs: Path = DOCS, entries=None) -> list[Finding]:
    """Glossary terms written in English in the prose of Chinese pages."""
    entries = glossary.load() if entries is None else entries
    say = "English {0!r} in Chinese prose: write {1.zh!r} (English in parentheses at first use)"
    rules = [
        (_english_term(e.en), lambda m, e=e: say.format(m[0], e))
        for e in entries
        if re.search(r"[\u4e00-\u9fff]", e.zh) and not e.en.isupper()
    ]
    return _scan(docs, rules, lambda line: NOT_PROSE.sub(" ", line), math=False)


STYLE = (
    (re.compile(r"[「」『』]"), "quotation marks: write “ ”"),
    (re.compile(r'"[^"]*[\u4e00-\u9fff][^"]*"'), "ASCII quotes around Chinese: write “ ”"),
    (re.compile(r"\([^()]*[\u4e00-\u9fff][^()]*\)"), "Chinese inside ( ): write （ ）"),
    (re.compile(r"（[A-Za-z][A-Za-z .-]*）"), "only English inside （ ）: write ( )"),
    (re.compile(r"[A-Z][a-z]+ 等(?!人)[，,（(]"), "a citation: write 等人"),
    (re.compile(r"\\text\{(?=[^}]* )(?:[^}]* )?[a-z]{2,}\b[^}]*\}"), "English in \\text{}"),
)


def style_findings(docs: Path = DOCS) -> list[Finding]:
    """Quotation marks, bracket widths, citations and `\\text{}` on Chinese pages (`STYLE`)."""
    rules = [(pattern, lambda m, say=say: f"{m[0]!r}: {say}") for pattern, say in STYLE]
    # admonition titles are quoted in ASCII
    return _scan(docs, rules, lambda line: "" if line.lstrip()[:3] in ("!!!", "???") else line)


def _is_dimension(item: str) -> bool:
    words = re.findall(r"\*?[A-Za-z_][A-Za-z0-9_]*", item)
    return any(word in DIMENSIONS for word in words) and any(len(w.strip("*")) > 1 for w in words)


def shape_findings(docs: Path = DOCS) -> list[Finding]:
    """Shape tuples written with full-width brackets or commas, anywhere on any page."""
    findings = []
    for page in _pages(docs):
        for number, line in enumerate(page.read_text(encoding="utf-8").split("\n"), start=1):
            for match in SHAPE.finditer(line):
                text = match[0]
                items = [i.strip() for i in re.split(_COMMA, match["items"]) if i.strip()]
                if not FULL_WIDTH & set(text) or not any(_is_dimension(i) for i in items):
                    continue
                if len(items) < 2 and not re.search(_COMMA, text):
                    continue  # "（d_k）" is a parenthesis in prose, not a shape
                fixed = f"({', '.join(items)}{',' if len(items) == 1 else ''})"
                where = page.relative_to(docs.parent).as_posix()
                message = f"shape {text!r} uses full-width punctuation: write {fixed!r}"
                findings.append(Finding(where, number, message))
    return findings


def spelling_findings(root: Path = ROOT) -> list[str]:
    """codespell's findings (one line each), run from `root` with the settings of its pyproject."""
    result = subprocess.run(
        [sys.executable, "-m", "codespell_lib"], capture_output=True, text=True, cwd=root
    )
    if result.returncode not in (0, 65):  # 65: misspellings found
        raise RuntimeError(f"codespell failed ({result.returncode}): {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------
# the tests


def test_chinese_pages_use_the_glossary_terms():
    entries = glossary.load()
    assert sum(len(e.variants_zh) for e in entries) > 0, "the glossary lists no variant to look for"
    findings = variant_findings()
    assert not findings, "\n".join(map(str, findings))


def test_shapes_use_ascii_punctuation():
    findings = shape_findings()
    assert not findings, "\n".join(map(str, findings))


def test_spelling_of_english_pages_and_code():
    findings = spelling_findings()
    assert not findings, "codespell (add a real word to .codespell-ignore):\n" + "\n".join(findings)


# --------------------------------------------------------------------------------------------
# the lint itself catches what it should


def _page(tmp_path: Path, name: str, text: str) -> Path:
    return write_docs(tmp_path, {name: text})


def test_variants_are_found_outside_code_only(tmp_path):
    entry = glossary.Entry(
        en="self-attention", zh="自注意力", page="p.md", anchor="", def_en="d", def_zh="定义",
        variants_zh=("自我注意力", "自注意力机制"),
    )  # fmt: skip
    docs = _page(
        tmp_path,
        "concepts/p.zh.md",
        "# 自注意力\n\n自我注意力很有用。\n\n`自我注意力` 在代码里可以。\n\n"
        "```text\n自注意力机制\n```\n\n自注意力机制。\n",
    )
    findings = variant_findings(docs, [entry])
    assert [(f.line, f.message.split("'")[1]) for f in findings] == [
        (3, "自我注意力"),
        (11, "自注意力机制"),
    ]
    (docs / "concepts/p.zh.md").write_text(
        "<!-- termlint: allow 自我注意力 -->\n笔记里写作自我注意力。\n", encoding="utf-8"
    )
    assert variant_findings(docs, [entry]) == []
    (docs / "concepts/p.en.md").write_text("自我注意力\n", encoding="utf-8")
    assert variant_findings(docs, [entry]) == [], "English pages are not linted for variants"


def test_full_width_shapes_are_found(tmp_path):
    docs = _page(
        tmp_path,
        "a.zh.md",
        "形状为（batch，seq_q）。\n"
        "形状为 `(batch，seq_q, d_k)`。\n"
        "向量（d_k）和维度（即 d_model）是正常的括号。\n"
        "形状 `(*batch, seq_q, seq_k)` 没问题（六个词元，$d_k = 4$）。\n"
        "列表：`seq_q`、`seq_k` 和 `d_k`。\n",
    )
    findings = shape_findings(docs)
    assert [f.line for f in findings] == [1, 2], findings
    assert "write '(batch, seq_q)'" in findings[0].message


def test_spelling_uses_the_project_settings_and_word_list(tmp_path):
    typo = "wie" + "ghts"  # spelled out here so that this file itself passes the spell check
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    (tmp_path / ".codespell-ignore").write_text("", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.en.md").write_text(
        f"The attention {typo} are here.\n", encoding="utf-8"
    )
    (tmp_path / "docs" / "a.zh.md").write_text(f"{typo} 在中文页里不查。\n", encoding="utf-8")
    findings = spelling_findings(tmp_path)
    assert len(findings) == 1 and f"a.en.md:1: {typo} ==> weights" in findings[0], findings
    (tmp_path / ".codespell-ignore").write_text(typo + "\n", encoding="utf-8")
    assert spelling_findings(tmp_path) == []


def test_no_english_glossary_terms_in_chinese_prose():
    findings = english_findings()
    assert not findings, "\n".join(map(str, findings))


def test_chinese_typography_is_consistent():
    findings = style_findings()
    assert not findings, "\n".join(map(str, findings))


def test_english_terms_are_found_in_prose_only(tmp_path):
    terms = (
        ("query", "查询"),
        ("key", "键"),
        ("token", "词元"),
        ("softmax", "softmax"),
        ("RNN", "RNN"),
    )
    entries = [
        glossary.Entry(en, zh, page="p.md", anchor="", def_en="d", def_zh="定", variants_zh=())
        for en, zh in terms
    ]
    docs = _page(
        tmp_path,
        "p.zh.md",
        "每个 query 都和 tokens 比较。\n"  # two findings: singular and plural
        "查询 (query) 和词元 (token) 第一次出现时给出英文。\n"
        "`query` 是代码，$query$ 是公式，[query](q.md) 是链接，<b title='query'>粗</b>。\n"
        "softmax 和 RNN 本来就这样写；queries 和 keys 也要换。\n"
        "```python\nquery = token\n```\n",
    )
    findings = english_findings(docs, entries)
    assert [(f.line, f.message.split("'")[1]) for f in findings] == [
        (1, "query"),
        (1, "tokens"),
        (4, "queries"),
        (4, "keys"),
    ], findings
    allowed = "<!-- termlint: allow query -->\n一个 query。\n"
    (docs / "p.zh.md").write_text(allowed, encoding="utf-8")
    assert english_findings(docs, entries) == []


def test_chinese_typography_findings(tmp_path):
    docs = _page(
        tmp_path,
        "p.zh.md",
        "笔记说「对齐」。\n"
        '它叫 "硬注意力"。\n'
        "加性注意力 (additive attention；Bahdanau 等人，2015)。\n"
        "分数矩阵（SDPA）。\n"
        "FlashAttention（Dao 等，2022）。\n"
        "$$\ns = 1 \\text{ by default}\n$$\n"
        "好的写法：“对齐”，词元 (token)，（2017），Vaswani 等人（2017），"
        "$\\text{model}$，$\\text{若 } x$。\n"
        '!!! note "标题用 ASCII 引号"\n',
    )
    lines = [f.line for f in style_findings(docs)]
    assert lines == [1, 1, 2, 3, 4, 5, 7], style_findings(docs)
