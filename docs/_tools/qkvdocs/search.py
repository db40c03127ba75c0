"""One search index per language.

mkdocs-static-i18n builds both languages in one process, and the search plugin writes one shared
index (`search/search_index.json`) with English and Chinese pages mixed: a reader on a Chinese page
would get English results first for any query that matches both (a known limitation of the plugin).

The fix, after the whole build:
- `split_index(site_dir)` keeps the English entries in `search/search_index.json` and writes the
  Chinese ones to `zh/search/search_index.json`, with locations relative to `zh/`;
- `point_search_at_language(html, lang)` changes the `base` of Material's `__config` on Chinese
  pages from the site root to `zh/`. Material fetches the index from
  `<base>/search/search_index.json` and resolves result links against the same base, so a Chinese
  page searches the Chinese pages only,
  and an English page the English ones. Nothing else in the page uses `base` with the features we
  enable (no instant navigation, no version selector); preferences are scoped separately
  (`__md_scope`), so the palette and the linked-tab choice stay shared between the languages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LANG = "zh"  # the other language, built under `zh/`
CONFIG_BASE = re.compile(
    r'(<script id="__config" type="application/json">.*?"base":\s*")([^"]*)(")', re.S
)


def unique(entries: list[dict]) -> list[dict]:
    """One entry per location, the last one (a dirty rebuild appends a page's new entries)."""
    return list({entry["location"]: entry for entry in entries}.values())


def split_index(site_dir: str | Path) -> dict[str, int]:
    """Split the shared index into one per language; returns the number of entries in each."""
    shared = Path(site_dir) / "search" / "search_index.json"
    data = json.loads(shared.read_text(encoding="utf-8"))
    per_lang: dict[str, list[dict]] = {"en": [], LANG: []}
    for doc in unique(data["docs"]):
        if doc["location"].startswith(f"{LANG}/"):
            per_lang[LANG].append({**doc, "location": doc["location"][len(LANG) + 1 :]})
        else:
            per_lang["en"].append(doc)
    for lang, docs in per_lang.items():
        target = shared if lang == "en" else Path(site_dir, lang, "search", "search_index.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {"config": data["config"], "docs": docs}
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        target.write_text(text, encoding="utf-8")
    return {lang: len(docs) for lang, docs in per_lang.items()}


def point_search_at_language(page_html: str, lang: str) -> str:
    """On a page of the other language, make Material's `base` the language root."""
    if lang != LANG:
        return page_html

    def rebase(match: re.Match[str]) -> str:
        base = match[2].rstrip("/") or "."
        return f"{match[1]}{LANG if base == '.' else base + '/' + LANG}/{match[3]}"

    result, count = CONFIG_BASE.subn(rebase, page_html, count=1)
    if count != 1:
        raise ValueError(
            "Material's __config script was not found; cannot point search at the language"
        )
    return result
