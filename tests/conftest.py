"""Shared fixtures and helpers for the qkv test-suite.

Fixtures (use them as test arguments):

- `backend`: a [Backend][] for each place the reference runs: "numpy" always, "torch-cpu" when
  PyTorch is installed, "torch-cuda" when a CUDA device is present (skipped with a clear reason
  otherwise, and marked `cuda`). A per-backend test takes it and runs everywhere; a NumPy-only
  install runs its NumPy case.
- `device`: "cpu" always, and "cuda" when `torch.cuda.is_available()`; the CUDA case is skipped
  with a clear reason otherwise (and marked `cuda`). Skips entirely when PyTorch is missing.
- `rng`: a seeded `numpy.random.Generator`, the same for every test (seed 0).
- `strict_warnings`: turns every warning into an error for the duration of the test.

Helpers (import them with `from conftest import DEVICES, to_numpy, to_torch, assert_close, ...`):

- `DEVICES`: the device list as `pytest.param`s, for `@pytest.mark.parametrize("device", DEVICES)`
  in tests that also use hypothesis (hypothesis refuses function-scoped fixtures).
- `HAS_CUDA`: whether a CUDA device is present.
- `lazy_import(name)`: the module `name` (e.g. "torch", "qkv.torch"), or, when PyTorch is not
  installed, a stand-in whose first use inside a test skips that test. Test modules that mix NumPy
  and PyTorch tests import PyTorch this way, so a NumPy-only install still runs their NumPy tests
  (a module-level use, in a decorator or a constant, would fail the collection loudly instead).
- `to_numpy(x)`, `to_torch(x, device="cpu", dtype=None)`: convert arrays, tensors, and
  tuples/lists/dicts/None of them, between the backends (`dtype` casts floating tensors only).
- `assert_close(actual, expected, dtype=None)`: compare NumPy arrays or torch tensors (mixed is
  fine) with the project's tolerances: float64 to 1e-12, float32 with torch's defaults, float16 and
  bfloat16 with torch's defaults for those dtypes. Raises on a mismatch (never returns a bool).
- `tolerances(dtype) -> dict(rtol=..., atol=...)`.
- `random_qkv(rng, batch, seq_q, seq_k, d_k, d_v, dtype=np.float64)`: NumPy query, key, value.

A hypothesis profile "qkv" (max_examples=30, deadline=None, derandomized, no database) is loaded by
default to keep the suite fast and reproducible; set HYPOTHESIS_PROFILE=thorough for 300 examples.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("qkv", max_examples=30, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=300, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "qkv"))


NO_TORCH = "PyTorch is not installed (it is optional): the NumPy tests still run"


class _NotInstalled:
    """Stands for a module that is not installed; using it inside a test skips that test."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith(("_", "pytest")):  # pytest's collection looks for its own markers
            raise AttributeError(attr)
        pytest.skip(f"{self._name}.{attr}: {NO_TORCH}")


def lazy_import(name: str) -> Any:
    """The module `name`, or a stand-in that skips the test using it when PyTorch is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return _NotInstalled(name)


torch = lazy_import("torch")  # the NumPy backend works without PyTorch
HAS_TORCH = not isinstance(torch, _NotInstalled)
HAS_CUDA = HAS_TORCH and torch.cuda.is_available()
if HAS_TORCH and os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist runs several processes: their PyTorch threads share the cores between them
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))

# Without PyTorch every test module is collected and its PyTorch tests skip one by one.


DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param(
        "cuda",
        id="cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(
                not HAS_CUDA,
                reason="no CUDA device: torch.cuda.is_available() "
                "is False, so the CUDA run of this test is skipped",
            ),
        ],
    ),
]

# Tolerances per dtype name: float64 tight; the others are torch.testing's defaults.
_TOLERANCES = {
    "float64": {"rtol": 1e-12, "atol": 1e-12},
    "float32": {"rtol": 1.3e-6, "atol": 1e-5},
    "float16": {"rtol": 1e-3, "atol": 1e-5},
    "bfloat16": {"rtol": 1.6e-2, "atol": 1e-5},
}


@dataclass(frozen=True)
class Backend:
    """One place the reference runs: `qkv.numpy`, or `qkv.torch` on a device.

    Attributes:
        name: "numpy" or "torch".
        device: "cpu" or "cuda".
        qkv: the package, `qkv.numpy` or `qkv.torch`.
    """

    name: str
    device: str
    qkv: ModuleType

    def asarray(self, x, dtype=None):
        """A NumPy array (or a tuple/list/dict/None of them) in this backend; floating arrays
        cast to `dtype` (a name such as "float32") when given."""
        if self.name == "numpy":
            if isinstance(x, (tuple, list)):
                return type(x)(self.asarray(item, dtype) for item in x)
            if isinstance(x, dict):
                return {n: self.asarray(item, dtype) for n, item in x.items()}
            if x is None or dtype is None or not np.issubdtype(x.dtype, np.floating):
                return x
            return x.astype(dtype)
        return to_torch(x, self.device, None if dtype is None else getattr(torch, dtype))

    def to_numpy(self, x):
        """This backend's array (or tuple/list/dict of them) as NumPy."""
        return to_numpy(x)


_BACKENDS = [
    pytest.param(("numpy", "cpu"), id="numpy"),
    pytest.param(("torch", "cpu"), id="torch-cpu"),
    pytest.param(
        ("torch", "cuda"),
        id="torch-cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(
                not HAS_CUDA,
                reason="no CUDA device: torch.cuda.is_available() "
                "is False, so the CUDA run of this test is skipped",
            ),
        ],
    ),
]


