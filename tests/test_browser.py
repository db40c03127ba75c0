"""The built site in a real browser (Python playwright driving Debian's chromium).

The site is built once per run (tests/sitebuild.py) and served by a local `http.server` thread on
127.0.0.1; one chromium visits it (fixtures in tests/conftest.py, helpers in tests/browsing.py).
Every page of a language is visited once, by the tour: the per-page checks here read what that one
visit saw (they stay in this file, so that pytest-xdist, which hands out whole files, runs them in
one process with one tour). Checks:

- every page in both languages: no console error, no uncaught exception, no failed request, no
  request to any other host, and every formula of the page rendered by KaTeX (rendered formulas
  counted against the arithmatex formulas of the built page's HTML);
- the language switch lands on the twin page;
- linked NumPy/PyTorch tabs switch together, and the choice survives a reload and a new page;
- the copy button copies code that runs when pasted into Python;
- the site's search: the queries of tests/sitebuild.py find their concept pages, and
  a reader on a Chinese page gets Chinese pages first;
- layout: at a 1,280 px desktop no code block scrolls sideways, table figures (and every other
  figure) fit the column, and Chinese pages show no gap between Chinese characters; at a phone-sized
  viewport (test_browser_layout.py) the navigation drawer works and nothing overflows sideways.

Screenshots (three pages, both languages, desktop and phone) go to artifacts/screenshots/.

Without chromium (or playwright) the tests are skipped locally, but fail when the environment
variable CI is set: in CI a skip is a failure.
"""

from __future__ import annotations

import sys
import types
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from browsing import DESKTOP, SCREENSHOT_PAGES, SCREENSHOTS, visit
from sitebuild import EN_QUERIES, LANGS, ZH_QUERIES, built_page, stems, url_of

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_loads_cleanly_with_math_rendered(tour, lang):
    problems = []
    visits = tour(lang)
    for seen in visits:
        problems += [f"{seen.where}: {p}" for p in seen.problems]
        state, in_source = seen.math, seen.formulas_in_source
        if state["formulas"] != in_source or state["rendered"] != in_source or state["errors"]:
            problems.append(
                f"{seen.where}: {in_source} formulas in the page source, "
                f"{state['formulas']} in the DOM, "
                f"{state['rendered']} rendered by KaTeX, {state['errors']} KaTeX errors"
            )
        if state["lang"] != lang:
            problems.append(f"{seen.where}: <html lang={state['lang']!r}>")
    formulas = sum(seen.formulas_in_source for seen in visits)
    print(f"\n{lang}: {len(visits)} pages loaded in chromium, {formulas} formulas rendered")
    assert len(visits) == len(stems()) and len(visits) >= 20 and formulas > 0
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
        '<link rel="icon" href="data:,">'  # no /favicon.ico request, whose 404 arrives late
        '<img src="http://example.invalid/x.png"><script>console.error("boom")</script>'
    )
    try:
        visit(page, recorder, base_url + scratch.name)
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
    visit(page, recorder, base_url + url_of(stem, lang))
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
    visit(page, recorder, base_url + url_of(first, lang))
    page.evaluate("localStorage.clear()")
    page.reload(wait_until="load")
    state = page.evaluate(TAB_STATE)
    assert len(state) >= 2, f"{first}: needs two tab sets to show linking, has {len(state)}"
    assert set(state) == {"NumPy"}, state
    page.locator(".tabbed-set").nth(0).locator(".tabbed-labels > label", has_text="PyTorch").click()
    assert set(page.evaluate(TAB_STATE)) == {"PyTorch"}, "the other tab sets did not follow"
    page.reload(wait_until="load")
    assert set(page.evaluate(TAB_STATE)) == {"PyTorch"}, "the choice did not survive a reload"
    visit(page, recorder, base_url + url_of(second, lang))
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
    visit(page, recorder, base_url + url_of("concepts/softmax", "en"))
    tabs = page.locator(".tabbed-set").nth(0)
    tabs.locator(".tabbed-labels > label", has_text=backend).click()
    index = 0 if backend == "NumPy" else 1
    tab = tabs.locator(":scope > .tabbed-content > .tabbed-block").nth(index)
    # the folded full source under the math: it runs as pasted
    details = tab.locator("details").first
    details.locator("summary").click()
    block = details
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
    visit(page, recorder, base_url + url_of("index", lang))
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


# --------------------------------------------------------------------------------------------
# layout, read off the tour


@pytest.mark.parametrize("lang", LANGS)
def test_code_fits_a_desktop_column(tour, lang):
    pages = [seen for seen in tour(lang) if seen.stem.startswith("concepts/")]
    assert len(pages) >= 10
    counted = sum(seen.code["count"] for seen in pages)
    wide = {seen.stem: seen.code["wide"] for seen in pages if seen.code["wide"]}
    assert counted > len(pages), "too few code blocks found: is the selector right?"
    assert not wide, f"code blocks scroll sideways at {DESKTOP['width']} px: {wide}"


def test_chinese_pages_show_no_gap_between_chinese_characters(tour):
    """A line break between two Chinese characters in a paragraph renders as a space; the build
    joins such lines (hooks.join_chinese_lines), and no page may show such a gap."""
    visits = tour("zh")
    assert len(visits) == len(stems()) and len(visits) >= 20
    gaps = [f"{seen.where}: …{gap}…" for seen in visits for gap in seen.chinese_gaps]
    assert not gaps, f"{len(gaps)} gap(s) between Chinese characters:\n" + "\n".join(gaps)


@pytest.mark.parametrize("lang", LANGS)
def test_table_figures_fit_the_column(tour, lang):
    """A table drawn by figure code (Table 1 of the Transformer paper, the masked-row table), like
    every other figure, fits the text column of a 1280-px-wide window: nothing clipped, no scroll
    bar."""
    visits = tour(lang)
    with_tables = [seen.stem for seen in visits if seen.has_table_figure]
    assert len(with_tables) >= 2, with_tables
    # tables first, and every other figure as well: none may be wider than the column
    overflowing = [f"{seen.where}: {o}" for seen in visits for o in seen.figure_overflow]
    assert not overflowing, "\n".join(overflowing)
