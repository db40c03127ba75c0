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
import hashlib
import html
import importlib
import importlib.util
import inspect
import json
import logging
import multiprocessing
import os
import re
import shutil
import textwrap
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from . import figures

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<name>[a-z][a-z-]*)(?::\s*(?P<arg>[^\]]*?))?\s*\]\]\s*$"
)
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
SLOT = "qkvslot{:04d}x"
SLOT_HTML = re.compile(r"(?:<p>)?qkvslot(\d{4})x(?:</p>)?")

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


@cache
def _module_parts(module_name: str):
    """Top-level imports and definitions of a module: (imports, {name: (order, source, node)})."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
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
                ast.get_source_segment(source, node, padded=False) or "",
                node,
            )
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                # `PAD, BOS = ...` defines each name of the tuple
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for name in names:
                    if isinstance(name, ast.Name) and name.id != "__all__":
                        segment = ast.get_source_segment(source, node) or ""
                        defs[name.id] = (order, segment, node)
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
    obj = inspect.unwrap(_resolve(dotted))
    path = Path(inspect.getsourcefile(obj) or "").resolve()
    top = Path(importlib.import_module(dotted.split(".")[0]).__file__).resolve().parents[1]
    try:
        return f"{top.name}/{path.relative_to(top).as_posix()}"
    except ValueError:
        return path.name


def _fence(code: str, title: str) -> str:
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f'{ticks}python title="{title}"\n{code.rstrip()}\n{ticks}'


def code_markdown(arg: str) -> str:
    """Markdown for `[[code: arg]]`: tabs for a bare name, one block for a dotted path."""
    if "." in arg:
        return _fence(source_block(arg), _source_path(arg))
    tabs = []
    for backend, label in TAB_LABELS.items():
        dotted = f"qkv.{backend}.{arg}"
        body = _fence(source_block(dotted), _source_path(dotted))
        tabs.append(f'=== "{label}"\n\n' + textwrap.indent(body, "    "))
    return "\n\n".join(tabs)


# --------------------------------------------------------------------------------------------
# figures
#
# A figure reaches the page in two steps. The Markdown gets a placeholder paragraph; after
# conversion (`fill_slots`, on_page_content) it becomes `<figure>` with the caption and, for an SVG,
# a comment where the drawing goes; the SVG itself is put in the final HTML (`fill_media`,
# on_post_page). So the search index gets the caption but never parses the drawing's paths, and
# nothing else (autorefs, the glossary hover) has to scan them.
#
# Drawings are cached on disk (.cache/figures/<fingerprint>/), keyed by everything a figure can
# depend on: the sources of qkv and qkvdocs, docs/_data, benchmarks/results and the versions of
# matplotlib, numpy and torch. QKV_FIGURE_CACHE=0 turns the cache off. Figures missing from the
# cache are drawn by worker processes while the build goes on (`start_prerender`).

ROOT = Path(__file__).resolve().parents[3]
FIGURE_CACHE = ROOT / ".cache" / "figures"
FINGERPRINT_INPUTS = (
    ("reference/qkv", "*.py"),
    ("reference/qkv/numbers", "*.npz"),  # the trained translator's checkpoint
    ("reference/qkv/numbers", "*.json"),  # its training curves and experiments
    ("docs/_tools/qkvdocs", "*.py"),
    ("docs/_data", "*"),
    ("benchmarks/results", "*"),
)
MEDIA = "<!--qkvmedia{:04d}-->"
MEDIA_HTML = re.compile(r"<!--qkvmedia(\d{4})-->")


@cache
def _fingerprint() -> str:
    digest = hashlib.sha256()
    for folder, pattern in FINGERPRINT_INPUTS:
        base = ROOT / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    for package in ("matplotlib", "numpy", "torch"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def _render_collect(name: str, lang: str) -> tuple[figures.Figure, list[str]]:
    """`figures.render`, returning the Python warnings raised while drawing as messages (the
    caller reports them as build warnings, so strict mode fails and names the figure)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = figures.render(name, lang)
    messages = [
        f"figure {name!r} ({lang}): {w.category.__name__}: {w.message} "
        f"({Path(w.filename).name}:{w.lineno})"
        for w in caught
    ]
    return fig, messages


