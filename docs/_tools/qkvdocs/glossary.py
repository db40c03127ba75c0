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

DATA = Path(__file__).resolve().parents[2] / "_data" / "glossary.yml"
DOCS = DATA.parents[1]
FIELDS = ("en", "zh", "page", "def_en", "def_zh")

# Compound words jieba should keep whole, beyond the glossary's own terms.
EXTRA_WORDS = (
    "自注意力",
    "多头注意力",
    "缩放",
    "位置编码",
    "掩码",
    "层归一化",
    "批归一化",
    "注意力权重",
    "注意力分数",
    "交叉注意力",
    "缩放点积注意力",
    "因果掩码",
    "填充掩码",
    "局部注意力",
    "硬注意力",
    "软注意力",
    "教师强制",
    "前馈网络",
    "残差连接",
    "词元",
    "点积",
)


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

    def link(self) -> str:
        """Link to the concept (`concepts/x.md#anchor`) from a page at the docs root."""
        return self.page + (f"#{self.anchor}" if self.anchor else "")


class GlossaryError(ValueError):
    pass


@cache
def load(path: Path = DATA) -> tuple[Entry, ...]:
    """Every glossary entry, validated (required fields, existing pages, no duplicate terms)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise GlossaryError(f"{path}: expected a list of entries")
    entries = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw, start=1):
        where = (
            f"{path.name} entry {index} ({item.get('en', '?') if isinstance(item, dict) else '?'})"
        )
        if not isinstance(item, dict):
            raise GlossaryError(f"{where}: not a mapping")
        missing = [f for f in FIELDS if not str(item.get(f) or "").strip()]
        if missing:
            raise GlossaryError(f"{where}: missing {', '.join(missing)}")
        page = str(item["page"])
        if page.endswith((".en.md", ".zh.md")) or not page.endswith(".md"):
            raise GlossaryError(
                f"{where}: page must be docs-relative without language, e.g. concepts/x.md"
            )
        stem = page[: -len(".md")]
        for lang in ("en", "zh"):
            if not (DOCS / f"{stem}.{lang}.md").is_file():
                raise GlossaryError(f"{where}: page docs/{stem}.{lang}.md does not exist")
        for key in ("en", "zh"):
            term = str(item[key]).strip()
            if term.lower() in seen and key == "en":
                raise GlossaryError(
                    f"{where}: term {term!r} already defined by entry {seen[term.lower()]}"
                )
            if key == "en":
                seen[term.lower()] = index
        variants = item.get("variants_zh") or []
        if not isinstance(variants, list):
            raise GlossaryError(f"{where}: variants_zh must be a list")
        entries.append(
            Entry(
                en=str(item["en"]).strip(),
                zh=str(item["zh"]).strip(),
                page=page,
                anchor=str(item.get("anchor") or "").strip(),
                def_en=str(item["def_en"]).strip(),
                def_zh=str(item["def_zh"]).strip(),
                variants_zh=tuple(str(v).strip() for v in variants),
            )
        )
    return tuple(entries)


HAN = re.compile(r"[\u3400-\u9fff]")


def jieba_words() -> list[str]:
    """Words jieba must keep whole: glossary terms and variants with Han characters, compounds."""
    words: dict[str, None] = {}
    for entry in load():
        for word in (entry.zh, *entry.variants_zh):
            for part in re.split(r"[\s/、，,（）()]+", word):
                if HAN.search(part) and len(part) > 1:
                    words[part] = None
    for word in EXTRA_WORDS:
        words[word] = None
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
    entries = sorted(load(), key=lambda e: e.en.lower())
    if lang == "zh":
        head = "| 中文 | English | 释义 |\n|---|---|---|"
        rows = [
            f"| [{_cell(e.zh)}]({e.link()}) | {_cell(e.en)} | {_cell(e.def_zh)} |" for e in entries
        ]
    else:
        head = "| English | 中文 | Meaning |\n|---|---|---|"
        rows = [
            f"| [{_cell(e.en)}]({e.link()}) | {_cell(e.zh)} | {_cell(e.def_en)} |" for e in entries
        ]
    return "\n".join([head, *rows])


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
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
TOKEN = re.compile(r"(<!--.*?-->|<[^>]+>)", re.S)
TAG = re.compile(r"<\s*(/)?\s*([a-zA-Z][a-zA-Z0-9-]*)")


@cache
def _patterns(lang: str) -> tuple[tuple[Entry, re.Pattern[str]], ...]:
    found = []
    for entry in sorted(load(), key=lambda e: -len(e.term(lang))):
        term = entry.term(lang)
        if lang == "zh" and not HAN.search(term):
            continue  # an English word as the Chinese term (softmax): hover on English pages only
        if HAN.search(term) and len(term) == 1:
            # One character (键, 值) also occurs inside other words (关键, 数值): take it only
            # where a page introduces it with its English term, "键 (key)".
            pattern = re.compile(re.escape(term) + r"(?=\s*[(（])")
        elif HAN.search(term):
            pattern = re.compile(re.escape(term))
        else:
            pattern = re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])", re.I)
        found.append((entry, pattern))
    return tuple(found)


@cache
def _any_term(lang: str) -> re.Pattern[str]:
    """One pattern that matches wherever any term of `lang` does: most text between two tags has
    no term, and one search rules it out instead of one search per term."""
    alternatives = [
        f"(?i:{p.pattern})" if p.flags & re.I else f"(?:{p.pattern})" for _, p in _patterns(lang)
    ]
    return re.compile("|".join(alternatives))


def add_hover(page_html: str, lang: str) -> str:
    """Wrap the first occurrence of each glossary term in prose with `<abbr title=definition>`.

    Text inside links, code, headings, math, figures and existing abbreviations is left alone.
    """
    pending = list(_patterns(lang))
    if not pending:
        return page_html
    parts = TOKEN.split(page_html)
    stash: list[str] = []
    stack: list[tuple[str, bool]] = []  # (tag, skip)
    for i, part in enumerate(parts):
        if not part:
            continue
        if i % 2 == 1:  # a tag or a comment
            if part.startswith("<!--"):
                continue
            match = TAG.match(part)
            if not match:
                continue
            closing, name = match.group(1), match.group(2).lower()
            if closing:
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth][0] == name:
                        del stack[depth:]
                        break
            elif name not in VOID and not part.rstrip().endswith("/>"):
                skip = name in SKIP_TAGS or bool(SKIP_CLASSES.search(part))
                stack.append((name, skip))
            continue
        if any(skip for _, skip in stack) or not stack or not _any_term(lang).search(part):
            continue
        text = part
        for entry, pattern in list(pending):
            match = pattern.search(text)
            if not match:
                continue
            title = html_lib.escape(entry.definition(lang), quote=True)
            wrapped = f'<abbr class="qkv-term" title="{title}">{match.group(0)}</abbr>'
            # keep later terms from matching inside the new tag: split around it
            text = text[: match.start()] + "\x00" + str(len(stash)) + "\x00" + text[match.end() :]
            stash.append(wrapped)
            pending.remove((entry, pattern))
        parts[i] = re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], text)
        if not pending:
            break
    return "".join(parts)
