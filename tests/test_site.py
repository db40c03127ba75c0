"""The site: a strict build of both languages, and what the build must guarantee.

One `mkdocs build --strict` per session (fixture `site`) into a temporary directory; the tests read
the built files. The machinery tested here lives in docs/_tools (hooks.py, qkvdocs/).
"""

from __future__ import annotations

import builtins
import dis
import html
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import time
import types
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from qkvdocs import directives, glossary
from sitebuild import DOCS, EN_QUERIES, LANGS, ROOT, ZH_QUERIES, build_once

HAN = re.compile(r"[\u3400-\u9fff]")


# --------------------------------------------------------------------------------------------
# the build


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """The session's strict build, shared with the other modules (tests/sitebuild.py)."""
    site_dir, log, seconds = build_once(tmp_path_factory)
    print(f"\nsite built in {seconds:.1f} s")
    return site_dir, log, seconds


@pytest.fixture(scope="session")
def site(build) -> Path:
    return build[0]


def _source_pages() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).parts[0].startswith("_") and "__pycache__" not in p.parts
    )


def _stems() -> list[str]:
    """Docs-relative page names without language: `concepts/softmax`, `index`."""
    return sorted({str(p.relative_to(DOCS)).rsplit(".", 2)[0] for p in _source_pages()})


def _url(stem: str) -> str:
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def _built(site: Path, stem: str, lang: str) -> Path:
    prefix = "" if lang == "en" else f"{lang}/"
    return site / (prefix + _url(stem)) / "index.html"


def _all_built_pages(site: Path) -> list[Path]:
    return [_built(site, stem, lang) for stem in _stems() for lang in LANGS]


class _Elements(HTMLParser):
    """Collects start tags with attributes, heading texts, and text outside code/pre/script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[tuple[str, str, str]] = []  # (tag, id, text)
        self._heading: list | None = None
        self._skip = 0
        self.prose: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = [tag, attributes.get("id", ""), ""]
        if tag in ("code", "pre", "script", "style", "svg", "textarea"):
            self._skip += 1
        if tag == "style":
            self._in_style = True
        if "style" in attributes:
            self.styles.append(attributes["style"])

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._heading is not None:
            self.headings.append(tuple(self._heading))
            self._heading = None
        if tag in ("code", "pre", "script", "style", "svg", "textarea") and self._skip:
            self._skip -= 1
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[2] += data
        if self._in_style:
            self.styles.append(data)
        if not self._skip:
            self.prose.append(data)


def _parse(path: Path) -> _Elements:
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --------------------------------------------------------------------------------------------
# build, twins, language switch


def test_strict_build_has_no_warnings(build):
    _, log, _ = build
    warnings = [
        line for line in log.splitlines() if line.startswith("WARNING") or " WARNING " in line
    ]
    assert not warnings, "\n".join(warnings)


def test_every_page_has_both_twins():
    problems = []
    by_stem: dict[str, set[str]] = {}
    for path in _source_pages():
        name = str(path.relative_to(DOCS))
        match = re.fullmatch(r"(.+)\.(en|zh)\.md", name)
        if not match:
            problems.append(f"docs/{name}: every page needs a language suffix (.en.md / .zh.md)")
            continue
        by_stem.setdefault(match.group(1), set()).add(match.group(2))
    for stem, langs in sorted(by_stem.items()):
        for lang in LANGS:
            if lang not in langs:
                problems.append(
                    f"docs/{stem}.{lang}.md is missing (twin of docs/{stem}.{sorted(langs)[0]}.md)"
                )
    assert not problems, "\n".join(problems)
    assert len(by_stem) >= 20


def test_every_page_is_built_in_both_languages(site):
    missing = [str(p.relative_to(site)) for p in _all_built_pages(site) if not p.is_file()]
    assert not missing, f"pages not built: {missing}"
    for stem in _stems():
        zh = _built(site, stem, "zh").read_text(encoding="utf-8")
        en = _built(site, stem, "en").read_text(encoding="utf-8")
        assert '<html lang="zh"' in zh, f"zh/{_url(stem)} is not marked as Chinese"
        assert '<html lang="en"' in en, f"{_url(stem)} is not marked as English"


def _switch_links(path: Path) -> dict[str, str]:
    return {
        attrs["hreflang"]: attrs["href"]
        for tag, attrs in _parse(path).tags
        if tag == "a" and "md-select__link" in attrs.get("class", "") and "hreflang" in attrs
    }


@pytest.mark.parametrize("lang", LANGS)
def test_language_switch_lands_on_the_twin(site, lang):
    other = "zh" if lang == "en" else "en"
    wrong = []
    for stem in _stems():
        page = _built(site, stem, lang)
        here = "http://site/" + ("" if lang == "en" else "zh/") + _url(stem)
        links = _switch_links(page)
        want = "http://site/" + ("" if other == "en" else "zh/") + _url(stem)
        got = urljoin(here, links.get(other, "<none>"))
        if got != want:
            wrong.append(f"{here}: switch to {other} goes to {got}, expected {want}")
        if urljoin(here, links.get(lang, "<none>")) != here:
            wrong.append(f"{here}: switch to {lang} does not stay on the page")
    assert not wrong, "\n".join(wrong)


def test_chinese_navigation_is_translated(site):
    text = _built(site, "concepts/softmax", "zh").read_text(encoding="utf-8")
    nav = text[text.index('class="md-nav md-nav--primary"') :]
    for title in ("基础", "多头与位置", "掩码与变体", "笔记之外", "术语表"):
        assert title in nav, f"Chinese navigation lacks {title!r}"
    english = _built(site, "concepts/softmax", "en").read_text(encoding="utf-8")
    for title in (
        "Foundations",
        "Multi-head and positions",
        "Masks and variants",
        "Beyond the notes",
    ):
        assert title in english


# --------------------------------------------------------------------------------------------
# zero third-party requests

EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//", re.I)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+(?:url\()?\s*['"]?([^'");\s]+)""", re.I)
REQUEST_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "input": ("src",),
}
KNOWN_THIRD_PARTY = (
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.",
)


