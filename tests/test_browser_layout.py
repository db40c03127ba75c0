"""Layout in a real browser: a phone can navigate, a desktop reads code without scrolling sideways,
and Chinese text shows no gap between two Chinese characters.

The per-page checks read the tour (every page visited once per language, tests/browsing.py); the
browser, server and built site are the fixtures of tests/conftest.py.
"""

from __future__ import annotations

import pytest
from browsing import DESKTOP, PHONE, Recorder, screenshot, visit
from sitebuild import LANGS, stems, url_of

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", LANGS)
def test_code_fits_a_desktop_column(tour, lang):
    pages = [seen for seen in tour(lang) if seen.stem.startswith("concepts/")]
    assert len(pages) >= 10
    counted = sum(seen.code["count"] for seen in pages)
    wide = {seen.stem: seen.code["wide"] for seen in pages if seen.code["wide"]}
    assert counted > len(pages), "too few code blocks found: is the selector right?"
    assert not wide, f"code blocks scroll sideways at {DESKTOP['width']} px: {wide}"


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize("lang", LANGS)
def test_phone_viewport_has_usable_navigation(context, base_url, lang):
    page = context.new_page()
    recorder = Recorder(base_url)
    recorder.attach(page)
    page.set_viewport_size(PHONE)
    try:
        home = base_url + url_of("index", lang)
        visit(page, recorder, home)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), "the home page scrolls sideways on a phone"
        screenshot(page, f"phone-{lang}-index")
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
        screenshot(page, f"phone-{lang}-concepts-softmax")
        assert not recorder.problems, recorder.problems
    finally:
        page.close()


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
