"""The glossary (docs/_data/glossary.yml): one data file for the glossary page, hover definitions on
every page, and the Chinese search dictionary.

- `load()` reads and validates the entries.
- `table_markdown(lang)` is the glossary page's table (directive `[[glossary]]`).
- `jieba_words()` / `write_jieba_dict(path)`: the user dictionary the search plugin gives to
  jieba, so that 自注意力 or 层归一化 become one searchable word instead of 自 / 注意力.
- `add_hover(html, lang)`: wraps the first use of each glossary term in a page's prose in
  `<abbr title="definition">` (Material's `content.tooltips` shows it as a tooltip).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from . import LANGS

DATA = Path(__file__).resolve().parents[2] / "_data" / "glossary.yml"
DOCS = DATA.parents[1]
FIELDS = ("en", "zh", "page", "def_en", "def_zh")


@dataclass(frozen=True)
class Entry:
    en: str
    zh: str
    page: str
    anchor: str
    def_en: str
    def_zh: str
    variants_zh: tuple[str, ...]

    def term(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def definition(self, lang: str) -> str:
        return self.def_zh if lang == "zh" else self.def_en


class GlossaryError(ValueError):
    pass


@cache
def load(path: Path = DATA) -> tuple[Entry, ...]:
    """Every glossary entry, validated (required fields, existing pages, no duplicate terms)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise GlossaryError(f"{path}: expected a list of mappings")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw, start=1):
        where = f"{path.name} entry {index} ({item.get('en', '?')})"
        fields = {key: str(item.get(key) or "").strip() for key in (*FIELDS, "anchor")}
        missing = [key for key in FIELDS if not fields[key]]
        if missing:
            raise GlossaryError(f"{where}: missing {', '.join(missing)}")
        stem = fields["page"].removesuffix(".md")
        if stem.endswith((".en", ".zh")) or stem == fields["page"]:
            raise GlossaryError(
                f"{where}: page must be docs-relative without language, e.g. concepts/x.md"
            )
        for lang in LANGS:
            if not (DOCS / f"{stem}.{lang}.md").is_file():
                raise GlossaryError(f"{where}: page docs/{stem}.{lang}.md does not exist")
        if fields["en"].lower() in seen:
            defined = seen[fields["en"].lower()]
            raise GlossaryError(
                f"{where}: term {fields['en']!r} already defined by entry {defined}"
            )
        seen[fields["en"].lower()] = index
        variants = item.get("variants_zh") or []
        if not isinstance(variants, list):
            raise GlossaryError(f"{where}: variants_zh must be a list")
        entries.append(Entry(**fields, variants_zh=tuple(str(v).strip() for v in variants)))
    return tuple(entries)


HAN = re.compile(r"[\u3400-\u9fff]")


def jieba_words() -> list[str]:
    """Words jieba must keep whole: the glossary's Chinese terms and variants."""
    words: dict[str, None] = {}
    for entry in load():
        for word in (entry.zh, *entry.variants_zh):
            for part in re.split(r"[\s/、，,（）()]+", word):
                if HAN.search(part) and len(part) > 1:
                    words[part] = None
    return list(words)


def write_jieba_dict(path: Path) -> Path:
    """Write jieba's user dictionary (one word a line; jieba computes the frequency it needs)."""
    text = "".join(f"{word}\n" for word in jieba_words())
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# the glossary page


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(lang: str) -> str:
    """The glossary table in `lang`: term, the other language's term, definition, linked page."""
    other = "en" if lang == "zh" else "zh"
    head = "| 中文 | English | 释义 |" if lang == "zh" else "| English | 中文 | Meaning |"
    rows = [
        f"| [{_cell(e.term(lang))}]({e.page}{'#' + e.anchor if e.anchor else ''}) "
        f"| {_cell(e.term(other))} | {_cell(e.definition(lang))} |"
        for e in sorted(load(), key=lambda e: e.en.lower())
    ]
    return "\n".join([head, "|---|---|---|", *rows])


# --------------------------------------------------------------------------------------------
# hover definitions

SKIP_TAGS = {
    "a", "abbr", "code", "pre", "kbd", "script", "style", "svg", "figure", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "button", "label", "summary", "textarea", "math",
    "dt", "th",
}  # fmt: skip
SKIP_CLASSES = re.compile(
    r'class="[^"]*\b(arithmatex|doc-signature|highlight|md-annotation|katex|admonition-title|'
    r"tabbed-labels)\b"
)
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
}  # fmt: skip
TOKEN = re.compile(r"(<!--.*?-->|<[^>]+>)", re.S)
TAG = re.compile(r"<\s*(/)?\s*([a-zA-Z][a-zA-Z0-9-]*)")


@cache
def _terms(lang: str) -> tuple[re.Pattern[str], dict[str, Entry]]:
    """One pattern for every term of `lang`, longest first, and the entry of each term (in lower
    case: English terms match in any case)."""
    entries, alternatives = {}, []
    for entry in sorted(load(), key=lambda e: -len(e.term(lang))):
        term = re.escape(entry.term(lang))
        if not HAN.search(term):
            if lang == "zh":
                continue  # an English word as the Chinese term (softmax): English pages only
            term = rf"(?i:(?<![\w-]){term}(?![\w-]))"
        elif len(term) == 1:
            # One character (键, 值) also occurs inside other words (关键, 数值): take it only
            # where a page introduces it with its English term, "键 (key)".
            term += r"(?=\s*[(（])"
        entries[entry.term(lang).lower()] = entry
        alternatives.append(term)
    return re.compile("|".join(alternatives)), entries


def add_hover(page_html: str, lang: str) -> str:
    """Wrap the first occurrence of each glossary term in prose with `<abbr title=definition>`.

    Text inside links, code, headings, math, figures and existing abbreviations is left alone, and
    so is a term inside a longer one (掩码 in 因果掩码).
    """
    pattern, entries = _terms(lang)
    if not entries:
        return page_html
    done: set[str] = set()
    parts = TOKEN.split(page_html)
    stack: list[tuple[str, bool]] = []  # (open tag, whether its text is skipped)
    for i, part in enumerate(parts):
        tag = TAG.match(part) if i % 2 else None  # odd parts are tags and comments
        name = tag[2].lower() if tag else ""
        if tag and tag[1]:  # a closing tag closes what it left open too
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    del stack[depth:]
                    break
        elif tag and name not in VOID and not part.rstrip().endswith("/>"):
            skip = bool(stack and stack[-1][1]) or name in SKIP_TAGS
            stack.append((name, skip or bool(SKIP_CLASSES.search(part))))
        if i % 2 or not stack or stack[-1][1]:
            continue
        pieces, end = [], 0
        for match in pattern.finditer(part):
            if match[0].lower() in done:
                continue
            done.add(match[0].lower())
            title = html_lib.escape(entries[match[0].lower()].definition(lang), quote=True)
            pieces += [part[end : match.start()], f'<abbr class="qkv-term" title="{title}">']
            pieces += [match[0], "</abbr>"]
            end = match.end()
        parts[i] = "".join(pieces) + part[end:]
        if len(done) == len(entries):
            break
    return "".join(parts)
