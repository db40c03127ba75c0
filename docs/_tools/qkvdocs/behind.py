"""The "translation may be behind" note.

When a page's twin (`x.en.md` for `x.zh.md`, and the other way round) changed in a commit after
the two were last in step, `behind_note(page, lang)` is a visible admonition, in the page's own
language, saying so; it goes away once the page is committed again. The history is replayed from
`git log`. A commit that changes one language only in a way the other need not follow (a typo) says
so with the trailer line `Translation: unaffected` in its message; such commits do not count, and
neither do the commits listed in `docs/_data/translation-unaffected.txt` (one full hash a line, `#`
starts a comment: for commits that landed without the trailer). The MkDocs hook adds the note
with `with_behind_note(markdown, src_uri, lang)`.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from functools import cache
from pathlib import Path

from . import LANGS

DOCS = Path(__file__).resolve().parents[2]

BEHIND_TITLE = {"en": "The translation may be behind", "zh": "译文可能滞后"}


@cache
def _history(directory: str) -> tuple[tuple[int, frozenset[str]], ...]:
    """The commits that touched `directory`, oldest first: (commit time, absolute paths changed).

    Commits whose message has the trailer `Translation: unaffected`, and those listed in
    `_data/translation-unaffected.txt` under `directory`, are left out. Empty outside a git work
    tree (or without git).
    """
    listed = Path(directory, "_data", "translation-unaffected.txt")
    text = listed.read_text(encoding="utf-8") if listed.is_file() else ""
    unaffected = {line.split("#")[0].strip() for line in text.splitlines()} - {""}
    trailer = "%(trailers:key=Translation,valueonly,separator=%x2C)"
    command = ["git", "log", "--reverse", f"--format=@%ct %H {trailer}", "--name-only"]
    try:
        log = subprocess.run(
            [*command, "--no-renames", "--relative", "--", "."],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ()
    commits: list[tuple[int, set[str], bool]] = []
    for line in log.splitlines():
        if line.startswith("@"):
            stamp, commit, trailers = (line[1:] + " ").split(" ", 2)
            skip = "unaffected" in trailers.lower() or commit in unaffected
            commits.append((int(stamp), set(), skip))
        elif line.strip() and commits:
            commits[-1][1].add(str(Path(directory, line.strip()).resolve()))
    return tuple((when, frozenset(paths)) for when, paths, skip in commits if not skip)


def lagging_since(path: Path, twin: Path, docs: Path = DOCS) -> tuple[int, int] | None:
    """(time the twin moved ahead, time of the page's last commit) if `path` lags behind `twin`.

    The history of the pair is replayed oldest first: a commit that changes both pages leaves them
    in step; one that changes only the twin puts the page behind (unless the page was ahead, in
    which case the twin just caught up); one that changes only the page catches it up again (or
    puts it ahead).
    """
    mine, theirs = str(path.resolve()), str(twin.resolve())
    behind = since = last_mine = 0  # behind: 1 the page lags, -1 the twin lags, 0 in step
    for when, paths in _history(str(docs.resolve())):
        if mine in paths:
            last_mine = when
        if mine in paths and theirs in paths:
            behind = 0
        elif theirs in paths:
            since = when if behind == 0 else since
            behind = min(1, behind + 1)
        elif mine in paths:
            behind = max(-1, behind - 1)
    return (since, last_mine) if behind == 1 and last_mine else None


def behind_note(page_src_path: str | Path, lang: str, docs: Path = DOCS) -> str | None:
    """The admonition for a page whose twin changed after the two were last in step, else None.

    `page_src_path` is docs-relative (`concepts/softmax.zh.md`, MkDocs' `page.file.src_uri`) or
    absolute; the note is written in `lang`, the language of the page.
    """
    if lang not in LANGS:
        return None
    path = Path(docs, page_src_path)  # an absolute `page_src_path` stays as it is
    other = "zh" if lang == "en" else "en"
    twin = path.with_name(path.name.replace(f".{lang}.md", f".{other}.md"))
    lag = lagging_since(path, twin, Path(docs))
    if lag is None:
        return None

    def day(seconds: int, fmt: str = "%Y-%m-%d") -> str:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime(fmt)

    theirs, mine = lag
    fmt = "%Y-%m-%d %H:%M UTC" if day(theirs) == day(mine) else "%Y-%m-%d"  # same day: the time
    new, old = day(theirs, fmt), day(mine, fmt)
    if lang == "zh":
        body = (
            f"本页的英文版在 {new} 有更新，晚于本页最后一次修改的时间 {old}："
            "这里的中文译文可能还没有跟上。可以用页面顶部的语言切换查看英文版。"
        )
    else:
        body = (
            f"The Chinese version of this page was changed on {new}, after this page was "
            f"last changed ({old}): this English text may not include those changes yet. "
            "The language switch at the top of the page opens the Chinese version."
        )
    return f'!!! warning qkv-behind "{BEHIND_TITLE[lang]}"\n\n    {body}\n'


def with_behind_note(markdown: str, page_src_path: str | Path, lang: str, docs: Path = DOCS) -> str:
    """`markdown` with the behind note (if any) placed after the page's first `# ` title."""
    note = behind_note(page_src_path, lang, docs)
    if note is None:
        return markdown
    title = re.search(r"^#[ \t].*\n?", markdown, re.M)
    if title is None:
        return f"{note}\n{markdown}"
    return f"{markdown[: title.end()]}\n{note}\n{markdown[title.end() :]}"
