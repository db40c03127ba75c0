"""Terminology lint (qkvdocs.termlint): glossary terms on Chinese pages, ASCII shapes, spelling."""

from __future__ import annotations

from pathlib import Path

from qkvdocs import glossary, termlint


def test_chinese_pages_use_the_glossary_terms():
    entries = glossary.load()
    assert sum(len(e.variants_zh) for e in entries) > 0, "the glossary lists no variant to look for"
    findings = termlint.variant_findings()
    assert not findings, "\n".join(map(str, findings))


def test_shapes_use_ascii_punctuation():
    findings = termlint.shape_findings()
    assert not findings, "\n".join(map(str, findings))


def test_spelling_of_english_pages_and_code():
    findings = termlint.spelling_findings()
    assert not findings, "codespell (add a real word to .codespell-ignore):\n" + "\n".join(findings)


# --------------------------------------------------------------------------------------------
# the lint itself catches what it should


def _page(tmp_path: Path, name: str, text: str) -> Path:
    docs = tmp_path / "docs"
    (docs / name).parent.mkdir(parents=True, exist_ok=True)
    (docs / name).write_text(text, encoding="utf-8")
    return docs


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
    findings = termlint.variant_findings(docs, [entry])
    assert [(f.line, f.message.split("'")[1]) for f in findings] == [
        (3, "自我注意力"),
        (11, "自注意力机制"),
    ]
    (docs / "concepts/p.zh.md").write_text(
        "<!-- termlint: allow 自我注意力 -->\n笔记里写作自我注意力。\n", encoding="utf-8"
    )
    assert termlint.variant_findings(docs, [entry]) == []
    (docs / "concepts/p.en.md").write_text("自我注意力\n", encoding="utf-8")
    assert termlint.variant_findings(docs, [entry]) == [], (
        "English pages are not linted for variants"
    )


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
    findings = termlint.shape_findings(docs)
    assert [f.line for f in findings] == [1, 2], findings
    assert "write '(batch, seq_q)'" in findings[0].message


def test_spelling_uses_codespell_and_the_word_list(tmp_path):
    typo = "wie" + "ghts"  # spelled out here so that this file itself passes the spell check
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.en.md").write_text(
        f"The attention {typo} are here.\n", encoding="utf-8"
    )
    (tmp_path / "docs" / "a.zh.md").write_text(f"{typo} 在中文页里不查。\n", encoding="utf-8")
    findings = termlint.spelling_findings(tmp_path)
    assert len(findings) == 1 and f"a.en.md:1: {typo} ==> weights" in findings[0], findings
    (tmp_path / ".codespell-ignore").write_text(typo + "\n", encoding="utf-8")
    assert termlint.spelling_findings(tmp_path) == []


def test_no_english_glossary_terms_in_chinese_prose():
    findings = termlint.english_findings()
    assert not findings, "\n".join(map(str, findings))


def test_chinese_typography_is_consistent():
    findings = termlint.style_findings()
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
    findings = termlint.english_findings(docs, entries)
    assert [(f.line, f.message.split("'")[1]) for f in findings] == [
        (1, "query"),
        (1, "tokens"),
        (4, "queries"),
        (4, "keys"),
    ], findings
    allowed = "<!-- termlint: allow query -->\n一个 query。\n"
    (docs / "p.zh.md").write_text(allowed, encoding="utf-8")
    assert termlint.english_findings(docs, entries) == []


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
    lines = [f.line for f in termlint.style_findings(docs)]
    assert lines == [1, 1, 2, 3, 4, 5, 7], termlint.style_findings(docs)