def _is_external(url: str) -> bool:
    if url.startswith("data:") or url.startswith("#"):
        return False
    return bool(EXTERNAL.match(url))


def test_no_page_requests_another_host(site):
    offenders = []
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 2 * len(_stems())
    for page in pages:
        parsed = _parse(page)
        for tag, attrs in parsed.tags:
            for attr in REQUEST_ATTRS.get(tag, ()):
                for url in re.split(r",\s*", attrs.get(attr, "")):
                    url = url.strip().split(" ")[0]
                    if url and _is_external(url):
                        offenders.append(f"{page.relative_to(site)}: <{tag} {attr}={url!r}>")
        for style in parsed.styles:
            for match in CSS_URL.finditer(style):
                url = match.group(1) or match.group(2)
                if _is_external(url):
                    offenders.append(f"{page.relative_to(site)}: style url {url!r}")
    for css in site.rglob("*.css"):
        for match in CSS_URL.finditer(css.read_text(encoding="utf-8", errors="replace")):
            url = match.group(1) or match.group(2)
            if _is_external(url):
                offenders.append(f"{css.relative_to(site)}: {url!r}")
    for path in [
        *site.rglob("*.html"),
        *site.rglob("*.css"),
        *(site / "javascripts").rglob("*.js"),
    ]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for host in KNOWN_THIRD_PARTY:
            if host in text:
                offenders.append(f"{path.relative_to(site)} mentions {host}")
    assert not offenders, "\n".join(offenders[:50])


def test_katex_is_served_by_the_site(site):
    katex = site / "assets" / "katex"
    assert (katex / "katex.min.js").is_file() and (katex / "katex.min.css").is_file()
    css = (katex / "katex.min.css").read_text(encoding="utf-8")
    fonts = {m.group(1) for m in CSS_URL.finditer(css) if m.group(1)}
    assert fonts, "katex.min.css references no font"
    missing = [f for f in fonts if not (katex / f).is_file()]
    assert not missing, f"KaTeX fonts missing from the site: {missing[:5]}"
    for page in (_built(site, "index", "en"), _built(site, "concepts/softmax", "zh")):
        sources = [a.get("src", "") for t, a in _parse(page).tags if t == "script"]
        assert any(s.endswith("assets/katex/katex.min.js") for s in sources), page
        assert any(s.endswith("javascripts/math.js") for s in sources), page
    assert not (ROOT / "docs" / "assets" / "katex").exists(), "KaTeX must not be copied into docs/"


