"""The data of the number translator: English number words in, Chinese numerals out.

English comes from `num2words(n)` with its commas removed, Chinese from `cn2an.an2cn(n)`; both
libraries are needed only to *make* data (training, tests, the site), not to translate.

Tokens: an English token is one word. The hyphen of "forty-five" is a separator, like a space, so
"forty-five" and "forty five" give the same tokens `forty`, `five`: the model then never has to
learn that the two spellings mean the same, and a reader may type either. Commas are dropped,
case is ignored. A Chinese token is one character.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "SRC_VOCAB",
    "TGT_VOCAB",
    "MAX_NUMBER",
    "english",
    "chinese",
    "tokenize_en",
    "parse_en",
    "sample_numbers",
    "held_out_numbers",
    "encode_source",
    "encode_target",
    "decode_target",
]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SRC_VOCAB = (PAD, *_UNITS, *_TENS, "hundred", "thousand", "and")
"""The 32 English words and `<pad>` (id 0)."""
TGT_VOCAB = (PAD, BOS, EOS, *"零一二三四五六七八九十百千万")
"""`<pad>`, `<bos>`, `<eos>` and the 14 characters of Chinese numerals up to 999,999."""
MAX_NUMBER = 999_999
_SRC_ID = {word: i for i, word in enumerate(SRC_VOCAB)}
_TGT_ID = {char: i for i, char in enumerate(TGT_VOCAB)}
_ACCEPTED = (
    "English number words for a whole number from 0 to 999,999 (zero ... nineteen, twenty ... "
    "ninety, hundred, thousand, and; hyphens, commas, case and extra spaces do not matter)"
)
HELD_OUT_SEED, HELD_OUT_PER_DIGITS = 2024, 500


def english(n: int) -> str:
    """`num2words(n)` without commas: `english(120345)` is "one hundred and twenty thousand
    three hundred and forty-five"."""
    from num2words import num2words

    return str(num2words(int(n))).replace(",", "")


def chinese(n: int) -> str:
    """`cn2an.an2cn(n)`: `chinese(120345)` is "十二万零三百四十五"."""
    import cn2an

    return str(cn2an.an2cn(int(n)))


def tokenize_en(text: str) -> list[str]:
    """Lower-case, treat commas and hyphens as spaces, split on white space.

    >>> tokenize_en("One hundred and  forty-five,")
    ['one', 'hundred', 'and', 'forty', 'five']
    """
    return re.sub(r"[,\-]", " ", text.lower()).split()


def _fail(text: str, problem: str) -> ValueError:
    return ValueError(f"{problem} in {text!r}; accepted: {_ACCEPTED}")


def parse_en(text: str) -> int:
    """The number an English text names, checking the words and their order.

    Raises `ValueError` naming the offending word (a word outside the vocabulary, a word out of
    place, an empty text, or a number above 999,999) and saying what is accepted.

    >>> parse_en("nine hundred and ninety-nine thousand nine hundred and ninety-nine")
    999999
    """
    words = tokenize_en(text)
    if not words:
        raise _fail(text, "empty input: no number words")
    for word in words:
        if word not in _SRC_ID:
            raise _fail(text, f"unknown word {word!r}")
    if words == ["zero"]:
        return 0
    # a number is [group "thousand" ["and"]] [group]; a group is [unit "hundred" ["and"]] [below]
    total, hundreds, below, last = 0, 0, 0, ""
    for word in words:
        ok = True
        if word == "and":
            ok = last in ("hundred", "thousand")
        elif word == "zero":
            ok = False
        elif word in _UNITS:
            value = _UNITS.index(word)
            ok = below == 0 or (last in _TENS and value < 10)
            below += value
        elif word in _TENS:
            ok = below == 0
            below = 20 + 10 * _TENS.index(word)
        elif word == "hundred":
            ok = hundreds == 0 and 1 <= below <= 9 and last in _UNITS
            hundreds, below = below * 100, 0
        else:  # thousand
            ok = total == 0 and hundreds + below > 0
            total, hundreds, below = (hundreds + below) * 1000, 0, 0
        if not ok:
            raise _fail(text, f"word {word!r} out of place")
        last = word
    if last == "and":
        raise _fail(text, "word 'and' out of place")
    return total + hundreds + below


def sample_numbers(count: int, seed: int, *, exclude=()) -> np.ndarray:
    """`count` seeded numbers, magnitudes even: the number of digits is uniform over 1..6, then
    the number is uniform among those with that many digits; numbers in `exclude` are redrawn.

    >>> sample_numbers(5, seed=0)
    array([136876,   1677,   1148,     25,     83])
    """
    rng = np.random.default_rng(seed)
    excluded = set(int(n) for n in exclude)
    out: list[int] = []
    while len(out) < count:
        digits = rng.integers(1, 7, size=count)
        low = np.where(digits == 1, 0, 10 ** (digits - 1))
        numbers = rng.integers(low, 10**digits)
        out += [int(n) for n in numbers if int(n) not in excluded]
    return np.array(out[:count], dtype=np.int64)


def held_out_numbers() -> np.ndarray:
    """The 2,000 numbers kept out of training: 500 distinct numbers of each magnitude 3, 4, 5 and
    6 digits, seeded. (Numbers of 1 and 2 digits are too few, 100 in all, to hold any out.)"""
    rng = np.random.default_rng(HELD_OUT_SEED)
    parts = [
        rng.choice(np.arange(10 ** (d - 1), 10**d), size=HELD_OUT_PER_DIGITS, replace=False)
        for d in (3, 4, 5, 6)
    ]
    return np.concatenate(parts).astype(np.int64)


def encode_source(texts) -> tuple[np.ndarray, np.ndarray]:
    """Token ids `(batch, seq_src)` padded with 0, and the lengths `(batch,)`; checks each text."""
    rows = []
    for text in texts:
        parse_en(text)
        rows.append([_SRC_ID[w] for w in tokenize_en(text)])
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ids = np.zeros((len(rows), int(lengths.max(initial=1))), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids, lengths


def encode_target(texts) -> np.ndarray:
    """`<bos>` characters `<eos>`, padded with 0: `(batch, seq_tgt + 2)`."""
    rows = [[_TGT_ID[BOS], *(_TGT_ID[c] for c in text), _TGT_ID[EOS]] for text in texts]
    ids = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def decode_target(ids) -> list[str]:
    """Characters up to the first `<eos>` of each row of generated ids."""
    eos = _TGT_ID[EOS]
    out = []
    for row in np.asarray(ids).tolist():
        row = row[: row.index(eos)] if eos in row else row
        out.append("".join(TGT_VOCAB[i] for i in row if i > eos))
    return out
