"""The toy sentence the site's figures share: six tokens, as in note 004's 6 x 6 example."""

from __future__ import annotations

import numpy as np

TOKENS = {
    "en": ["the", "cat", "sat", "on", "the", "mat"],
    "zh": ["这只", "猫", "坐", "在", "垫子", "上"],
}


def toy_embeddings(d_model: int = 8, seed: int = 0) -> np.ndarray:
    """Embeddings `(seq, d_model)` of the toy sentence; equal English words share one vector."""
    rng = np.random.default_rng(seed)
    vocab = sorted(set(TOKENS["en"]))
    table = rng.standard_normal((len(vocab), d_model))
    return np.stack([table[vocab.index(word)] for word in TOKENS["en"]])
