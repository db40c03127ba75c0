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
placeholder paragraph; `drawings.fill_slots` and `drawings.fill_media` put the figure in after
conversion.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from . import LANGS, blocks, checks, glossary, nav_concepts
from .drawings import figure_parts

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<name>[a-z][a-z-]*)(?::\s*(?P<arg>[^\]]*?))?\s*\]\]\s*$"
)
NEEDS_ARG = ("code", "figure", "check", "api")
SLOT = "qkvslot{:04d}x"  # a figure's placeholder paragraph (drawings.SLOT_HTML finds it)
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

ROOT = Path(__file__).resolve().parents[3]
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
    parent, _, name = dotted.rpartition(".")
    return getattr(pkgutil.resolve_name(parent), name)


def _names_used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


@cache
def _module_parts(module_name: str):
    """Top-level imports and definitions of a module, its source split once:
    (imports, {name: (order, source lines with decorators, node)})."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    lines = source.splitlines(keepends=True)
    package = module.__package__ or module_name.rpartition(".")[0]
    imports: list[ast.stmt] = []
    defs: dict[str, tuple[int, str, ast.stmt]] = {}
    for order, node in enumerate(ast.parse(source).body):
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        segment = "".join(lines[start - 1 : node.end_lineno]).rstrip()
        if isinstance(node, ast.Import):
            imports.append(node)
        elif isinstance(node, ast.ImportFrom):  # `from .softmax import x`: `from qkv.numpy.softmax`
            module = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            imports.append(ast.ImportFrom(module=module, names=node.names, level=0))
        elif isinstance(node, DEFS):
            defs[node.name] = (order, segment, node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                # `PAD, BOS = ...` defines each name of the tuple
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for name in names:
                    if isinstance(name, ast.Name) and name.id != "__all__":
                        defs[name.id] = (order, segment, node)
    return imports, defs


def shorten_docstrings(code: str) -> str:
    """Keep only the summary line of every docstring in `code` (the API pages show them in full).

    The page then shows the implementation itself; the code still runs as pasted.
    """
    lines = code.splitlines(keepends=True)
    documented = [n for n in ast.walk(ast.parse(code)) if isinstance(n, DEFS) and n.body]
    quote = '"' * 3
    for node in sorted(documented, key=lambda n: n.lineno, reverse=True):
        doc = node.body[0]
        if ast.get_docstring(node, clean=False) is None:
            continue
        summary = doc.value.value.strip().split("\n\n")[0]
        summary = " ".join(line.strip() for line in summary.splitlines())
        summary = summary.replace(quote, "'''").rstrip('"\\')
        indent = re.match(r"\s*", lines[doc.lineno - 1]).group(0)
        prefix = "r" if "\\" in summary else ""
        lines[doc.lineno - 1 : doc.end_lineno] = [f"{indent}{prefix}{quote}{summary}{quote}\n"]
    return "".join(lines)


@cache
def source_block(dotted: str) -> str:
    """Source of the object at `dotted`, preceded by what it needs from its module to run as pasted.

    The module's imports that the object uses (relative imports made absolute) come first, then any
    module-level helper or constant it refers to (recursively), then the object itself.
    """
    obj = inspect.unwrap(_resolve(dotted))
    module_name = getattr(obj, "__module__", None)
    if not module_name:
        raise DirectiveError(f"{dotted!r} has no defining module")
    try:
        own = textwrap.dedent(inspect.getsource(obj))
        own = own[own.index("def ") :] if own.startswith("@claim(") else own  # registered once
    except (OSError, TypeError) as exc:
        raise DirectiveError(f"cannot read the source of {dotted!r}: {exc}") from exc
    imports, defs = _module_parts(module_name)

    # helpers and constants the object refers to, found transitively
    needed: dict[str, tuple[int, str]] = {}
    used = _names_used(ast.parse(own))
    queue = [name for name in used if name in defs and name != obj.__name__]
    while queue:
        name = queue.pop()
        if name in needed:
            continue
        order, segment, node = defs[name]
        needed[name] = (order, segment)
        more = _names_used(node)
        used |= more
        queue.extend(n for n in more if n in defs and n not in needed and n != obj.__name__)

    kept: list[str] = []
    for node in imports:
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        aliases = [a for a in node.names if future or (a.asname or a.name).split(".")[0] in used]
        if aliases:
            node = copy.copy(node)
            node.names = aliases
            kept.append(ast.unparse(node))
    parts = ["\n".join(kept)] if kept else []
    parts += [segment for _, segment in sorted(set(needed.values()))]  # a tuple assignment once
    parts.append(shorten_docstrings(own).rstrip())
    return "\n\n\n".join(parts) + "\n"


def _source_path(dotted: str) -> str:
    """Repository path of the file defining `dotted`, e.g. `reference/qkv/numpy/softmax.py`."""
    path = Path(inspect.getsourcefile(inspect.unwrap(_resolve(dotted))) or "").resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def _is_check(node: ast.stmt) -> bool:
    """`check_x(...)` or `_checks.x(...)` as a statement: validation, not math."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    return ast.unparse(node.value.func).startswith(("check_", "_checks."))


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


