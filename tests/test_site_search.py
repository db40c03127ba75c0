"""The site's search: one index per language, Chinese pages search the Chinese index, and the
queries of the site's readers find their concept pages. Reads the session's strict build.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from qkvdocs import glossary
from sitebuild import EN_QUERIES, LANGS, ROOT, ZH_QUERIES, build_once
from test_site import HAN, _built, _stems, _url


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory)[0]


# --------------------------------------------------------------------------------------------
# search


def _index(site: Path, lang: str) -> dict:
    path = site / ("" if lang == "en" else f"{lang}/") / "search" / "search_index.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _tokens(text: str, separator: re.Pattern[str]) -> set[str]:
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).lower()
    return {t for t in separator.split(text) if t}


def _segment(term: str, vocabulary: set[str]) -> list[str]:
    """A Chinese term that is no token of the index, split into the longest tokens it holds, left
    to right (Material splits a Chinese query into the index's own words in the same way)."""
    if term in vocabulary or not HAN.search(term):
        return [term]
    parts, start = [], 0
    while start < len(term):
        end = next(
            (e for e in range(len(term), start, -1) if term[start:e] in vocabulary), start + 1
        )
        parts.append(term[start:end])
        start = end
    return parts


def _search(index: dict, query: str) -> list[str]:
    """Pages matching every query term (as Material's lunr index would tokenise them), best first.

    A term matches a token exactly; the last term also matches as a prefix (Material searches
    as you type). Title matches weigh more, as the `fields` boosts say, and each entry's score is
    multiplied by its page's `search: boost:` (front matter).
    """
    separator = re.compile(index["config"]["separator"])
    title_boost = index["config"].get("fields", {}).get("title", {}).get("boost", 1000)
    terms = [t for t in separator.split(query.lower()) if t]
    vocabulary = set()
    for doc in index["docs"]:
        vocabulary |= _tokens(doc["title"], separator) | _tokens(doc["text"], separator)
    terms = [part for term in terms for part in _segment(term, vocabulary)]
    scores: dict[str, float] = {}
    for doc in index["docs"]:
        title = _tokens(doc["title"], separator)
        text = _tokens(doc["text"], separator)
        score = 0.0
        for i, term in enumerate(terms):
            last = i == len(terms) - 1

            def hits(tokens, term=term, last=last):
                return term in tokens or (last and any(t.startswith(term) for t in tokens))

            if hits(title):
                score += title_boost / max(len(title), 1)
            elif hits(text):
                score += 1
            else:
                break
        else:
            page = doc["location"].split("#")[0]
            score *= doc.get("boost", 1)
            scores[page] = max(scores.get(page, 0.0), score)
    return sorted(scores, key=lambda page: -scores[page])


def test_search_indexes_are_split_per_language(site):
    en, zh = _index(site, "en"), _index(site, "zh")
    assert en["docs"] and zh["docs"]
    for doc in en["docs"]:
        assert not doc["location"].startswith("zh/"), doc["location"]
        assert (site / doc["location"].split("#")[0] / "index.html").is_file(), doc["location"]
    for doc in zh["docs"]:
        assert (site / "zh" / doc["location"].split("#")[0] / "index.html").is_file(), doc[
            "location"
        ]
    en_pages = {d["location"].split("#")[0] for d in en["docs"]}
    zh_pages = {d["location"].split("#")[0] for d in zh["docs"]}
    assert en_pages == zh_pages == {_url(s) for s in _stems()}
    assert "\\u200b" in zh["config"]["separator"], "jieba's word breaks must separate search terms"


def test_chinese_pages_search_the_chinese_index(site):
    """Material fetches `<base>/search/search_index.json`; on Chinese pages base must be /zh/."""
    for stem in ("index", "concepts/softmax", "api/numpy"):
        for lang in LANGS:
            here = "http://site/" + ("zh/" if lang == "zh" else "") + _url(stem)
            text = _built(site, stem, lang).read_text(encoding="utf-8")
            config = json.loads(
                re.search(
                    r'<script id="__config" type="application/json">(.*?)</script>', text, re.S
                ).group(1)
            )
            base = urljoin(here, config["base"])
            want = "http://site/zh/" if lang == "zh" else "http://site/"
            assert base.rstrip("/") + "/" == want, f"{here}: search base {base}"


# The rank itself is lunr's (BM25 with field and page boosts), which test_browser.py checks in a
# real browser: the concept page in the top three. Here, without a browser: every term of the
# query is in the concept page's entries of its language's index, so the search can find it.


@pytest.mark.parametrize("query", sorted(ZH_QUERIES))
def test_chinese_query_finds_its_concept_page(site, query):
    results = _search(_index(site, "zh"), query)
    assert ZH_QUERIES[query] in results, f"{query}: found only {results[:8]}"


@pytest.mark.parametrize("query", sorted(EN_QUERIES))
def test_english_query_finds_its_concept_page(site, query):
    results = _search(_index(site, "en"), query)
    assert EN_QUERIES[query] in results, f"{query}: found only {results[:8]}"


def test_concept_pages_outrank_reference_pages(site):
    """Material weighs a heading match 1000 times a text match by default, so an API entry named
    `dot_product_scores` or an FAQ question beat the page that teaches the idea. mkdocs.yml lowers
    the title weight; the API pages, glossary, FAQ and claims table carry a lower page boost
    (front matter `search: boost:`) than the concept pages (1, the default)."""
    for lang in LANGS:
        index = _index(site, lang)
        assert index["config"]["fields"]["title"]["boost"] <= 10, index["config"]["fields"]
        boosts: dict[str, set[float]] = {}
        for doc in index["docs"]:
            boosts.setdefault(doc["location"].split("#")[0], set()).add(doc.get("boost", 1))
        for page, values in boosts.items():
            if page.startswith("concepts/"):
                assert values == {1}, (lang, page, values)
            elif page.startswith("api/"):
                assert max(values) <= 0.1, (lang, page, values)
            elif page in ("glossary/", "faq/", "verified-claims/"):
                assert max(values) < 1, (lang, page, values)


def test_jieba_keeps_glossary_compounds_whole():
    jieba = pytest.importorskip("jieba")

    words = glossary.jieba_words()
    for word in ("自注意力", "多头注意力", "缩放", "位置编码", "掩码", "层归一化"):
        assert word in words
    path = ROOT / ".cache" / "test-jieba-dict.txt"
    glossary.write_jieba_dict(path)
    jieba.load_userdict(str(path))
    assert list(jieba.cut("多头注意力使用层归一化和掩码")) == [
        "多头注意力",
        "使用",
        "层归一化",
        "和",
        "掩码",
    ]
