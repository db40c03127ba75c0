"""Link check of the built site: every internal href/src and #anchor resolves, in both languages.

The site is built once per session (tests/sitebuild.py). Each HTML page is parsed; every URL it
requests or links to that stays on the site (relative or root-relative) must name an existing file,
and a `#fragment` must name an `id` (or `name`) of the target page. Links to other hosts are not
followed here (the browser tests make sure no page *requests* another host).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sitebuild import LANGS, build_once, built_page, stems


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site, built once per session (shared with the other modules through sitebuild)."""
    return build_once(tmp_path_factory)[0]


LINK_ATTRS = {
    "a": ("href",),
    "link": ("href",),
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "use": ("href", "xlink:href"),
    "image": ("href", "xlink:href"),
    "area": ("href",),
}
OTHER_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        for key in ("id", "name"):
            if attributes.get(key):
                self.ids.add(attributes[key])
        for attr in LINK_ATTRS.get(tag, ()):
            value = attributes.get(attr)
            if not value:
                continue
            urls = (
                [part.strip().split(" ")[0] for part in value.split(",")]
                if attr == "srcset"
                else [value]
            )
            self.links.extend((tag, attr, url) for url in urls if url)

    handle_startendtag = handle_starttag


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


def _target(site: Path, page: Path, url: str) -> tuple[Path | None, str]:
    """(file a site-internal URL of `page` points to (None: outside the site), fragment)."""
    parts = urlsplit(url)
    here = "/" + page.relative_to(site).as_posix()
    path = unquote(parts.path)
    if not path:
        resolved = here
    elif path.startswith("/"):
        resolved = path
    else:
        resolved = posixpath.join(posixpath.dirname(here), path)
    normal = posixpath.normpath(resolved)
    if normal.startswith("/.."):
        return None, parts.fragment
    if resolved.endswith("/"):
        normal += "/index.html"
    candidate = site / normal.lstrip("/")
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate, unquote(parts.fragment)


def check_site(site: Path) -> tuple[list[str], Counter]:
    """(problems, counts) for every HTML page of a built site."""
    cache: dict[Path, _Page] = {}
    problems: list[str] = []
    counts: Counter = Counter()
    for page in sorted(site.rglob("*.html")):
        lang = "zh" if page.relative_to(site).parts[0] == "zh" else "en"
        parsed = _parse(page, cache)
        counts[f"pages {lang}"] += 1
        for tag, attr, url in parsed.links:
            if OTHER_SCHEME.match(url) or url.startswith(("mailto:", "javascript:", "data:")):
                continue
            where = f"{page.relative_to(site)}: <{tag} {attr}={url!r}>"
            target, fragment = _target(site, page, url)
            counts[f"links {lang}"] += 1
            if target is None:
                problems.append(f"{where} leaves the site")
                continue
            if not target.is_file():
                problems.append(f"{where} -> {target.relative_to(site)} does not exist")
                continue
            if fragment and target.suffix == ".html":
                counts[f"anchors {lang}"] += 1
                if fragment not in _parse(target, cache).ids:
                    problems.append(f"{where}: no id {fragment!r} in {target.relative_to(site)}")
    return problems, counts


def test_every_internal_link_and_anchor_resolves(built_site):
    problems, counts = check_site(built_site)
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    for lang in LANGS:
        assert counts[f"pages {lang}"] >= len(stems()), f"{lang}: fewer built pages than sources"
        assert counts[f"links {lang}"] > 0 and counts[f"anchors {lang}"] > 0, counts
    assert not problems, f"{len(problems)} broken links:\n" + "\n".join(problems[:60])


def test_every_page_links_to_its_twin(built_site):
    """The per-page language switch is a link like any other: it must resolve to the twin page."""
    missing = []
    for stem in stems():
        for lang in LANGS:
            page = built_page(built_site, stem, lang)
            twin = built_page(built_site, stem, "zh" if lang == "en" else "en")
            linked = set()
            for tag, _, url in _parse(page, {}).links:
                if tag == "a" and not OTHER_SCHEME.match(url):
                    target, _ = _target(built_site, page, url)
                    linked.add(target)
            if twin not in linked:
                missing.append(
                    f"{page.relative_to(built_site)} does not link to "
                    f"{twin.relative_to(built_site)}"
                )
    assert not missing, "\n".join(missing)


def test_the_checker_finds_dead_links_and_anchors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text(
        '<h2 id="here">x</h2><a href="../b/">ok</a><a href="../b/#there">ok</a>'
        '<a href="#here">ok</a><a href="#gone">dead anchor</a><a href="../c/">dead page</a>'
        '<a href="https://example.org/x">other host, not followed</a><img src="/img.png">',
        encoding="utf-8",
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.html").write_text(
        '<p id="there"></p><a href="../a/#%E4%B8%AD">zh</a>', encoding="utf-8"
    )
    problems, _ = check_site(tmp_path)
    assert len(problems) == 4, problems
    assert any("no id 'gone'" in p for p in problems)
    assert any("c/index.html does not exist" in p for p in problems)
    assert any("img.png does not exist" in p for p in problems)
    assert any("no id '中'" in p for p in problems)
