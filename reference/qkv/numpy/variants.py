"""Soft, hard and local attention: the variants of note 003.

Dimension names: `*batch` leading axes, `seq_q` queries, `seq_k` keys (values share it), `d_k`
query/key features, `d_v` value features, `width = 2 * window + 1` keys in a local band.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._checks import check_attention, shape_of
from .attention import _scaled_dot_product_attention
from .softmax import _softmax

__all__ = ["hard_attention", "gumbel_softmax_attention", "local_attention"]


def _scaled_scores(query, key, scale):
    """Scores of every query-key pair: dot products times `scale` (default 1 / sqrt(d_k))."""
    scale = 1.0 / math.sqrt(shape_of(query)[-1]) if scale is None else scale
    # (*batch, seq_q, d_k) @ (*batch, d_k, seq_k) -> (*batch, seq_q, seq_k)
    return query @ np.swapaxes(key, -1, -2) * scale


def _one_hot_argmax(scores, mask):
    """One-hot weights at each row's largest score (the first on ties); zero where masked."""
    seq_k = scores.shape[-1]
    if seq_k == 0:  # no keys: no argmax, an empty row of weights
        return np.zeros_like(scores)
    best = scores.argmax(axis=-1)  # (*batch, seq_q, seq_k) -> (*batch, seq_q)
    # (seq_k,) == (*batch, seq_q, 1) -> (*batch, seq_q, seq_k)
    one_hot = np.arange(seq_k) == best[..., None]
    # a fully masked row has its argmax on a masked key: the mask clears it
    if mask is not None:
        one_hot = one_hot & mask
    return one_hot.astype(scores.dtype)


def hard_attention(query, key, value, mask=None, *, scale=None):
    r"""Hard attention: each query takes the value of its single best key.

    $$\alpha'_{i,j} = \begin{cases} 1 & j = \arg\max_{j'} \frac{q_i \cdot k_{j'}}{\sqrt{d_k}} \\
    0 & \text{otherwise} \end{cases}, \qquad b_i = \sum_j \alpha'_{i,j} v_j = v_{j^*(i)} .$$

    It is the limit of soft attention when the scores grow without bound (a temperature going to
    0). The argmax has no useful gradient with respect to the scores, which is why training it
    needs reinforcement learning or [gumbel_softmax_attention][qkv.numpy.gumbel_softmax_attention].
    Ties go to the first key. A query whose keys are all masked (or that has no key at all,
    `seq_k == 0`) gets zero weights and a zero output.

    Args:
        query: `(*batch, seq_q, d_k)`.
        key: `(*batch, seq_k, d_k)`.
        value: `(*batch, seq_k, d_v)`.
        mask: boolean, `True` = may attend, broadcastable to `(*batch, seq_q, seq_k)`.
        scale: multiplier of the scores (default $1/\sqrt{d_k}$; it cannot change the argmax).

    Returns:
        `(out, weights)`: `out` of shape `(*batch, seq_q, d_v)`; one-hot `weights` of shape
        `(*batch, seq_q, seq_k)`.

    Raises:
        TypeError: for non-floating or mixed dtypes, a non-boolean mask, or arrays of another
            backend.
        ValueError: for wrong ranks, `d_k`/`seq_k` mismatches, or shapes that do not broadcast.

    Examples:
        >>> import numpy as np
        >>> from qkv.numpy import hard_attention
        >>> query = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> key = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> value = np.array([[10.0], [20.0], [30.0]])
        >>> out, weights = hard_attention(query, key, value)
        >>> weights
        array([[1., 0., 0.],
               [0., 1., 0.]])
        >>> out
        array([[10.],
               [20.]])
    """
    check_attention("hard_attention", "numpy", query, key, value, mask, scale=scale)
    return _hard_attention(query, key, value, mask, scale=scale)


def _hard_attention(query, key, value, mask=None, *, scale=None):
    """The math of `hard_attention`, unchecked (its inputs are valid)."""
    # 1. scaled scores; masked keys can never be the maximum
    scores = _scaled_scores(query, key, scale)  # (*batch, seq_q, seq_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    # 2. one-hot weights at the best key
    weights = _one_hot_argmax(scores, mask)  # (*batch, seq_q, seq_k)
    # 3. the output is the chosen value
    out = weights @ value  # (*batch, seq_q, seq_k) @ (*batch, seq_k, d_v) -> (*batch, seq_q, d_v)
    return out, weights


def _gumbel_noise(scores, generator):
    """Standard Gumbel noise $g = -\\log E$, $E \\sim \\mathrm{Exp}(1)$, shaped like `scores`."""
    generator = np.random.default_rng() if generator is None else generator
    # draw in at least float32 so that -log(E) is finite, then cast to the scores' dtype
    work = np.promote_types(scores.dtype, np.float32)
    draw = generator.standard_exponential(scores.shape, dtype=work)
    return (-np.log(draw)).astype(scores.dtype)


