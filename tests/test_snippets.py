"""Every code block of the site runs as a reader would paste it.

The repository-root conftest.py hands each ```python and ```pycon block of docs/**/*.md to Sybil.
A wrong path or a parser that matches nothing would collect zero tests without an error, so this
file counts the blocks independently (a plain scan of the fences, indented ones inside tabs
included) and checks that Sybil's parser yields exactly as many: one region per ```python
block, one per `>>>` example of a ```pycon block.

The `[[code: NAME]]` directives are expanded by the build, so Sybil never sees their blocks: they
are rendered here with qkvdocs.directives and each generated python block is executed in a fresh
namespace, as a reader who copies it from the page would run it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from collections import Counter
from pathlib import Path

import pytest
from qkvdocs import directives

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
LANGUAGES = ("python", "pycon")


def _root_conftest():
    """The root conftest.py, loaded under its own name (tests/conftest.py is `conftest`)."""
    spec = importlib.util.spec_from_file_location("qkv_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def markdown_files() -> list[Path]:
    """The files Sybil is configured to read: docs/**/*.md (conftest: path ./docs, *.md)."""
    return sorted(p for p in DOCS.rglob("*.md") if "__pycache__" not in p.parts)


def fenced_blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, code, line) of every top-level fenced block (an open fence's content is opaque).

    Indented fences (inside tabs, admonitions, list items) count; the indentation of the opening
    fence is removed from the code.
    """
    blocks = []
    lines = text.split("\n")
    open_fence: tuple[str, str, str, int] | None = None  # (indent, fence, language, line)
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if open_fence is None:
            if match:
                info = match.group("info").strip()
                words = re.split(r"[\s{]+", info) if info else [""]
                language = words[0].lstrip(".")
                open_fence = (match.group("indent"), match.group("fence"), language, number)
                body = []
            continue
        indent, fence, language, start = open_fence
        if (
            match
            and match.group("fence")[0] == fence[0]
            and len(match.group("fence")) >= len(fence)
            and not match.group("info").strip()
        ):
            code = "\n".join(b[len(indent) :] if b.startswith(indent) else b.lstrip() for b in body)
            blocks.append((language, code, start))
            open_fence = None
        else:
            body.append(line)
    return blocks


def expected_regions(path: Path) -> int:
    """Regions Sybil must yield for a file: 1 per python script block, 1 per `>>>` prompt."""
    count = 0
    for language, code, _ in fenced_blocks(path.read_text(encoding="utf-8")):
        if language not in LANGUAGES:
            continue
        if language == "pycon" or code.lstrip().startswith(">>>"):
            count += len(re.findall(r"(?m)^[ \t]*>>>( |$)", code))
        else:
            count += 1
    return count


def sybil_regions(path: Path) -> int:
    from sybil import Document

    parser = _root_conftest().FreshBlockParser()
    document = Document.parse(str(path), parser)
    return len(list(document))


def test_fence_scanner_sees_indented_and_nested_blocks():
    text = (
        "```python\nx = 1\n```\n\n"
        '=== "NumPy"\n\n    ```pycon\n    >>> 1 + 1\n    2\n    >>> 3\n    3\n    ```\n\n'
        "````markdown\n```python\nnot a block of the page\n```\n````\n"
    )
    blocks = fenced_blocks(text)
    assert [(lang, line) for lang, _, line in blocks] == [
        ("python", 1),
        ("pycon", 7),
        ("markdown", 14),
    ]
    assert blocks[1][1] == ">>> 1 + 1\n2\n>>> 3\n3"


def test_sybil_collects_every_block_of_the_docs():
    """The independent count and Sybil's parser agree, file by file, and the count is not zero."""
    files = markdown_files()
    assert files, f"no Markdown page under {DOCS}"
    expected = Counter({str(p.relative_to(ROOT)): expected_regions(p) for p in files})
    collected = Counter({str(p.relative_to(ROOT)): sybil_regions(p) for p in files})
    blocks = sum(
        1
        for p in files
        for language, _, _ in fenced_blocks(p.read_text(encoding="utf-8"))
        if language in LANGUAGES
    )
    print(
        f"\n{blocks} python/pycon blocks, {sum(expected.values())} Sybil examples "
        f"in {len(files)} files"
    )
    assert sum(expected.values()) > 0, (
        "the docs contain no python/pycon block: nothing would be tested"
    )
    differences = [
        f"{name}: {expected[name]} expected, Sybil's parser yields {collected[name]}"
        for name in sorted(set(expected) | set(collected))
        if expected[name] != collected[name]
    ]
    assert not differences, "\n".join(differences)


