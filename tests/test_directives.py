"""Page directives and the glossary, without building the site: the `[[code: ...]]` directive
shows the math of a function with its full source folded (and that source runs as pasted), errors
name the page and line, and glossary hovers go where they belong.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import re
import sys
import textwrap
import types

import pytest
from qkvdocs import directives, glossary
from sitebuild import DOCS, LANGS

HAN = re.compile(r"[\u3400-\u9fff]")


def _source_pages():
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).parts[0].startswith("_") and "__pycache__" not in p.parts
    )


MODULE = """
from qkv._checks import check_float


def _double(x):
    # 1. twice x
    return 2 * x


def double(x):
    \"\"\"Twice x.\"\"\"
    check_float("double", x=x)
    return _double(x)


def triple(x):
    \"\"\"Three times x.

    Examples:
        >>> triple(1.0)
        3.0
    \"\"\"
    func = "triple"
    # validate
    check_float(func, x=x)
    # 1. three times
    return 3 * x
"""


def test_code_shows_the_core_else_the_function_without_docstring_and_checks(tmp_path, monkeypatch):
    (tmp_path / "qkv_tmp_concept.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert directives.math_source("qkv_tmp_concept.double") == textwrap.dedent(
        """\
        def _double(x):
            # 1. twice x
            return 2 * x
        """
    )
    assert directives.math_source("qkv_tmp_concept.triple") == textwrap.dedent(
        """\
        def triple(x):
            # 1. three times
            return 3 * x
        """
    )
    full = directives.source_block("qkv_tmp_concept.triple")
    assert "check_float(func, x=x)" in full and "from qkv._checks import check_float" in full
    sys.modules.pop("qkv_tmp_concept", None)


@pytest.mark.parametrize(("lang", "title"), [("en", "Full source"), ("zh", "完整源码")])
def test_code_folds_the_full_source_in_each_tab(lang, title):
    pytest.importorskip("torch")
    text = directives.code_markdown("softmax", lang)
    assert text.count(f'??? note "{title}"') == 2
    for backend in ("numpy", "torch"):
        math = directives.math_source(f"qkv.{backend}.softmax")
        assert textwrap.indent(math.rstrip(), "    ") in text
        assert '"""' not in math and "check_" not in math


# --------------------------------------------------------------------------------------------
# directives


def test_code_tabs_show_both_backends_with_absolute_imports():
    pytest.importorskip("torch")
    text = directives.code_markdown("softmax")
    assert text.startswith('===! "NumPy"') and '=== "PyTorch"' in text
    assert "from ." not in text
    assert 'title="reference/qkv/numpy/softmax.py"' in text
    assert 'title="reference/qkv/torch/softmax.py"' in text


def _pasted_globals_ok(dotted: str) -> None:
    """Exec the block a reader would paste; every global the original object uses must exist."""
    code = directives.source_block(dotted)
    module = types.ModuleType("__pasted__")  # like a fresh interpreter's __main__
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, f"<pasted {dotted}>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    namespace = module.__dict__
    original = inspect.unwrap(directives._resolve(dotted))
    name = original.__name__
    assert name in namespace, f"{dotted}: the pasted block does not define {name}"
    functions = (
        [original]
        if inspect.isfunction(original)
        else [f for f in vars(original).values() if inspect.isfunction(f)]
    )
    for function in functions:
        for global_name in _globals_read(function.__code__):
            assert global_name in namespace or hasattr(builtins, global_name), (
                f"{dotted}: pasted code lacks {global_name!r}"
            )


