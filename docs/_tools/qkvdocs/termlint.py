"""Terminology lint: the glossary's Chinese terms, ASCII shapes, and English spelling.

- `variant_findings()`: a Chinese page uses a known non-preferred variant of a glossary term
  (`variants_zh` in docs/_data/glossary.yml), outside code. A page that must quote a variant (say,
  to cite the notes' wording) allows it with an HTML comment anywhere on the page:
  `<!-- termlint: allow 自注意力机制 -->`.
- `english_findings()`: a Chinese page writes a glossary term in English (`token`, `queries`)
  in its prose, where the Chinese term belongs; code, math, links, HTML and a parenthesis that
  gives the English term (`词元 (token)`) are not prose. Acronyms (`RNN`) and terms whose Chinese
  form is the English one (`softmax`) are left alone; `<!-- termlint: allow token -->` allows one.
- `style_findings()`: one typographic habit per thing on Chinese pages: quotation marks “ ”
  (never 「 」 or ASCII quotes around Chinese), parentheses that hold Chinese are full-width
  （ ）and those that hold only an English word are ASCII ( ), a citation reads `Vaswani 等人`
  (not `等`), and no English words in `\text{}` inside a formula.
- `shape_findings()`: a shape tuple written with full-width punctuation, such as
  `（batch，seq_q）` or `(batch，seq_q)`, on any page (shapes are code: `(batch, seq_q)` in
  both languages).
- `spelling_findings()`: codespell over the English pages, the code, and the contributor files,
  with the project's word list `.codespell-ignore` (one lower-case word per line).

`python -m qkvdocs.termlint` (from the repository root, `PYTHONPATH=docs/_tools`) prints every
finding and exits with status 1 when there is one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import HTML_COMMENT, INLINE_CODE, blocks, glossary

DOCS = Path(__file__).resolve().parents[2]
ROOT = DOCS.parent
# what codespell reads besides the English pages: every kind of source a contributor edits
SPELL_TARGETS = """reference tests benchmarks docs/_tools docs/_data docs/javascripts
docs/stylesheets .github .ci README.md CONTRIBUTING.md Makefile mkdocs.yml pyproject.toml
conftest.py .pre-commit-config.yaml""".split()
SPELL_SKIP = "*.zh.md,*.svg,*.json,*.pyc,__pycache__,*.png,*.lock"

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
    """codespell's findings (one line each) over the English pages and the code."""
    targets = [str(p) for p in _pages(root / "docs", ".en.md")]
    targets += [str(root / t) for t in SPELL_TARGETS if (root / t).exists()]
    args = [sys.executable, "-m", "codespell_lib", "--skip", SPELL_SKIP, "--check-filenames"]
    args += ["--quiet-level", "2"]
    if (root / ".codespell-ignore").is_file():
        args += ["--ignore-words", str(root / ".codespell-ignore")]
    result = subprocess.run([*args, *targets], capture_output=True, text=True, cwd=root)
    if result.returncode not in (0, 65):  # 65: misspellings found
        raise RuntimeError(f"codespell failed ({result.returncode}): {result.stderr.strip()}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [line.replace(str(root) + "/", "") for line in lines]


def main() -> int:
    findings = [*variant_findings(), *english_findings(), *style_findings(), *shape_findings()]
    lines = [*map(str, findings), *spelling_findings()]
    print("\n".join([*lines, f"termlint: {len(lines)} finding(s)"]))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
