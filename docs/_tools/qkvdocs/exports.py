"""A Griffe extension for the API pages: `qkv.numpy` and `qkv.torch` export the names that their
concept modules list in `__all__`.

The backends bind those names at import time, from the modules pkgutil finds, which static
analysis cannot follow. This extension adds them to Griffe's `qkv.numpy` and `qkv.torch` as
aliases, as `from .module import *` lines would, so that `[softmax][qkv.numpy.softmax]` and the
docstrings' links resolve. A name that is also a module (`softmax`) stays the module.
"""

from __future__ import annotations

from typing import Any

import griffe


class ConceptExports(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path != "qkv":
            return
        for backend in ("numpy", "torch"):
            package = pkg.modules[backend]
            for module in list(package.modules.values()):
                for name in [str(name) for name in module.exports or ()]:
                    if name not in package.members:
                        package.set_member(name, griffe.Alias(name, module[name], parent=package))
