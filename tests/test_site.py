"""The site: a strict build of both languages, and what the build must guarantee.

One `mkdocs build --strict` per session (fixture `site`) into a temporary directory; the tests read
the built files. The machinery tested here lives in docs/_tools (hooks.py, qkvdocs/).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sitebuild import DOCS, LANGS, ROOT, build_once

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
