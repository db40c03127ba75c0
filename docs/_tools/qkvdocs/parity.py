"""Translation parity: every page has its twin, and twins have the same structure.

A page `docs/x.en.md` and its twin `docs/x.zh.md` must have

- the same heading outline (the same levels, in the same order),
- the same fenced code blocks (identical code: code is never translated),
- the same number of display-math blocks (`$$ ... $$`),
- the same figures (`[[figure: NAME]]` directives, in order, and `<figure>` elements),
- the same admonitions (`!!! note`, `??? tip`, ... by kind, in order),
- the same directives (`[[code: ...]]`, `[[check: ...]]`, ..., in order),
- the same links to API entries (`[text][qkv.numpy.softmax]` autorefs, as a set).

Run `python -m qkvdocs.parity` from the repository root (with `PYTHONPATH=docs/_tools`) for a
report; it exits with status 1 when a pair differs.

`behind_note(page, lang)` is the "translation may be behind" note: when the twin of a page changed
in a commit after the two were last in step (replayed from `git log`), the page gets a visible
admonition in its own language; it goes away once the page is committed again.
The MkDocs hook adds it with `with_behind_note(markdown, src_uri, lang)`. A commit that changes one
language only in a way the other need not follow (a typo) says so with the trailer line
`Translation: unaffected` in its message; such commits do not count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2]
LANGS = ("en", "zh")
LANG_NAMES = {"en": "English", "zh": "Chinese"}

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
ADMONITION = re.compile(r"^[ \t]*(?P<marker>!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)")
DIRECTIVE = re.compile(r"^[ \t]*\[\[(?P<name>[a-z][a-z-]*)(?::\s*(?P<arg>[^\]]*?))?\s*\]\][ \t]*$")
API_LINK = re.compile(r"\]\[(?P<ref>qkv(?:\.\w+)+)\]|\[`?(?P<bare>qkv(?:\.\w+)+)`?\]\[\]")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


# --------------------------------------------------------------------------------------------
# structure of one page


@dataclass
class Structure:
    """What must match between twins (each list in page order)."""

    headings: list[tuple[int, str, int]] = field(default_factory=list)  # (level, text, line)
    code: list[tuple[str, str, int]] = field(default_factory=list)  # (language, code, line)
    math: list[int] = field(default_factory=list)  # line of each display-math block
    figures: list[str] = field(default_factory=list)  # [[figure: NAME]] names and "<figure>" tags
    admonitions: list[tuple[str, int]] = field(default_factory=list)  # (kind, line)
    directives: list[tuple[str, int]] = field(default_factory=list)  # ("code: softmax", line)
    api_links: set[str] = field(default_factory=set)


def structure(text: str) -> Structure:
    """A page's `Structure` (code fences are opaque; HTML comments are ignored)."""
    out = Structure()
    text = HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    open_fence: tuple[str, str, str, int] | None = None
    body: list[str] = []
    in_math: int | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        fence = FENCE.match(line)
        if open_fence is not None:
            indent, ticks, language, start = open_fence
            if (
                fence
                and fence.group("fence")[0] == ticks[0]
                and len(fence.group("fence")) >= len(ticks)
                and not fence.group("info").strip()
            ):
                code = "\n".join(
                    b[len(indent) :] if b.startswith(indent) else b.lstrip() for b in body
                )
                out.code.append((language, code, start))
                open_fence = None
            else:
                body.append(line)
            continue
        if fence and in_math is None:
            info = fence.group("info").strip()
            language = re.split(r"[\s{]+", info)[0].lstrip(".") if info else ""
            open_fence = (fence.group("indent"), fence.group("fence"), language, number)
            body = []
            continue
        prose = INLINE_CODE.sub("", line)
        # display math: $$ ... $$ on one line, or a block opened and closed by lines with $$
        for _ in re.finditer(r"\$\$", prose):
            if in_math is None:
                in_math = number
            else:
                out.math.append(in_math)
                in_math = None
        if in_math is not None and in_math != number:
            continue
        heading = HEADING.match(line)
        if heading and in_math is None:
            out.headings.append((len(heading.group("hashes")), heading.group("text"), number))
        admonition = ADMONITION.match(line)
        if admonition:
            out.admonitions.append((admonition.group("kind"), number))
        directive = DIRECTIVE.match(line)
        if directive:
            name, arg = directive.group("name"), (directive.group("arg") or "").strip()
            out.directives.append((f"{name}: {arg}" if arg else name, number))
            if name == "figure":
                out.figures.append(f"[[figure: {arg}]]")
        for _ in re.finditer(r"<figure[\s>]", prose):
            out.figures.append("<figure>")
        for link in API_LINK.finditer(prose):
            out.api_links.add(link.group("ref") or link.group("bare"))
    return out


# --------------------------------------------------------------------------------------------
# comparing twins


