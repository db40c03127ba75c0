"""Layout in a real browser: a phone can navigate, a desktop reads code without scrolling sideways,
and Chinese text shows no gap between two Chinese characters.

Uses the server, browser and recorder of test_browser.py (the site is built once per session).
"""

from __future__ import annotations

import pytest
import test_browser as tb
from sitebuild import LANGS, built_page, stems, url_of
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
