"""Figures on the pages: drawn once, cached by their inputs, placed after Markdown conversion.

A figure reaches the page in two steps. The Markdown gets a placeholder paragraph; after
conversion (`fill_slots`, on_page_content) it becomes `<figure>` with the caption and, for an SVG,
a comment where the drawing goes; the SVG itself is put in the final HTML (`fill_media`,
on_post_page). So the search index gets the caption but never parses the drawing's paths, and
nothing else (autorefs, the glossary hover) has to scan them.

Drawings are cached on disk (.cache/figures/<fingerprint>/), keyed by everything a figure can
depend on: the sources of qkv and qkvdocs, docs/_data, benchmarks/results and the versions of
matplotlib, numpy and torch. QKV_FIGURE_CACHE=0 turns the cache off. Figures missing from the
cache are drawn by worker processes while the build goes on (`start_prerender`).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import multiprocessing
import os
import re
import shutil
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from functools import cache
from importlib import metadata
from pathlib import Path

from . import figures

ROOT = Path(__file__).resolve().parents[3]
_log = logging.getLogger("mkdocs.plugins.qkvdocs")

SLOT_HTML = re.compile(r"(?:<p>)?qkvslot(\d{4})x(?:</p>)?")  # directives.SLOT, converted
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


def cache_path(name: str, suffix: str) -> Path | None:
    """Where `name` is cached for the current sources (None when QKV_FIGURE_CACHE=0)."""
    if os.environ.get("QKV_FIGURE_CACHE") == "0":
        return None
    folder = FIGURE_CACHE / _fingerprint()
    if not folder.is_dir() and FIGURE_CACHE.is_dir():  # entries of older sources are useless now
        for old in FIGURE_CACHE.iterdir():
            shutil.rmtree(old, ignore_errors=True)
    return folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.{suffix}"


def _cache_load(name: str, lang: str) -> figures.Figure | None:
    path = cache_path(name, f"{lang}.json")
    if path is None or not path.is_file():
        return None
    try:
        return figures.Figure(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None  # a damaged entry: draw again


def _cache_store(name: str, lang: str, fig: figures.Figure) -> None:
    path = cache_path(name, f"{lang}.json")
    if path is not None:
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
_DRAWN_HERE: dict[tuple[str, str], tuple[dict, list[str]]] = {}


def _from_the_queue(job: tuple[str, str]) -> tuple[dict, list[str]]:
    """The result of a queued figure. A job no worker has started is drawn here; while a worker
    is still drawing `job`, this process draws queued figures from the far end of the queue (the
    Chinese pages', needed last) instead of waiting idle."""
    future = _PENDING[job]
    if job not in _DRAWN_HERE and future.cancel():
        _DRAWN_HERE[job] = _draw(*job)
    while job not in _DRAWN_HERE and not future.done():
        spare = next(
            (j for j in reversed(_PENDING) if j not in _DRAWN_HERE and _PENDING[j].cancel()), None
        )
        if spare is None:
            break
        _DRAWN_HERE[spare] = _draw(*spare)
    return _DRAWN_HERE[job] if job in _DRAWN_HERE else future.result()


def render_figure(name: str, lang: str) -> figures.Figure:
    """The figure `name` in `lang`: drawn by a worker (see `start_prerender`), read from the disk
    cache when nothing it depends on has changed, or drawn here."""
    if (name, lang) in _PENDING:
        data, messages = _from_the_queue((name, lang))
    else:
        cached = _cache_load(name, lang)
        if cached is not None:
            return cached
        data, messages = _draw(name, lang)
    for message in messages:
        _log.warning(message)
    return figures.Figure(**data)


def start_prerender(docs_dir: Path, max_workers: int | None = None) -> ProcessPoolExecutor | None:
    """Draw every figure the pages place, and is not cached yet, in worker processes while the
    build goes on (matplotlib is most of a cold build). Returns the pool, or None when there is
    nothing to draw, a single CPU, or no `fork` on this platform (then figures are drawn in turn).
    The workers are forked in on_config, before the build has imported matplotlib or torch or
    started any thread.
    """
    from .directives import directive_args as _directive_args

    jobs: list[tuple[str, str]] = []
    for lang in ("en", "zh"):
        for page in sorted(docs_dir.rglob(f"*.{lang}.md")):
            if page.relative_to(docs_dir).parts[0].startswith("_"):
                continue
            for name in _directive_args(page.read_text(encoding="utf-8"), "figure"):
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
    _DRAWN_HERE.clear()


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
