"""Page directives: lines such as `[[code: softmax]]` that the build replaces with content.

Each directive stands alone on its line (indentation allowed, e.g. inside an admonition or a tab):

    [[code: NAME]]          NumPy / PyTorch tabs with the source of qkv.numpy.NAME, qkv.torch.NAME
    [[code: dotted.path]]   one python block with the source of that object
    [[figure: NAME]]        a registered figure (inline SVG, caption, alt text) in the page language
    [[check: KEY]]          qkvdocs.checks.render_check(KEY, lang): the claim, its measured number
    [[claims-table]]        qkvdocs.checks.render_table(lang)
    [[api: qkv.numpy]]      a backend's API reference: one `::: module` block per concept module
    [[glossary]]            the glossary table (docs/_data/glossary.yml) in the page language

`expand(markdown, lang, page)` is a pure function (used by the MkDocs hook and by the tests). Lines
inside fenced code blocks are left alone, so a page can show the directive syntax itself.
Figures are not inlined into the Markdown (SVG must not meet the Markdown parser): they become a
placeholder paragraph; `fill_slots` and `fill_media` put the figure in after conversion (see below).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import pkgutil
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from . import checks, glossary
from .drawings import (  # noqa: F401 - the hook calls them from here
    cache_path,
    figure_parts,
    fill_media,
    fill_slots,
    start_prerender,
    stop_prerender,
)

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<name>[a-z][a-z-]*)(?::\s*(?P<arg>[^\]]*?))?\s*\]\]\s*$"
)
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
SLOT = "qkvslot{:04d}x"  # a figure's placeholder paragraph (drawings.SLOT_HTML finds it)

ROOT = Path(__file__).resolve().parents[3]
_log = logging.getLogger("mkdocs.plugins.qkvdocs")
TAB_LABELS = {"numpy": "NumPy", "torch": "PyTorch"}


class DirectiveError(Exception):
    """A directive that cannot be expanded; the message names the page, line and directive."""


@dataclass
class Expansion:
    """Result of expanding a page: the new Markdown and the HTML waiting for its placeholders."""

    markdown: str
    slots: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# source of reference objects


def _resolve(dotted: str):
    """The object at `dotted`, preferring attributes over submodules: `qkv.numpy.softmax` is the
    function that `qkv.numpy` re-exports, not the module `qkv/numpy/softmax.py`."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        if inspect.ismodule(obj):
            try:
                obj = importlib.import_module(".".join(parts[: index + 1]))
                continue
            except ModuleNotFoundError:
                pass
        raise AttributeError(f"{'.'.join(parts[:index])} has no attribute {part!r}")
    return obj


def _absolute(node: ast.ImportFrom, package: str) -> ast.ImportFrom:
    """In `qkv.numpy`: `from .softmax import softmax` -> `from qkv.numpy.softmax import softmax`."""
    if not node.level:
        return node
    base = package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    module = ".".join(base + ([node.module] if node.module else []))
    return ast.ImportFrom(module=module, names=node.names, level=0)


def _names_used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _segment(lines: list[bytes], node: ast.stmt) -> str:
    """`ast.get_source_segment` for a module split once (it splits the whole source on every
    call); offsets are UTF-8 byte offsets, as in `ast`."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    if first == last:
        return lines[first][node.col_offset : node.end_col_offset].decode()
    middle = lines[first + 1 : last]
    parts = [lines[first][node.col_offset :], *middle, lines[last][: node.end_col_offset]]
    return b"\n".join(parts).decode()


@cache
def _module_parts(module_name: str):
    """Top-level imports and definitions of a module: (imports, {name: (order, source, node)})."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    lines = [line.encode() for line in source.split("\n")]
    package = module.__package__ or module_name.rpartition(".")[0]
    imports: list[ast.stmt] = []
    defs: dict[str, tuple[int, str, ast.stmt]] = {}
    for order, node in enumerate(tree.body):
        if isinstance(node, ast.Import):
            imports.append(node)
        elif isinstance(node, ast.ImportFrom):
            imports.append(_absolute(node, package))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = (
                order,
                _segment(lines, node),
                node,
            )
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                # `PAD, BOS = ...` defines each name of the tuple
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for name in names:
                    if isinstance(name, ast.Name) and name.id != "__all__":
                        defs[name.id] = (order, _segment(lines, node), node)
    return imports, defs


