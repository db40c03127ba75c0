"""Translation parity (qkvdocs.parity): twins exist and match; the "may be behind" note."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from qkvdocs import parity

ROOT = Path(__file__).resolve().parents[1]

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
    reports = parity.check()
    assert len(reports) >= 20, f"only {len(reports)} page pairs found under {parity.DOCS}"
    assert not any(reports.values()), "\n" + parity.format_report(reports)


def test_twins_of_the_example_match():
    assert parity.compare(parity.structure(EN), parity.structure(ZH)) == []
    en = {part: [item[0] for item in items] for part, items in parity.structure(EN).items()}
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
    problems = parity.compare(parity.structure(EN), parity.structure(ZH.replace(old, new)))
    assert any(expected in p for p in problems), problems


def test_code_fences_hide_headings_and_directives():
    text = "# T\n\n````markdown\n## not a heading\n[[code: softmax]]\n$$\n````\n"
    s = parity.structure(text)
    assert [h[0] for h in s["headings"]] == [1] and not s["directives"]
    assert not s["display-math blocks"]
    code = ("markdown", "## not a heading\n[[code: softmax]]\n$$")
    assert s["code blocks"] == [(code, "markdown", 3)]


def _docs(tmp_path: Path, pages: dict[str, str]) -> Path:
    docs = tmp_path / "docs"
    for name, text in pages.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def test_cli_reports_a_missing_twin_and_differences(tmp_path):
    docs = _docs(
        tmp_path,
        {"a.en.md": EN, "a.zh.md": ZH.replace("## 代码", "### 代码"), "concepts/b.en.md": EN},
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "docs" / "_tools")}
    result = subprocess.run(
        [sys.executable, "-m", "qkvdocs.parity", "--docs", str(docs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "docs/concepts/b.zh.md is missing (twin of docs/concepts/b.en.md)" in result.stdout
    assert "docs/a.{en,zh}.md" in result.stdout and "headings differ" in result.stdout
    assert "2 page pairs checked, 2 with differences" in result.stdout
    good = _docs(tmp_path / "good", {"a.en.md": EN, "a.zh.md": ZH})
    assert parity.main(["--docs", str(good)]) == 0


# --------------------------------------------------------------------------------------------
# translation may be behind


def _git(repo: Path, *args: str, when: int | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_behind_note_follows_the_commit_times(tmp_path):
    repo = tmp_path / "repo"
    docs = _docs(
        repo, {"concepts/p.en.md": EN, "concepts/p.zh.md": ZH, "q.en.md": EN, "q.zh.md": ZH}
    )
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "both", when=1_700_000_000)  # 2023-11-14
    parity._history.cache_clear()
    assert parity.behind_note("concepts/p.zh.md", "zh", docs) is None
    assert parity.behind_note("concepts/p.en.md", "en", docs) is None

    (docs / "concepts/p.en.md").write_text(EN + "\nMore English.\n", encoding="utf-8")
    (docs / "q.zh.md").write_text(ZH + "\n更多中文。\n", encoding="utf-8")
    _git(
        repo, "commit", "-q", "-am", "English of p, Chinese of q", when=1_700_200_000
    )  # 2023-11-17
    parity._history.cache_clear()
    try:
        zh_note = parity.behind_note("concepts/p.zh.md", "zh", docs)
        assert zh_note is not None and zh_note.startswith('!!! warning qkv-behind "译文可能滞后"')
        assert "2023-11-17" in zh_note and "2023-11-14" in zh_note
        assert parity.behind_note("concepts/p.en.md", "en", docs) is None
        en_note = parity.behind_note(docs / "q.en.md", "en", docs)
        assert en_note is not None and "The translation may be behind" in en_note
        assert parity.behind_note("q.zh.md", "zh", docs) is None
        page = parity.with_behind_note(ZH, "concepts/p.zh.md", "zh", docs)
        assert page.startswith("# Softmax\n\n!!! warning qkv-behind") and page.endswith(
            ZH.split("\n", 1)[1]
        )
        assert parity.with_behind_note(EN, "concepts/p.en.md", "en", docs) == EN
        # a commit marked "Translation: unaffected" does not count: p.zh.md is still behind
        (docs / "concepts/p.zh.md").write_text(ZH + "\n错别字。\n", encoding="utf-8")
        _git(repo, "commit", "-q", "-am", "typo\n\nTranslation: unaffected", when=1_700_300_000)
        parity._history.cache_clear()
        assert parity.behind_note("concepts/p.zh.md", "zh", docs) is not None
        assert parity.behind_note("concepts/p.en.md", "en", docs) is None
        # the translation catches up in a commit of its own: no note on either side
        (docs / "concepts/p.zh.md").write_text(ZH + "\n更多中文。\n", encoding="utf-8")
        _git(repo, "commit", "-q", "-am", "translate p", when=1_700_400_000)
        parity._history.cache_clear()
        assert parity.behind_note("concepts/p.zh.md", "zh", docs) is None
        assert parity.behind_note("concepts/p.en.md", "en", docs) is None
        # uncommitted pages and directories outside git get no note
        (docs / "new.en.md").write_text(EN, encoding="utf-8")
        (docs / "new.zh.md").write_text(ZH, encoding="utf-8")
        assert parity.behind_note("new.zh.md", "zh", docs) is None
    finally:
        parity._history.cache_clear()
    outside = _docs(tmp_path / "plain", {"a.en.md": EN, "a.zh.md": ZH})
    assert parity.behind_note("a.zh.md", "zh", outside) is None


def test_contributing_md_is_the_site_page():
    """CONTRIBUTING.md (GitHub) and docs/contributing.en.md (the site) are the same guide."""
    repo = parity.structure((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    page = parity.structure((ROOT / "docs" / "contributing.en.md").read_text(encoding="utf-8"))
    assert [h[:2] for h in repo["headings"]] == [h[:2] for h in page["headings"]]
    assert [c[:2] for c in repo["code blocks"]] == [c[:2] for c in page["code blocks"]]


def test_the_build_hook_adds_the_behind_note():
    """docs/_tools/hooks.py calls with_behind_note on every page (before the directives expand)."""
    hooks = (ROOT / "docs" / "_tools" / "hooks.py").read_text(encoding="utf-8")
    assert "parity.with_behind_note(markdown, src, lang)" in hooks, (
        "add `markdown = parity.with_behind_note(markdown, src, lang)` to on_page_markdown"
    )
