"""The interactive figures: their data against NumPy, and the built pages in a real browser.

Every number a figure shows is recomputed here with plain NumPy formulas (interactive_expected.py)
and compared twice: with the data each figure function embeds (every setting, every query, no
browser needed), and with what chromium displays after a reader clicks, taps, drags or presses keys
(DOM contract: the figure's root has the class `qkv-interactive`, the query buttons `data-query`,
every displayed weight `data-weight` equal to its text). Also: no console error or request to
another host, keyboard focus is visible, JavaScript off shows the still table, and each page with
its figure stays within the weight budget (sum of the gzipped sizes of everything it loads; the
sizes and load times are printed with `-s`).

The browser tests use the run's chromium, server and built site (tests/conftest.py) and the
recorder of tests/browsing.py; without chromium they are skipped locally and fail in CI.
"""

from __future__ import annotations

import functools
import gzip
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from browsing import DESKTOP, Recorder, visit
from interactive_expected import FIGURES, expected, query_labels
from qkvdocs import figures
from qkvdocs.figures import _widget as widget
from sitebuild import LANGS, url_of

BUDGET = 250 * 1024  # bytes, gzipped, per page with its figure code and data
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------------------------
# the data, without a browser


def _close(shown, want, digits: int) -> bool:
    return abs(float(shown) - float(want)) <= 0.5 * 10**-digits + 1e-9


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_data_matches_numpy(name, lang):
    data = figures.render(name, lang).data
    assert data is not None, f"{name} is not interactive"
    checked = 0
    for key, settings in widget.settings(data["controls"]):
        lines, result = expected(name, settings)
        shown = [line for line in data["views"][key]["lines"] if line["kind"] != "mask"]
        assert [line["kind"] for line in shown] == [kind for kind, _ in lines], (name, key)
        for line, (_, want) in zip(shown, lines, strict=True):
            np.testing.assert_allclose(line["values"], want, atol=1e-6, rtol=0, err_msg=name)
            checked += want.size
        if result is not None:
            np.testing.assert_allclose(data["views"][key]["result"]["values"], result, atol=1e-6)
    assert checked >= 36


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_labels_are_in_the_page_language(name):
    en, zh = (figures.render(name, lang).data for lang in LANGS)
    if name == "multi-head-explore":  # the translator's English input (its output: queries)
        assert en["keys"] == zh["keys"] and not CJK.search("".join(en["keys"]))
    for lang, data in (("en", en), ("zh", zh)):
        assert data["queries"] in (None, query_labels(name, lang)), (name, lang)
    assert not CJK.search(str(en["text"])) and CJK.search(zh["text"]["choose"])
    assert not CJK.search(figures.render(name, "en").caption)
    assert CJK.search(figures.render(name, "zh").caption)


def test_each_figure_is_placed_in_seeing_it_of_both_twins():
    from sitebuild import DOCS

    for name, stem in FIGURES.items():
        for lang, heading in (("en", "## Seeing it"), ("zh", "## 图示")):
            text = (DOCS / f"{stem}.{lang}.md").read_text(encoding="utf-8")
            section = text.split(heading, 1)[1].split("\n## ", 1)[0]
            assert f"[[figure: {name}]]" in section, (stem, lang)


# --------------------------------------------------------------------------------------------
# the pages in chromium

READ = """root => ({
  lines: [...root.querySelectorAll('.qkv-interactive__table tbody tr')].map(tr =>
    [...tr.querySelectorAll('td > [data-weight], td > [data-value]')].map(e => ({
      kind: e.hasAttribute('data-weight') ? 'weight' : 'value',
      attr: e.getAttribute('data-weight') ?? e.getAttribute('data-value'),
      text: e.textContent,
    }))),
  result: root.querySelector('.qkv-interactive__result')?.getAttribute('data-result') ?? null,
})"""

