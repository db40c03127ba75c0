"""What the browser tests share: chromium's settings, a recorder of what a page did, a visit, and
the tour (every page of one language visited once, everything the per-page checks need read off
it in that one visit).

The fixtures that hold the browser and the local server are in tests/conftest.py; the checks are
in test_browser.py, test_browser_layout.py and test_interactive.py.
"""

from __future__ import annotations

import http.server
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sitebuild import ROOT, built_page, stems, url_of

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


def ignored_response(url: str, status: int) -> bool:
    """The only failed responses allowed: Material's `sitemap.xml` probes next to language
    alternates (TOOLCHAIN.md, pitfall 13), a same-origin 404."""
    return status == 404 and urlsplit(url).path.endswith("/sitemap.xml")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def unavailable(reason: str):
    """Skip the browser tests locally; in CI (environment variable CI set) a skip is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


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
        if response.status >= 400 and not ignored_response(response.url, response.status):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if "Failed to load resource" in message.text and ignored_response(where, 404):
            return
        self.problems.append(f"console error: {message.text} ({where})")

    def settle(self, page, timeout_ms: int = 1500) -> None:
        """Wait (briefly) until the page has no request left running."""
        waited = 0
        while self.pending and waited < timeout_ms:
            page.wait_for_timeout(50)
            waited += 50


def visit(page, recorder: Recorder, url: str) -> None:
    recorder.reset(url)
    # DOMContentLoaded: math.js has run by then (it renders on that event); `settle` then waits
    # for every request still running (images, fonts, the search index)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(
        "() => document.querySelectorAll('.arithmatex:not([data-qkv-math])').length === 0"
    )
    recorder.settle(page)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# --------------------------------------------------------------------------------------------
# the tour: what each page shows, read in one visit

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

# A figure drawn as a table (or a drawing) that is wider than the text column, clipped or scrolled.
FIGURE_OVERFLOW = """() => [...document.querySelectorAll('.qkv-figure__media')].flatMap(media => {
  const child = media.firstElementChild;
  const wide = child.getBoundingClientRect().width > media.clientWidth + 1
    || child.scrollWidth > child.clientWidth + 1;
  const id = media.closest('figure').id;
  return wide ? [`${id}: ${child.scrollWidth} px in ${media.clientWidth} px`] : [];
})"""

# Every code block measured as if shown: details opened, every tab of a tab set displayed. It
# changes the page, so the tour runs it last.
CODE_OVERFLOW = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const style = document.createElement('style');
  style.textContent =
    '.tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }';
  document.head.appendChild(style);
  const codes = [...document.querySelectorAll('pre > code')];
  return {
    count: codes.length,
    wide: codes.filter(c => c.scrollWidth > c.clientWidth + 1)
      .map(c => c.textContent.split('\\n').sort((a, b) => b.length - a.length)[0]),
  };
}"""


@dataclass
class PageVisit:
    """One page of the tour, as chromium showed it at the desktop width."""

    stem: str
    where: str  # the page's path on the site, for messages
    problems: list[str]  # console errors, uncaught exceptions, failed or outside requests
    math: dict  # formulas in the DOM, rendered by KaTeX, KaTeX errors; <html lang>
    formulas_in_source: int  # arithmatex formulas in the built HTML
    has_table_figure: bool
    figure_overflow: list[str]
    chinese_gaps: list[str] = field(default_factory=list)  # Chinese pages only
    code: dict = field(default_factory=dict)  # {count, wide} on concept pages only


def tour(page, recorder: Recorder, base_url: str, site: Path, lang: str) -> list[PageVisit]:
    """Visit every page of `lang` once at the desktop width; screenshots of SCREENSHOT_PAGES."""
    page.set_viewport_size(DESKTOP)
    visits = []
    for stem in stems():
        visit(page, recorder, base_url + url_of(stem, lang))
        html = built_page(site, stem, lang).read_text(encoding="utf-8")
        seen = PageVisit(
            stem=stem,
            where="/" + url_of(stem, lang),
            problems=list(recorder.problems),
            math=page.evaluate(MATH_STATE),
            formulas_in_source=len(ARITHMATEX.findall(html)),
            has_table_figure="qkv-table" in html,
            figure_overflow=page.evaluate(FIGURE_OVERFLOW),
        )
        if lang == "zh":
            seen.chinese_gaps = page.evaluate(CHINESE_GAPS)
        if stem in SCREENSHOT_PAGES:
            screenshot(page, f"desktop-{lang}-{stem.replace('/', '-')}")
        if stem.startswith("concepts/"):
            seen.code = page.evaluate(CODE_OVERFLOW)
        visits.append(seen)
    recorder.reset()
    aborts = recorder.unexplained_aborts()
    recorder.aborted.clear()
    if aborts:
        visits[-1].problems += aborts
    return visits