def gumbel_softmax_attention(
    query, key, value, mask=None, *, tau=1.0, generator=None, scale=None, hard=False
):
    r"""Gumbel-softmax attention: a differentiable stand-in for sampling one key per query.

    With scores $s_{i,j} = q_i \cdot k_j / \sqrt{d_k}$ and independent Gumbel noise
    $g_{i,j} = -\log E_{i,j}$, $E_{i,j} \sim \mathrm{Exp}(1)$,

    $$\alpha'_{i,j} = \frac{\exp((s_{i,j} + g_{i,j}) / \tau)}{\sum_{j'} \exp((s_{i,j'} + g_{i,j'})
    / \tau)} .$$

    $\arg\max_j (s_{i,j} + g_{i,j})$ is a sample from $\mathrm{softmax}(s_i)$; as the temperature
    $\tau \to 0$ the weights tend to the one-hot of that sample, i.e. to
    [hard_attention][qkv.numpy.hard_attention] on the perturbed scores. With `hard=True` the
    weights are that one-hot (in the PyTorch backend with the straight-through gradient of the soft
    weights). A query whose keys are all masked (or that has no key at all, `seq_k == 0`) gets
    zero weights and a zero output.

    Args:
        query: `(*batch, seq_q, d_k)`.
        key: `(*batch, seq_k, d_k)`.
        value: `(*batch, seq_k, d_v)`.
        mask: boolean, `True` = may attend, broadcastable to `(*batch, seq_q, seq_k)`.
        tau: temperature $\tau > 0$.
        generator: a `numpy.random.Generator` for the noise (`None`: a fresh unseeded one). Pass
            one to make the result reproducible.
        scale: multiplier of the scores (default $1/\sqrt{d_k}$).
        hard: return one-hot weights instead of the soft ones.

    Returns:
        `(out, weights)`: `out` of shape `(*batch, seq_q, d_v)`; `weights` of shape
        `(*batch, seq_q, seq_k)`, rows summing to 1.

    Raises:
        TypeError: for non-floating or mixed dtypes, a non-boolean mask, a `generator` of the
            wrong kind, or arrays of another backend.
        ValueError: for wrong ranks, `d_k`/`seq_k` mismatches, shapes that do not broadcast, or
            `tau <= 0`.

    Examples:
        A tiny temperature gives the one-hot of the sampled key; rows still sum to 1.

        >>> import numpy as np
        >>> from qkv.numpy import gumbel_softmax_attention
        >>> query = np.array([[0.0, 0.0]])
        >>> key = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> value = np.eye(3)
        >>> rng = np.random.default_rng(0)
        >>> out, weights = gumbel_softmax_attention(query, key, value, tau=1e-3, generator=rng)
        >>> weights.round(4)
        array([[0., 0., 1.]])
        >>> weights.sum(axis=-1)
        array([1.])
    """
    check_attention(
        "gumbel_softmax_attention",
        "numpy",
        query,
        key,
        value,
        mask,
        scale=scale,
        tau=tau,
        generator=generator,
    )
    return _gumbel_softmax_attention(
        query, key, value, mask, tau=tau, generator=generator, scale=scale, hard=hard
    )


def _gumbel_softmax_attention(
    query, key, value, mask=None, *, tau=1.0, generator=None, scale=None, hard=False
):
    """The math of `gumbel_softmax_attention`, unchecked (its inputs are valid)."""
    # 1. scaled scores: the logits of the distribution over keys
    scores = _scaled_scores(query, key, scale)  # (*batch, seq_q, seq_k)
    # 2. perturb by Gumbel noise, divide by the temperature; masked keys at -inf
    logits = (scores + _gumbel_noise(scores, generator)) / tau  # (*batch, seq_q, seq_k)
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    # 3. softmax over the keys (a fully masked row gives zeros)
    weights = _softmax(logits, axis=-1)  # (*batch, seq_q, seq_k)
    # 4. hard: the one-hot of the sampled key
    if hard:
        weights = _one_hot_argmax(weights, mask)
    # 5. weighted sum of the values
    out = weights @ value  # (*batch, seq_q, seq_k) @ (*batch, seq_k, d_v) -> (*batch, seq_q, d_v)
    return out, weights