def _globals_read(code) -> set[str]:
    """Global names a code object (and the functions nested in it) loads (LOAD_GLOBAL)."""
    names = {
        i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _globals_read(const)
    return names


def _code_directives() -> set[str]:
    found = set()
    for page in _source_pages():
        found.update(directives.directive_args(page.read_text(encoding="utf-8"), "code"))
    return found


def test_every_code_directive_runs_as_pasted():
    pytest.importorskip("torch")
    names = _code_directives() | {"softmax"}
    for name in sorted(names):
        targets = [name] if "." in name else [f"qkv.numpy.{name}", f"qkv.torch.{name}"]
        for dotted in targets:
            _pasted_globals_ok(dotted)


def test_directive_errors_name_the_page_and_line():
    pytest.importorskip("torch")
    with pytest.raises(
        directives.DirectiveError, match=r"docs/x.en.md:3: \[\[nonsense: 1\]\].*unknown directive"
    ):
        directives.expand("# T\n\n[[nonsense: 1]]\n", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match=r"docs/x.en.md:1: .*no_such_function"):
        directives.expand("[[code: no_such_function]]", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match="alone on its line"):
        directives.expand("see [[code: softmax]] here", "en", page="docs/x.en.md")
    with pytest.raises(directives.DirectiveError, match="needs an argument"):
        directives.expand("[[figure]]", "en", page="docs/x.en.md")


def test_directives_in_code_are_left_alone():
    text = "```markdown\n[[code: softmax]]\n[[nonsense]]\n```\n\nWrite `[[figure: NAME]]` alone.\n"
    assert directives.expand(text, "zh", page="p").markdown == text


def test_directives_keep_their_indentation():
    pytest.importorskip("torch")
    text = '!!! note "n"\n\n    [[code: qkv.numpy.softmax]]\n'
    out = directives.expand(text, "en", page="p").markdown
    assert "\n    ```python" in out and "\n    def _softmax" in out  # the core: the math


def test_page_language_comes_from_the_suffix():
    assert directives.page_language("concepts/softmax.zh.md") == "zh"
    assert directives.page_language("concepts/softmax.en.md") == "en"


# --------------------------------------------------------------------------------------------
# glossary


def test_glossary_entries_are_valid():
    entries = glossary.load()
    assert len(entries) >= 10
    for entry in entries:
        assert HAN.search(entry.def_zh), entry.en
        assert not HAN.search(entry.def_en), entry.en


def test_hover_wraps_the_first_use_in_prose_only():
    html_in = (
        "<h2>自注意力</h2><p>这里的自注意力和<code>自注意力</code>，再说自注意力。</p>"
        '<p><a href="#">掩码</a> 与掩码</p>'
    )
    out = glossary.add_hover(html_in, "zh")
    assert out.count('class="qkv-term"') == 2
    assert "<h2>自注意力</h2>" in out and "<code>自注意力</code>" in out
    assert '<a href="#">掩码</a> 与<abbr class="qkv-term"' in out
    english = glossary.add_hover(
        "<p>The self-attention layer, then self-attention again.</p>", "en"
    )
    assert english.count("<abbr") == 1


def test_one_character_terms_hover_only_where_introduced():
    """值 inside 数值 is not the term value; 值 (value) is."""
    out = glossary.add_hover("<p>原始数值都有，每个值 (value) 都是向量。</p>", "zh")
    assert "原始数值" in out
    assert out.count('class="qkv-term"') == 1
    assert out.index('class="qkv-term"') > out.index("每个")


def test_a_term_inside_a_longer_term_is_left_alone():
    """掩码 (mask) inside 因果掩码 (causal mask) is part of the longer term, not the term mask."""
    out = glossary.add_hover("<p>因果掩码，又是因果掩码，然后是掩码。</p>", "zh")
    wrapped = re.findall(r'<abbr class="qkv-term" title="[^"]*">([^<]*)</abbr>', out)
    assert wrapped == ["因果掩码", "掩码"] and "又是因果掩码，然后是<abbr" in out


def test_glossary_table_links_every_entry():
    for lang in LANGS:
        table = glossary.table_markdown(lang)
        assert table.count("\n|") >= len(glossary.load())
        assert "(concepts/what-is-self-attention.md)" in table
