"""The trained English → Chinese number translator, as the site's figures use it.

`toy.py` gives the figures that teach shapes a six-token sentence and random weights; this module
gives the figures that show what attention learns the shipped checkpoint of `qkv.numbers`, run by
`qkv.numpy`, and, for comparison, the same architecture at its seeded random initialisation.
Nothing here trains: every function loads or runs, and caches what it computed for the length of
one build process.

Dimension names: `layers`, `heads`, `seq_src` (English tokens), `seq_tgt` (Chinese tokens).
"""

from __future__ import annotations

import json
from functools import cache
from typing import NamedTuple

import numpy as np
import qkv.numpy as qnp
from qkv import numbers
from qkv.numbers.data import BOS, SRC_VOCAB, TGT_VOCAB, encode_source, held_out_numbers
from qkv.numbers.teacher_forcing import RESULTS as TEACHER_FORCING
from qkv.numbers.train import CURVES

__all__ = ["SRC_VOCAB", "TGT_VOCAB"]  # re-exported for the tests

# The numbers the pages show: a plain one, one that regroups (English counts thousands, Chinese
# counts ten-thousands) and one with a 零 for the missing hundreds.
PLAIN = 345
REGROUP = 12000
ZERO = 1005
EXAMPLES = (PLAIN, REGROUP, ZERO)
SAMPLE_DRAWS = 150  # numbers drawn for the per-head measurements, before dropping the small ones
SAMPLE_SEED = 2026
SAMPLE_MIN = 100  # keep numbers of 3 digits or more: a 1- or 2-digit one is one or two words
INIT_SEED = 0  # seed of the random initialisation the trained heads are compared with


class Maps(NamedTuple):
    """Tokens and attention weights of one number through the translator.

    Decoder row `t` reads `<bos>` and the first `t` characters, and predicts character `t`
    (the last row predicts the end token), as in `qkv.numbers.attention`.
    """

    source: tuple[str, ...]  # English tokens
    target: tuple[str, ...]  # Chinese characters, without start and end tokens
    encoder: np.ndarray  # (layers, heads, seq_src, seq_src)
    decoder: np.ndarray  # (layers, heads, seq_tgt, seq_tgt), seq_tgt = len(target) + 1
    cross: np.ndarray  # (layers, heads, seq_tgt, seq_src)


class Config(NamedTuple):
    """The sizes of the checkpoint."""

    d_model: int
    num_heads: int
    num_layers: int
    d_ff: int


@cache
def model():
    """The shipped checkpoint, loaded once (NumPy backend)."""
    return numbers.load_model()


@cache
def config() -> Config:
    """The architecture of the checkpoint."""
    loaded = model()
    p = loaded.params
    return Config(
        d_model=int(p.src_embedding.shape[-1]),
        num_heads=int(loaded.num_heads),
        num_layers=len(p.encoder),
        d_ff=int(p.encoder[0].w_1.shape[-1]),
    )


@cache
def random_params():
    """The same architecture at its seeded random initialisation (seed `INIT_SEED`), float32."""
    cfg = config()
    return qnp.init_seq2seq_params(
        len(SRC_VOCAB),
        len(TGT_VOCAB),
        d_model=cfg.d_model,
        d_ff=cfg.d_ff,
        num_layers=cfg.num_layers,
        seed=INIT_SEED,
        dtype=np.float32,
    )


def params(is_trained: bool = True):
    """The `Seq2SeqParams` of the checkpoint, or of the random initialisation."""
    return model().params if is_trained else random_params()


def token_ids(number: int) -> tuple[np.ndarray, np.ndarray]:
    """Source ids `(1, seq_src)` of `english(number)` and decoder input ids `(1, seq_tgt)`.

    The decoder input is the start token followed by the characters of `chinese(number)`.
    """
    src, _ = encode_source([numbers.english(number)])
    tgt = [TGT_VOCAB.index(BOS), *(TGT_VOCAB.index(c) for c in numbers.chinese(number))]
    return src, np.array([tgt], dtype=src.dtype)