STATE = """root => {
  const box = root.querySelector('.qkv-interactive__controls');
  const controls = [...(box ? box.children : [])].map(c => {
    if (c.classList.contains('qkv-interactive__range'))
      return Number(c.querySelector('input').value);
    if (c.classList.contains('qkv-interactive__choice'))
      return [...c.querySelectorAll('button')]
        .findIndex(b => b.getAttribute('aria-pressed') === 'true');
    return c.getAttribute('aria-pressed') === 'true' ? 1 : 0;
  });
  const q = root.querySelector('[data-query][aria-pressed="true"]');
  return {controls, query: q ? Number(q.dataset.query) : 0};
}"""


@pytest.fixture(scope="module")
def tab(browser, base_url):
    """(page, recorder): one desktop tab for the tests that click and press keys."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    recorder = Recorder(base_url)
    recorder.attach(page)
    yield page, recorder
    context.close()


def _open(page, recorder, base_url, name: str, lang: str):
    visit(page, recorder, base_url + url_of(FIGURES[name], lang))
    roots = page.locator(".qkv-interactive")
    assert roots.count() == 1
    root = roots.first
    page.wait_for_function("r => r.hasAttribute('data-qkv-ready')", arg=root.element_handle())
    root.scroll_into_view_if_needed()
    return root


def _check_shown(root, name: str) -> dict:
    """Compare every number the figure displays with NumPy, for the settings the DOM shows."""
    state = root.evaluate(STATE)
    shown = root.evaluate(READ)
    lines, result = expected(name, tuple(state["controls"]))
    query = state["query"]
    assert len(shown["lines"]) == len(lines), (name, state)
    for index, (cells, (kind, want)) in enumerate(zip(shown["lines"], lines, strict=True)):
        digits = 3 if kind == "weight" else 2
        assert [c["kind"] for c in cells] == [kind] * want.shape[-1], (name, index)
        for key, cell in enumerate(cells):
            assert cell["attr"] == cell["text"], cell
            assert _close(cell["attr"], want[query, key], digits), (
                f"{name} {state} line {index} key {key}: shows {cell['attr']}, "
                f"NumPy {want[query, key]:.6f}"
            )
    if result is not None:
        numbers = shown["result"].split(",")
        assert all(_close(n, w, 2) for n, w in zip(numbers, result[query], strict=True)), shown
    return state


def _weights(root) -> list[str]:
    return root.evaluate("r => [...r.querySelectorAll('[data-weight]')].map(e => e.dataset.weight)")


def _choose_each_query(root, name: str, lang: str) -> None:
    """Clicking each query shows its weights (other weights than before)."""
    first = _check_shown(root, name)
    buttons = root.locator("[data-query]")
    if buttons.count():
        labels = query_labels(name, lang)
        assert [buttons.nth(i).inner_text() for i in range(buttons.count())] == labels
        for query in range(buttons.count()):
            if query == first["query"]:
                continue
            before = _weights(root)
            root.locator(f'[data-query="{query}"]').click()
            assert _check_shown(root, name)["query"] == query
            assert _weights(root) != before, f"{name}: query {query} shows the same weights"


def _move_each_control(page, root, name: str) -> None:
    """Sliders by keyboard (arrow keys, Home, End), button groups by click and arrow keys, on/off
    buttons by Enter and Space: the state changes and the weights follow it."""
    moved = 0
    for control in root.locator(".qkv-interactive__controls > *").all():
        classes = control.get_attribute("class") or ""
        before = root.evaluate(STATE)["controls"]
        if "qkv-interactive__range" in classes:
            slider = control.locator("input[type=range]")
            top = int(slider.get_attribute("max"))
            slider.focus()
            for key, want in (("Home", 0), ("ArrowRight", 1), ("End", top), ("ArrowLeft", top - 1)):
                page.keyboard.press(key)
                assert int(slider.input_value()) == want
                assert control.locator("output").inner_text() != ""
                _check_shown(root, name)
                moved += 1
        elif "qkv-interactive__choice" in classes:
            options = control.locator("button")
            options.nth(options.count() - 1).click()
            _check_shown(root, name)
            assert options.nth(options.count() - 1).get_attribute("aria-pressed") == "true"
            page.keyboard.press("Home")
            assert options.nth(0).get_attribute("aria-pressed") == "true"
            _check_shown(root, name)
            page.keyboard.press("ArrowRight")
            assert options.nth(1).get_attribute("aria-pressed") == "true"
            _check_shown(root, name)
            moved += 2
        else:  # an on/off button
            state = control.get_attribute("aria-pressed")
            control.focus()
            page.keyboard.press("Enter")
            assert control.get_attribute("aria-pressed") != state
            _check_shown(root, name)
            page.keyboard.press("Space")
            assert control.get_attribute("aria-pressed") == state
            control.click()
            _check_shown(root, name)
            moved += 3
        after = root.evaluate(STATE)["controls"]
        assert after != before or "choice" in classes or "range" in classes
    if name in (
        "scaling-explore",
        "multi-head-explore",
        "masks-explore",
        "soft-hard-local-explore",
    ):
        assert moved > 0, f"{name}: no control"


def _reach_with_the_keyboard(page, root, name: str) -> None:
    """Tab moves between the figure's controls (focus visible); arrow keys choose a query."""
    focusable = root.locator("button, input")
    count = focusable.count()
    assert count >= 1
    focusable.first.focus()
    page.keyboard.press("Shift+Tab")  # leave the figure backwards, then Tab into it again
    assert not root.evaluate("r => r.contains(document.activeElement)")
    for index in range(count):
        page.keyboard.press("Tab")
        assert focusable.nth(index).evaluate("e => e === document.activeElement"), index
        outline = focusable.nth(index).evaluate(
            "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
        )
        assert not outline.startswith("none") and not outline.endswith(" 0px"), outline
    queries = root.locator("[data-query]")
    if queries.count():
        start = root.evaluate(STATE)["query"]
        queries.nth(start).focus()
        page.keyboard.press("ArrowRight")
        want = (start + 1) % queries.count()
        assert root.evaluate(STATE)["query"] == want
        assert queries.nth(want).evaluate("e => e === document.activeElement")
        _check_shown(root, name)
        page.keyboard.press("End")
        assert root.evaluate(STATE)["query"] == queries.count() - 1
        _check_shown(root, name)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_reader_drives_the_figure(tab, base_url, name, lang):
    """One visit per figure and language, as a reader uses it: a click on each query, then every
    control, then the keyboard alone; after each step every number shown equals NumPy's."""
    page, recorder = tab
    root = _open(page, recorder, base_url, name, lang)
    _choose_each_query(root, name, lang)
    _move_each_control(page, root, name)
    _reach_with_the_keyboard(page, root, name)
    assert not recorder.problems, recorder.problems


