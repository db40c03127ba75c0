"""The built site in a real browser (Python playwright driving Debian's chromium).

The site is built once per session (tests/sitebuild.py) and served by a local `http.server`
thread on 127.0.0.1; one browser (fresh user-data directory) visits it. Checks:

- every page in both languages: no console error, no uncaught exception, no failed request, no
  request to any other host, and every formula of the page rendered by KaTeX (rendered formulas
  counted against the arithmatex formulas of the built page's HTML);
- the language switch lands on the twin page;
- linked NumPy/PyTorch tabs switch together, and the choice survives a reload and a new page;
- the copy button copies code that runs when pasted into Python;
- the site's search: the Chinese and English queries of the site issue find their concept pages, and
  a reader on a Chinese page gets Chinese pages first;
- the home page and a concept page at a phone-sized viewport: the navigation drawer opens and a link
  in it works, and nothing overflows the screen sideways.

Screenshots (three pages, both languages, desktop and phone) go to artifacts/screenshots/.

Without chromium (or playwright) the tests are skipped locally, but fail when the environment
variable CI is set: in CI a skip is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from sitebuild import EN_QUERIES, LANGS, ROOT, ZH_QUERIES, build_once, built_page, stems, url_of

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("QKV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

SCREENSHOT_PAGES = ("index", "concepts/softmax", "concepts/multi-head")
ARITHMATEX = re.compile(r'<(?:span|div) class="arithmatex"')


@pytest.fixture(scope="session")
def built_site(sync_playwright, tmp_path_factory) -> Path:
    """The site, built once per session (shared with the other modules through sitebuild); only
    once the browser is known to be there, so that a missing chromium skips (or fails) at once."""
    return build_once(tmp_path_factory)[0]


def _ignored_response(url: str, status: int) -> bool:
    """The only failed responses allowed: Material's `sitemap.xml` probes next to language
    alternates (TOOLCHAIN.md, pitfall 13), a same-origin 404."""
    return status == 404 and urlsplit(url).path.endswith("/sitemap.xml")


# --------------------------------------------------------------------------------------------
# server, browser, and what a page did


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sync_playwright():
    """Playwright's entry point, once chromium is known to be there (checked before the build)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def base_url(sync_playwright, built_site):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(built_site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def context(sync_playwright, base_url, tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            locale="en-US",
        )
        context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/")
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@dataclass
class Recorder:
    """Everything a page did that a test may object to, since the last `reset`."""

    origin: str
    problems: list[str] = field(default_factory=list)
    pending: set = field(default_factory=set)
    abandoned: set = field(default_factory=set)
    aborted: dict[str, str] = field(default_factory=dict)  # url -> the page that was being left
    loaded: set[str] = field(default_factory=set)
    requests: int = 0
    page_url: str = ""

    def attach(self, page) -> None:
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))

    def reset(self, url: str = "") -> None:
        """Forget the page being left; requests it still had running may be aborted by leaving."""
        self.abandoned |= self.pending
        self.pending = set()
        self.problems = []
        self.page_url = url

    def unexplained_aborts(self) -> list[str]:
        """Aborted requests (`net::ERR_ABORTED`: the page was left while the search worker was still
        loading) are harmless only if the same URL loaded successfully at some point."""
        return [
            f"{page}: request aborted and never loaded successfully: {url}"
            for url, page in sorted(self.aborted.items())
            if url not in self.loaded
        ]

    def _finished(self, request) -> None:
        self.pending.discard(request)
        response = request.response()
        if response is not None and response.status < 400:
            self.loaded.add(request.url)

    def _request(self, request) -> None:
        self.requests += 1
        self.pending.add(request)
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if not url.startswith(self.origin):
            self.problems.append(f"request to another host: {url}")

    def _failed(self, request) -> None:
        self.pending.discard(request)
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:
            # still loading when the test navigated away (the search worker loads lunr and the
            # index after the page): harmless if the URL loads elsewhere, see unexplained_aborts
            self.aborted.setdefault(request.url, self.page_url)
            return
        self.problems.append(f"failed request: {request.url} ({failure})")

    def _response(self, response) -> None:
        if response.status >= 400 and not _ignored_response(response.url, response.status):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if "Failed to load resource" in message.text and _ignored_response(where, 404):
            return
        self.problems.append(f"console error: {message.text} ({where})")

    def settle(self, page, timeout_ms: int = 1500) -> None:
        """Wait (briefly) until the page has no request left running."""
        waited = 0
        while self.pending and waited < timeout_ms:
            page.wait_for_timeout(50)
            waited += 50