# --------------------------------------------------------------------------------------------
# math, anchors, figures, API


def _strip_code(markdown: str) -> str:
    markdown = re.sub(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_math_is_left_for_katex(site):
    checked = 0
    for page in _source_pages():
        stem, lang = str(page.relative_to(DOCS)).rsplit(".", 2)[:2]
        source = _strip_code(page.read_text(encoding="utf-8"))
        display = len(re.findall(r"(?m)^[ \t]*\$\$", source))
        built = _built(site, stem, lang).read_text(encoding="utf-8")
        blocks = built.count('<div class="arithmatex">')
        inline = built.count('<span class="arithmatex">')
        assert blocks >= display // 2 if display > 1 else True, f"{page}: display math lost"
        if re.search(r"(?<![\\$])\$[^$\s][^$\n]*\$", source):
            assert inline or blocks, f"{page}: inline math was not turned into arithmatex spans"
        checked += bool(display or inline)
        prose = " ".join(_parse(_built(site, stem, lang)).prose)
        assert "$$" not in prose, f"{page}: raw $$ left in the built page"
    assert checked > 0, "no page has math: the scan above checked nothing"
    api = _built(site, "api/numpy", "en").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in api, "docstring math is not rendered on the API page"


def test_chinese_headings_have_readable_anchors(site):
    bad = []
    seen = 0
    for stem in _stems():
        for tag, anchor, text in _parse(_built(site, stem, "zh")).headings:
            if tag == "h1" or not HAN.search(text):
                continue
            seen += 1
            if not HAN.search(anchor) or re.fullmatch(r"_\d+", anchor) or anchor != anchor.lower():
                bad.append(f"zh/{_url(stem)}: <{tag}> {text.strip()!r} has id {anchor!r}")
    assert seen > 0, "no Chinese heading found below h1: the scan above checked nothing"
    assert not bad, "\n".join(bad)
    import markdown

    md = markdown.Markdown(extensions=["toc"], extension_configs={"toc": {"slugify": _slugify()}})
    md.convert("## 为什么除以 √d_k\n\n## 多头注意力 Multi-Head")
    ids = [t["id"] for t in md.toc_tokens]
    assert ids == ["为什么除以-d_k", "多头注意力-multi-head"], ids


def _slugify():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def apply(loader, suffix, node):
        module, _, name = suffix.rpartition(".")
        kwargs = loader.construct_mapping(node, deep=True).get("kwds", {})
        return getattr(__import__(module, fromlist=[name]), name)(**kwargs)

    Loader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", apply)
    Loader.add_multi_constructor("!!python/name:", lambda *a: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    toc = next(
        e["toc"] for e in config["markdown_extensions"] if isinstance(e, dict) and "toc" in e
    )
    return toc["slugify"]


def test_figures_have_captions_and_alt_text(site):
    count = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r'<figure class="qkv-figure".*?</figure>', text, flags=re.S):
            block = match.group(0)
            count += 1
            where = f"{page.relative_to(site)}: {block[:80]}"
            assert re.search(r"<figcaption>\s*\S", block), f"no caption: {where}"
            label = re.search(r'aria-label="([^"]+)"', block)
            assert label and label.group(1).strip(), f"no alt text: {where}"
            if "<svg" in block:
                assert re.search(r'<svg[^>]*role="img"[^>]*aria-label="[^"]+"', block), where
    print(f"\n{count} figures on the site")
    assert count > 0, 'no <figure class="qkv-figure"> on the site: the scan above checked nothing'


def test_api_pages_render_every_public_name(site):
    import qkv.numpy
    import qkv.torch

    for package in (qkv.numpy, qkv.torch):
        backend = package.__name__.split(".")[1]
        for lang in LANGS:
            text = _built(site, f"api/{backend}", lang).read_text(encoding="utf-8")
            ids = set(re.findall(r'id="(qkv\.[\w.]+)"', text))
            missing = [
                name
                for name in package.__all__
                if f"{getattr(package, name).__module__}.{name}" not in ids
            ]
            assert not missing, f"{lang} api/{backend}: not rendered: {missing}"
            if package.__all__:
                if lang == "zh":
                    assert "参数" in text and "返回" in text, "Chinese section titles missing"
                    assert "Parameters:" not in text
                else:
                    assert "Parameters:" in text and "Returns:" in text


def test_api_links_resolve_to_the_same_language(site):
    for lang in LANGS:
        text = _built(site, "api/torch", lang).read_text(encoding="utf-8")
        # mkdocs-autorefs writes a title attribute between class and href
        hrefs = re.findall(r'<a class="autorefs[^"]*"[^>]*?\shref="([^"]+)"', text)
        assert hrefs, f"{lang} api/torch: no cross-reference link found"
        for href in hrefs:
            target = urljoin(f"http://site/{'zh/' if lang == 'zh' else ''}api/torch/", href)
            path = urlsplit(target).path
            assert path.startswith("/zh/") == (lang == "zh"), f"{lang} api/torch links to {target}"


# --------------------------------------------------------------------------------------------
# search


def _index(site: Path, lang: str) -> dict:
    path = site / ("" if lang == "en" else f"{lang}/") / "search" / "search_index.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _tokens(text: str, separator: re.Pattern[str]) -> set[str]:
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).lower()
    return {t for t in separator.split(text) if t}


