"""Zero third-party requests: the built site asks no other host for anything (fonts, scripts,
styles), and KaTeX is served by the site itself. Reads the session's strict build (sitebuild.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sitebuild import ROOT, build_once
from test_site import _built, _parse, _stems


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory)[0]


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