@pytest.mark.browser
def test_mouse_hover_chooses_a_query(tab, base_url):
    """A mouse looks by hovering over a token (touch and keys choose by tap, Enter, arrows)."""
    page, recorder = tab
    root = _open(page, recorder, base_url, "softmax-explore", "zh")
    for query in (0, 4):
        root.locator(f'[data-query="{query}"]').hover()
        assert _check_shown(root, "softmax-explore")["query"] == query
    assert not recorder.problems, recorder.problems


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
def test_touch_chooses_a_query(browser, base_url, lang):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        recorder = Recorder(base_url)
        recorder.attach(page)
        root = _open(page, recorder, base_url, "masks-explore", lang)
        root.locator('[data-query="5"]').tap()
        assert _check_shown(root, "masks-explore")["query"] == 5
        root.locator(".qkv-interactive__toggle").nth(2).tap()
        assert _check_shown(root, "masks-explore")["controls"] == [1, 0, 1]
        # the figure fits the phone: it may scroll inside, never widen the page
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not recorder.problems, recorder.problems
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
def test_without_javascript_the_still_table_shows(browser, base_url, lang):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        for name, stem in FIGURES.items():
            page.goto(base_url + url_of(stem, lang), wait_until="load")
            root = page.locator(".qkv-interactive")
            still = root.locator(".qkv-interactive__still")
            assert still.is_visible() and root.locator("[data-query]").count() == 0
            data = figures.render(name, lang).data
            settings = tuple(c["value"] for c in data["controls"])
            lines, _ = expected(name, settings)
            query = data["query"] if data["queries"] else 0
            rows = still.locator("tbody tr")
            assert rows.count() == len(lines)
            for index, (kind, want) in enumerate(lines):
                cells = rows.nth(index).locator("td").all_inner_texts()
                digits = 3 if kind == "weight" else 2
                assert all(_close(c, w, digits) for c, w in zip(cells, want[query], strict=True))
    finally:
        context.close()


