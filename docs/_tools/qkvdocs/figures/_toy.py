"""The toy sentence the site's figures share: six tokens, as in note 004's 6 x 6 example.

`TOKENS[lang][i]` labels position `i` on the pages of that language; the numbers behind a figure
are the same in both languages. `toy_embeddings` gives every position its own vector, as the input
of a real attention layer (word embedding plus position) would: the English sentence repeats
"the" and the Chinese one repeats nothing, so no two positions share a vector in either language.
"""

from __future__ import annotations

import numpy as np

TOKENS = {
    "en": ["the", "cat", "sat", "on", "the", "mat"],
    "zh": ["这只", "猫", "坐", "在", "垫子", "上"],
}


def toy_embeddings(d_model: int = 8, seed: int = 0) -> np.ndarray:
    """Embeddings `(seq, d_model)` of the toy sentence, one seeded random vector per position."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((len(TOKENS["en"]), d_model))  # (seq, d_model)