def test_conftest_points_sybil_at_the_docs():
    """The Sybil instance of conftest.py reads docs/ and *.md (a wrong path collects nothing)."""
    text = (ROOT / "conftest.py").read_text(encoding="utf-8")
    assert re.search(r"""path\s*=\s*["'](\./)?docs["']""", text), "Sybil must read ./docs"
    assert "*.md" in text
    assert "docs" in _pytest_testpaths(), (
        "pytest's testpaths must include docs (else Sybil never runs)"
    )


def _pytest_testpaths() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"(?m)^testpaths\s*=\s*\[([^\]]*)\]", text)
    return re.findall(r"[\"']([^\"']+)[\"']", match.group(1)) if match else []


# --------------------------------------------------------------------------------------------
# blocks generated by [[code: NAME]]

CODE_DIRECTIVE = re.compile(r"^[ \t]*\[\[code:\s*(?P<arg>[\w.]+)\s*\]\][ \t]*$")


def code_directives() -> dict[str, list[str]]:
    """{directive argument: [pages using it]} over every page, outside code fences."""
    found: dict[str, list[str]] = {}
    for path in markdown_files():
        if path.relative_to(DOCS).parts[0].startswith("_"):
            continue
        in_fence: str | None = None
        for line in path.read_text(encoding="utf-8").split("\n"):
            fence = FENCE.match(line)
            if in_fence is not None:
                if (
                    fence
                    and fence.group("fence").startswith(in_fence)
                    and not fence.group("info").strip()
                ):
                    in_fence = None
                continue
            if fence:
                in_fence = fence.group("fence")
                continue
            match = CODE_DIRECTIVE.match(line)
            if match:
                found.setdefault(match.group("arg"), []).append(str(path.relative_to(ROOT)))
    return found


def generated_blocks() -> list[tuple[str, str, str]]:
    """(id, pages, dotted name) of every python block that the [[code: ...]] directives put on the
    site: `[[code: NAME]]` shows qkv.numpy.NAME and qkv.torch.NAME, `[[code: a.b]]` shows a.b."""
    out = []
    for arg, pages in sorted(code_directives().items()):
        where = ", ".join(sorted(set(pages)))
        if "." in arg:
            out.append((arg, where, arg))
        else:
            out += [(f"{arg}[{b}]", where, f"qkv.{b}.{arg}") for b in ("numpy", "torch")]
    return out


_GENERATED = generated_blocks()


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_pages_use_code_directives():
    assert _GENERATED, "no [[code: ...]] directive on any page: nothing of the reference is shown"
    print(
        f"\n{len(_GENERATED)} python blocks generated by {len(code_directives())} code directives"
    )


@pytest.mark.parametrize(("name", "pages", "dotted"), _GENERATED, ids=[g[0] for g in _GENERATED])
def test_generated_code_block_runs_as_pasted(name, pages, dotted):
    if dotted.startswith("qkv.torch."):
        pytest.importorskip("torch", reason="PyTorch is not installed: the PyTorch tab cannot run")
    code = directives.source_block(dotted)
    if _has_torch():
        # the block the page shows is exactly this source (the tabs need both backends importable)
        markdown = directives.code_markdown(name.split("[")[0])
        shown = [c for language, c, _ in fenced_blocks(markdown) if language == "python"]
        assert code.rstrip() in [c.rstrip() for c in shown], f"{name}: page block differs"
    # a fresh module, registered like the __main__ of a script the reader saved the block into
    module = types.ModuleType("qkv_pasted_block")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, f"<{name} as shown on {pages}>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    namespace = module.__dict__
    target = name.split("[")[0].rsplit(".", 1)[-1]
    assert target in namespace, f"{name}: the block on {pages} does not define {target}"
