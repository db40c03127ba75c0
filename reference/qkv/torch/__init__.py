"""The PyTorch backend of qkv: the same functions as `qkv.numpy`, on CPU and CUDA.

Each submodule is one concept; `qkv.numpy` holds the same modules with the same names and
signatures.
"""

from . import (
    attention,
    decoding,
    masks,
    modules,
    multihead,
    normalization,
    positional,
    scores,
    seq2seq,
    tiled,
    transformer,
    variants,
)
from . import softmax as _softmax_module  # bound before `from .softmax import *` rebinds `softmax`
from .attention import *  # noqa: F403
from .decoding import *  # noqa: F403
from .masks import *  # noqa: F403
from .modules import *  # noqa: F403
from .multihead import *  # noqa: F403
from .normalization import *  # noqa: F403
from .positional import *  # noqa: F403
from .scores import *  # noqa: F403
from .seq2seq import *  # noqa: F403
from .softmax import *  # noqa: F403
from .tiled import *  # noqa: F403
from .transformer import *  # noqa: F403
from .variants import *  # noqa: F403

_MODULES = (
    _softmax_module,
    scores,
    attention,
    masks,
    multihead,
    positional,
    normalization,
    variants,
    transformer,
    seq2seq,
    decoding,
    tiled,
    modules,
)
__all__ = [name for module in _MODULES for name in module.__all__]