@pytest.fixture(scope="module")
def browse(context, base_url):
    """(page, recorder) for the desktop tests; one tab reused by every test of the module."""
    page = context.pages[0] if context.pages else context.new_page()
    recorder = Recorder(base_url)
    recorder.attach(page)
    return page, recorder


def _visit(page, recorder: Recorder, url: str) -> None:
    recorder.reset(url)
    # DOMContentLoaded: math.js has run by then (it renders on that event); `settle` then waits
    # for every request still running (images, fonts, the search index)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(
        "() => document.querySelectorAll('.arithmatex:not([data-qkv-math])').length === 0"
    )
    recorder.settle(page)


MATH_STATE = """() => {
  const nodes = [...document.querySelectorAll('.arithmatex')];
  return {
    formulas: nodes.length,
    rendered: nodes.filter(n => n.querySelector('.katex') && !n.querySelector('.katex-error'))
      .length,
    errors: document.querySelectorAll('.katex-error').length,
    lang: document.documentElement.lang,
  };
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_loads_cleanly_with_math_rendered(browse, base_url, built_site, lang):
    page, recorder = browse
    problems = []
    visited = formulas = 0
    for stem in stems():
        _visit(page, recorder, base_url + url_of(stem, lang))
        state = page.evaluate(MATH_STATE)
        in_source = len(
            ARITHMATEX.findall(built_page(built_site, stem, lang).read_text(encoding="utf-8"))
        )
        where = "/" + url_of(stem, lang)
        problems += [f"{where}: {p}" for p in recorder.problems]
        if state["formulas"] != in_source or state["rendered"] != in_source or state["errors"]:
            problems.append(
                f"{where}: {in_source} formulas in the page source, "
                f"{state['formulas']} in the DOM, "
                f"{state['rendered']} rendered by KaTeX, {state['errors']} KaTeX errors"
            )
        if state["lang"] != lang:
            problems.append(f"{where}: <html lang={state['lang']!r}>")
        if stem in SCREENSHOT_PAGES:
            _screenshot(page, f"desktop-{lang}-{stem.replace('/', '-')}")
        visited += 1
        formulas += in_source
    recorder.reset()
    problems += recorder.unexplained_aborts()
    recorder.aborted.clear()
    print(f"\n{lang}: {visited} pages loaded in chromium, {formulas} formulas rendered")
    assert visited == len(stems()) and visited >= 20 and formulas > 0
    assert not problems, "\n".join(problems)
    shots = [
        SCREENSHOTS / f"desktop-{lang}-{stem.replace('/', '-')}.png" for stem in SCREENSHOT_PAGES
    ]
    assert all(shot.stat().st_size > 10_000 for shot in shots), shots


def test_requests_to_other_hosts_are_caught(browse, base_url, built_site):
    """The recorder itself: a page that asks another host is reported (a scratch page)."""
    page, recorder = browse
    scratch = built_site / "qkv-browser-selftest.html"
    scratch.write_text(
        '<img src="http://example.invalid/x.png"><script>console.error("boom")</script>'
    )
    try:
        _visit(page, recorder, base_url + scratch.name)
        text = "\n".join(recorder.problems)
        assert "request to another host: http://example.invalid/x.png" in text, text
        assert "console error: boom" in text, text
    finally:
        scratch.unlink()
        recorder.reset()


@pytest.mark.parametrize("stem", ["index", "concepts/softmax"])
@pytest.mark.parametrize("lang", LANGS)
def test_language_switch_lands_on_the_twin(browse, base_url, stem, lang):
    page, recorder = browse
    other = "zh" if lang == "en" else "en"
    _visit(page, recorder, base_url + url_of(stem, lang))
    page.hover(".md-header__option .md-select")
    page.click(f".md-select__link[hreflang='{other}']")
    page.wait_for_load_state("load")
    assert page.url == base_url + url_of(stem, other)
    assert page.evaluate("document.documentElement.lang") == other
    assert not recorder.problems, recorder.problems


TAB_STATE = """() => [...document.querySelectorAll('.tabbed-set')].map(set => {
  const inputs = [...set.querySelectorAll(':scope > input')];
  const labels = [...set.querySelectorAll(':scope > .tabbed-labels > label')];
  const index = inputs.findIndex(input => input.checked);
  return index < 0 ? null : labels[index].textContent.trim();
})"""


def _pages_with_tabs(built_site, lang: str) -> list[str]:
    """Stems whose built page has NumPy/PyTorch tabs, most tab sets first."""
    counts = {}
    for stem in stems():
        text = built_page(built_site, stem, lang).read_text(encoding="utf-8")
        n = text.count('class="tabbed-set')
        if n and ">PyTorch<" in text:
            counts[stem] = n
    return sorted(counts, key=lambda s: (-counts[s], s))


@pytest.mark.parametrize("lang", LANGS)
def test_linked_tabs_switch_together_and_persist(browse, base_url, built_site, lang):
    page, recorder = browse
    with_tabs = _pages_with_tabs(built_site, lang)
    assert len(with_tabs) >= 2, f"{lang}: fewer than two pages with NumPy/PyTorch tabs"
    first, second = with_tabs[0], with_tabs[1]
    _visit(page, recorder, base_url + url_of(first, lang))
    page.evaluate("localStorage.clear()")
    page.reload(wait_until="load")
    state = page.evaluate(TAB_STATE)
    assert len(state) >= 2, f"{first}: needs two tab sets to show linking, has {len(state)}"
    assert set(state) == {"NumPy"}, state
    page.locator(".tabbed-set").nth(0).locator(".tabbed-labels > label", has_text="PyTorch").click()
    assert set(page.evaluate(TAB_STATE)) == {"PyTorch"}, "the other tab sets did not follow"
    page.reload(wait_until="load")
    assert set(page.evaluate(TAB_STATE)) == {"PyTorch"}, "the choice did not survive a reload"
    _visit(page, recorder, base_url + url_of(second, lang))
    assert set(page.evaluate(TAB_STATE)) == {"PyTorch"}, f"{second}: the choice did not carry over"
    page.locator(".tabbed-set").nth(0).locator(".tabbed-labels > label", has_text="NumPy").click()
    assert set(page.evaluate(TAB_STATE)) == {"NumPy"}
    assert not recorder.problems, recorder.problems


def _run_pasted(code: str) -> types.ModuleType:
    """Run copied code as a reader would: a fresh module, as if saved to a file and run."""
    module = types.ModuleType("qkv_copied_code")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, "<copied from the site>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


@pytest.mark.parametrize("backend", ["NumPy", "PyTorch"])
def test_copy_button_copies_code_that_runs(browse, base_url, backend):
    page, recorder = browse
    _visit(page, recorder, base_url + url_of("concepts/softmax", "en"))
    tabs = page.locator(".tabbed-set").nth(0)
    tabs.locator(".tabbed-labels > label", has_text=backend).click()
    index = 0 if backend == "NumPy" else 1
    block = tabs.locator(":scope > .tabbed-content > .tabbed-block").nth(index)
    block.locator("pre").hover()
    button = block.locator("button.md-code__button[data-md-type='copy']")
    page.evaluate("navigator.clipboard.writeText('')")
    button.click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()).length > 0")
    copied = page.evaluate("navigator.clipboard.readText()")
    shown = block.locator("pre code").inner_text()
    assert copied.strip() == shown.strip(), "the clipboard differs from the code shown"
    assert "def softmax" in copied and ">>>" not in copied
    if backend == "PyTorch":
        torch = pytest.importorskip(
            "torch", reason="PyTorch is not installed: cannot run the PyTorch tab"
        )
        module = _run_pasted(copied)
        out = module.softmax(torch.tensor([[1.0, 1.0], [0.0, float("-inf")]], dtype=torch.float64))
        np.testing.assert_allclose(out.numpy(), [[0.5, 0.5], [1.0, 0.0]], rtol=1e-12)
    else:
        module = _run_pasted(copied)
        out = module.softmax(np.array([[1.0, 1.0], [0.0, -np.inf]]))
        np.testing.assert_allclose(out, [[0.5, 0.5], [1.0, 0.0]], rtol=1e-12)
    page.locator(".tabbed-set").nth(0).locator(".tabbed-labels > label", has_text="NumPy").click()
    assert not recorder.problems, recorder.problems


RESULTS = """() => [...document.querySelectorAll(
  '.md-search-result__item > a.md-search-result__link')]
  .map(a => a.href)"""


def _search(page, query: str) -> list[str]:
    """Type `query` into the site's search box; the result pages (paths), best first."""
    box = page.locator("input.md-search__input")
    if not box.is_visible():
        page.click("label.md-header__button[for='__search']")
    box.fill("")
    box.press("Backspace")
    page.wait_for_function(f"() => ({RESULTS})().length === 0")
    box.fill(query)
    box.press("End")
    page.wait_for_function(f"() => ({RESULTS})().length > 0", timeout=10_000)
    paths = []
    for href in page.evaluate(RESULTS):
        path = unquote(urlsplit(href).path)
        if path not in paths:
            paths.append(path)
    return paths