@cache
def maps(number: int, is_trained: bool = True) -> Maps:
    """Attention weights of `english(number)`, the decoder fed the correct `chinese(number)`.

    Feeding the correct characters (teacher forcing) makes the random model's maps comparable
    with the trained model's: both read the same tokens. The encoder's weights come from
    `encode`, the decoder's from one `decode_step` over the whole decoder input.
    """
    p, heads = params(is_trained), config().num_heads
    src, tgt = token_ids(number)
    memory, encoder = qnp.encode(src, p, num_heads=heads, need_weights=True)
    cache_ = qnp.init_kv_cache(memory, p, num_heads=heads)
    _, _, weights = qnp.decode_step(tgt, cache_, p, num_heads=heads, need_weights=True)
    return Maps(
        tuple(numbers.tokenize_en(numbers.english(number))),
        tuple(numbers.chinese(number)),
        np.asarray(encoder)[:, 0],  # (layers, 1, heads, ...) -> (layers, heads, ...)
        np.asarray(weights["self"])[:, 0],
        np.asarray(weights["cross"])[:, 0],
    )


@cache
def sample() -> tuple[int, ...]:
    """The numbers behind the per-head measurements: `numbers.sample_numbers` (fixed seed), those
    of 3 digits or more (a number of one or two words has no neighbours to attend to)."""
    drawn = numbers.sample_numbers(SAMPLE_DRAWS, seed=SAMPLE_SEED)
    return tuple(int(n) for n in drawn if n >= SAMPLE_MIN)


def attention_params(is_trained: bool = True) -> dict[str, list]:
    """The `MultiHeadParams` of every attention sub-layer, by kind, one per layer."""
    p = params(is_trained)
    return {
        "encoder": [layer.self_attn for layer in p.encoder],
        "decoder": [layer.self_attn for layer in p.decoder],
        "cross": [layer.cross_attn for layer in p.decoder],
    }


def written(maps_: Maps) -> tuple[str, ...]:
    """The token each decoder row predicts: the characters, then the end token."""
    return (*maps_.target, "<eos>")


def mean_over_heads(weights: np.ndarray, layer: int) -> np.ndarray:
    """One layer's weights averaged over its heads: `(layers, heads, q, k)` -> `(q, k)`."""
    return weights[layer].mean(axis=0)


def heatmap(ax, weights: np.ndarray, rows, cols, *, numbers_in_cells: bool = True) -> None:
    """Draw `weights` `(len(rows), len(cols))` in blues from 0 to 1, labelled, values in cells."""
    ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    if numbers_in_cells:
        for (i, j), value in np.ndenumerate(weights):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if value > 0.6 else "black",
            )
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)


@cache
def cross_layer() -> int:
    """The decoder layer whose head-averaged cross-attention is sharpest on the sample.

    Sharpness is the mean, over the sample's decoder rows, of the largest weight in the row.
    """
    per_layer = []
    for layer in range(config().num_layers):
        tops = [mean_over_heads(maps(n).cross, layer).max(axis=-1) for n in sample()]
        per_layer.append(float(np.concatenate(tops).mean()))
    return int(np.argmax(per_layer))


OFFSETS = {"same": 0, "previous": -1, "next": 1}


def offset_shares(weights: np.ndarray) -> np.ndarray:
    """Share of each query's weight on the key at offset 0, -1, +1, and on every other key.

    `weights` `(layers, heads, seq, seq)` -> `(layers, heads, 4)`, averaged over the queries; the
    four shares of a query sum to 1 (a query with no previous or next token scores 0 there).
    """
    seq = weights.shape[-1]
    parts = []
    for offset in OFFSETS.values():
        band = np.eye(seq, k=offset, dtype=bool)  # key j = query i + offset
        parts.append((weights * band).sum(axis=-1).mean(axis=-1))  # (layers, heads)
    shares = np.stack(parts, axis=-1)  # (layers, heads, 3)
    return np.concatenate([shares, 1.0 - shares.sum(axis=-1, keepdims=True)], axis=-1)