def _segment(term: str, vocabulary: set[str]) -> list[str]:
    """A Chinese term that is no token of the index, split into the longest tokens it holds, left
    to right (Material splits a Chinese query into the index's own words in the same way)."""
    if term in vocabulary or not HAN.search(term):
        return [term]
    parts, start = [], 0
    while start < len(term):
        end = next(
            (e for e in range(len(term), start, -1) if term[start:e] in vocabulary), start + 1
        )
        parts.append(term[start:end])
        start = end
    return parts


def _search(index: dict, query: str) -> list[str]:
    """Pages matching every query term (as Material's lunr index would tokenise them), best first.

    A term matches a token exactly; the last term also matches as a prefix (Material searches
    as you type). Title matches weigh more, as the `fields` boosts say, and each entry's score is
    multiplied by its page's `search: boost:` (front matter).
    """
    separator = re.compile(index["config"]["separator"])
    title_boost = index["config"].get("fields", {}).get("title", {}).get("boost", 1000)
    terms = [t for t in separator.split(query.lower()) if t]
    vocabulary = set()
    for doc in index["docs"]:
        vocabulary |= _tokens(doc["title"], separator) | _tokens(doc["text"], separator)
    terms = [part for term in terms for part in _segment(term, vocabulary)]
    scores: dict[str, float] = {}
    for doc in index["docs"]:
        title = _tokens(doc["title"], separator)
        text = _tokens(doc["text"], separator)
        score = 0.0
        for i, term in enumerate(terms):
            last = i == len(terms) - 1

            def hits(tokens, term=term, last=last):
                return term in tokens or (last and any(t.startswith(term) for t in tokens))

            if hits(title):
                score += title_boost / max(len(title), 1)
            elif hits(text):
                score += 1
            else:
                break
        else:
            page = doc["location"].split("#")[0]
            score *= doc.get("boost", 1)
            scores[page] = max(scores.get(page, 0.0), score)
    return sorted(scores, key=lambda page: -scores[page])


def test_search_indexes_are_split_per_language(site):
    en, zh = _index(site, "en"), _index(site, "zh")
    assert en["docs"] and zh["docs"]
    for doc in en["docs"]:
        assert not doc["location"].startswith("zh/"), doc["location"]
        assert (site / doc["location"].split("#")[0] / "index.html").is_file(), doc["location"]
    for doc in zh["docs"]:
        assert (site / "zh" / doc["location"].split("#")[0] / "index.html").is_file(), doc[
            "location"
        ]
    en_pages = {d["location"].split("#")[0] for d in en["docs"]}
    zh_pages = {d["location"].split("#")[0] for d in zh["docs"]}
    assert en_pages == zh_pages == {_url(s) for s in _stems()}
    assert "\\u200b" in zh["config"]["separator"], "jieba's word breaks must separate search terms"


def test_chinese_pages_search_the_chinese_index(site):
    """Material fetches `<base>/search/search_index.json`; on Chinese pages base must be /zh/."""
    for stem in ("index", "concepts/softmax", "api/numpy"):
        for lang in LANGS:
            here = "http://site/" + ("zh/" if lang == "zh" else "") + _url(stem)
            text = _built(site, stem, lang).read_text(encoding="utf-8")
            config = json.loads(
                re.search(
                    r'<script id="__config" type="application/json">(.*?)</script>', text, re.S
                ).group(1)
            )
            base = urljoin(here, config["base"])
            want = "http://site/zh/" if lang == "zh" else "http://site/"
            assert base.rstrip("/") + "/" == want, f"{here}: search base {base}"


