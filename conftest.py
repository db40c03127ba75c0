"""Runs every ```python and ```pycon block of the site's Markdown pages as a test (Sybil).

Each block runs in a fresh namespace, as a reader who pastes that one block would run it.
Blocks inside content tabs (indented) are found too; `tests/test_snippets.py` checks that
blocks were collected.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterable

import pytest
from sybil import Document, Region, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

SNIPPET_LANGUAGES = ("python", "pycon")

try:
    import torch  # noqa: F401
except ImportError:  # the NumPy-only run (CI matrix): PyTorch doctests and blocks are skipped
    HAS_TORCH = False
else:
    HAS_TORCH = True

# reference/qkv/torch/*.py cannot even be imported without PyTorch: leave their doctests out
collect_ignore_glob = [] if HAS_TORCH else ["reference/qkv/torch/*.py"]
USES_TORCH = re.compile(
    r"^\s*(?:>>>\s*)?(?:import torch\b|from torch\b|import qkv\.torch\b|from qkv\.torch\b)", re.M
)


def _skip_without_torch(example):
    pytest.skip("PyTorch is not installed: this block uses it")


OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _fresh(evaluator):
    """Wrap an evaluator so that it starts from an empty namespace."""

    def evaluate(example):
        example.namespace.clear()
        return evaluator(example)

    return evaluate


class FreshBlockParser:
    """Parse ```python (run as a script) and ```pycon (run as a doctest) blocks, each isolated."""

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(
            language=r"[^\n]*", mapping={"language": "arguments", "source": "source"}
        )
        self.python = PythonEvaluator(())
        self.doctests = DocTestStringParser(DocTestEvaluator(OPTIONFLAGS))

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexer(document):
            words = re.split(r"[\s{]+", region.lexemes["arguments"].strip())
            language = words[0].lstrip(".") if words else ""
            if language not in SNIPPET_LANGUAGES:
                continue
            source = region.lexemes["source"]
            skip = not HAS_TORCH and USES_TORCH.search(source) is not None
            if language == "pycon" or source.lstrip().startswith(">>>"):
                first = True
                for example in self.doctests(source, document.path):
                    example.adjust(region, source)
                    if skip:
                        example.evaluator = _skip_without_torch
                    elif first:
                        example.evaluator = _fresh(example.evaluator)
                        first = False
                    yield example
            else:
                region.parsed = source
                region.evaluator = _skip_without_torch if skip else _fresh(self.python)
                yield region


pytest_collect_file = Sybil(
    parsers=[FreshBlockParser()],
    patterns=["*.md"],
    path="./docs",
).pytest()
