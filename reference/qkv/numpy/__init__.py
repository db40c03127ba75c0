"""The NumPy backend of qkv: every concept as a plain function, written for clarity.

Each submodule is one concept; `qkv.torch` mirrors them file for file with the same names and
signatures.
"""

import difflib
import importlib
import pkgutil
from typing import Any

# every concept module of this folder, found by pkgutil (a new module needs no line here); the
# package exports what each one lists in its `__all__`, so `qkv.numpy.softmax` is the function
_MODULES = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in pkgutil.iter_modules(__path__)
    if not info.name.startswith("_")
)
__all__ = [name for module in _MODULES for name in module.__all__]
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})


def __getattr__(name: str) -> Any:
    """Reached only for a name no module exports (and, for a type checker, the type of the names
    bound above, which it cannot see)."""
    close = difflib.get_close_matches(name, __all__, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}")