@pytest.fixture(params=_BACKENDS)
def backend(request) -> Backend:
    """qkv.numpy, qkv.torch on the CPU (skipped without PyTorch), qkv.torch on CUDA."""
    name, device = request.param
    if name == "torch" and not HAS_TORCH:
        pytest.skip(NO_TORCH)
    return Backend(name, device, importlib.import_module(f"qkv.{name}"))


@pytest.fixture(params=DEVICES)
def device(request):
    """The device a PyTorch test runs on: "cpu", and "cuda" when one is present."""
    if not HAS_TORCH:
        pytest.skip("PyTorch is not installed")
    return request.param


@pytest.fixture
def rng():
    """A seeded NumPy generator (seed 0), fresh for every test."""
    return np.random.default_rng(0)


@pytest.fixture
def strict_warnings():
    """Every warning raised inside the test becomes an error (for "no NaN, no warning" checks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(autouse=True)
def _restore_torch_default_dtype():
    """Undo a test's `torch.set_default_dtype`, so doctests that print float32 keep passing."""
    if not HAS_TORCH:
        yield
        return
    saved = torch.get_default_dtype()
    yield
    torch.set_default_dtype(saved)


def _dtype_name(x) -> str:
    return str(x.dtype).removeprefix("torch.")


def tolerances(dtype) -> dict[str, float]:
    """rtol/atol for a dtype (NumPy or torch dtype, or its name)."""
    name = str(dtype).removeprefix("torch.")
    return dict(_TOLERANCES[name])


def to_numpy(x):
    """A torch tensor (any device) to a NumPy array; arrays, None, tuples and lists pass through."""
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(item) for item in x)
    if isinstance(x, dict):
        return {name: to_numpy(item) for name, item in x.items()}
    if HAS_TORCH and isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return x


def to_torch(x, device="cpu", dtype=None):
    """A NumPy array to a torch tensor on `device` (floating ones cast to `dtype` if given).

    Tuples, lists and dicts are converted item by item; None stays None.
    """
    if isinstance(x, (tuple, list)):
        return type(x)(to_torch(item, device, dtype) for item in x)
    if isinstance(x, dict):
        return {name: to_torch(item, device, dtype) for name, item in x.items()}
    if x is None:
        return None
    if isinstance(x, (np.ndarray, np.generic)):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if dtype is not None and x.is_floating_point():
        return x.to(device=device, dtype=dtype)
    return x.to(device)


def assert_close(actual, expected, dtype=None):
    """Assert two arrays/tensors (either backend, any device) are close for `dtype`.

    `dtype` defaults to the lower-precision dtype of the two inputs. Shapes must match exactly.
    """
    if dtype is None:
        names = [_dtype_name(actual), _dtype_name(expected)]
        order = ["bfloat16", "float16", "float32", "float64"]
        known = [n for n in names if n in order]
        dtype = min(known, key=order.index) if known else "float64"
    tol = tolerances(dtype)
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    e = np.asarray(to_numpy(expected), dtype=np.float64)
    assert a.shape == e.shape, f"shape mismatch: {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=tol["rtol"], atol=tol["atol"])


def random_qkv(rng, batch=(2,), seq_q=3, seq_k=4, d_k=5, d_v=6, dtype=np.float64):
    """Random NumPy (query, key, value) with shapes (*batch, seq_q, d_k), (*batch, seq_k, d_k),
    (*batch, seq_k, d_v)."""
    batch = tuple(batch)
    query = rng.standard_normal((*batch, seq_q, d_k)).astype(dtype)
    key = rng.standard_normal((*batch, seq_k, d_k)).astype(dtype)
    value = rng.standard_normal((*batch, seq_k, d_v)).astype(dtype)
    return query, key, value


# --------------------------------------------------------------------------------------------
# the browser tests (test_browser.py, test_browser_layout.py, test_interactive.py): one site
# build, one local server and one chromium for the run; helpers in tests/browsing.py


@pytest.fixture(scope="session")
def sync_playwright():
    """Playwright's entry point, once chromium is known to be there (checked before the build)."""
    import shutil
    from pathlib import Path

    import browsing

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browsing.unavailable("playwright is not installed")
    if not (Path(browsing.CHROMIUM).is_file() or shutil.which(browsing.CHROMIUM)):
        browsing.unavailable(f"no chromium at {browsing.CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="session")
def built_site(sync_playwright, tmp_path_factory):
    """The site, built once per run (tests/sitebuild.py); only once the browser is known to be
    there, so that a missing chromium skips (or fails) at once."""
    from sitebuild import build_once

    return build_once(tmp_path_factory)[0]


@pytest.fixture(scope="session")
def base_url(built_site):
    """The built site served on 127.0.0.1 by a thread of this process."""
    import functools
    import http.server
    import threading

    import browsing

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(browsing.QuietHandler, directory=str(built_site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(sync_playwright):
    """One headless chromium for the run; each test module opens its own contexts in it."""
    import browsing

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browsing.CHROMIUM, headless=True, args=browsing.CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def context(browser, base_url):
    """A desktop context (fresh profile, clipboard allowed) shared by the desktop tests."""
    import browsing

    context = browser.new_context(viewport=browsing.DESKTOP, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture(scope="session")
def browse(context, base_url):
    """(page, recorder) for the desktop tests; one tab reused by every test."""
    import browsing

    page = context.new_page()
    recorder = browsing.Recorder(base_url)
    recorder.attach(page)
    return page, recorder


@pytest.fixture(scope="session")
def tour(browse, base_url, built_site):
    """`tour(lang)`: every page of `lang` visited once (browsing.tour), on first use."""
    import browsing

    done: dict[str, list] = {}

    def visits(lang: str) -> list:
        if lang not in done:
            page, recorder = browse
            done[lang] = browsing.tour(page, recorder, base_url, built_site, lang)
        return done[lang]

    return visits