@pytest.mark.parametrize("lang", LANGS)
def test_search_finds_the_concept_pages(browse, base_url, lang):
    page, recorder = browse
    _visit(page, recorder, base_url + url_of("index", lang))
    prefix = "/" if lang == "en" else "/zh/"
    queries = ZH_QUERIES if lang == "zh" else EN_QUERIES
    problems = []
    for query, target in queries.items():
        results = _search(page, query)
        if prefix + target not in results[:3]:
            problems.append(f"{lang} page, {query!r}: expected {prefix + target} in {results[:5]}")
    # from a Chinese page, Chinese results come first (also for an English word); English likewise
    for query in ("softmax", "Transformer"):
        results = _search(page, query)
        if (
            not results
            or not results[0].startswith(prefix)
            or (lang == "en" and results[0].startswith("/zh/"))
        ):
            problems.append(
                f"{lang} page, {query!r}: first results {results[:3]} are not {lang} pages"
            )
    assert not problems, "\n".join(problems)
    assert not recorder.problems, recorder.problems


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize("lang", LANGS)
def test_phone_viewport_has_usable_navigation(context, base_url, lang):
    page = context.new_page()
    recorder = Recorder(base_url)
    recorder.attach(page)
    page.set_viewport_size(PHONE)
    try:
        home = base_url + url_of("index", lang)
        _visit(page, recorder, home)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), "the home page scrolls sideways on a phone"
        _screenshot(page, f"phone-{lang}-index")
        drawer = page.locator("label.md-header__button[for='__drawer']")
        assert drawer.is_visible(), "no navigation button at phone width"
        drawer.click()
        page.wait_for_function("() => document.getElementById('__drawer').checked")
        target = base_url + url_of("concepts/softmax", lang)
        link = page.locator(".md-sidebar--primary a.md-nav__link[href$='concepts/softmax/']").first
        # the concept sits in a section of the drawer: open the section, then follow the link
        section = link.locator("xpath=ancestor::li[contains(@class,'md-nav__item--nested')][1]")
        section.locator(":scope > label.md-nav__link").first.click()
        link.click()
        page.wait_for_url(target)
        page.wait_for_load_state("load")
        recorder.settle(page)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), "the concept page scrolls sideways on a phone"
        _screenshot(page, f"phone-{lang}-concepts-softmax")
        assert not recorder.problems, recorder.problems
    finally:
        page.close()