def _cache_enabled() -> bool:
    return os.environ.get("QKV_FIGURE_CACHE") != "0"


def _cache_path(name: str, lang: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return FIGURE_CACHE / _fingerprint() / f"{safe}.{lang}.json"


def _cache_load(name: str, lang: str) -> figures.Figure | None:
    path = _cache_path(name, lang)
    if not _cache_enabled() or not path.is_file():
        return None
    try:
        return figures.Figure(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None  # a damaged entry: draw again


def _cache_store(name: str, lang: str, fig: figures.Figure) -> None:
    if not _cache_enabled():
        return
    path = _cache_path(name, lang)
    if not path.parent.is_dir():
        if FIGURE_CACHE.is_dir():  # drawings of older sources are useless now
            for old in FIGURE_CACHE.iterdir():
                if old.name != path.parent.name:
                    shutil.rmtree(old, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(fig), ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _draw(name: str, lang: str) -> tuple[dict, list[str]]:
    """Draw one figure (in a worker process or here) and cache it if it drew without warnings."""
    fig, messages = _render_collect(name, lang)
    if not messages:  # a figure that warned is drawn again next time, so the warning is not lost
        _cache_store(name, lang, fig)
    return asdict(fig), messages


_PENDING: dict[tuple[str, str], Future] = {}


def render_figure(name: str, lang: str) -> figures.Figure:
    """The figure `name` in `lang`: drawn by a worker (see `start_prerender`), read from the disk
    cache when nothing it depends on has changed, or drawn here."""
    future = _PENDING.get((name, lang))
    if future is not None:
        data, messages = future.result()
    else:
        cached = _cache_load(name, lang)
        if cached is not None:
            return cached
        data, messages = _draw(name, lang)
    for message in messages:
        _log.warning(message)
    return figures.Figure(**data)


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


def start_prerender(docs_dir: Path, max_workers: int | None = None) -> ProcessPoolExecutor | None:
    """Draw every figure the pages place, and is not cached yet, in worker processes while the
    build goes on (matplotlib is most of a cold build). Returns the pool, or None when there is
    nothing to draw, a single CPU, or no `fork` on this platform (then figures are drawn in turn).
    The workers are forked in on_config, before the build has imported matplotlib or torch or
    started any thread.
    """
    jobs: list[tuple[str, str]] = []
    for lang in ("en", "zh"):
        for page in sorted(docs_dir.rglob(f"*.{lang}.md")):
            if page.relative_to(docs_dir).parts[0].startswith("_"):
                continue
            for name in directive_args(page.read_text(encoding="utf-8"), "figure"):
                if (name, lang) not in jobs and _cache_load(name, lang) is None:
                    jobs.append((name, lang))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    # one CPU stays with the build itself; one worker per other CPU, up to 4
    workers = min(max_workers or cpus - 1, cpus - 1, 4, len(jobs))
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    for job in jobs:
        _PENDING[job] = pool.submit(_draw, *job)
    return pool


def stop_prerender(pool: ProcessPoolExecutor | None) -> None:
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
    _PENDING.clear()


def figure_parts(name: str, lang: str, index: int) -> tuple[str, str]:
    """(`<figure>` with the caption and a media placeholder, the media HTML) for slot `index`."""
    fig = render_figure(name, lang)
    # a caption may write W<sup>Q</sup> and ε<sub>i</sub>; the alt text reads "W Q" and "ε i"
    alt = html.escape(re.sub(r"</?su[bp]>", " ", fig.alt).replace("  ", " "), quote=True)
    body = fig.svg.strip()
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    caption = re.sub(r"&lt;(/?su[bp])&gt;", r"<\1>", html.escape(fig.caption, quote=False))
    if fig.data is not None:  # interactive: the still, and the data docs/javascripts reads
        data = json.dumps(fig.data, ensure_ascii=False, separators=(",", ":"))
        data = data.replace("</", "<\\/")  # no "</script>" inside the script element
        media = (
            f'<div class="qkv-figure__media qkv-interactive" role="group" aria-label="{alt}">{body}'
            f'<script type="application/json">{data}</script></div>'
        )
        inner = MEDIA.format(index)
    elif body.startswith("<svg"):
        head, _, rest = body.partition(">")
        head = re.sub(r'\s(?:role|aria-label)="[^"]*"', "", head)
        media = f'<div class="qkv-figure__media">{head} role="img" aria-label="{alt}">{rest}</div>'
        inner = MEDIA.format(index)
    else:  # an HTML table or other markup: keep its own semantics (and its text searchable)
        media = ""
        inner = f'<div class="qkv-figure__media" aria-label="{alt}">{body}</div>'
    shell = (
        f'<figure class="qkv-figure" id="figure-{slug}">{inner}'
        f"<figcaption>{caption}</figcaption></figure>"
    )
    return shell, media


def figure_html(name: str, lang: str) -> str:
    """The complete `<figure>` (caption, alt text and drawing) in one piece."""
    shell, media = figure_parts(name, lang, 0)
    return fill_media(shell, [media])


def fill_slots(page_html: str, slots: list[str]) -> str:
    """Put the `<figure>` of each placeholder paragraph in (after Markdown conversion)."""
    if not slots:
        return page_html
    return SLOT_HTML.sub(lambda match: slots[int(match.group(1))], page_html)


def fill_media(page_html: str, media: list[str]) -> str:
    """Put each drawing into its `<figure>` (in the final page)."""
    if not media:
        return page_html
    return MEDIA_HTML.sub(lambda match: media[int(match.group(1))], page_html)


# --------------------------------------------------------------------------------------------
# checks and the API reference


def _checks():
    try:
        return importlib.import_module("qkvdocs.checks")
    except ModuleNotFoundError as exc:
        if exc.name == "qkvdocs.checks":
            raise DirectiveError(
                "qkvdocs.checks does not exist yet (the claims helper writes it)"
            ) from exc
        raise


def _missing_checks_allowed() -> bool:
    """QKV_ALLOW_MISSING_CHECKS=1 lets a draft build go on while qkvdocs.checks is being written."""
    return (
        os.environ.get("QKV_ALLOW_MISSING_CHECKS") == "1"
        and importlib.util.find_spec("qkvdocs.checks") is None
    )


def check_markdown(arg: str, lang: str) -> str:
    key: int | str = int(arg) if arg.isdigit() else arg
    if _missing_checks_allowed():
        note = "qkvdocs.checks is missing (QKV_ALLOW_MISSING_CHECKS=1)."
        return f'!!! warning "check {key}"\n\n    {note}'
    return str(_checks().render_check(key, lang))


def claims_table_markdown(lang: str) -> str:
    if _missing_checks_allowed():
        return '!!! warning "claims"\n\n    qkvdocs.checks is missing (QKV_ALLOW_MISSING_CHECKS=1).'
    return str(_checks().render_table(lang))


def api_markdown(arg: str) -> str:
    """`::: qkv.<backend>.<module>` for each concept module with public names, in reading order."""
    package = importlib.import_module(arg)
    modules = getattr(package, "_MODULES", None)
    if modules is None:
        raise DirectiveError(f"{arg} has no _MODULES tuple listing its concept modules")
    blocks = []
    for module in modules:
        if not getattr(module, "__all__", None):
            continue  # a concept module not written yet
        blocks.append(f"::: {module.__name__}")
    if not blocks:
        return "!!! note\n\n    (no public function yet)"
    return "\n\n".join(blocks)


def glossary_markdown(lang: str) -> str:
    from . import glossary

    return glossary.table_markdown(lang)


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
        "code": code_markdown,
        "check": lambda arg: check_markdown(arg, lang),
        "claims-table": lambda arg: claims_table_markdown(lang),
        "api": api_markdown,
        "glossary": lambda arg: glossary_markdown(lang),
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
