"""A phone in a real browser: the navigation drawer works and nothing overflows sideways.

The desktop layout checks (code, tables, Chinese text) read the tour in test_browser.py; the
browser, server and built site are the fixtures of tests/conftest.py.
"""

from __future__ import annotations

import pytest
from browsing import PHONE, Recorder, screenshot, visit
from sitebuild import LANGS, url_of

pytestmark = pytest.mark.browser


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
