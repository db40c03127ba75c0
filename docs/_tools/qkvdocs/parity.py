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
from functools import cache
from pathlib import Path

from . import FENCE, HTML_COMMENT, INLINE_CODE, LANGS, blocks

DOCS = Path(__file__).resolve().parents[2]

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
# "translation may be behind"

BEHIND_TITLE = {"en": "The translation may be behind", "zh": "译文可能滞后"}


@cache
def _history(directory: str) -> tuple[tuple[int, frozenset[str]], ...]:
    """The commits that touched `directory`, oldest first: (commit time, absolute paths changed).

    Commits whose message has the trailer `Translation: unaffected` are left out. Empty outside a
    git work tree (or without git).
    """
    trailer = "%(trailers:key=Translation,valueonly,separator=%x2C)"
    command = ["git", "log", "--reverse", f"--format=@%ct {trailer}", "--name-only"]
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
            stamp, _, trailers = line[1:].partition(" ")
            commits.append((int(stamp), set(), "unaffected" in trailers.lower()))
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


# --------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qkvdocs.parity", description="Check that English and Chinese twins match."
    )
    parser.add_argument(
        "--docs", type=Path, default=DOCS, help="the docs directory (default: %(default)s)"
    )
    reports = check(parser.parse_args(argv).docs)
    print(format_report(reports))
    return 1 if any(reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
