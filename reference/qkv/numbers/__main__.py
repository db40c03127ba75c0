"""`python -m qkv.numbers "one hundred and five"` prints `一百零五`, one line per argument.

`--backend numpy|torch` picks the backend (NumPy by default). `--show-attention` also prints the
cross-attention of each translation as a table: one row per English word, one column per
Chinese character, each entry the weight (in percent) with which the decoder, while writing
that character, attends to that word, averaged over the heads of the last decoder layer.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata

from .model import attention, translate

__all__ = ["attention_table", "main"]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text


def attention_table(text: str, *, backend: str = "numpy") -> str:
    """The cross-attention of the last decoder layer, averaged over heads, as text (percent).

    >>> print(attention_table("one hundred and five"))
             一  百  零  五
    one      82  28  23  10
    hundred  13  48  19  12
    and       1  24  55   1
    five      3   1   3  78
    """
    weights = attention(text, backend=backend)
    # rows of `cross` are decoder inputs; row t predicts character t: keep the rows that wrote one
    table = weights.cross[-1].mean(axis=0)[: len(weights.target)]  # (seq_tgt, seq_src)
    first = max(_width(w) for w in weights.source)
    lines = [" " * first + "".join(_pad(c, 4) for c in weights.target)]
    for j, word in enumerate(weights.source):
        cells = "".join(f"{round(100 * table[t, j]):4d}" for t in range(len(weights.target)))
        lines.append(word.ljust(first) + cells)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qkv.numbers",
        description="Translate English number words (0 to 999,999) into Chinese numerals.",
    )
    parser.add_argument("text", nargs="+", help='e.g. "one hundred and five"')
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument(
        "--show-attention",
        action="store_true",
        help="print the cross-attention (last decoder layer, mean over heads, percent)",
    )
    args = parser.parse_args(argv)
    try:
        results = translate(args.text, backend=args.backend)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for text, result in zip(args.text, results, strict=True):
        print(result)
        if args.show_attention:
            print(attention_table(text, backend=args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