def shorten_docstrings(code: str) -> str:
    """Keep only the summary line of every docstring in `code` (the API pages show them in full).

    The page then shows the implementation itself; the code still runs as pasted.
    """
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    docs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docs.append(first)
    quote = '"' * 3
    for doc in sorted(docs, key=lambda n: n.lineno, reverse=True):
        summary = doc.value.value.strip().split("\n\n")[0]
        summary = " ".join(line.strip() for line in summary.splitlines())
        summary = summary.replace(quote, "'''").rstrip('"\\')
        indent = re.match(r"\s*", lines[doc.lineno - 1]).group(0)
        prefix = "r" if "\\" in summary else ""
        lines[doc.lineno - 1 : doc.end_lineno] = [f"{indent}{prefix}{quote}{summary}{quote}\n"]
    return "".join(lines)


def _with_decorators(node: ast.stmt, source_lines: list[str]) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(source_lines[start - 1 : node.end_lineno])


@cache
def source_block(dotted: str) -> str:
    """Source of the object at `dotted`, preceded by what it needs from its module to run as pasted.

    The module's imports that the object uses (relative imports made absolute) come first, then any
    module-level helper or constant it refers to (recursively), then the object itself.
    """
    obj = _resolve(dotted)
    obj = inspect.unwrap(obj)
    module_name = getattr(obj, "__module__", None)
    if not module_name:
        raise DirectiveError(f"{dotted!r} has no defining module")
    try:
        own = textwrap.dedent(inspect.getsource(obj))
        own = own[own.index("def ") :] if own.startswith("@claim(") else own  # registered once
    except (OSError, TypeError) as exc:
        raise DirectiveError(f"cannot read the source of {dotted!r}: {exc}") from exc
    imports, defs = _module_parts(module_name)
    module_source = inspect.getsource(importlib.import_module(module_name))
    lines = module_source.splitlines(keepends=True)

    # helpers and constants the object refers to, found transitively
    needed: dict[str, tuple[int, str]] = {}
    used = _names_used(ast.parse(own))
    queue = [name for name in used if name in defs and name != obj.__name__]
    while queue:
        name = queue.pop()
        if name in needed:
            continue
        order, segment, node = defs[name]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            segment = _with_decorators(node, lines)
        needed[name] = (order, segment.rstrip())
        more = _names_used(node)
        used |= more
        queue.extend(n for n in more if n in defs and n not in needed and n != obj.__name__)

    kept: list[str] = []
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            kept.append(ast.unparse(node))
            continue
        aliases = [a for a in node.names if (a.asname or a.name).split(".")[0] in used]
        if aliases:
            if isinstance(node, ast.Import):
                kept.append(ast.unparse(ast.Import(names=aliases)))
            else:
                kept.append(ast.unparse(ast.ImportFrom(module=node.module, names=aliases, level=0)))
    parts = []
    if kept:
        parts.append("\n".join(kept))
    for _, segment in sorted(set(needed.values())):  # a tuple assignment once
        parts.append(segment)
    parts.append(shorten_docstrings(own).rstrip())
    return "\n\n\n".join(parts) + "\n"


