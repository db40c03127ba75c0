"""Build-time machinery of the qkv site: figures, check boxes, code includes, glossary.

Not part of the `qkv` package: it runs inside `mkdocs build` (through `docs/_tools/hooks.py`) and in
the tests (`pythonpath` in pyproject.toml puts `docs/_tools` on `sys.path`).
"""

LANGS = ("en", "zh")