def pages(docs: Path = DOCS) -> dict[str, dict[str, Path]]:
    """{stem: {lang: path}} for every page (docs/**/*.md outside docs/_*); stem: "concepts/x"."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(docs.rglob("*.md")):
        relative = path.relative_to(docs)
        if relative.parts[0].startswith("_") or "__pycache__" in relative.parts:
            continue
        match = re.fullmatch(r"(.+)\.([a-z]{2})\.md", relative.as_posix())
        stem, lang = (match.group(1), match.group(2)) if match else (relative.as_posix()[:-3], "")
        found.setdefault(stem, {})[lang] = path
    return found


def _outline(headings: list[tuple[int, str, int]]) -> str:
    return " ".join(f"h{level}" for level, _, _ in headings)


def _first_difference(a: list, b: list) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def compare(en: Structure, zh: Structure) -> list[str]:
    """Human-readable differences between an English page and its Chinese twin (empty: parity)."""
    problems = []
    en_levels = [h[0] for h in en.headings]
    zh_levels = [h[0] for h in zh.headings]
    if en_levels != zh_levels:
        i = _first_difference(en_levels, zh_levels)
        show = [
            f"{lang} line {h[i][2]}: {'#' * h[i][0]} {h[i][1]}"
            if i < len(h)
            else f"{lang}: (no heading)"
            for lang, h in (("en", en.headings), ("zh", zh.headings))
        ]
        problems.append(
            f"heading outline differs ({len(en_levels)} vs {len(zh_levels)} headings); "
            f"first difference at heading {i + 1}: " + " | ".join(show)
        )
    en_code = [(lang, code) for lang, code, _ in en.code]
    zh_code = [(lang, code) for lang, code, _ in zh.code]
    if en_code != zh_code:
        i = _first_difference(en_code, zh_code)
        where = []
        for lang, blocks in (("en", en.code), ("zh", zh.code)):
            where.append(
                f"{lang} line {blocks[i][2]} ({blocks[i][0] or 'no language'})"
                if i < len(blocks)
                else f"{lang}: (none)"
            )
        problems.append(
            f"code blocks differ ({len(en_code)} vs {len(zh_code)} blocks); "
            f"first difference at block "
            f"{i + 1}: " + " | ".join(where) + " (code is never translated: copy it exactly)"
        )
    if len(en.math) != len(zh.math):
        problems.append(f"display-math blocks: en {len(en.math)}, zh {len(zh.math)}")
    if en.figures != zh.figures:
        problems.append(f"figures differ: en {en.figures}, zh {zh.figures}")
    en_adm = [kind for kind, _ in en.admonitions]
    zh_adm = [kind for kind, _ in zh.admonitions]
    if en_adm != zh_adm:
        problems.append(f"admonitions differ: en {en_adm}, zh {zh_adm}")
    en_dir = [d for d, _ in en.directives]
    zh_dir = [d for d, _ in zh.directives]
    if en_dir != zh_dir:
        i = _first_difference(en_dir, zh_dir)
        problems.append(
            f"directives differ (en {len(en_dir)}, zh {len(zh_dir)}); first difference at {i + 1}: "
            f"en {en_dir[i] if i < len(en_dir) else '(none)'} | "
            f"zh {zh_dir[i] if i < len(zh_dir) else '(none)'}"
        )
    if en.api_links != zh.api_links:
        only_en = sorted(en.api_links - zh.api_links)
        only_zh = sorted(zh.api_links - en.api_links)
        problems.append(f"API links differ: only in en {only_en}, only in zh {only_zh}")
    return problems


@dataclass
class PairReport:
    stem: str
    problems: list[str]


def check(docs: Path = DOCS) -> list[PairReport]:
    """One report per page stem (twins missing, or structural differences)."""
    reports = []
    for stem, by_lang in sorted(pages(docs).items()):
        problems = []
        for lang in by_lang:
            if lang not in LANGS:
                problems.append(
                    f"docs/{stem}.md: every page needs a language suffix (.en.md / .zh.md)"
                )
        for lang in LANGS:
            if lang not in by_lang:
                other = next(iter(sorted(set(by_lang) & set(LANGS))), None)
                twin = f" (twin of docs/{stem}.{other}.md)" if other else ""
                problems.append(f"docs/{stem}.{lang}.md is missing{twin}")
        if all(lang in by_lang for lang in LANGS):
            en = structure(by_lang["en"].read_text(encoding="utf-8"))
            zh = structure(by_lang["zh"].read_text(encoding="utf-8"))
            problems.extend(compare(en, zh))
        reports.append(PairReport(stem, problems))
    return reports


def format_report(reports: Iterable[PairReport]) -> str:
    reports = list(reports)
    bad = [r for r in reports if r.problems]
    lines = []
    for report in bad:
        lines.append(f"docs/{report.stem}.{{en,zh}}.md")
        lines.extend(f"  - {problem}" for problem in report.problems)
    lines.append(
        f"parity: {len(reports)} page pairs checked, "
        + (f"{len(bad)} with differences" if bad else "all twins match")
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# "translation may be behind"

TRAILER = "Translation"  # commit trailer: "Translation: unaffected" keeps a commit out of the dates
BEHIND_TITLE = {"en": "The translation may be behind", "zh": "译文可能滞后"}


def _twin(path: Path, lang: str) -> Path:
    other = "zh" if lang == "en" else "en"
    return path.with_name(re.sub(rf"\.{lang}\.md$", f".{other}.md", path.name))


@cache
def _history(directory: str) -> tuple[tuple[int, frozenset[str]], ...]:
    """The commits that touched `directory`, oldest first: (commit time, absolute paths changed).

    Commits whose message has the trailer `Translation: unaffected` are left out. Empty outside a
    git work tree (or without git).
    """
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        log = subprocess.run(
            [
                "git",
                "log",
                "--reverse",
                f"--format=@%ct %(trailers:key={TRAILER},valueonly,separator=%x2C)",
                "--name-only",
                "--no-renames",
                "--",
                ".",
            ],
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
            stamp, _, trailer = line[1:].partition(" ")
            commits.append((int(stamp), set(), "unaffected" in trailer.lower()))
        elif line.strip() and commits:
            commits[-1][1].add(str(Path(top, line.strip()).resolve()))
    return tuple((when, frozenset(paths)) for when, paths, skip in commits if not skip)


def last_commit_time(path: Path, docs: Path = DOCS) -> int | None:
    """Unix time of the last commit that touched `path` (None: never committed, or no git)."""
    target = str(Path(path).resolve())
    times = [when for when, paths in _history(str(Path(docs).resolve())) if target in paths]
    return times[-1] if times else None


def lagging_since(path: Path, twin: Path, docs: Path = DOCS) -> tuple[int, int] | None:
    """(time the twin moved ahead, time of the page's last commit) if `path` lags behind `twin`.

    The history of the pair is replayed oldest first: a commit that changes both pages leaves them
    in step; one that changes only the twin puts the page behind (unless the page was ahead, in
    which case the twin just caught up); one that changes only the page catches it up again.
    """
    mine, theirs = str(Path(path).resolve()), str(Path(twin).resolve())
    behind: str | None = None  # which of the two lags: "mine", "theirs" or None
    since = last_mine = 0
    for when, paths in _history(str(Path(docs).resolve())):
        touched_mine, touched_theirs = mine in paths, theirs in paths
        if touched_mine:
            last_mine = when
        if touched_mine and touched_theirs:
            behind = None
        elif touched_theirs:
            if behind == "theirs":
                behind = None
            elif behind is None:
                behind, since = "mine", when
        elif touched_mine:
            if behind == "mine":
                behind = None
            elif behind is None:
                behind = "theirs"
    return (since, last_mine) if behind == "mine" and last_mine else None


def _date(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d")


def behind_note(page_src_path: str | Path, lang: str, docs: Path = DOCS) -> str | None:
    """The admonition for a page whose twin changed after the two were last in step, else None.

    `page_src_path` is docs-relative (`concepts/softmax.zh.md`, MkDocs' `page.file.src_uri`) or
    absolute; the note is written in `lang`, the language of the page.
    """
    if lang not in LANGS:
        return None
    path = Path(page_src_path)
    if not path.is_absolute():
        path = Path(docs) / path
    lag = lagging_since(path, _twin(path, lang), docs)
    if lag is None:
        return None
    theirs, mine = lag
    title = BEHIND_TITLE[lang]
    fmt = "%Y-%m-%d %H:%M UTC" if _date(theirs) == _date(mine) else "%Y-%m-%d"  # same day: time
    new, old = (dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime(fmt) for t in (theirs, mine))
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
    return f'!!! warning qkv-behind "{title}"\n\n    {body}\n'


def with_behind_note(markdown: str, page_src_path: str | Path, lang: str, docs: Path = DOCS) -> str:
    """`markdown` with the behind note (if any) placed after the page's first `# ` title."""
    note = behind_note(page_src_path, lang, docs)
    if note is None:
        return markdown
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if re.match(r"#\s", line):
            return "\n".join([*lines[: index + 1], "", note, *lines[index + 1 :]])
    return note + "\n" + markdown


# --------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qkvdocs.parity", description="Check that English and Chinese twins match."
    )
    parser.add_argument(
        "--docs", type=Path, default=DOCS, help="the docs directory (default: %(default)s)"
    )
    parser.add_argument(
        "--behind", action="store_true", help="also list pages whose twin is newer in git"
    )
    args = parser.parse_args(argv)
    reports = check(args.docs)
    print(format_report(reports))
    if args.behind:
        for stem, by_lang in sorted(pages(args.docs).items()):
            for lang, path in sorted(by_lang.items()):
                if lang in LANGS and behind_note(path, lang, args.docs):
                    print(f"behind: docs/{stem}.{lang}.md (its twin was committed later)")
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
