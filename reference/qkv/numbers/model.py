"""Load the trained translator and run it: `load_model`, `translate`, `attention`.

The checkpoint `model.npz` next to this file holds float32 weights under dotted names
(`encoder.0.self_attn.w_q`, ...), the model's sizes (`config.*`) and both vocabularies; it is
read with `numpy.load(..., allow_pickle=False)`, so loading it runs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .data import BOS, EOS, SRC_VOCAB, TGT_VOCAB, decode_target, encode_source, tokenize_en

__all__ = [
    "CHECKPOINT",
    "Model",
    "Attention",
    "load_model",
    "translate",
    "attention",
    "flatten_params",
    "unflatten_params",
    "save_checkpoint",
]

CHECKPOINT = Path(__file__).with_name("model.npz")
MAX_LEN = 12  # 11 characters at most (九十九万九千九百九十九), then <eos>
_BACKENDS = ("numpy", "torch")


@dataclass(frozen=True)
class Model:
    """A loaded translator: its parameters in one backend, its sizes and its vocabularies."""

    params: Any
    num_heads: int
    config: dict[str, int]
    src_vocab: tuple[str, ...]
    tgt_vocab: tuple[str, ...]
    backend: str


@dataclass(frozen=True)
class Attention:
    """Every attention weight of one translation, averaged over nothing: index them yourself.

    `encoder` `(layers, heads, seq_src, seq_src)`, `decoder` `(layers, heads, seq_tgt,
    seq_tgt)`, `cross` `(layers, heads, seq_tgt, seq_src)`, NumPy arrays. Target position `t`
    is the decoder input `<bos>` + the first `t` characters, i.e. the row that *predicts*
    `target[t]` (the last row predicts `<eos>`).
    """

    source: list[str]
    target: list[str]
    encoder: np.ndarray
    decoder: np.ndarray
    cross: np.ndarray


def flatten_params(params, prefix="") -> dict[str, Any]:
    """`{"encoder.0.self_attn.w_q": array, ...}` for a Seq2SeqParams (None entries left out)."""
    out: dict[str, Any] = {}
    fields = getattr(params, "_fields", None)
    items = zip(fields, params, strict=True) if fields else enumerate(params)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, tuple):
            out.update(flatten_params(value, name + "."))
        elif value is not None:
            out[name] = value
    return out


def unflatten_params(arrays: dict[str, Any], num_layers: int, module) -> Any:
    """Rebuild the NamedTuple tree of `module` (`qkv.numpy` or `qkv.torch`) from flat arrays."""

    def build(cls, prefix):
        values = []
        for field in cls._fields:
            if field in ("self_attn", "cross_attn"):
                values.append(build(module.MultiHeadParams, f"{prefix}{field}."))
            else:
                values.append(arrays.get(f"{prefix}{field}"))
        return cls(*values)

    top = {f: arrays.get(f) for f in module.Seq2SeqParams._fields}
    top["encoder"] = tuple(
        build(module.EncoderLayerParams, f"encoder.{i}.") for i in range(num_layers)
    )
    top["decoder"] = tuple(
        build(module.DecoderLayerParams, f"decoder.{i}.") for i in range(num_layers)
    )
    return module.Seq2SeqParams(**top)


def save_checkpoint(params, config: dict[str, int], path=CHECKPOINT) -> None:
    """Write float32 weights, sizes and vocabularies to a compressed `.npz` (no pickle)."""
    arrays = {
        k: np.asarray(_to_numpy(v), dtype=np.float32) for k, v in flatten_params(params).items()
    }
    arrays.update({f"config.{k}": np.array(v, dtype=np.int64) for k, v in config.items()})
    arrays["vocab.src"] = np.array(SRC_VOCAB)
    arrays["vocab.tgt"] = np.array(TGT_VOCAB)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x


@cache
def _read(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def load_model(backend: str = "numpy", path=CHECKPOINT) -> Model:
    """The trained translator in `backend` (`"numpy"` or `"torch"`, float32 on the CPU)."""
    if backend not in _BACKENDS:
        raise ValueError(f"load_model: backend must be one of {_BACKENDS}; got {backend!r}")
    arrays = _read(Path(path))
    config = {k.split(".", 1)[1]: int(v) for k, v in arrays.items() if k.startswith("config.")}
    src_vocab = tuple(str(w) for w in arrays["vocab.src"])
    tgt_vocab = tuple(str(c) for c in arrays["vocab.tgt"])
    if src_vocab != SRC_VOCAB or tgt_vocab != TGT_VOCAB:
        raise ValueError(f"load_model: the vocabularies in {path} differ from qkv.numbers.data")
    weights: dict[str, Any] = {
        k: v for k, v in arrays.items() if not k.startswith(("config.", "vocab."))
    }
    module, to_backend, _ = _module(backend)
    weights = {k: to_backend(v.copy()) for k, v in weights.items()}
    params = unflatten_params(weights, config["num_layers"], module)
    return Model(params, config["num_heads"], config, src_vocab, tgt_vocab, backend)


@cache
def _model(backend: str) -> Model:
    return load_model(backend)


def _module(backend: str):
    if backend == "numpy":
        import qkv.numpy as qn

        return qn, (lambda a: a), (lambda a: a)
    import torch

    import qkv.torch as qt

    return qt, torch.from_numpy, (lambda t: t.numpy())


def _check_backend(name: str, backend: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f"{name}: backend must be one of {_BACKENDS}; got {backend!r}")


def translate_ids(texts: list[str], model: Model):
    """Greedy translation of many texts at once: generated ids `(batch, steps)` as NumPy."""
    module, to_backend, to_numpy = _module(model.backend)
    src, lengths = encode_source(texts)
    tokens, _ = module.greedy_decode(
        to_backend(src),
        model.params,
        num_heads=model.num_heads,
        bos=TGT_VOCAB.index(BOS),
        eos=TGT_VOCAB.index(EOS),
        max_len=MAX_LEN,
        src_lengths=to_backend(lengths),
    )
    return to_numpy(tokens)


def translate(text, *, backend: str = "numpy"):
    """English number words to Chinese numerals, with the trained Transformer.

    `text` is a string or a list of strings; the result has the same shape. Case, commas,
    hyphens and extra spaces do not matter. Raises `ValueError` for a word outside the
    vocabulary, an empty text or a number outside 0..999,999, naming the word.

    >>> translate("one hundred and five")
    '一百零五'
    >>> translate(["Twenty-One", "nine hundred and ninety-nine thousand"])
    ['二十一', '九十九万九千']
    """
    _check_backend("translate", backend)
    texts = [text] if isinstance(text, str) else list(text)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("translate: text must be a string or a list of strings")
    if not texts:
        return []
    out = decode_target(translate_ids(texts, _model(backend)))
    return out[0] if isinstance(text, str) else out


def attention(text: str, *, backend: str = "numpy") -> Attention:
    """Translate one text and return every attention weight of the translation.

    >>> weights = attention("one hundred and five")
    >>> weights.source, weights.target
    (['one', 'hundred', 'and', 'five'], ['一', '百', '零', '五'])
    >>> weights.cross.shape  # (layers, heads, seq_tgt, seq_src): one row per decoder input
    (2, 4, 5, 4)
    """
    _check_backend("attention", backend)
    model = _model(backend)
    module, to_backend, to_numpy = _module(backend)
    ids = translate_ids([text], model)
    target = decode_target(ids)[0]
    src, _ = encode_source([text])
    tgt = np.array([[TGT_VOCAB.index(BOS), *(TGT_VOCAB.index(c) for c in target)]])
    memory, enc = module.encode(
        to_backend(src), model.params, num_heads=model.num_heads, need_weights=True
    )
    cache_ = module.init_kv_cache(memory, model.params, num_heads=model.num_heads)
    _, _, weights = module.decode_step(
        to_backend(tgt), cache_, model.params, num_heads=model.num_heads, need_weights=True
    )
    return Attention(
        source=tokenize_en(text),
        target=list(target),
        encoder=to_numpy(enc)[:, 0],
        decoder=to_numpy(weights["self"])[:, 0],
        cross=to_numpy(weights["cross"])[:, 0],
    )