def _gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


@functools.cache
def _gzipped_file(path: Path) -> int:
    """The gzipped size of a file of the built site (the search index is asked for by every page:
    compressed once)."""
    return _gzipped(path.read_bytes())


SEARCH_WORKER = (
    "/search/search_index.json",
    "/assets/javascripts/workers/",
    "/assets/javascripts/lunr/",
)
FIGURE_MEDIA = re.compile(r'<div class="qkv-figure__media qkv-interactive".*?</script></div>', re.S)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
def test_pages_with_a_figure_stay_within_the_weight_budget(browser, base_url, built_site, lang):
    """Each page, loaded in a fresh context (empty cache), with every resource it asks for: the
    sum of their gzipped sizes (as a compressing server sends them). Printed: the total, the part
    Material's search worker fetches in the background (its index is the same for every page of a
    language and cached after the first), the figure's own share (its markup and data in the page,
    its script) and the load times. Asserted: the page without the search worker's part is at
    most BUDGET."""
    report, over = [], []
    script = _gzipped((built_site / "javascripts" / "interactive.js").read_bytes())
    for stem in FIGURES.values():
        context = browser.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            urls: list[str] = []
            page.on("requestfinished", lambda request, urls=urls: urls.append(request.url))
            recorder = Recorder(base_url)
            recorder.attach(page)
            start = time.perf_counter()
            page.goto(base_url + url_of(stem, lang), wait_until="load")
            page.wait_for_selector(".qkv-interactive[data-qkv-ready]")
            ready = time.perf_counter() - start
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [n.domContentLoadedEventEnd, n.loadEventEnd]; }"
            )
            # what the page still loads after `load`: fonts (awaited by the page itself), then
            # every request still running (the search worker's), as recorded
            page.evaluate("document.fonts.ready.then(() => true)")
            recorder.settle(page, timeout_ms=5000)
            assert not recorder.problems, recorder.problems
            total = search = 0
            for url in set(urls):
                path = urlsplit(url).path
                file = built_site / path.lstrip("/")
                if path.endswith("/"):
                    file = file / "index.html"
                assert file.is_file(), url
                size = _gzipped_file(file)
                total += size
                if any(part in path for part in SEARCH_WORKER):
                    search += size
            html = (built_site / url_of(stem, lang) / "index.html").read_bytes()
            without = FIGURE_MEDIA.sub("", html.decode("utf-8")).encode("utf-8")
            assert len(without) < len(html)
            figure = _gzipped(html) - _gzipped(without) + script
            line = (
                f"{url_of(stem, lang)}: {(total - search) / 1024:.1f} KiB gz without the search "
                f"worker's {search / 1024:.1f} KiB (total {total / 1024:.1f}); the figure "
                f"{figure / 1024:.1f} KiB; DOMContentLoaded {timing[0]:.0f} ms, load "
                f"{timing[1]:.0f} ms, figure drawn after {ready * 1000:.0f} ms"
            )
            report.append(line)
            if total - search > BUDGET:
                over.append(line)
        finally:
            context.close()
    print("\n" + "\n".join(report))
    assert not over, over