@cache
def encoder_head_shares(is_trained: bool = True) -> np.ndarray:
    """`offset_shares` of the encoder self-attention, mean over the sample: `(layers, heads, 4)`."""
    return np.mean([offset_shares(maps(n, is_trained).encoder) for n in sample()], axis=0)


class ProjectionStats(NamedTuple):
    """How far one attention sub-layer's $W^Q$ and $W^K$ are from each other."""

    kind: str  # "encoder", "decoder" (self-attention) or "cross"
    layer: int  # from 0
    distance: float  # ||W^Q - W^K||_F / ||W^Q||_F
    asymmetry: float  # mean over heads of ||M - M^T||_F / ||M||_F, M = W^Q_i (W^K_i)^T
    self_weight: float | None  # mean weight a token gives itself (self-attention only)


def score_asymmetry(w_q: np.ndarray, w_k: np.ndarray, num_heads: int) -> float:
    """Mean over heads of $\\|M - M^\\top\\|_F / \\|M\\|_F$ with $M = W^Q_i (W^K_i)^\\top$.

    $M$ `(d_model, d_model)` is the bilinear form of head $i$'s scores $x_q^\\top M x_k$: it is
    symmetric exactly when the scores are symmetric for every input. The ratio is 0 for a
    symmetric $M$, 2 for an antisymmetric one, and about $\\sqrt 2$ for an unrelated random pair.
    """
    d_head = w_q.shape[-1] // num_heads
    values = []
    for i in range(num_heads):
        cols = slice(i * d_head, (i + 1) * d_head)
        m = w_q[:, cols] @ w_k[:, cols].T  # (d_model, d_head) @ (d_head, d_model)
        values.append(np.linalg.norm(m - m.T) / np.linalg.norm(m))
    return float(np.mean(values))


def mean_self_weight(kind: str, layer: int, is_trained: bool = True) -> float:
    """Mean over the sample's tokens of the weight a token gives itself in one layer."""
    diagonals = [
        np.diagonal(getattr(maps(n, is_trained), kind)[layer], axis1=-2, axis2=-1) for n in sample()
    ]  # each (heads, seq)
    return float(np.concatenate([d.ravel() for d in diagonals]).mean())


@cache
def projection_stats(is_trained: bool = True) -> tuple[ProjectionStats, ...]:
    """`ProjectionStats` of every attention sub-layer, encoder first."""
    rows = []
    heads = config().num_heads
    for kind, layers in attention_params(is_trained).items():
        for layer, p in enumerate(layers):
            w_q, w_k = np.asarray(p.w_q), np.asarray(p.w_k)
            rows.append(
                ProjectionStats(
                    kind,
                    layer,
                    float(np.linalg.norm(w_q - w_k) / np.linalg.norm(w_q)),
                    score_asymmetry(w_q, w_k, heads),
                    None if kind == "cross" else mean_self_weight(kind, layer, is_trained),
                )
            )
    return tuple(rows)


def sharpest_head(weights: np.ndarray, layer: int) -> int:
    """The head of `layer` whose rows have the largest mean top weight; `weights` as in `Maps`."""
    return int(weights[layer].max(axis=-1).mean(axis=-1).argmax())


class Score(NamedTuple):
    """Exact match of greedy translations on one group of numbers."""

    digits: tuple[int, ...]  # the magnitudes in the group
    held_out: bool  # never trained on
    count: int
    correct: int
    wrong_examples: tuple[tuple[int, str], ...]  # up to 3 (number, translation) pairs