def directive_args(markdown: str, name: str) -> list[str]:
    """Arguments of every `[[name: ARG]]` line of a page, outside code fences, in order."""
    lines = (line for _, line, kind in blocks(markdown) if kind in ("text", "math"))
    return [
        m["arg"].strip()
        for m in map(DIRECTIVE.match, lines)
        if m and m["name"] == name and m["arg"]
    ]


# --------------------------------------------------------------------------------------------
# the API reference


def api_markdown(package: str) -> str:
    """`::: module` for each public submodule of a backend (`qkv.numpy.softmax`, ...), found by
    pkgutil, in the order the concepts are taught: by the first page of the nav whose
    `[[code: ...]]` shows one of its functions; modules no page shows come last."""
    pkg = importlib.import_module(package)
    found = [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.name[0] != "_"]
    if not found:
        raise DirectiveError(f"{package} has no concept module")
    order: list[str] = []
    for slug in nav_concepts():
        page = (ROOT / "docs" / "concepts" / f"{slug}.en.md").read_text("utf-8")
        for arg in directive_args(page, "code"):
            dotted = arg if "." in arg else f"{package}.{arg}"
            if dotted.startswith(f"{package}."):
                order.append(inspect.unwrap(_resolve(dotted)).__module__)
    return "\n\n".join(f"::: {name}" for name in sorted(found, key=[*order, *found].index))


# --------------------------------------------------------------------------------------------
# the expansion


def expand(markdown: str, lang: str, page: str = "<page>") -> Expansion:
    """Replace every directive line of `markdown` (a page in `lang`); DirectiveError on failure."""
    if lang not in LANGS:
        raise DirectiveError(f"{page}: unknown page language {lang!r}")
    out: list[str] = []
    expansion = Expansion("")

    def figure(name: str) -> str:
        shell, drawing = figure_parts(name, lang, len(expansion.slots))
        expansion.slots.append(shell)
        expansion.media.append(drawing)
        return SLOT.format(len(expansion.slots) - 1)

    handlers = {
        "code": lambda arg: code_markdown(arg, lang),
        "figure": figure,
        "check": lambda arg: checks.render_check(arg, lang),
        "claims-table": lambda arg: checks.render_table(lang),
        "api": api_markdown,
        "glossary": lambda arg: glossary.table_markdown(lang),
    }
    fences = opened = 0
    for lineno, line, kind in blocks(markdown):
        if kind == "fence":
            fences, opened = fences + 1, lineno
        match = DIRECTIVE.match(line) if kind in ("text", "math") else None
        if match is None:
            prose = re.sub(r"`+[^`]*`+", "", line) if kind in ("text", "math") else ""
            if re.search(rf"\[\[({'|'.join(handlers)})\b", prose):  # `[[code: X]]` in prose is fine
                raise DirectiveError(
                    f"{page}:{lineno}: a directive must stand alone on its line: {line.strip()!r}"
                )
            out.append(line)
            continue
        indent, name, arg = match["indent"], match["name"], (match["arg"] or "").strip()
        where = f"{page}:{lineno}: [[{name}{': ' + arg if arg else ''}]]"
        if name not in handlers:
            known = ", ".join(sorted(handlers))
            raise DirectiveError(f"{where}: unknown directive {name!r} (known: {known})")
        if name in NEEDS_ARG and not arg:
            raise DirectiveError(
                f"{where}: this directive needs an argument, e.g. [[{name}: NAME]]"
            )
        try:
            text = handlers[name](arg)
        except DirectiveError as exc:
            raise DirectiveError(f"{where}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any failure of page content must name the page
            raise DirectiveError(f"{where}: {type(exc).__name__}: {exc}") from exc
        out += ["", textwrap.indent(text.strip("\n"), indent, lambda _: True), ""]
    if fences % 2:
        raise DirectiveError(f"{page}:{opened}: a code fence is never closed")
    expansion.markdown = "\n".join(out)
    return expansion


def page_language(src_uri: str) -> str:
    """Language of a page from its file name: `x.zh.md` -> "zh", anything else -> "en"."""
    return "zh" if src_uri.endswith(".zh.md") else "en"
