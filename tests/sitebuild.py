"""One strict build of the site per test session, shared by every test module that needs it.

A test module declares its own session fixture that calls `build_once(tmp_path_factory)`; the
first caller builds, every later one gets the same directory (the cache lives in this module), so
the site is built once per session however many modules need it. `build_once` returns
`(site_dir, log, seconds)`; a failed build fails the test with the tail of the log.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LANGS = ("en", "zh")

# The searches of the site issue and the concept page each must find (in the top three), used by
# the search-index test (test_site.py) and the real-browser test (test_browser.py).
ZH_QUERIES = {
    "自注意力": "concepts/what-is-self-attention/",
    "多头注意力": "concepts/multi-head/",
    "缩放": "concepts/scaling/",
    "位置编码": "concepts/positional-encoding/",
    "掩码": "concepts/masks/",
    "层归一化": "concepts/layernorm-vs-batchnorm/",
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
    """The session's build (built on first use): (site_dir, log, seconds)."""
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
        site_dir = tmp_path_factory.mktemp("site")
        result, seconds = run_build(site_dir)
        log = result.stdout + result.stderr
        if result.returncode != 0:
            tail = "\n".join(log.splitlines()[-40:])
            pytest.fail(
                f"`mkdocs build --strict` failed (exit {result.returncode}):\n{tail}", pytrace=False
            )
        _cache["site"] = (site_dir, log, seconds)
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
