"""A Transformer that has learned something: English number words to Chinese numerals.

    >>> from qkv.numbers import translate
    >>> translate("one hundred and twenty thousand three hundred and forty-five")
    '十二万零三百四十五'

The model is [qkv.numpy.seq2seq][qkv.numpy.init_seq2seq_params]'s encoder–decoder (2 encoder
and 2 decoder layers, `d_model` 64, 4 heads, `d_ff` 128, pre-LN), trained with `qkv.torch`
(`python -m qkv.numbers.train`, or `make train`) on integers 0 to 999,999 and shipped as the
float32 checkpoint `model.npz`; it runs with `qkv.numpy` by default, without PyTorch.

API (both backends, `backend="numpy"` or `"torch"`):

- `translate(text, *, backend="numpy")`: a string, or a list of strings, in; the same shape out.
  Case, commas, hyphens and extra spaces do not matter; a word outside the vocabulary, an empty
  text or a number outside 0..999,999 raises `ValueError` naming the word.
- `attention(text, *, backend="numpy")`: an `Attention` with `source` (English tokens),
  `target` (Chinese characters) and NumPy arrays `encoder` `(layers, heads, seq_src,
  seq_src)`, `decoder` `(layers, heads, seq_tgt, seq_tgt)`, `cross` `(layers, heads, seq_tgt,
  seq_src)`, where `seq_tgt = len(target) + 1` (decoder inputs `<bos>` and the characters; row
  `t` predicts character `t`, the last row predicts `<eos>`).
- `load_model(backend="numpy")`: a `Model` with `params` (a `Seq2SeqParams`), `num_heads`,
  `config`, `src_vocab`, `tgt_vocab`.
- Data: `english(n)` (`num2words`, commas removed), `chinese(n)` (`cn2an.an2cn`),
  `tokenize_en(text)`, `parse_en(text)`, `sample_numbers(count, seed)` (number of digits
  uniform over 1..6), `held_out_numbers()` (the 2,000 numbers never trained on). `english` and
  `chinese` need the `num2words` and `cn2an` packages (test and docs extras); translating does
  not.

Where it fails: the training numbers are drawn with the number of digits uniform, so a round
number such as 20,000 or 300,000 (nothing after "thousand") is rare in training, and these are
the translations it gets wrong most often; measure it with
`translate([english(n) for n in range(1000, 1_000_000, 1000)])`.

Command line: `python -m qkv.numbers "one hundred and five"` prints `一百零五`;
`--backend torch`; `--show-attention` prints the cross-attention table.
"""

from .data import (
    chinese,
    english,
    held_out_numbers,
    parse_en,
    sample_numbers,
    tokenize_en,
)
from .model import Attention, Model, attention, load_model, translate

__all__ = [
    "translate",
    "attention",
    "load_model",
    "Attention",
    "Model",
    "english",
    "chinese",
    "tokenize_en",
    "parse_en",
    "sample_numbers",
    "held_out_numbers",
]
