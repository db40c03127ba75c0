"""The "translation may be behind" note (qkvdocs.behind): replayed from the history of a git
repository made for the test, and added to the page by the build hook."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

from qkvdocs import behind
from sitebuild import write_docs

ROOT = Path(__file__).resolve().parents[1]

EN = "# Softmax\n\nSome English.\n"
ZH = "# Softmax\n\n一些中文。\n"


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
    docs = write_docs(
        repo, {"concepts/p.en.md": EN, "concepts/p.zh.md": ZH, "q.en.md": EN, "q.zh.md": ZH}
    )
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "both", when=1_700_000_000)  # 2023-11-14
    behind._history.cache_clear()
    assert behind.behind_note("concepts/p.zh.md", "zh", docs) is None
    assert behind.behind_note("concepts/p.en.md", "en", docs) is None

    (docs / "concepts/p.en.md").write_text(EN + "\nMore English.\n", encoding="utf-8")
    (docs / "q.zh.md").write_text(ZH + "\n更多中文。\n", encoding="utf-8")
    _git(
        repo, "commit", "-q", "-am", "English of p, Chinese of q", when=1_700_200_000
    )  # 2023-11-17
    behind._history.cache_clear()
    try:
        zh_note = behind.behind_note("concepts/p.zh.md", "zh", docs)
        assert zh_note is not None and zh_note.startswith('!!! warning qkv-behind "译文可能滞后"')
        assert "2023-11-17" in zh_note and "2023-11-14" in zh_note
        assert behind.behind_note("concepts/p.en.md", "en", docs) is None
        en_note = behind.behind_note(docs / "q.en.md", "en", docs)
        assert en_note is not None and "The translation may be behind" in en_note
        assert behind.behind_note("q.zh.md", "zh", docs) is None
        page = behind.with_behind_note(ZH, "concepts/p.zh.md", "zh", docs)
        assert page.startswith("# Softmax\n\n!!! warning qkv-behind") and page.endswith(
            ZH.split("\n", 1)[1]
        )
        assert behind.with_behind_note(EN, "concepts/p.en.md", "en", docs) == EN
        # a commit marked "Translation: unaffected" does not count: p.zh.md is still behind
        (docs / "concepts/p.zh.md").write_text(ZH + "\n错别字。\n", encoding="utf-8")
        _git(repo, "commit", "-q", "-am", "typo\n\nTranslation: unaffected", when=1_700_300_000)
        behind._history.cache_clear()
        assert behind.behind_note("concepts/p.zh.md", "zh", docs) is not None
        assert behind.behind_note("concepts/p.en.md", "en", docs) is None
        # the translation catches up in a commit of its own: no note on either side
        (docs / "concepts/p.zh.md").write_text(ZH + "\n更多中文。\n", encoding="utf-8")
        _git(repo, "commit", "-q", "-am", "translate p", when=1_700_400_000)
        behind._history.cache_clear()
        assert behind.behind_note("concepts/p.zh.md", "zh", docs) is None
        assert behind.behind_note("concepts/p.en.md", "en", docs) is None
        # uncommitted pages and directories outside git get no note
        (docs / "new.en.md").write_text(EN, encoding="utf-8")
        (docs / "new.zh.md").write_text(ZH, encoding="utf-8")
        assert behind.behind_note("new.zh.md", "zh", docs) is None
    finally:
        behind._history.cache_clear()
    outside = write_docs(tmp_path / "plain", {"a.en.md": EN, "a.zh.md": ZH})
    assert behind.behind_note("a.zh.md", "zh", outside) is None


def test_a_listed_commit_does_not_count(tmp_path):
    """A commit that landed without the trailer is listed in _data/translation-unaffected.txt."""
    repo = tmp_path / "repo"
    docs = write_docs(repo, {"p.en.md": EN, "p.zh.md": ZH})
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "both", when=1_700_000_000)
    (docs / "p.zh.md").write_text(ZH + "\n标点。\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "Chinese typography", when=1_700_100_000)
    behind._history.cache_clear()
    try:
        assert behind.behind_note("p.en.md", "en", docs) is not None
        commit = _git(repo, "rev-parse", "HEAD").strip()
        listed = f"# wording only\n{commit}  # Chinese typography\n"
        write_docs(repo, {"_data/translation-unaffected.txt": listed})
        behind._history.cache_clear()
        assert behind.behind_note("p.en.md", "en", docs) is None
    finally:
        behind._history.cache_clear()


def test_no_page_of_the_site_is_behind_its_twin():
    """Both languages move together: no page of this repository says its translation is behind.
    (In a shallow clone there is one commit, and nothing can be behind.)"""
    behind._history.cache_clear()
    pages = [p.relative_to(behind.DOCS).as_posix() for p in behind.DOCS.rglob("*.md")]
    pages = [page for page in pages if not page.startswith("_")]
    assert len(pages) > 40
    lagging = [page for page in pages if behind.behind_note(page, page.split(".")[-2])]
    assert not lagging, (
        f"{lagging}: their twin changed after them. Change the page too, in the same pull request; "
        "a change that the other language need not follow (a typo) says so with the trailer line "
        "`Translation: unaffected` in its commit message, and a commit that landed without it is "
        "listed in docs/_data/translation-unaffected.txt"
    )


def test_the_build_hook_puts_the_note_under_the_title(monkeypatch):
    """hooks.on_page_markdown adds the note of the page being built, then expands directives."""
    spec = importlib.util.spec_from_file_location("qkv_site_hooks", ROOT / "docs/_tools/hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)

    def note(src, lang, docs=behind.DOCS):
        return f'!!! warning qkv-behind "{src} {lang}"\n\n    [[glossary]]\n'

    monkeypatch.setattr(behind, "behind_note", note)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="concepts/p.zh.md"))
    out = hooks.on_page_markdown("# T\n\n正文。\n", page=page, config=None, files=None)
    assert out.startswith('# T\n\n!!! warning qkv-behind "concepts/p.zh.md zh"\n'), out
    assert "| 中文 | English | 释义 |" in out  # the directive inside the note was expanded