@cache
def scores() -> tuple[Score, ...]:
    """Exact match of the shipped checkpoint, by magnitude.

    Numbers of 1 and 2 digits: all 100 of them (training sees every one). Numbers of 3 to 6
    digits: the held-out set `held_out_numbers()`, which training never draws.
    """
    groups = [((1, 2), False, np.arange(100))]
    held = np.asarray(held_out_numbers())
    for digits in (3, 4, 5, 6):
        members = held[(held >= 10 ** (digits - 1)) & (held < 10**digits)]
        groups.append(((digits,), True, members))
    result = []
    for digits, held_out, members in groups:
        texts = [numbers.english(int(n)) for n in members]
        outputs = numbers.translate(texts)
        wrong = [
            (int(n), out)
            for n, out in zip(members, outputs, strict=True)
            if out != numbers.chinese(int(n))
        ]
        result.append(
            Score(digits, held_out, len(members), len(members) - len(wrong), tuple(wrong[:3]))
        )
    return tuple(result)


def curves() -> dict:
    """The training curves written next to the checkpoint by `python -m qkv.numbers.train`."""
    return json.loads(CURVES.read_text(encoding="utf-8"))


def uniform_shares() -> np.ndarray:
    """`offset_shares` of uniform weights (each key 1/seq), mean over the sample, `(4,)`."""
    per_number = []
    for n in sample():
        seq = len(maps(n).source)
        uniform = np.full((1, 1, seq, seq), 1.0 / seq)
        per_number.append(offset_shares(uniform)[0, 0])
    return np.mean(per_number, axis=0)


# The English word that decides each Chinese magnitude character: 百 counts hundreds, 千
# thousands; 万 counts ten-thousands, which English says with "thousand" ("twelve thousand",
# 一万二千).
MAGNITUDE_WORDS = {"百": ("hundred",), "千": ("thousand",), "万": ("thousand",)}


def magnitude_share(maps_: Maps) -> tuple[np.ndarray, int]:
    """Cross-attention weight on the matching magnitude word, summed over the rows that write a
    magnitude character: `((layers, heads), number of such rows)`."""
    total = np.zeros(maps_.cross.shape[:2])
    rows = 0
    for t, character in enumerate(maps_.target):
        if character not in MAGNITUDE_WORDS:
            continue
        keys = [j for j, word in enumerate(maps_.source) if word in MAGNITUDE_WORDS[character]]
        total += maps_.cross[:, :, t, keys].sum(axis=-1)
        rows += 1
    return total, rows


@cache
def cross_magnitude_shares(is_trained: bool = True) -> np.ndarray:
    """Mean cross-attention weight on the matching magnitude word, per head `(layers, heads)`,
    over every row of the sample that writes 百, 千 or 万."""
    total, rows = 0.0, 0
    for n in sample():
        share, count = magnitude_share(maps(n, is_trained))
        total, rows = total + share, rows + count
    return total / rows


@cache
def uniform_magnitude_share() -> float:
    """The same measure for uniform cross-attention weights: the baseline."""
    total, rows = 0.0, 0
    for n in sample():
        m = maps(n)
        for character in m.target:
            if character in MAGNITUDE_WORDS:
                hits = sum(word in MAGNITUDE_WORDS[character] for word in m.source)
                total, rows = total + hits / len(m.source), rows + 1
    return total / rows


def experiment() -> dict:
    """The teacher-forcing experiment written by `python -m qkv.numbers.teacher_forcing`."""
    return json.loads(TEACHER_FORCING.read_text(encoding="utf-8"))


def experiment_run(steps: int, method: str) -> dict:
    """The run of the experiment with `steps` training steps and `method` (teacher forcing or
    scheduled sampling)."""
    (run,) = [r for r in experiment()["runs"] if r["steps"] == steps and r["method"] == method]
    return run


def _run_layer(x, layer, kinds, heads, memory=None):
    """One pre-LN layer, sub-layer by sub-layer: normalise with the layer's LayerNorm i, run
    sub-layer i, add the residual. Returns the new `x` and `(kind, (x shape, side shape))` per
    sub-layer, the side output being the attention weights or the feed-forward hidden layer."""
    steps = []
    for i, kind in enumerate(kinds, start=1):
        h = qnp.layer_norm(x, getattr(layer, f"norm{i}_weight"), getattr(layer, f"norm{i}_bias"))
        if kind == "ffn":
            # (1, seq, d_model) @ (d_model, d_ff) -> (1, seq, d_ff): the hidden width, for the label
            side = np.maximum(h @ layer.w_1 + layer.b_1, 0.0)
            out = qnp.feed_forward(h, layer.w_1, layer.b_1, layer.w_2, layer.b_2)
        elif kind == "cross":
            out, side = qnp.multi_head_attention(
                h, memory, memory, layer.cross_attn, num_heads=heads
            )
        else:  # self-attention, causal ("masked") in the decoder
            causal = kind == "masked"
            out, side = qnp.multi_head_attention(
                h, h, h, layer.self_attn, num_heads=heads, is_causal=causal
            )
        x = x + out
        steps.append((kind, (x.shape, side.shape)))
    return x, steps