# The rank itself is lunr's (BM25 with field and page boosts), which test_browser.py checks in a
# real browser: the concept page in the top three. Here, without a browser: every term of the
# query is in the concept page's entries of its language's index, so the search can find it.


@pytest.mark.parametrize("query", sorted(ZH_QUERIES))
def test_chinese_query_finds_its_concept_page(site, query):
    results = _search(_index(site, "zh"), query)
    assert ZH_QUERIES[query] in results, f"{query}: found only {results[:8]}"


@pytest.mark.parametrize("query", sorted(EN_QUERIES))
def test_english_query_finds_its_concept_page(site, query):
    results = _search(_index(site, "en"), query)
    assert EN_QUERIES[query] in results, f"{query}: found only {results[:8]}"


def test_concept_pages_outrank_reference_pages(site):
    """Material weighs a heading match 1000 times a text match by default, so an API entry named
    `dot_product_scores` or an FAQ question beat the page that teaches the idea. mkdocs.yml lowers
    the title weight; the API pages, glossary, FAQ and claims table carry a lower page boost
    (front matter `search: boost:`) than the concept pages (1, the default)."""
    for lang in LANGS:
        index = _index(site, lang)
        assert index["config"]["fields"]["title"]["boost"] <= 10, index["config"]["fields"]
        boosts: dict[str, set[float]] = {}
        for doc in index["docs"]:
            boosts.setdefault(doc["location"].split("#")[0], set()).add(doc.get("boost", 1))
        for page, values in boosts.items():
            if page.startswith("concepts/"):
                assert values == {1}, (lang, page, values)
            elif page.startswith("api/"):
                assert max(values) <= 0.1, (lang, page, values)
            elif page in ("glossary/", "faq/", "verified-claims/"):
                assert max(values) < 1, (lang, page, values)


def test_jieba_keeps_glossary_compounds_whole():
    jieba = pytest.importorskip("jieba")

    words = glossary.jieba_words()
    for word in ("自注意力", "多头注意力", "缩放", "位置编码", "掩码", "层归一化"):
        assert word in words
    path = ROOT / ".cache" / "test-jieba-dict.txt"
    glossary.write_jieba_dict(path)
    jieba.load_userdict(str(path))
    assert list(jieba.cut("多头注意力使用层归一化和掩码")) == [
        "多头注意力",
        "使用",
        "层归一化",
        "和",
        "掩码",
    ]


# --------------------------------------------------------------------------------------------
# directives


def test_code_tabs_show_both_backends_with_absolute_imports():
    pytest.importorskip("torch")
    text = directives.code_markdown("softmax")
    assert text.startswith('=== "NumPy"') and '=== "PyTorch"' in text
    assert "from ." not in text
    assert 'title="reference/qkv/numpy/softmax.py"' in text
    assert 'title="reference/qkv/torch/softmax.py"' in text


def _pasted_globals_ok(dotted: str) -> None:
    """Exec the block a reader would paste; every global the original object uses must exist."""
    code = directives.source_block(dotted)
    module = types.ModuleType("__pasted__")  # like a fresh interpreter's __main__
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, f"<pasted {dotted}>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    namespace = module.__dict__
    original = inspect.unwrap(directives._resolve(dotted))
    name = original.__name__
    assert name in namespace, f"{dotted}: the pasted block does not define {name}"
    functions = (
        [original]
        if inspect.isfunction(original)
        else [f for f in vars(original).values() if inspect.isfunction(f)]
    )
    for function in functions:
        for global_name in _globals_read(function.__code__):
            assert global_name in namespace or hasattr(builtins, global_name), (
                f"{dotted}: pasted code lacks {global_name!r}"
            )