def _source_path(dotted: str) -> str:
    """Repository path of the file defining `dotted`, e.g. `reference/qkv/numpy/softmax.py`."""
    path = Path(inspect.getsourcefile(inspect.unwrap(_resolve(dotted))) or "").resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _is_check(node: ast.stmt) -> bool:
    """`check_x(...)` or `_checks.x(...)` as a statement: validation, not math."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    name = ast.unparse(node.value.func)
    return name.startswith(("check_", "_checks."))


def math_source(dotted: str) -> str:
    """The math of `dotted`: the source of its unchecked core `_name` when its module has one,
    else its own source without the docstring and the leading checks (and the names only those
    checks used). Shape and step comments stay."""
    obj = inspect.unwrap(_resolve(dotted))
    module = importlib.import_module(obj.__module__)
    core = getattr(module, f"_{obj.__name__}", None)
    code = textwrap.dedent(inspect.getsource(inspect.unwrap(core) if callable(core) else obj))
    lines = code.splitlines(keepends=True)
    node = ast.parse(code).body[0]
    body = list(getattr(node, "body", []))
    drop: list[ast.stmt] = []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        drop.append(body.pop(0))  # the docstring (the API page and the full source show it)
    last = max((i for i, n in enumerate(body) if _is_check(n)), default=-1)
    if all(_is_check(n) or isinstance(n, ast.Assign) for n in body[: last + 1]):
        used = set().union(*(_names_used(n) for n in body[last + 1 :]))
        for stmt in reversed(body[: last + 1]):
            targets = {t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)}
            if _is_check(stmt) or not targets & used:
                drop.append(stmt)
            else:
                used |= _names_used(stmt)
    for stmt in sorted(drop, key=lambda n: n.lineno, reverse=True):
        start = stmt.lineno - 1
        while start > 0 and lines[start - 1].strip().startswith("#"):
            start -= 1  # the comment that introduces a dropped check goes with it
        del lines[start : stmt.end_lineno]
    code = "".join(lines[node.lineno - 1 :])  # from the `def` line: no decorator
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", code).rstrip() + "\n"


def _fence(code: str, title: str) -> str:
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f'{ticks}python title="{title}"\n{code.rstrip()}\n{ticks}'


FULL_SOURCE = {"en": "Full source", "zh": "完整源码"}
FULL_SOURCE_HTML = re.compile(
    r'<details class="note">\s*<summary>(?:Full source|完整源码)</summary>.*?</details>', re.S
)
HELD_SOURCE = "<!--qkv-full-source-{}-->"


def hold_full_source(page_html: str) -> tuple[str, list[str]]:
    """Take the folded full sources out of a page until `put_back_full_source`: the search index
    holds the math shown above each one, and its parser never reads the long folded copies."""
    held: list[str] = []

    def hold(match: re.Match) -> str:
        held.append(match.group(0))
        return HELD_SOURCE.format(len(held) - 1)

    return FULL_SOURCE_HTML.sub(hold, page_html), held


def put_back_full_source(output: str, held: list[str]) -> str:
    for index, block in enumerate(held):
        output = output.replace(HELD_SOURCE.format(index), block, 1)
    return output


def code_markdown(arg: str, lang: str = "en") -> str:
    """Markdown for `[[code: arg]]`: the math, then the full source that runs as pasted, folded;
    in NumPy and PyTorch tabs for a bare name, alone for a dotted path."""

    def shown(dotted: str) -> str:
        title = _source_path(dotted)
        full = textwrap.indent(_fence(source_block(dotted), title), "    ")
        return f'{_fence(math_source(dotted), title)}\n\n??? note "{FULL_SOURCE[lang]}"\n\n{full}'

    if "." in arg:
        return shown(arg)
    return "\n\n".join(  # `===!` starts a tab set of its own, even right after another one
        f'==={"!" if i == 0 else ""} "{label}"\n\n'
        + textwrap.indent(shown(f"qkv.{backend}.{arg}"), "    ")
        for i, (backend, label) in enumerate(TAB_LABELS.items())
    )


# --------------------------------------------------------------------------------------------
# figures (qkvdocs.drawings)


def directive_args(markdown: str, name: str) -> list[str]:
    """Arguments of every `[[name: ARG]]` line of a page, outside code fences, in order."""
    found = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if fence is not None:
            if match and match.group("fence")[0] == fence[0]:
                if len(match.group("fence")) >= len(fence):
                    fence = None
            continue
        if match:
            fence = match.group("fence")
            continue
        directive = DIRECTIVE.match(line)
        if directive and directive.group("name") == name and directive.group("arg"):
            found.append(directive.group("arg").strip())
    return found


# --------------------------------------------------------------------------------------------
# checks and the API reference


def concept_modules(package: str) -> list[str]:
    """Every public submodule of a backend (`qkv.numpy.softmax`, ...), found by pkgutil: in the
    order of the package's `_MODULES` (the order the concepts are taught), any other after it."""
    pkg = importlib.import_module(package)
    found = [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    order = [m.__name__ for m in getattr(pkg, "_MODULES", ())]
    found = [name for name in found if not name.rpartition(".")[2].startswith("_")]
    return sorted(found, key=lambda name: (order + found).index(name))


def api_markdown(arg: str) -> str:
    """`::: qkv.<backend>.<module>` for each concept module, in reading order."""
    blocks = [f"::: {name}" for name in concept_modules(arg)]
    if not blocks:
        raise DirectiveError(f"{arg} has no concept module")
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------------------------
# the expansion


def expand(markdown: str, lang: str, page: str = "<page>") -> Expansion:
    """Replace every directive line of `markdown` (a page in `lang`); DirectiveError on failure."""
    if lang not in ("en", "zh"):
        raise DirectiveError(f"{page}: unknown page language {lang!r}")
    out: list[str] = []
    slots: list[str] = []
    media: list[str] = []
    fence: str | None = None
    handlers: dict[str, Callable[[str], str]] = {
        "code": lambda arg: code_markdown(arg, lang),
        "check": lambda arg: checks.render_check(arg, lang),
        "claims-table": lambda arg: checks.render_table(lang),
        "api": api_markdown,
        "glossary": lambda arg: glossary.table_markdown(lang),
    }
    for lineno, line in enumerate(markdown.split("\n"), start=1):
        fence_match = FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group("fence")[0] == fence[0]
                and len(fence_match.group("fence")) >= len(fence)
                and not line.strip()[len(fence_match.group("fence")) :].strip()
            ):
                fence = None
            out.append(line)
            continue
        if fence_match:
            fence = fence_match.group("fence")
            out.append(line)
            continue
        match = DIRECTIVE.match(line)
        if not match:
            prose = re.sub(r"`+[^`]*`+", "", line)  # `[[code: NAME]]` quoted in prose is fine
            if re.search(r"\[\[(code|figure|check|claims-table|api|glossary)\b", prose):
                raise DirectiveError(
                    f"{page}:{lineno}: a directive must stand alone on its line: {line.strip()!r}"
                )
            out.append(line)
            continue
        indent, name, arg = (
            match.group("indent"),
            match.group("name"),
            (match.group("arg") or "").strip(),
        )
        where = f"{page}:{lineno}: [[{name}{': ' + arg if arg else ''}]]"
        needs_arg = name in ("code", "figure", "check", "api")
        if name not in handlers and name != "figure":
            known = ", ".join(sorted([*handlers, "figure"]))
            raise DirectiveError(f"{where}: unknown directive {name!r} (known: {known})")
        if needs_arg and not arg:
            raise DirectiveError(
                f"{where}: this directive needs an argument, e.g. [[{name}: NAME]]"
            )
        try:
            if name == "figure":
                shell, drawing = figure_parts(arg, lang, len(slots))
                slots.append(shell)
                media.append(drawing)
                text = SLOT.format(len(slots) - 1)
            else:
                text = handlers[name](arg)
        except DirectiveError as exc:
            raise DirectiveError(f"{where}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any failure of page content must name the page
            raise DirectiveError(f"{where}: {type(exc).__name__}: {exc}") from exc
        out.append("")
        out.append(
            textwrap.indent(text.strip("\n"), indent, lambda _: True)
            if indent
            else text.strip("\n")
        )
        out.append("")
    if fence is not None:
        raise DirectiveError(f"{page}: a code fence {fence} is never closed")
    return Expansion("\n".join(out), slots, media)


def page_language(src_uri: str) -> str:
    """Language of a page from its file name: `x.zh.md` -> "zh", anything else -> "en"."""
    return "zh" if src_uri.endswith(".zh.md") else "en"