def traced_model(number: int = REGROUP) -> dict[str, object]:
    """Run the translator on one number step by step with the reference's own pieces (`embed`,
    `layer_norm`, `multi_head_attention`, `feed_forward`); record each step's shape.

    Every layer of both stacks is run (the transformer page draws the first of each, the others
    repeat it). Returns `"encoder"`, `"decoder"`: lists of `(step, shape)` in order for the steps
    of the first layers, and `"memory"`, `"logits"`: the final arrays (for comparison with
    `encode` and `decode`), plus `"src"`, `"tgt"`: the token ids `(1, seq_src)`, `(1, seq_tgt)`.
    """
    p, heads = params(), config().num_heads
    src, tgt = token_ids(number)
    x = qnp.embed(src, p.src_embedding)  # (1, seq_src, d_model)
    steps_enc = [("src_tokens", src.shape), ("embed", x.shape)]
    for index, layer in enumerate(p.encoder):
        x, steps = _run_layer(x, layer, ("self", "ffn"), heads)
        steps_enc += steps if index == 0 else []
    memory = qnp.layer_norm(x, p.encoder_norm_weight, p.encoder_norm_bias)
    steps_enc.append(("final", memory.shape))
    y = qnp.embed(tgt, p.tgt_embedding)  # (1, seq_tgt, d_model)
    steps_dec = [("tgt_tokens", tgt.shape), ("embed", y.shape)]
    for index, layer in enumerate(p.decoder):
        y, steps = _run_layer(y, layer, ("masked", "cross", "ffn"), heads, memory)
        steps_dec += steps if index == 0 else []
    y = qnp.layer_norm(y, p.decoder_norm_weight, p.decoder_norm_bias)
    steps_dec.append(("final", y.shape))
    # (1, seq_tgt, d_model) @ (d_model, tgt_vocab) -> (1, seq_tgt, tgt_vocab)
    logits = y @ p.w_out + p.b_out
    steps_dec.append(("head", logits.shape))
    steps_dec.append(("softmax", qnp.softmax(logits).shape))
    return {
        "encoder": steps_enc,
        "decoder": steps_dec,
        "memory": memory,
        "logits": logits,
        "src": src,
        "tgt": tgt,
    }


def _arrays(tree) -> list[np.ndarray]:
    """Every array in a nest of NamedTuples and tuples (None entries skipped)."""
    if tree is None:
        return []
    if isinstance(tree, tuple):
        return [a for item in tree for a in _arrays(item)]
    return [np.asarray(tree)]


def parameter_counts() -> dict[str, tuple[int, int]]:
    """`{component: (number of arrays, number of parameters)}` of the checkpoint, and the total."""
    p = model().params
    norms = (p.encoder_norm_weight, p.encoder_norm_bias, p.decoder_norm_weight, p.decoder_norm_bias)
    groups = {
        "src_embedding": p.src_embedding,
        "tgt_embedding": p.tgt_embedding,
        "encoder": p.encoder,
        "decoder": p.decoder,
        "norms": norms,
        "head": (p.w_out, p.b_out),
    }
    counts = {}
    for name, tree in groups.items():
        arrays = _arrays(tree)
        counts[name] = (len(arrays), sum(a.size for a in arrays))
    counts["total"] = (sum(n for n, _ in counts.values()), sum(s for _, s in counts.values()))
    return counts
