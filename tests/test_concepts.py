"""Adding a concept: every file it needs exists, so a forgotten one fails here by name.

A concept module of the reference (`reference/qkv/<backend>/<module>.py`, found by pkgutil) needs
its test file, its API entry in both backends' reference pages, and a concept page in each language
that shows or links its functions. A concept page needs its twin, its nav line, and draws its
figures in its own figure module.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from qkvdocs import directives, figures

ROOT = Path(__file__).resolve().parents[1]
CONCEPTS = ROOT / "docs" / "concepts"
BACKENDS = ("numpy", "torch")


def _modules() -> list[tuple[str, str]]:
    found = []
    for backend in BACKENDS:
        path = ROOT / "reference" / "qkv" / backend
        found += [(backend, m.name) for m in pkgutil.iter_modules([str(path)])]
    return [(b, m) for b, m in found if not m.startswith("_")]


MODULES = _modules()


def test_concept_modules_are_found():
    assert ("numpy", "softmax") in MODULES and ("torch", "softmax") in MODULES


@pytest.mark.parametrize(("backend", "module"), MODULES)
def test_concept_module_has_its_test_file(backend, module):
    assert (ROOT / "tests" / f"test_{module}.py").is_file(), f"tests/test_{module}.py is missing"


@pytest.mark.parametrize(("backend", "module"), MODULES)
def test_concept_module_has_its_api_entry(backend, module):
    if backend == "torch":
        pytest.importorskip("torch")
    names = importlib.import_module(f"qkv.{backend}.{module}").__all__
    assert names, f"qkv.{backend}.{module} exports nothing (__all__)"
    assert f"::: qkv.{backend}.{module}" in directives.api_markdown(f"qkv.{backend}")
    for lang in ("en", "zh"):
        page = ROOT / "docs" / "api" / f"{backend}.{lang}.md"
        assert f"[[api: qkv.{backend}]]" in page.read_text(encoding="utf-8"), page


@pytest.mark.parametrize(("backend", "module"), MODULES)
def test_concept_module_is_on_a_page_in_both_languages(backend, module):
    if backend == "torch":
        pytest.importorskip("torch")
    names = importlib.import_module(f"qkv.{backend}.{module}").__all__
    used = re.compile(
        rf"\[\[code: (?:qkv\.{backend}\.)?({'|'.join(names)})\]\]"
        rf"|\]\[qkv\.{backend}\.({'|'.join(names)})\]"
    )
    for lang in ("en", "zh"):
        pages = [p for p in CONCEPTS.glob(f"*.{lang}.md") if used.search(p.read_text("utf-8"))]
        assert pages, f"no {lang} concept page shows or links a function of qkv.{backend}.{module}"


SLUGS = sorted({p.name.split(".")[0] for p in CONCEPTS.glob("*.md")})


class _ConfigLoader(yaml.SafeLoader):
    """mkdocs.yml as data: its `!!python/...` tags (the slugify functions) read as None."""


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *args: None)


def _nav_pages(entry) -> list[str]:
    """Every page path of a (nested) `nav` entry."""
    if isinstance(entry, str):
        return [entry]
    children = entry.values() if isinstance(entry, dict) else entry
    return [page for child in children for page in _nav_pages(child)]


NAV = _nav_pages(yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), _ConfigLoader)["nav"])


@pytest.mark.parametrize("slug", SLUGS)
def test_concept_page_has_its_twin_figure_module_and_nav_entry(slug):
    for lang in ("en", "zh"):
        assert (CONCEPTS / f"{slug}.{lang}.md").is_file(), f"concepts/{slug}.{lang}.md is missing"
    assert f"concepts/{slug}.md" in NAV, f"concepts/{slug}.md is not in the nav of mkdocs.yml"
    # one concept, one figure module: the page's figures are drawn by figures/<slug>.py
    module = f"qkvdocs.figures.{slug.replace('-', '_')}"
    figures.names()
    text = (CONCEPTS / f"{slug}.en.md").read_text(encoding="utf-8")
    placed = directives.directive_args(text, "figure")
    if placed:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # the PyTorch page's figures, on a NumPy-only install
            if exc.name != "torch":
                raise
            pytest.skip(f"{module} draws with PyTorch, which is not installed")
    for name in placed:
        assert figures._REGISTRY[name].__module__ == module, f"{name}: not drawn by {module}"
