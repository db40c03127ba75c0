"""Layout in a real browser: a phone can navigate, a desktop reads code without scrolling sideways.

Uses the server, browser and recorder of test_browser.py (the site is built once per session).
"""

from __future__ import annotations

import pytest
import test_browser as tb
from sitebuild import LANGS, stems, url_of
from test_browser import DESKTOP, PHONE, Recorder, _screenshot, _visit

# the server, browser and built site of test_browser.py (module fixtures: one more browser here)
sync_playwright, built_site, base_url = tb.sync_playwright, tb.built_site, tb.base_url
context, browse = tb.context, tb.browse

pytestmark = pytest.mark.browser

# Every code block measured as if shown: details opened, every tab of a tab set displayed.
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


@pytest.mark.parametrize("lang", LANGS)
def test_code_fits_a_desktop_column(browse, base_url, lang):
    page, recorder = browse
    page.set_viewport_size(DESKTOP)
    pages = [stem for stem in stems() if stem.startswith("concepts/")]
    assert len(pages) >= 10
    wide, counted = {}, 0
    for stem in pages:
        _visit(page, recorder, base_url + url_of(stem, lang))
        found = page.evaluate(CODE_OVERFLOW)
        counted += found["count"]
        if found["wide"]:
            wide[stem] = found["wide"]
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