# Text a reader sees on a Chinese page, block by block, with code and formulas replaced by a
# placeholder: a space (or a line break) between two Chinese characters is a visible gap.
CHINESE_GAPS = r"""() => {
  const cjk = '\u2018-\u201d\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff'
    + '\uf900-\ufaff\uff00-\uffef';
  const gap = new RegExp(`[${cjk}]\\s+[${cjk}]`, 'g');
  const block =
    /^(P|LI|TD|TH|H[1-6]|DT|DD|FIGCAPTION|BLOCKQUOTE|DIV|SUMMARY|DETAILS|TABLE|TR|UL|OL|FIGURE|BR)$/;
  const texts = [];
  let current = '';
  const walk = node => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) { current += child.data; continue; }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = child.tagName.toUpperCase();
      if (/^(PRE|CODE|SCRIPT|STYLE|SVG|MATH)$/.test(tag) || child.matches('.arithmatex, .katex')) {
        current += 'X';
        continue;
      }
      const isBlock = block.test(tag);
      if (isBlock) { texts.push(current); current = ''; }
      walk(child);
      if (isBlock) { texts.push(current); current = ''; }
    }
  };
  walk(document.querySelector('article'));
  texts.push(current);
  return texts.flatMap(text => [...text.matchAll(gap)].map(m =>
    text.slice(Math.max(0, m.index - 12), m.index + m[0].length + 12).replace(/\s+/g, ' ')));
}"""


