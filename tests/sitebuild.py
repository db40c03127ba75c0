"""One strict build of the site per test session, shared by every test module that needs it.

A test module declares its own session fixture that calls `build_once(tmp_path_factory)`; the
first caller builds, every later one gets the same directory (the cache lives in this module and,
for the other pytest-xdist workers, in the run's temporary folder), so the site is built once per
run however many modules and workers need it. `build_once` returns
`(site_dir, log, seconds)`; a failed build fails the test with the tail of the log.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LANGS = ("en", "zh")


def write_docs(root: Path, pages: dict[str, str]) -> Path:
    """A docs folder under `root` with `pages` ({docs-relative path: text}) in it; returns it."""
    docs = root / "docs"
    for name, text in pages.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    return docs


# What a learner types (concept words, not page titles) and the concept page that teaches it,
# which must come in the top three of the site's own search: checked in a real browser by
# test_browser.py (lunr's ranking, with the page boosts of the front matter), and by test_site.py
# for every query being found in its language's index at all.
# Not in the set: 方差 (variance). The index holds it as one word (jieba), but the browser's word
# segmenter (Intl.Segmenter, which lunr's Chinese support uses for the query) splits it into 方 and
# 差, so the query matches every word that starts with either character and the scaling page's
# rank depends on how often other pages use such words (first or fourth as the pages change).
ZH_QUERIES = {
    "自注意力": "concepts/what-is-self-attention/",
    "多头注意力": "concepts/multi-head/",
    "缩放": "concepts/scaling/",
    "位置编码": "concepts/positional-encoding/",
    "掩码": "concepts/masks/",
    "层归一化": "concepts/layernorm-vs-batchnorm/",
    "点积": "concepts/scores/",
    "在线 softmax": "concepts/cost/",
    "列向量": "concepts/matrix-form/",
    "温度": "concepts/soft-hard-local/",
    "填充掩码": "concepts/masks/",
    "正弦": "concepts/positional-encoding/",
    "残差": "concepts/transformer/",
    "曝光偏差": "concepts/teacher-forcing/",
    "因果掩码": "concepts/masks/",
    "交叉注意力": "concepts/self-vs-cross/",
    "加权和": "concepts/softmax/",
    "搜索引擎": "concepts/query-key-value/",
    "饱和": "concepts/scaling/",
    "拼接": "concepts/multi-head/",
    "前馈网络": "concepts/transformer/",
    "硬注意力": "concepts/soft-hard-local/",
    "分块": "concepts/cost/",
    "循环神经网络": "concepts/what-is-self-attention/",
    "批归一化": "concepts/layernorm-vs-batchnorm/",
    "置换": "concepts/positional-encoding/",
    "手算": "concepts/worked-example/",
    "加性": "concepts/scores/",
}
EN_QUERIES = {
    "self-attention": "concepts/what-is-self-attention/",
    "multi-head": "concepts/multi-head/",
    "softmax": "concepts/softmax/",
    "scaling": "concepts/scaling/",
    "positional encoding": "concepts/positional-encoding/",
    "masks": "concepts/masks/",
    "layernorm": "concepts/layernorm-vs-batchnorm/",
    "teacher forcing": "concepts/teacher-forcing/",
    "dot product": "concepts/scores/",
    "online softmax": "concepts/cost/",
    "column convention": "concepts/matrix-form/",
    "temperature": "concepts/soft-hard-local/",
    "key padding": "concepts/masks/",
    "sinusoidal": "concepts/positional-encoding/",
    "residual": "concepts/transformer/",
    "exposure bias": "concepts/teacher-forcing/",
    "gumbel": "concepts/soft-hard-local/",
    "variance of the dot product": "concepts/scaling/",
    "causal mask": "concepts/masks/",
    "search engine": "concepts/query-key-value/",
    "saturation": "concepts/scaling/",
    "permutation equivariant": "concepts/positional-encoding/",
    "concatenate heads": "concepts/multi-head/",
    "feed-forward": "concepts/transformer/",
    "weighted sum": "concepts/softmax/",
    "cross-attention": "concepts/self-vs-cross/",
    "tiled attention": "concepts/cost/",
    "batch statistics": "concepts/layernorm-vs-batchnorm/",
    "recurrent": "concepts/what-is-self-attention/",
    "shared projection": "concepts/three-projections/",
    "by hand": "concepts/worked-example/",
    "additive score": "concepts/scores/",
}

_cache: dict[str, tuple[Path, str, float]] = {}


def run_build(site_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`mkdocs build --strict` of both languages into `site_dir`; (result, seconds)."""
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result, time.perf_counter() - start


def build_once(tmp_path_factory) -> tuple[Path, str, float]:
    """The test run's build (built on first use): (site_dir, log, seconds).

    Under pytest-xdist the workers share one build: the first to ask builds into the run's
    temporary folder (which every worker of the run shares) while holding a lock; the others
    wait for it and read its log.
    """
    if "site" not in _cache:
        for module, why in (
            ("mkdocs", "MkDocs is not installed"),
            ("torch", "PyTorch is not installed"),
        ):
            try:
                importlib.import_module(module)
            except ImportError:
                # the NumPy-only test run: the site shows the PyTorch reference code too
                pytest.skip(f"{why}: the site (NumPy and PyTorch tabs) cannot be built")
        shared = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            shared = shared.parent  # the run's folder, above each worker's own
        site_dir, record = shared / "qkv-site", shared / "qkv-site.json"
        with FileLock(str(shared / "qkv-site.lock")):
            if not record.is_file():
                result, seconds = run_build(site_dir)
                done = {"log": result.stdout + result.stderr, "seconds": seconds}
                done["returncode"] = result.returncode
                record.write_text(json.dumps(done), encoding="utf-8")
            done = json.loads(record.read_text(encoding="utf-8"))
        if done["returncode"] != 0:
            tail = "\n".join(done["log"].splitlines()[-40:])
            pytest.fail(
                f"`mkdocs build --strict` failed (exit {done['returncode']}):\n{tail}",
                pytrace=False,
            )
        _cache["site"] = (site_dir, done["log"], done["seconds"])
    return _cache["site"]


def source_pages() -> list[Path]:
    """Every Markdown page of the site (docs/**/*.md outside docs/_*)."""
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).parts[0].startswith("_") and "__pycache__" not in p.parts
    )


def stems() -> list[str]:
    """Docs-relative page names without language: `concepts/softmax`, `index`."""
    return sorted({str(p.relative_to(DOCS)).rsplit(".", 2)[0] for p in source_pages()})


def url_of(stem: str, lang: str = "en") -> str:
    """Site-relative URL of a page: `concepts/softmax/`, `zh/concepts/softmax/`, `` (home)."""
    if stem == "index":
        path = ""
    elif stem.endswith("/index"):
        path = stem[: -len("index")]
    else:
        path = stem + "/"
    return ("" if lang == "en" else f"{lang}/") + path


def built_page(site: Path, stem: str, lang: str) -> Path:
    return site / url_of(stem, lang) / "index.html"