def local_attention(query, key, value, *, window, scale=None):
    r"""Local (windowed) attention: query $i$ attends only keys $j$ with $|i - j| \le w$.

    $$b_i = \sum_{j = i - w}^{i + w} \alpha'_{i,j} v_j, \qquad \alpha'_{i,\cdot} =
    \mathrm{softmax}_{j \in [i - w,\, i + w]}\left(\frac{q_i \cdot k_j}{\sqrt{d_k}}\right)$$

    (keys outside $[0, seq_k)$ are skipped). The result equals
    [scaled_dot_product_attention][qkv.numpy.scaled_dot_product_attention] with
    [local_mask][qkv.numpy.local_mask], but only the band is computed: $O(n \cdot w \cdot d)$ work
    and memory instead of $O(n^2 d)$. The weights are returned in band form: `weights[..., i, t]`
    is the weight of key $i - w + t$ (zero where that key does not exist).

    Args:
        query: `(*batch, seq_q, d_k)`.
        key: `(*batch, seq_k, d_k)`.
        value: `(*batch, seq_k, d_v)`.
        window: half-width $w \ge 0$ of the band.
        scale: multiplier of the scores (default $1/\sqrt{d_k}$).

    Returns:
        `(out, weights)`: `out` of shape `(*batch, seq_q, d_v)`; band `weights` of shape
        `(*batch, seq_q, 2 * window + 1)`. A query with no key in its band (only possible when
        `seq_q > seq_k + window`) gets zero weights and a zero output.

    Raises:
        TypeError: for non-floating or mixed dtypes, a non-integer `window`, or arrays of another
            backend.
        ValueError: for wrong ranks, `d_k`/`seq_k` mismatches, shapes that do not broadcast, or
            `window < 0`.

    Examples:
        With window 1 each query sees itself and its neighbours; equal keys share the weight.

        >>> import numpy as np
        >>> from qkv.numpy import local_attention
        >>> x = np.zeros((4, 2))  # (seq, d_k): all scores equal
        >>> value = np.array([[0.0], [3.0], [6.0], [9.0]])
        >>> out, weights = local_attention(x, x, value, window=1)
        >>> weights.round(4)  # slot t holds key i - 1 + t
        array([[0.    , 0.5   , 0.5   ],
               [0.3333, 0.3333, 0.3333],
               [0.3333, 0.3333, 0.3333],
               [0.5   , 0.5   , 0.    ]])
        >>> out.round(4)
        array([[1.5],
               [3. ],
               [6. ],
               [7.5]])
    """
    check_attention("local_attention", "numpy", query, key, value, scale=scale, window=window)
    return _local_attention(query, key, value, window=window, scale=scale)


def _local_attention(query, key, value, *, window, scale=None):
    """The math of `local_attention`, unchecked (its inputs are valid)."""
    seq_q, d_k = shape_of(query)[-2:]
    seq_k = shape_of(key)[-2]
    width = 2 * window + 1
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    if seq_q == 0:  # no queries: empty results (the band view below needs at least one row)
        out = _scaled_dot_product_attention(query, key, value, scale=scale)[0]  # (*batch, 0, d_v)
        return out, np.zeros((*out.shape[:-1], width), dtype=out.dtype)
    # 1. pad the sequence axis: `window` rows before and enough after, so every query has a
    #    full band of `width` rows; row i + t of the padded keys is key i - window + t
    after = max(seq_q + window - seq_k, 0)
    key_pad = np.pad(key, [(0, 0)] * (key.ndim - 2) + [(window, after), (0, 0)])
    value_pad = np.pad(value, [(0, 0)] * (value.ndim - 2) + [(window, after), (0, 0)])
    # (*batch, window + seq_k + after, d) -> (*batch, seq_q + 2 * window, d)
    key_pad = key_pad[..., : seq_q + 2 * window, :]
    value_pad = value_pad[..., : seq_q + 2 * window, :]
    # 2. the band of every query, as a strided view (no copy)
    key_band = sliding_window_view(key_pad, width, axis=-2)  # (*batch, seq_q, d_k, width)
    value_band = sliding_window_view(value_pad, width, axis=-2)  # (*batch, seq_q, d_v, width)
    # 3. scores inside the band only: seq_q * width dot products
    # (*batch, seq_q, 1, d_k) @ (*batch, seq_q, d_k, width) -> (*batch, seq_q, 1, width)
    scores = (query[..., None, :] @ key_band)[..., 0, :] * scale  # (*batch, seq_q, width)
    # 4. band slots that fall outside the real keys (the padding) are masked
    i = np.arange(seq_q)[:, None]  # (seq_q, 1)
    j = i - window + np.arange(width)  # (seq_q, width): key of each slot
    scores = np.where((j >= 0) & (j < seq_k), scores, -np.inf)
    # 5. softmax over the band
    weights = _softmax(scores, axis=-1)  # (*batch, seq_q, width)
    # 6. weighted sum of the band's values
    # (*batch, seq_q, d_v, width) @ (*batch, seq_q, width, 1) -> (*batch, seq_q, d_v, 1)
    out = (value_band @ weights[..., None])[..., 0]  # (*batch, seq_q, d_v)
    return out, weights