def test_chinese_pages_show_no_gap_between_chinese_characters(browse, base_url):
    """A line break between two Chinese characters in a paragraph renders as a space; the build
    joins such lines (hooks.join_chinese_lines), and no page may show such a gap."""
    page, recorder = browse
    gaps = []
    visited = 0
    for stem in stems():
        _visit(page, recorder, base_url + url_of(stem, "zh"))
        gaps += [f"/{url_of(stem, 'zh')}: …{g}…" for g in page.evaluate(CHINESE_GAPS)]
        visited += 1
    assert visited == len(stems()) and visited >= 20
    assert not gaps, f"{len(gaps)} gap(s) between Chinese characters:\n" + "\n".join(gaps)


FIGURE_OVERFLOW = """() => [...document.querySelectorAll('.qkv-figure__media')].flatMap(media => {
  const child = media.firstElementChild;
  const wide = child.getBoundingClientRect().width > media.clientWidth + 1
    || child.scrollWidth > child.clientWidth + 1;
  const id = media.closest('figure').id;
  return wide ? [`${id}: ${child.scrollWidth} px in ${media.clientWidth} px`] : [];
})"""


@pytest.mark.parametrize("lang", LANGS)
def test_table_figures_fit_the_column(browse, base_url, built_site, lang):
    """A table drawn by figure code (Table 1 of the Transformer paper, the masked-row table) fits
    the text column of a 1280-px-wide window: nothing clipped, no scroll bar."""
    page, recorder = browse
    with_tables = [
        stem
        for stem in stems()
        if "qkv-table" in built_page(built_site, stem, lang).read_text(encoding="utf-8")
    ]
    assert len(with_tables) >= 2, with_tables
    page.set_viewport_size(DESKTOP)
    overflowing = []
    for stem in with_tables:
        _visit(page, recorder, base_url + url_of(stem, lang))
        overflowing += [f"/{url_of(stem, lang)}: {o}" for o in page.evaluate(FIGURE_OVERFLOW)]
    assert not overflowing, "\n".join(overflowing)
