"""MkDocs hooks of the qkv site (mkdocs.yml: `hooks: [docs/_tools/hooks.py]`).

- on_config: give mkdocstrings the language being built (so 参数/返回/示例 on Chinese pages),
  write the jieba user dictionary from the glossary and hand its absolute path to the search plugin.
- on_page_markdown: expand the page directives (`[[code: ...]]`, `[[figure: ...]]`,
  `[[check: ...]]`, `[[claims-table]]`, `[[glossary]]`, `[[api: ...]]`; see qkvdocs.directives).
  A failure stops the build with a message that names the page, the line and the directive.
  On Chinese pages it then joins the lines of a paragraph that break between two Chinese
  characters (a browser shows such a line break as a space), outside code fences and `$$` blocks.
- on_page_content: put the figures (caption, alt text) in, add hover definitions of glossary terms,
  hold the folded full sources out of the page.
- on_post_page: put the drawings into the figures and the folded full sources back under the
  math (both after search indexing, so the index holds captions and the math shown but never
  parses SVG paths or the long folded copies); on Chinese pages point Material's search at the
  Chinese index; drop the `<link rel="alternate" hreflang>` tags (Material fetches `sitemap.xml`
  next to each of them, two 404s per page; the language switch itself links to the twin page,
  and the sitemap keeps the hreflang alternates).
- on_post_build: copy KaTeX from node_modules into the site; split the search index per language.

The language of a page is taken from its file name (`page.zh.md`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path

import jinja2
import pymdownx.highlight
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parents[1]
for path in (TOOLS, ROOT / "reference"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SERVING = any(arg == "serve" for arg in sys.argv[1:3])
if SERVING:
    # `mkdocs serve` re-executes this file on every rebuild: when a source or data file changed,
    # drop the build-time modules and the reference package, so edits to figures and code show up.
    _data = [ROOT / "docs" / "_data", ROOT / "benchmarks" / "results"]
    _sources = [*(ROOT / "reference").rglob("*.py"), *TOOLS.rglob("*.py")]
    _sources += [path for folder in _data for path in folder.rglob("*") if path.is_file()]
    _stamp = sorted((str(path), path.stat().st_mtime_ns) for path in _sources)
    if getattr(sys.modules.get("qkvdocs"), "stamp", None) != _stamp:
        for name in [n for n in sys.modules if n.split(".")[0] in ("qkvdocs", "qkv")]:
            del sys.modules[name]

from qkvdocs import behind, blocks, directives, drawings, glossary, search  # noqa: E402

if SERVING:
    sys.modules["qkvdocs"].stamp = _stamp

log = logging.getLogger("mkdocs.hooks.qkv")

KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
NO_HOVER = ("glossary.", "api/")
ALTERNATE_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')
SWITCH_LINK = re.compile(r'<a href="/([^"]*)"(?= hreflang="[^"]*" class="md-select__link")')

# Chinese characters and full-width punctuation (CJK symbols, ideographs, full-width forms, “”‘’)
CJK = "\u2018-\u201d\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# a Chinese character at the end of a line (perhaps closing emphasis or a link) and at the start
# of the next (perhaps opening emphasis or a link)
ENDS_CJK = re.compile(rf"[{CJK}](?:\*{{1,2}}|_{{1,2}}|\]\([^)\s]*\))?$")
STARTS_CJK = re.compile(rf"[ \t]*(?:\*{{1,2}}|_{{1,2}}|\[)?[{CJK}]")
NOT_PARAGRAPH = re.compile(r"[ \t]*(#|\||<|\[\[|!!!|\?\?\?)")  # heading, table, HTML, directive

_pool: list = []  # the figure workers of this build (at most one pool)
_slots: dict[str, list[str]] = {}
_media: dict[str, list[str]] = {}
_held: dict[str, list[str]] = {}  # folded full sources, out of the page while search indexes it


def _search_plugin(config):
    plugin = config.plugins.get("material/search")
    return plugin if plugin is not None and plugin.config.enabled else None


@event_priority(100)  # before mkdocstrings and search read their settings
def on_config(config):
    i18n = config.plugins["i18n"]  # its own on_config, later, sets the language at first
    config.theme["language"] = i18n.current_language or i18n.default_language
    try:
        glossary.load()
    except glossary.GlossaryError as exc:
        raise PluginError(f"docs/_data/glossary.yml: {exc}") from exc
    if (plugin := _search_plugin(config)) is not None:  # its jieba_dict_user: from mkdocs.yml
        target = Path(config.config_file_path).resolve().parent / plugin.config.jieba_dict_user
        plugin.config.jieba_dict_user = str(glossary.write_jieba_dict(target))
    if not _pool and not SERVING and os.environ.get("QKV_FIGURE_WORKERS") != "0":
        # start drawing every figure of both languages now (a forked worker per CPU, up to 4)
        _pool.append(drawings.start_prerender(Path(config.docs_dir)))
    return config


def on_env(env, config, files):
    # compiled theme templates kept on disk: a rebuild (both languages, every `serve` reload)
    # would otherwise compile Material's templates again, seconds of every reload
    cache = ROOT / ".cache" / "jinja"
    cache.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(cache))
    return env


def _highlight_once(original):
    """Pygments colours every code block, and the twins of a page show the same code: colour each
    distinct block once per process (keyed by the code, the lexer and the formatter with their
    options, which is everything the result depends on)."""
    done: dict[tuple, str] = {}

    def highlight(code, lexer, formatter, outfile=None):
        if outfile is not None:
            return original(code, lexer, formatter, outfile)
        key = (code, type(lexer), repr(sorted(lexer.options.items())), type(formatter))
        key += (repr(sorted(formatter.options.items())),)
        if key not in done:
            done[key] = original(code, lexer, formatter)
        return done[key]

    highlight.qkv_original = original
    return highlight


if not hasattr(pymdownx.highlight.highlight, "qkv_original"):  # once, though `serve` reloads us
    pymdownx.highlight.highlight = _highlight_once(pymdownx.highlight.highlight)


def join_chinese_lines(markdown: str) -> str:
    """Join each line break between two Chinese characters inside a paragraph, outside code
    fences and display math."""
    out: list[str] = []
    joinable = False
    for _, line, kind in blocks(markdown):
        if kind == "text" and joinable and STARTS_CJK.match(line) and ENDS_CJK.search(out[-1]):
            out[-1] += line.lstrip(" \t")
            continue
        out.append(line)
        joinable = kind == "text" and bool(line.strip()) and not NOT_PARAGRAPH.match(line)
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    lang = directives.page_language(src)
    # A twin changed in a later commit than this page: say so on this page, in its language.
    markdown = behind.with_behind_note(markdown, src, lang)
    try:
        expansion = directives.expand(markdown, lang, page=f"docs/{src}")
    except directives.DirectiveError as exc:
        raise PluginError(f"page directive failed: {exc}") from exc
    _slots[src] = expansion.slots
    _media[src] = expansion.media
    return join_chinese_lines(expansion.markdown) if lang == "zh" else expansion.markdown


def on_page_content(html, page, config, files):
    src = page.file.src_uri
    html = drawings.fill_slots(html, _slots.pop(src, []))
    if not src.startswith(NO_HOVER):
        html = glossary.add_hover(html, directives.page_language(src))
    html, _held[src] = directives.hold_full_source(html)
    return html


def _relative_switch_links(output: str, page_url: str) -> str:
    """static-i18n gives the home pages' language switch root-absolute links (`/zh/`), which break
    when the site is served under a sub-path (GitHub Pages): make them relative to the page."""
    prefix = "../" * len([part for part in page_url.split("/") if part]) or "./"
    return SWITCH_LINK.sub(lambda m: f'<a href="{prefix}{m[1]}"', output)


def on_post_page(output, page, config):
    lang = directives.page_language(page.file.src_uri)
    output = drawings.fill_media(output, _media.pop(page.file.src_uri, []))
    output = directives.put_back_full_source(output, _held.pop(page.file.src_uri, []))
    output = ALTERNATE_LINK.sub("", output)
    output = _relative_switch_links(output, page.url)
    try:
        return search.point_search_at_language(output, lang)
    except ValueError as exc:
        raise PluginError(f"docs/{page.file.src_uri}: {exc}") from exc


def _stop_workers() -> None:
    while _pool:
        drawings.stop_prerender(_pool.pop())


def on_build_error(error):
    _stop_workers()


def _copy_katex(site_dir: Path) -> None:
    if not (KATEX_DIST / "katex.min.js").is_file():
        raise PluginError(
            f"KaTeX is not installed ({KATEX_DIST} is missing): run `npm ci` (or `make setup`)"
        )
    target = site_dir / "assets" / "katex"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copy2(KATEX_DIST / name, target / name)
    shutil.copytree(KATEX_DIST / "fonts", target / "fonts", dirs_exist_ok=True)


# priority -200: after mkdocs-static-i18n (-100) has built every language and merged the index
@event_priority(-200)
def on_post_build(config):
    if config.plugins["i18n"].building:
        return  # an inner (per-language) build: the outer one finishes the job
    _stop_workers()
    site_dir = Path(config.site_dir)
    _copy_katex(site_dir)
    if (plugin := _search_plugin(config)) is not None:
        if getattr(plugin, "search_index_prev", None) is not None:  # `serve --dirty` keeps it
            plugin.search_index_prev.entries = search.unique(plugin.search_index_prev.entries)
        counts = search.split_index(site_dir)
        log.info("qkv: search index split per language: %s", counts)
