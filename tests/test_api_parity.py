"""API parity: `qkv.numpy` and `qkv.torch` export the same names, with the same signatures, in the
same order, each with a docstring that has an Examples section; the twins mirror each other's step
comments and docstring sections."""

import importlib
import inspect
import pkgutil
import re

import pytest
import qkv.numpy as qn

pytest.importorskip("torch", reason="PyTorch is not installed: there is no twin to compare")
import qkv.torch as qt  # noqa: E402

MODULES = [m.name for m in pkgutil.iter_modules(qn.__path__) if not m.name.startswith("_")]
TORCH_ONLY = set(importlib.import_module("qkv.torch.modules").__all__)


def _module(backend, name):
    return importlib.import_module(f"qkv.{backend}.{name}")


def _public(backend, name):
    """(name, object) for every public name of a module, in definition order."""
    module = _module(backend, name)
    items = [(n, getattr(module, n)) for n in module.__all__]
    return sorted(items, key=lambda item: inspect.getsourcelines(item[1])[1])


SHARED = [(m, n) for m in MODULES for n in _module("numpy", m).__all__]


def test_package_all_is_the_same_minus_torch_only_names():
    assert [n for n in qt.__all__ if n not in TORCH_ONLY] == list(qn.__all__)
    assert not TORCH_ONLY & set(qn.__all__)
    assert len(set(qn.__all__)) == len(qn.__all__), "a name is exported twice"


@pytest.mark.parametrize("module", MODULES)
def test_module_all_is_the_same(module):
    assert _module("torch", module).__all__ == _module("numpy", module).__all__


@pytest.mark.parametrize("module", MODULES)
def test_definitions_in_the_same_order(module):
    numpy_order = [n for n, _ in _public("numpy", module)]
    torch_order = [n for n, _ in _public("torch", module)]
    assert numpy_order == torch_order


@pytest.mark.parametrize("module, name", SHARED)
def test_same_signature(module, name):
    assert inspect.signature(getattr(qt, name)) == inspect.signature(getattr(qn, name))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_every_public_name_has_a_docstring_with_examples(backend):
    package = qn if backend == "numpy" else qt
    missing = []
    for name in package.__all__:
        doc = inspect.getdoc(getattr(package, name)) or ""
        if not re.search(r"^Examples:\s*$", doc, re.M) or ">>>" not in doc:
            missing.append(name)
    assert not missing, (
        f"qkv.{backend}: no docstring with an Examples: section and a doctest: {missing}"
    )


def _step_comments(obj):
    """The numbered step comments ("# 1. ...") of a function, in order."""
    try:
        source = inspect.getsource(obj)
    except TypeError:  # pragma: no cover - a name that has no source (e.g. a constant)
        return []
    return [m.group(1).strip() for m in re.finditer(r"#\s*(\d+[a-z]?\.)", source)]


def _sections(obj):
    doc = inspect.getdoc(obj) or ""
    return re.findall(
        r"^(Args|Arguments|Returns|Yields|Raises|Examples|Attributes|Note|Notes"
        r"|Warning|See Also|Shapes):",
        doc,
        re.M,
    )


@pytest.mark.parametrize("module, name", SHARED)
def test_twins_share_step_numbers_and_docstring_sections(module, name):
    numpy_obj, torch_obj = getattr(qn, name), getattr(qt, name)
    assert _step_comments(torch_obj) == _step_comments(numpy_obj)
    assert _sections(torch_obj) == _sections(numpy_obj)


@pytest.mark.parametrize("package", [qn, qt], ids=["numpy", "torch"])
def test_the_package_exports_what_each_module_lists_and_names_a_typo(package):
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name in getattr(module, "__all__", []) if info.name[0] != "_" else []:
            assert name in package.__all__ and getattr(package, name) is getattr(module, name)
    with pytest.raises(AttributeError, match=r"has no attribute 'sofmax'; did you mean softmax\?"):
        _ = package.sofmax


def test_softmax_is_the_function_and_its_module_is_importable():
    # the package binds each module's exports after importing the modules: `softmax` is the function
    assert callable(qn.softmax) and callable(qt.softmax)
    assert _module("numpy", "softmax").softmax is qn.softmax
    assert _module("torch", "softmax").softmax is qt.softmax