def _globals_read(code) -> set[str]:
    """Global names a code object (and the functions nested in it) loads (LOAD_GLOBAL)."""
    names = {
        i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _globals_read(const)
    return names


def _code_directives() -> set[str]:
    found = set()
    for page in _source_pages():
        found.update(directives.directive_args(page.read_text(encoding="utf-8"), "code"))
    return found


def test_every_code_directive_runs_as_pasted():
    pytest.importorskip("torch")
    names = _code_directives() | {"softmax"}
    for name in sorted(names):
        targets = [name] if "." in name else [f"qkv.numpy.{name}", f"qkv.torch.{name}"]
        for dotted in targets:
            _pasted_globals_ok(dotted)


def test_directive_errors_name_the_page_and_line():
    pytest.importorskip("torch")
    with pytest.raises(
        directives.DirectiveError, match=r"docs/x.en.md:3: \[\[nonsense: 1\]\].*unknown directive"
    ):
        directives.expand("# T\n\n[[nonsense: 1]]\n", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match=r"docs/x.en.md:1: .*no_such_function"):
        directives.expand("[[code: no_such_function]]", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match="alone on its line"):
        directives.expand("see [[code: softmax]] here", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match="needs an argument"):
        directives.expand("[[figure]]", "en", page="docs/x.en.md")


def test_directives_in_code_are_left_alone():
    text = "```markdown\n[[code: softmax]]\n[[nonsense]]\n```\n\nWrite `[[figure: NAME]]` alone.\n"
    assert directives.expand(text, "zh", page="p").markdown == text


def test_directives_keep_their_indentation():
    pytest.importorskip("torch")
    text = '!!! note "n"\n\n    [[code: qkv.numpy.softmax]]\n'
    out = directives.expand(text, "en", page="p").markdown
    assert "\n    ```python" in out and "\n    def softmax" in out


def test_page_language_comes_from_the_suffix():
    assert directives.page_language("concepts/softmax.zh.md") == "zh"
    assert directives.page_language("concepts/softmax.en.md") == "en"


# --------------------------------------------------------------------------------------------
# glossary


def test_glossary_entries_are_valid():
    entries = glossary.load()
    assert len(entries) >= 10
    for entry in entries:
        assert HAN.search(entry.def_zh), entry.en
        assert not HAN.search(entry.def_en), entry.en


def test_hover_wraps_the_first_use_in_prose_only():
    html_in = (
        "<h2>自注意力</h2><p>这里的自注意力和<code>自注意力</code>，再说自注意力。</p>"
        '<p><a href="#">掩码</a> 与掩码</p>'
    )
    out = glossary.add_hover(html_in, "zh")
    assert out.count('class="qkv-term"') == 2
    assert "<h2>自注意力</h2>" in out and "<code>自注意力</code>" in out
    assert '<a href="#">掩码</a> 与<abbr class="qkv-term"' in out
    english = glossary.add_hover(
        "<p>The self-attention layer, then self-attention again.</p>", "en"
    )
    assert english.count("<abbr") == 1


def test_one_character_terms_hover_only_where_introduced():
    """值 inside 数值 is not the term value; 值 (value) is."""
    out = glossary.add_hover("<p>原始数值都有，每个值 (value) 都是向量。</p>", "zh")
    assert "原始数值" in out
    assert out.count('class="qkv-term"') == 1
    assert out.index('class="qkv-term"') > out.index("每个")


def test_glossary_table_links_every_entry():
    for lang in LANGS:
        table = glossary.table_markdown(lang)
        assert table.count("\n|") >= len(glossary.load())
        assert "(concepts/what-is-self-attention.md)" in table


# --------------------------------------------------------------------------------------------
# the serve command (the build time is measured by benchmarks/docs_build.py)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_command_serves_both_languages():
    pytest.importorskip("torch", reason="PyTorch is not installed: the served site needs it")
    port = _free_port()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PORT": str(port)}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "serve-only", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        pages = {}
        while time.monotonic() < deadline and len(pages) < 3:
            for path in ("", "zh/", "assets/katex/katex.min.js"):
                if path in pages:
                    continue
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/{path}", timeout=5
                    ) as response:
                        pages[path] = response.read().decode("utf-8", errors="replace")
                except OSError:
                    time.sleep(1)
            assert process.poll() is None, process.stdout.read()
        assert len(pages) == 3, f"serve did not answer in time: got {sorted(pages)}"
        assert '<html lang="en"' in pages[""] and '<html lang="zh"' in pages["zh/"]
    finally:
        os.killpg(process.pid, 15)
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
