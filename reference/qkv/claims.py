"""The numbers behind the site's checks: one small function per "Check" of the syllabus.

Each function measures one claim of the study notes with the public `qkv.numpy` API (and
`qkv.torch` where the claim is about PyTorch) and returns plain Python numbers in a small
dataclass. The site calls these functions at build time and prints what they return; the
test-suite (`tests/test_claims.py`) calls the same functions and asserts the claim, so the number a
reader sees is the number that was tested.

Every function is deterministic (fixed seeds, no timing) and fast: all of them together run in well
under two seconds, because they run at every build of the site.

Row by row: 1 [`self_attention_io`][qkv.claims.self_attention_io],
2 [`sequential_cost`][qkv.claims.sequential_cost],
3 [`score_functions`][qkv.claims.score_functions],
4 [`soft_lookup_limit`][qkv.claims.soft_lookup_limit],
5 [`softmax_properties`][qkv.claims.softmax_properties],
6 [`loop_equals_matrix`][qkv.claims.loop_equals_matrix],
7 [`columns_equal_rows`][qkv.claims.columns_equal_rows],
8 [`scaling_effect`][qkv.claims.scaling_effect],
9 [`shared_projection_effect`][qkv.claims.shared_projection_effect],
10 [`multi_head_decomposition`][qkv.claims.multi_head_decomposition],
11 [`positional_properties`][qkv.claims.positional_properties],
12 [`mask_properties`][qkv.claims.mask_properties],
13 [`cross_attention_shapes`][qkv.claims.cross_attention_shapes],
14 [`soft_hard_local`][qkv.claims.soft_hard_local],
15 [`encoder_layer_vs_pytorch`][qkv.claims.encoder_layer_vs_pytorch],
16 [`norm_independence`][qkv.claims.norm_independence],
17 [`teacher_forcing_toy`][qkv.claims.teacher_forcing_toy],
18 [`score_matrix_shapes`][qkv.claims.score_matrix_shapes].
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from qkv import numpy as ref

__all__ = [
    "SelfAttentionIO",
    "self_attention_io",
    "SequentialCost",
    "sequential_cost",
    "ScoreFunctions",
    "score_functions",
    "SoftLookupLimit",
    "soft_lookup_limit",
    "SoftmaxProperties",
    "softmax_properties",
    "LoopEqualsMatrix",
    "loop_equals_matrix",
    "ColumnsEqualRows",
    "columns_equal_rows",
    "ScalingEffect",
    "scaling_effect",
    "SharedProjectionEffect",
    "shared_projection_effect",
    "MultiHeadDecomposition",
    "multi_head_decomposition",
    "PositionalProperties",
    "positional_properties",
    "MaskProperties",
    "mask_properties",
    "CrossAttentionShapes",
    "cross_attention_shapes",
    "SoftHardLocal",
    "soft_hard_local",
    "EncoderLayerVsPytorch",
    "encoder_layer_vs_pytorch",
    "NormIndependence",
    "norm_independence",
    "TeacherForcingToy",
    "teacher_forcing_toy",
    "ScoreMatrixShapes",
    "score_matrix_shapes",
]


def _max_abs(a, b) -> float:
    """Largest absolute elementwise difference of two arrays, as a Python float."""
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# --------------------------------------------------------------------------------------------- 1


@dataclass(frozen=True)
class SelfAttentionIO:
    """Result of [`self_attention_io`][qkv.claims.self_attention_io].

    Attributes:
        num_inputs: number of input vectors N.
        num_outputs: number of output vectors.
        min_change: over every pair (output i, input j), the smallest change of output i when only
            input j is nudged; positive means every output depends on every input.
        max_change: the largest such change (for scale).
    """

    num_inputs: int
    num_outputs: int
    min_change: float
    max_change: float


def self_attention_io(seq: int = 6, d_model: int = 8, *, seed: int = 0) -> SelfAttentionIO:
    """Row 1: N vectors in, N vectors out, and each output looks at the whole sequence.

    Self-attention `out = attention(x, x, x)` on `seq` random vectors; then each input $x_j$ in turn
    is nudged by a random step of length 0.1, and the change of every output $o_i$ is measured.

    Args:
        seq: number of tokens N.
        d_model: width of each vector.
        seed: seed of the random inputs.

    Returns:
        A [`SelfAttentionIO`][qkv.claims.SelfAttentionIO] with the counts and the smallest change.

    Examples:
        >>> from qkv.claims import self_attention_io
        >>> r = self_attention_io()
        >>> r.num_inputs, r.num_outputs, r.min_change > 0
        (6, 6, True)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    out, _ = ref.scaled_dot_product_attention(x, x, x)
    # Nudge input j in copy j of the sequence: one batch of `seq` perturbed sequences.
    step = rng.standard_normal((seq, d_model))
    step *= 0.1 / np.linalg.norm(step, axis=-1, keepdims=True)
    nudged = np.repeat(x[None], seq, axis=0)  # (seq, seq, d_model): copy j, token i
    nudged[np.arange(seq), np.arange(seq)] += step
    out_nudged, _ = ref.scaled_dot_product_attention(nudged, nudged, nudged)
    # change[j, i] = ||o_i(x with x_j nudged) - o_i(x)||
    change = np.linalg.norm(out_nudged - out[None], axis=-1)
    return SelfAttentionIO(
        num_inputs=int(x.shape[0]),
        num_outputs=int(out.shape[0]),
        min_change=float(change.min()),
        max_change=float(change.max()),
    )


# --------------------------------------------------------------------------------------------- 2


@dataclass(frozen=True)
class SequentialCost:
    """Result of [`sequential_cost`][qkv.claims.sequential_cost].

    Attributes:
        table: Table 1 of Vaswani et al. (2017), one dict per layer type with the keys `layer`,
            `complexity`, `sequential`, `path` (big-O strings as printed in the paper).
        n: sequence length used for the measurements.
        kernel: convolution kernel width k.
        window: neighbourhood r of restricted self-attention (keys with |i - j| <= r).
        path: measured maximum path length (layers or steps needed before the last position depends
            on the first), per layer type.
        path_formula: the value the paper's formula predicts for the same n, k, r.
        steps: measured number of steps that must run one after another to process the sequence,
            per layer type.
    """

    table: tuple
    n: int
    kernel: int
    window: int
    path: dict
    path_formula: dict
    steps: dict


_TABLE_1 = (
    {"layer": "self-attention", "complexity": "O(n^2 d)", "sequential": "O(1)", "path": "O(1)"},
    {"layer": "recurrent", "complexity": "O(n d^2)", "sequential": "O(n)", "path": "O(n)"},
    {
        "layer": "convolutional",
        "complexity": "O(k n d^2)",
        "sequential": "O(1)",
        "path": "O(log_k n)",
    },
    {
        "layer": "restricted self-attention",
        "complexity": "O(r n d)",
        "sequential": "O(1)",
        "path": "O(n/r)",
    },
)


def _layers_until_connected(layers: list[np.ndarray]) -> int:
    """Stack boolean dependency matrices until the last position depends on the first.

    `layers[l][i, j]` is True when output i of layer l reads input j. Returns how many layers of
    the (cycled) list are needed for `reach[-1, 0]` to become True.
    """
    n = layers[0].shape[0]
    reach = np.eye(n, dtype=bool)
    for count in range(1, 10 * n):
        layer = layers[(count - 1) % len(layers)]
        # (n, n) @ (n, n) -> (n, n): output i reaches input j through some intermediate m
        reach = (layer.astype(np.int64) @ reach.astype(np.int64)) > 0
        if reach[-1, 0]:
            return count
    raise RuntimeError("never connected")


def _rnn_steps(x: np.ndarray, w_h: np.ndarray, w_x: np.ndarray) -> int:
    """Run a plain RNN over `x` (seq, d) and count the steps that had to wait for the previous."""
    h = np.zeros(w_h.shape[0])
    steps = 0
    for x_t in x:  # h_t needs h_{t-1}: no step can start before the previous one ends
        h = np.tanh(h @ w_h + x_t @ w_x)
        steps += 1
    return steps


def _attention_steps(x: np.ndarray) -> int:
    """Self-attention over `x` (seq, d): every position in one batched call, counted as one step."""
    steps = 0
    ref.scaled_dot_product_attention(x, x, x)  # all seq outputs at once, none waits for another
    steps += 1
    return steps


def sequential_cost(n: int = 64, *, kernel: int = 3, window: int = 4) -> SequentialCost:
    """Row 2: why not an RNN or a CNN: Table 1 of the Transformer paper, with measured values.

    The table is quoted from Vaswani et al. (2017). Two of its columns are then measured:

    - maximum path length: boolean dependency matrices are stacked layer after layer until the
      last position depends on the first. Self-attention: every output reads every input. Recurrent:
      each state reads the previous state (a chain, one step per position). Convolution with dilated
      causal kernels of width k (dilation $k^\\ell$ in layer $\\ell$), as the paper's $\\log_k n$
      assumes. Restricted self-attention: a band $|i - j| \\le r$
      ([`local_mask`][qkv.numpy.local_mask]).
    - sequential steps: a plain RNN forward pass counts the steps that had to wait for the previous
      one; self-attention computes every position in one batched call.

    Args:
        n: sequence length.
        kernel: convolution kernel width k.
        window: restricted self-attention neighbourhood r.

    Returns:
        A [`SequentialCost`][qkv.claims.SequentialCost].

    Examples:
        >>> from qkv.claims import sequential_cost
        >>> r = sequential_cost(16, kernel=2, window=4)
        >>> r.path
        {'self-attention': 1, 'recurrent': 15, 'convolutional': 4, 'restricted self-attention': 4}
        >>> r.steps
        {'self-attention': 1, 'recurrent': 16}
    """
    ones = np.ones((n, n), dtype=bool)
    # recurrent: state i reads state i - 1 (and its own input), one step at a time
    chain = np.eye(n, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    # dilated causal convolution: layer l reads positions i, i - k^l, ..., i - (k-1) k^l
    index = np.arange(n)
    dilated = []
    for level in range(max(1, math.ceil(math.log(n, kernel)))):
        offsets = (index[:, None] - index[None, :]) // kernel**level
        exact = (index[:, None] - index[None, :]) % kernel**level == 0
        dilated.append(exact & (offsets >= 0) & (offsets < kernel))
    band = ref.local_mask(n, window=window)
    path = {
        "self-attention": _layers_until_connected([ones]),
        "recurrent": _layers_until_connected([chain]),
        "convolutional": _layers_until_connected(dilated),
        "restricted self-attention": _layers_until_connected([np.asarray(band, dtype=bool)]),
    }
    path_formula = {
        "self-attention": 1,
        "recurrent": n - 1,
        "convolutional": math.ceil(math.log(n, kernel) - 1e-9),
        "restricted self-attention": math.ceil((n - 1) / window),
    }
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4))
    steps = {
        "self-attention": _attention_steps(x),
        "recurrent": _rnn_steps(x, 0.5 * np.eye(4), np.eye(4)),
    }
    return SequentialCost(
        table=_TABLE_1,
        n=n,
        kernel=kernel,
        window=window,
        path=path,
        path_formula=path_formula,
        steps=steps,
    )


# --------------------------------------------------------------------------------------------- 3


@dataclass(frozen=True)
class ScoreFunctions:
    """Result of [`score_functions`][qkv.claims.score_functions].

    Attributes:
        max_error: per score function, the largest difference from its one-line formula.
        shapes: per score function, the shape of the returned scores.
        parameters: per score function, how many numbers it takes beyond `query` and `key`
            (the trainable parameters it needs).
    """

    max_error: dict
    shapes: dict
    parameters: dict


def _parameter_count(function, arrays: dict) -> int:
    """Sizes of the array arguments a score function takes beyond `query` and `key`."""
    names = [
        name
        for name, p in inspect.signature(function).parameters.items()
        if name not in ("query", "key") and p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    return int(sum(np.asarray(arrays[name]).size for name in names))


def score_functions(
    seq_q: int = 3, seq_k: int = 5, d_k: int = 4, *, hidden: int = 6, seed: int = 0
) -> ScoreFunctions:
    """Row 3: every score function, checked against its formula, and what each can learn.

    Dot product $q \\cdot k$, scaled dot product $q \\cdot k / \\sqrt{d_k}$, cosine
    $q \\cdot k / (\\lVert q \\rVert \\lVert k \\rVert)$, additive $v^\\top \\tanh(W_q q + W_k k)$
    and bilinear $q^\\top W k$. The parameter count comes from each function's signature: the
    similarities without parameters take nothing but `query` and `key`, so training has nothing to
    change in them.

    Args:
        seq_q: number of queries.
        seq_k: number of keys.
        d_k: width of queries and keys.
        hidden: hidden width of the additive score.
        seed: seed of the random inputs.

    Returns:
        A [`ScoreFunctions`][qkv.claims.ScoreFunctions].

    Examples:
        >>> from qkv.claims import score_functions
        >>> r = score_functions()
        >>> r.parameters
        {'dot': 0, 'scaled dot': 0, 'cosine': 0, 'additive': 54, 'bilinear': 16}
        >>> max(r.max_error.values()) < 1e-12
        True
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq_q, d_k))
    key = rng.standard_normal((seq_k, d_k))
    w_q = rng.standard_normal((d_k, hidden))
    w_k = rng.standard_normal((d_k, hidden))
    v = rng.standard_normal(hidden)
    weight = rng.standard_normal((d_k, d_k))
    arrays = {"w_q": w_q, "w_k": w_k, "v": v, "weight": weight}
    norms_q = np.linalg.norm(query, axis=-1, keepdims=True)
    norms_k = np.linalg.norm(key, axis=-1, keepdims=True)
    cases: dict[str, tuple[Any, tuple, np.ndarray]] = {
        "dot": (ref.dot_product_scores, (query, key), query @ key.T),
        "scaled dot": (ref.scaled_dot_product_scores, (query, key), query @ key.T / math.sqrt(d_k)),
        "cosine": (ref.cosine_scores, (query, key), (query / norms_q) @ (key / norms_k).T),
        "additive": (
            ref.additive_scores,
            (query, key, w_q, w_k, v),
            np.tanh((query @ w_q)[:, None, :] + (key @ w_k)[None, :, :]) @ v,
        ),
        "bilinear": (ref.bilinear_scores, (query, key, weight), query @ weight @ key.T),
    }
    max_error, shapes, parameters = {}, {}, {}
    for name, (function, args, expected) in cases.items():
        scores = function(*args)
        max_error[name] = _max_abs(scores, expected)
        shapes[name] = tuple(int(s) for s in scores.shape)
        parameters[name] = _parameter_count(function, arrays)
    return ScoreFunctions(max_error=max_error, shapes=shapes, parameters=parameters)


# --------------------------------------------------------------------------------------------- 4


@dataclass(frozen=True)
class SoftLookupLimit:
    """Result of [`soft_lookup_limit`][qkv.claims.soft_lookup_limit].

    Attributes:
        sharpness: the multipliers c applied to the scores.
        distance: for each c, the largest distance between the soft lookup's output and the value
            stored under the best-matching key (the hard lookup).
        max_weight: for each c, the smallest (over queries) top attention weight.
    """

    sharpness: tuple
    distance: tuple
    max_weight: tuple


def soft_lookup_limit(
    sharpness: tuple = (1.0, 4.0, 16.0, 64.0, 256.0),
    *,
    num_keys: int = 8,
    d_k: int = 4,
    seed: int = 0,
) -> SoftLookupLimit:
    """Row 4: hard key-value lookup is the one-hot limit of soft lookup.

    A memory of `num_keys` unit-length keys and their values; queries are noisy copies of some
    keys. Attention with scores multiplied by c (`scale=c / sqrt(d_k)`) returns a weighted mix of
    values; as c grows the weights become one-hot and the output becomes the value of the
    best-matching key, which is what a dictionary lookup returns.

    Args:
        sharpness: the multipliers c to try, increasing.
        num_keys: number of stored key-value pairs.
        d_k: width of keys and queries.
        seed: seed of the random memory.

    Returns:
        A [`SoftLookupLimit`][qkv.claims.SoftLookupLimit].

    Examples:
        >>> from qkv.claims import soft_lookup_limit
        >>> r = soft_lookup_limit()
        >>> r.distance[-1] < 1e-6 < r.distance[0]
        True
    """
    rng = np.random.default_rng(seed)
    key = rng.standard_normal((num_keys, d_k))
    key /= np.linalg.norm(key, axis=-1, keepdims=True)
    value = rng.standard_normal((num_keys, 3))
    query = key + 0.1 * rng.standard_normal((num_keys, d_k))
    # the hard lookup: the value stored under the key with the highest score
    best = np.argmax(query @ key.T, axis=-1)
    hard = value[best]
    distance, max_weight = [], []
    for c in sharpness:
        out, weights = ref.scaled_dot_product_attention(query, key, value, scale=c / math.sqrt(d_k))
        distance.append(float(np.linalg.norm(out - hard, axis=-1).max()))
        max_weight.append(float(weights.max(axis=-1).min()))
    return SoftLookupLimit(
        sharpness=tuple(float(c) for c in sharpness),
        distance=tuple(distance),
        max_weight=tuple(max_weight),
    )


# --------------------------------------------------------------------------------------------- 5


@dataclass(frozen=True)
class SoftmaxProperties:
    """Result of [`softmax_properties`][qkv.claims.softmax_properties].

    Attributes:
        row_sum_error: largest |sum of a row - 1| over random rows (float64).
        min_weight: smallest weight seen (all weights are non-negative).
        shift_error: largest change of the weights when every logit of a row gets the same shift.
        huge_logits: the float32 weights of the logits `[1e4, -1e4, 0]`, rounded.
        huge_finite: whether those weights are finite.
        naive_finite: whether the textbook formula `exp(x) / sum(exp(x))` stays finite there.
    """

    row_sum_error: float
    min_weight: float
    shift_error: float
    huge_logits: tuple
    huge_finite: bool
    naive_finite: bool


def softmax_properties(*, seed: int = 0) -> SoftmaxProperties:
    """Row 5: softmax turns any scores into weights that sum to 1, and does it stably.

    Args:
        seed: seed of the random logits.

    Returns:
        A [`SoftmaxProperties`][qkv.claims.SoftmaxProperties].

    Examples:
        >>> from qkv.claims import softmax_properties
        >>> r = softmax_properties()
        >>> r.huge_logits, r.huge_finite, r.naive_finite
        ((1.0, 0.0, 0.0), True, False)
    """
    rng = np.random.default_rng(seed)
    logits = 5.0 * rng.standard_normal((64, 10))
    weights = ref.softmax(logits, axis=-1)
    shifted = ref.softmax(logits + 1000.0 * rng.standard_normal((64, 1)), axis=-1)
    huge = np.array([1e4, -1e4, 0.0], dtype=np.float32)
    huge_weights = ref.softmax(huge)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(huge) / np.exp(huge).sum()
    return SoftmaxProperties(
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
        min_weight=float(weights.min()),
        shift_error=_max_abs(shifted, weights),
        huge_logits=tuple(round(float(w), 4) for w in huge_weights),
        huge_finite=bool(np.isfinite(huge_weights).all()),
        naive_finite=bool(np.isfinite(naive).all()),
    )


# --------------------------------------------------------------------------------------------- 6


@dataclass(frozen=True)
class LoopEqualsMatrix:
    """Result of [`loop_equals_matrix`][qkv.claims.loop_equals_matrix].

    Attributes:
        out_error: largest difference between the loop's outputs and the matrix form's.
        weights_error: the same for the attention weights.
    """

    out_error: float
    weights_error: float


def loop_equals_matrix(
    seq_q: int = 5, seq_k: int = 7, d_k: int = 4, d_v: int = 3, *, seed: int = 0
) -> LoopEqualsMatrix:
    """Row 6: the per-query loop $b^i = \\sum_j \\alpha'_{i,j} v^j$ equals the matrix form.

    Args:
        seq_q: number of queries.
        seq_k: number of keys (and values).
        d_k: width of queries and keys.
        d_v: width of values.
        seed: seed of the random inputs.

    Returns:
        A [`LoopEqualsMatrix`][qkv.claims.LoopEqualsMatrix].

    Examples:
        >>> from qkv.claims import loop_equals_matrix
        >>> r = loop_equals_matrix()
        >>> r.out_error < 1e-12 and r.weights_error < 1e-12
        True
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq_q, d_k))
    key = rng.standard_normal((seq_k, d_k))
    value = rng.standard_normal((seq_k, d_v))
    out_loop, weights_loop = ref.attention_loop(query, key, value)
    out, weights = ref.scaled_dot_product_attention(query, key, value)
    return LoopEqualsMatrix(
        out_error=_max_abs(out_loop, out), weights_error=_max_abs(weights_loop, weights)
    )


# --------------------------------------------------------------------------------------------- 7


@dataclass(frozen=True)
class ColumnsEqualRows:
    """Result of [`columns_equal_rows`][qkv.claims.columns_equal_rows].

    Attributes:
        out_error: largest difference between $O = V A'$ (columns) and
            $(\\mathrm{softmax}(Q K^\\top / \\sqrt{d_k}) V)^\\top$ (rows, transposed).
        weights_error: the same for $A'$ against the row weights, transposed.
        column_shapes: shapes of `q_cols`, `weights_cols`, `out_cols`.
        row_shapes: shapes of `query`, `weights`, `out`.
    """

    out_error: float
    weights_error: float
    column_shapes: dict
    row_shapes: dict


def columns_equal_rows(
    seq: int = 6, d_k: int = 4, d_v: int = 3, *, seed: int = 0
) -> ColumnsEqualRows:
    """Row 7: the notes' column convention equals the paper's row convention, transposed.

    Args:
        seq: number of tokens.
        d_k: width of queries and keys.
        d_v: width of values.
        seed: seed of the random inputs.

    Returns:
        A [`ColumnsEqualRows`][qkv.claims.ColumnsEqualRows].

    Examples:
        >>> from qkv.claims import columns_equal_rows
        >>> r = columns_equal_rows()
        >>> r.column_shapes["weights_cols"], r.row_shapes["weights"]
        ((6, 6), (6, 6))
        >>> r.column_shapes["out_cols"], r.row_shapes["out"]
        ((3, 6), (6, 3))
        >>> r.out_error < 1e-12
        True
    """
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((seq, d_k))
    key = rng.standard_normal((seq, d_k))
    value = rng.standard_normal((seq, d_v))
    # the notes stack tokens as columns: Q is (d_k, seq)
    out_cols, weights_cols = ref.attention_column_form(query.T, key.T, value.T)
    out, weights = ref.scaled_dot_product_attention(query, key, value)
    return ColumnsEqualRows(
        out_error=_max_abs(out_cols, out.T),
        weights_error=_max_abs(weights_cols, weights.T),
        column_shapes={
            "q_cols": tuple(query.T.shape),
            "weights_cols": tuple(weights_cols.shape),
            "out_cols": tuple(out_cols.shape),
        },
        row_shapes={
            "query": tuple(query.shape),
            "weights": tuple(weights.shape),
            "out": tuple(out.shape),
        },
    )


# --------------------------------------------------------------------------------------------- 8


@dataclass(frozen=True)
class ScalingEffect:
    """Result of [`scaling_effect`][qkv.claims.scaling_effect].

    Attributes:
        d_k: the key widths tried.
        variance_ratio: for each d_k, the sample variance of $q \\cdot k$ divided by d_k, for
            q and k with independent unit-variance entries (close to 1).
        jacobian_unscaled: for each d_k, the mean Frobenius norm of the softmax Jacobian
            $\\mathrm{diag}(p) - p p^\\top$ at the scores $q \\cdot k$.
        jacobian_scaled: the same at the scores $q \\cdot k / \\sqrt{d_k}$.
        jacobian_formula_error: largest difference between the measured Jacobian (central finite
            differences of [`softmax`][qkv.numpy.softmax]) and $\\mathrm{diag}(p) - p p^\\top$.
    """

    d_k: tuple
    variance_ratio: tuple
    jacobian_unscaled: tuple
    jacobian_scaled: tuple
    jacobian_formula_error: float


def _softmax_jacobian(scores: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Jacobian of softmax over the last axis, by central differences: (*batch, n, n)."""
    n = scores.shape[-1]
    columns = []
    for j in range(n):
        bump = np.zeros(n)
        bump[j] = step
        # column j: d softmax(s) / d s_j
        columns.append((ref.softmax(scores + bump) - ref.softmax(scores - bump)) / (2 * step))
    return np.stack(columns, axis=-1)  # (*batch, n) x n -> (*batch, n, n); [i, j] = d p_i / d s_j


def scaling_effect(
    d_k: tuple = (4, 16, 64, 256),
    *,
    seq_k: int = 16,
    num_queries: int = 512,
    num_samples: int = 4000,
    seed: int = 0,
) -> ScalingEffect:
    """Row 8: why divide by $\\sqrt{d_k}$.

    With unit-variance entries, $q \\cdot k$ has variance $d_k$: the unscaled scores spread out
    as d_k grows, softmax saturates toward one-hot, and its Jacobian
    $\\mathrm{diag}(p) - p p^\\top$ (the factor every gradient through the weights is multiplied
    by) shrinks toward 0. Divided by
    $\\sqrt{d_k}$ the scores keep unit variance and the Jacobian keeps its size. The Jacobian is
    measured with respect to the scores, not the query: the gradient with respect to q also carries
    the factor k, which grows with d_k and hides the saturation.

    Args:
        d_k: key widths to try, increasing.
        seq_k: number of keys each query scores.
        num_queries: queries per d_k for the Jacobian, each with its own `seq_k` keys.
        num_samples: (q, k) pairs per d_k for the variance.
        seed: seed of the random vectors.

    Returns:
        A [`ScalingEffect`][qkv.claims.ScalingEffect].

    Examples:
        >>> from qkv.claims import scaling_effect
        >>> r = scaling_effect()
        >>> r.jacobian_unscaled[-1] < r.jacobian_unscaled[0]
        True
    """
    rng = np.random.default_rng(seed)
    variance_ratio: list[float] = []
    unscaled: list[float] = []
    scaled: list[float] = []
    formula_error = 0.0
    for width in d_k:
        q = rng.standard_normal((num_samples, width))
        k = rng.standard_normal((num_samples, width))
        variance_ratio.append(float(np.var(np.sum(q * k, axis=-1)) / width))
        # each query scores its own fresh set of keys, so the mean is over queries and key sets
        query = rng.standard_normal((num_queries, 1, width))
        key = rng.standard_normal((num_queries, seq_k, width))
        for scale, norms in ((1.0, unscaled), (1.0 / math.sqrt(width), scaled)):
            # (num_queries, 1, width) @ (num_queries, width, seq_k) -> (num_queries, seq_k)
            scores = ref.scaled_dot_product_scores(query, key, scale=scale)[:, 0]
            jacobian = _softmax_jacobian(scores)  # (num_queries, seq_k, seq_k)
            p = ref.softmax(scores)
            formula = p[:, :, None] * np.eye(seq_k) - p[:, :, None] * p[:, None, :]
            formula_error = max(formula_error, _max_abs(jacobian, formula))
            norms.append(float(np.linalg.norm(jacobian, axis=(-2, -1)).mean()))
    return ScalingEffect(
        d_k=tuple(int(w) for w in d_k),
        variance_ratio=tuple(variance_ratio),
        jacobian_unscaled=tuple(unscaled),
        jacobian_scaled=tuple(scaled),
        jacobian_formula_error=formula_error,
    )


# --------------------------------------------------------------------------------------------- 9


@dataclass(frozen=True)
class SharedProjectionEffect:
    """Result of [`shared_projection_effect`][qkv.claims.shared_projection_effect].

    Attributes:
        seq: tokens per sequence n.
        d_model: model width.
        asymmetry_shared: largest $|S - S^\\top|$ of the score matrix with $W^q = W^k$.
        asymmetry_separate: the same with separate $W^q$, $W^k$.
        self_weight_shared: mean weight a token gives itself, shared $W^q = W^k$.
        self_weight_separate: the same with separate matrices.
        uniform: $1/n$, the self-weight of uniform attention.
    """

    seq: int
    d_model: int
    asymmetry_shared: float
    asymmetry_separate: float
    self_weight_shared: float
    self_weight_separate: float
    uniform: float


def shared_projection_effect(
    seq: int = 8, d_model: int = 128, *, batch: int = 32, seed: int = 0
) -> SharedProjectionEffect:
    """Row 9: with $W^q = W^k$ the scores are symmetric and each token attends mostly to itself.

    Random unit-variance tokens, projection matrices from
    [`init_multi_head_params`][qkv.numpy.init_multi_head_params] (one head, no bias). With a
    shared matrix, the score of token i with itself is $\\lVert x_i W \\rVert^2 / \\sqrt{d_k}$,
    a sum of $d_k$ positive terms, while its score with another token is a sum of terms of random
    sign: the diagonal wins and the weights approach the identity matrix. With separate matrices
    the diagonal is no different from the rest and the self-weight is near $1/n$.

    Args:
        seq: tokens per sequence n.
        d_model: model width (the larger, the closer the shared self-weight is to 1).
        batch: number of random sequences averaged over.
        seed: seed of the inputs and the initialisation.

    Returns:
        A [`SharedProjectionEffect`][qkv.claims.SharedProjectionEffect].

    Examples:
        >>> from qkv.claims import shared_projection_effect
        >>> r = shared_projection_effect()
        >>> r.asymmetry_shared == 0.0 < r.asymmetry_separate
        True
        >>> r.self_weight_shared > 0.9 and r.self_weight_separate < 0.25
        True
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, seq, d_model))
    params = ref.init_multi_head_params(d_model, bias=False, seed=seed)
    shared = params._replace(w_k=params.w_q)
    results = {}
    for name, p in (("shared", shared), ("separate", params)):
        q = x @ p.w_q  # (batch, seq, d_model) @ (d_model, d_model) -> (batch, seq, d_model)
        k = x @ p.w_k
        scores = ref.scaled_dot_product_scores(q, k)  # (batch, seq, seq)
        _, weights = ref.multi_head_attention(x, x, x, p, num_heads=1)  # (batch, 1, seq, seq)
        results[name] = (
            _max_abs(scores, np.swapaxes(scores, -1, -2)),
            float(np.diagonal(weights, axis1=-2, axis2=-1).mean()),
        )
    return SharedProjectionEffect(
        seq=seq,
        d_model=d_model,
        asymmetry_shared=results["shared"][0],
        asymmetry_separate=results["separate"][0],
        self_weight_shared=results["shared"][1],
        self_weight_separate=results["separate"][1],
        uniform=1.0 / seq,
    )


# -------------------------------------------------------------------------------------------- 10


@dataclass(frozen=True)
class MultiHeadDecomposition:
    """Result of [`multi_head_decomposition`][qkv.claims.multi_head_decomposition].

    Attributes:
        num_heads: the number of heads h used for the comparison.
        split_error: largest difference between multi-head attention and h single-head attentions
            on the column slices of $W^q, W^k, W^v$, concatenated and multiplied by $W^O$.
        one_head_error: largest difference between `num_heads=1` and plain single-head attention
            on the projections.
        parameters: for each h tried, the number of parameters used.
    """

    num_heads: int
    split_error: float
    one_head_error: float
    parameters: dict


def multi_head_decomposition(
    num_heads: int = 4, d_model: int = 16, seq: int = 5, *, seed: int = 0
) -> MultiHeadDecomposition:
    """Row 10: multi-head attention is h independent attentions, concatenated and projected.

    Args:
        num_heads: number of heads h (divides d_model).
        d_model: model width.
        seq: number of tokens.
        seed: seed of the inputs and parameters.

    Returns:
        A [`MultiHeadDecomposition`][qkv.claims.MultiHeadDecomposition].

    Examples:
        >>> from qkv.claims import multi_head_decomposition
        >>> r = multi_head_decomposition()
        >>> r.parameters
        {1: 1088, 2: 1088, 4: 1088, 8: 1088, 16: 1088}
        >>> r.split_error < 1e-12 and r.one_head_error < 1e-12
        True
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, seq, d_model))
    params = ref.init_multi_head_params(d_model, bias=True, seed=seed)
    out, _ = ref.multi_head_attention(x, x, x, params, num_heads=num_heads)
    # the same computation, one head at a time
    d_head = d_model // num_heads
    heads = []
    for h in range(num_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        q = x @ params.w_q[:, cols] + params.b_q[cols]  # (2, seq, d_model) @ (d_model, d_head)
        k = x @ params.w_k[:, cols] + params.b_k[cols]
        v = x @ params.w_v[:, cols] + params.b_v[cols]
        heads.append(ref.scaled_dot_product_attention(q, k, v)[0])  # (2, seq, d_head)
    by_hand = np.concatenate(heads, axis=-1) @ params.w_o + params.b_o  # (2, seq, d_model)
    one, _ = ref.multi_head_attention(x, x, x, params, num_heads=1)
    single, _ = ref.scaled_dot_product_attention(
        x @ params.w_q + params.b_q, x @ params.w_k + params.b_k, x @ params.w_v + params.b_v
    )
    # one set of parameters serves every h: heads only decide how its columns are grouped
    size = int(sum(np.asarray(a).size for a in params if a is not None))
    parameters = {}
    for h in (1, 2, 4, 8, 16):
        if d_model % h == 0:
            out_h, weights_h = ref.multi_head_attention(x, x, x, params, num_heads=h)
            if out_h.shape == x.shape and weights_h.shape[-3] == h:
                parameters[h] = size
    return MultiHeadDecomposition(
        num_heads=num_heads,
        split_error=_max_abs(out, by_hand),
        one_head_error=_max_abs(one, single @ params.w_o + params.b_o),
        parameters=parameters,
    )


# -------------------------------------------------------------------------------------------- 11


@dataclass(frozen=True)
class PositionalProperties:
    """Result of [`positional_properties`][qkv.claims.positional_properties].

    Attributes:
        equivariance_error: without positions, largest difference between attention of permuted
            inputs and the permuted attention output (0 up to rounding).
        with_positions_change: the same difference once positional encodings are added (not 0:
            order now matters).
        rotation_error: largest difference between PE(pos + k) and $M_k$ PE(pos), with $M_k$ the
            block rotation built from PE(k) alone, over every pos and every k tried.
        orthogonality_error: largest $|M_k^\\top M_k - I|$.
        offset_spread: over each offset k, the spread (max - min over pos) of PE(pos) · PE(pos + k);
            the largest spread over the offsets tried.
    """

    equivariance_error: float
    with_positions_change: float
    rotation_error: float
    orthogonality_error: float
    offset_spread: float


def _rotation_from_offset(pe_k: np.ndarray) -> np.ndarray:
    """The matrix $M_k$ with PE(pos + k) = $M_k$ PE(pos), built from the row PE(k) only."""
    d_model = pe_k.shape[-1]
    m = np.zeros((d_model, d_model))
    for i in range(0, d_model, 2):
        s, c = pe_k[i], pe_k[i + 1]  # sin(w k), cos(w k) of this frequency pair
        # sin(w(p+k)) = cos(wk) sin(wp) + sin(wk) cos(wp)
        # cos(w(p+k)) = cos(wk) cos(wp) - sin(wk) sin(wp)
        m[i : i + 2, i : i + 2] = [[c, s], [-s, c]]
    return m


def positional_properties(
    num_positions: int = 64, d_model: int = 16, *, offsets: tuple = (1, 2, 5, 10), seed: int = 0
) -> PositionalProperties:
    """Row 11: attention alone ignores order; sinusoidal encodings encode offsets linearly.

    Args:
        num_positions: positions of the encoding table.
        d_model: model width (even).
        offsets: the offsets k checked.
        seed: seed of the random tokens and parameters.

    Returns:
        A [`PositionalProperties`][qkv.claims.PositionalProperties].

    Examples:
        >>> from qkv.claims import positional_properties
        >>> r = positional_properties()
        >>> r.rotation_error < 1e-9 and r.offset_spread < 1e-9
        True
        >>> r.equivariance_error < 1e-12 < r.with_positions_change
        True
    """
    rng = np.random.default_rng(seed)
    # 1. permutation equivariance of multi-head self-attention without positions
    seq = 6
    x = rng.standard_normal((seq, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    perm = rng.permutation(seq)

    def attend(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2)[0]

    equivariance = _max_abs(attend(x[perm]), attend(x)[perm])
    pe = ref.sinusoidal_positional_encoding(num_positions, d_model)
    with_positions = _max_abs(attend(x[perm] + pe[:seq]), attend(x + pe[:seq])[perm])
    # 2. PE(pos + k) = M_k PE(pos), M_k built from PE(k) alone (so it cannot depend on pos)
    rotation_error, orthogonality_error, spread = 0.0, 0.0, 0.0
    for k in offsets:
        m = _rotation_from_offset(pe[k])
        # (num_positions - k, d_model) @ (d_model, d_model)^T -> (num_positions - k, d_model)
        rotation_error = max(rotation_error, _max_abs(pe[k:], pe[:-k] @ m.T))
        orthogonality_error = max(orthogonality_error, _max_abs(m.T @ m, np.eye(d_model)))
        # 3. PE(pos) . PE(pos + k) is the same for every pos
        dots = np.sum(pe[:-k] * pe[k:], axis=-1)
        spread = max(spread, float(dots.max() - dots.min()))
    return PositionalProperties(
        equivariance_error=equivariance,
        with_positions_change=with_positions,
        rotation_error=rotation_error,
        orthogonality_error=orthogonality_error,
        offset_spread=spread,
    )


# -------------------------------------------------------------------------------------------- 12


@dataclass(frozen=True)
class MaskProperties:
    """Result of [`mask_properties`][qkv.claims.mask_properties].

    Attributes:
        causal_leak: largest gradient of any output t with respect to any input after t, under the
            causal mask (must be 0).
        causal_dependence: smallest gradient norm of an output t with respect to an input at or
            before t (positive: the mask lets the past through).
        unmasked_leak: the largest future gradient without the mask (positive, for contrast).
        padding_change: largest change of the real tokens' outputs between a sentence alone and the
            same sentence padded in a batch with a longer one, with random padding values.
    """

    causal_leak: float
    causal_dependence: float
    unmasked_leak: float
    padding_change: float


def _jacobian_norms(f, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Norms of $\\partial f(x)_t / \\partial x_s$ by central differences: (seq, seq)."""
    seq, width = x.shape
    norms = np.zeros((seq, seq))
    for s in range(seq):
        for c in range(width):
            bump = np.zeros_like(x)
            bump[s, c] = step
            d_out = (f(x + bump) - f(x - bump)) / (2 * step)  # (seq, d): d out_t / d x_{s,c}
            norms[:, s] += np.sum(d_out**2, axis=-1)
    return np.sqrt(norms)


def mask_properties(seq: int = 6, d_model: int = 4, *, seed: int = 0) -> MaskProperties:
    """Row 12: a causal mask stops the future leaking in; a padding mask makes padding invisible.

    Causality is checked by gradient: the Jacobian of self-attention (with random projections)
    is measured by central differences, and every entry above the diagonal (output t, input after
    t) must be exactly 0.

    Args:
        seq: number of tokens.
        d_model: model width.
        seed: seed of inputs and parameters.

    Returns:
        A [`MaskProperties`][qkv.claims.MaskProperties].

    Examples:
        >>> from qkv.claims import mask_properties
        >>> r = mask_properties()
        >>> r.causal_leak, r.causal_dependence > 0, r.unmasked_leak > 0
        (0.0, True, True)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    mask = ref.causal_mask(seq)

    def causal(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2, mask=mask)[0]

    def unmasked(tokens):
        return ref.multi_head_attention(tokens, tokens, tokens, params, num_heads=2)[0]

    grads = _jacobian_norms(causal, x)
    future = np.triu(np.ones((seq, seq), dtype=bool), k=1)
    # padding: sentence 0 has 3 real tokens; alone versus padded next to a sentence of `seq`
    length = 3
    alone, _ = ref.multi_head_attention(x[:length], x[:length], x[:length], params, num_heads=2)
    batch = np.stack([x, rng.standard_normal((seq, d_model))])
    batch[0, length:] = 100.0 * rng.standard_normal((seq - length, d_model))  # padding values
    pad = ref.padding_mask(np.array([length, seq]), seq)  # (2, 1, seq)
    padded, _ = ref.multi_head_attention(batch, batch, batch, params, num_heads=2, mask=pad)
    return MaskProperties(
        causal_leak=float(grads[future].max()),
        causal_dependence=float(grads[~future].min()),
        unmasked_leak=float(_jacobian_norms(unmasked, x)[future].max()),
        padding_change=_max_abs(padded[0, :length], alone),
    )


# -------------------------------------------------------------------------------------------- 13


@dataclass(frozen=True)
class CrossAttentionShapes:
    """Result of [`cross_attention_shapes`][qkv.claims.cross_attention_shapes].

    Attributes:
        target_shape: shape of the decoder-side input (seq_q, d_model).
        source_shape: shape of the encoder output (seq_k, d_model).
        weights_shape: shape of the per-head weights (heads, seq_q, seq_k).
        out_shape: shape of the output (seq_q, d_model): one vector per target token.
        row_sum_error: largest |sum of a weight row - 1|.
        target_isolation: largest change of output 0 when the other target tokens change (0: each
            target token reads only the source).
    """

    target_shape: tuple
    source_shape: tuple
    weights_shape: tuple
    out_shape: tuple
    row_sum_error: float
    target_isolation: float


def cross_attention_shapes(
    seq_q: int = 3, seq_k: int = 5, d_model: int = 8, *, num_heads: int = 2, seed: int = 0
) -> CrossAttentionShapes:
    """Row 13: cross-attention: queries from the target, keys and values from the source.

    Args:
        seq_q: target length.
        seq_k: source length (different from seq_q).
        d_model: model width.
        num_heads: number of heads.
        seed: seed of inputs and parameters.

    Returns:
        A [`CrossAttentionShapes`][qkv.claims.CrossAttentionShapes].

    Examples:
        >>> from qkv.claims import cross_attention_shapes
        >>> r = cross_attention_shapes()
        >>> r.weights_shape, r.out_shape
        ((2, 3, 5), (3, 8))
    """
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((seq_q, d_model))
    source = rng.standard_normal((seq_k, d_model))
    params = ref.init_multi_head_params(d_model, seed=seed)
    out, weights = ref.multi_head_attention(target, source, source, params, num_heads=num_heads)
    changed = target.copy()
    changed[1:] = rng.standard_normal((seq_q - 1, d_model))
    out_changed, _ = ref.multi_head_attention(changed, source, source, params, num_heads=num_heads)
    return CrossAttentionShapes(
        target_shape=tuple(target.shape),
        source_shape=tuple(source.shape),
        weights_shape=tuple(weights.shape),
        out_shape=tuple(out.shape),
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
        target_isolation=_max_abs(out_changed[0], out[0]),
    )


# -------------------------------------------------------------------------------------------- 14


@dataclass(frozen=True)
class SoftHardLocal:
    """Result of [`soft_hard_local`][qkv.claims.soft_hard_local].

    Attributes:
        hard_is_argmax_one_hot: hard weights equal the one-hot of the argmax of the scores.
        hard_out_error: largest difference between the hard output and the selected values.
        taus: the Gumbel-softmax temperatures tried, decreasing.
        gumbel_distance: for each tau, the mean L1 distance between a Gumbel-softmax weight row and
            the one-hot of its own argmax (0 = exactly one-hot).
        local_error: largest difference between local attention and global attention with the
            band mask |i - j| <= window.
        seq: sequence length n of the local comparison.
        window: the window w.
        band_entries: number of (query, key) pairs local attention scores: mask entries that are
            True, at most n (2w + 1).
        full_entries: number of pairs global attention scores: n^2.
    """

    hard_is_argmax_one_hot: bool
    hard_out_error: float
    taus: tuple
    gumbel_distance: tuple
    local_error: float
    seq: int
    window: int
    band_entries: int
    full_entries: int


def soft_hard_local(
    taus: tuple = (10.0, 1.0, 0.1, 0.01), *, seq: int = 64, window: int = 2, seed: int = 0
) -> SoftHardLocal:
    """Row 14: hard attention, its Gumbel-softmax relaxation, and local attention.

    Args:
        taus: Gumbel-softmax temperatures, decreasing.
        seq: sequence length n for local attention.
        window: local window w.
        seed: seed of inputs and of the Gumbel noise.

    Returns:
        A [`SoftHardLocal`][qkv.claims.SoftHardLocal].

    Examples:
        >>> from qkv.claims import soft_hard_local
        >>> r = soft_hard_local()
        >>> r.hard_is_argmax_one_hot, r.band_entries, r.full_entries
        (True, 314, 4096)
    """
    rng = np.random.default_rng(seed)
    d_k = 4
    query = rng.standard_normal((8, d_k))
    key = rng.standard_normal((10, d_k))
    value = rng.standard_normal((10, 3))
    # hard: the argmax one-hot of the same scores soft attention uses
    hard_out, hard_weights = ref.hard_attention(query, key, value)
    scores = ref.scaled_dot_product_scores(query, key)
    one_hot = np.eye(key.shape[0])[np.argmax(scores, axis=-1)]
    # Gumbel-softmax: many samples of the same rows at each temperature
    many = np.broadcast_to(query, (64, *query.shape))
    distance = []
    for tau in taus:
        _, weights = ref.gumbel_softmax_attention(
            many, key, value, tau=tau, generator=np.random.default_rng(seed)
        )
        nearest = np.eye(key.shape[0])[np.argmax(weights, axis=-1)]
        distance.append(float(np.abs(weights - nearest).sum(axis=-1).mean()))
    # local attention against global attention with a band mask
    x = rng.standard_normal((seq, d_k))
    band = ref.local_mask(seq, window=window)
    local_out, _ = ref.local_attention(x, x, x, window=window)
    global_out, _ = ref.scaled_dot_product_attention(x, x, x, mask=band)
    return SoftHardLocal(
        hard_is_argmax_one_hot=bool(np.array_equal(hard_weights, one_hot)),
        hard_out_error=_max_abs(hard_out, one_hot @ value),
        taus=tuple(float(t) for t in taus),
        gumbel_distance=tuple(distance),
        local_error=_max_abs(local_out, global_out),
        seq=seq,
        window=window,
        band_entries=int(np.asarray(band).sum()),
        full_entries=seq * seq,
    )


# -------------------------------------------------------------------------------------------- 15


@dataclass(frozen=True)
class EncoderLayerVsPytorch:
    """Result of [`encoder_layer_vs_pytorch`][qkv.claims.encoder_layer_vs_pytorch].

    Attributes:
        max_error: per configuration (`"post-LN relu"`, `"pre-LN gelu"`), the largest difference
            between `torch.nn.TransformerEncoderLayer` (eval mode, float64) and our layer with the
            same weights.
    """

    max_error: dict


def encoder_layer_vs_pytorch(
    d_model: int = 8, num_heads: int = 2, dim_feedforward: int = 16, *, seed: int = 0
) -> EncoderLayerVsPytorch:
    """Row 15: our encoder layer equals PyTorch's own `nn.TransformerEncoderLayer`.

    PyTorch's layer is built with random weights (float64, batch first, no dropout, eval mode);
    [`TransformerEncoderLayer.from_torch`][qkv.torch.TransformerEncoderLayer] copies them into ours.
    Both run on the same padded batch.

    Args:
        d_model: model width.
        num_heads: number of heads.
        dim_feedforward: hidden width of the feed-forward block.
        seed: seed of the weights and inputs.

    Returns:
        An [`EncoderLayerVsPytorch`][qkv.claims.EncoderLayerVsPytorch].

    Examples:
        >>> from qkv.claims import encoder_layer_vs_pytorch
        >>> r = encoder_layer_vs_pytorch()
        >>> sorted(r.max_error), max(r.max_error.values()) < 1e-12
        (['post-LN relu', 'pre-LN gelu'], True)
    """
    import torch  # only this claim needs PyTorch

    import qkv.torch as qt

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 5, d_model, dtype=torch.float64, generator=generator)
    max_error = {}
    for name, norm_first, activation in (
        ("post-LN relu", False, "relu"),
        ("pre-LN gelu", True, "gelu"),
    ):
        with torch.random.fork_rng():  # seed PyTorch's initialisation without touching the caller's
            torch.manual_seed(seed)
            theirs = torch.nn.TransformerEncoderLayer(
                d_model,
                num_heads,
                dim_feedforward,
                dropout=0.0,
                activation=activation,
                batch_first=True,
                norm_first=norm_first,
                dtype=torch.float64,
            ).eval()
        ours = qt.TransformerEncoderLayer.from_torch(theirs).eval()
        with torch.no_grad():
            expected = theirs(x)
            got = ours(x)
        max_error[name] = float((got - expected).abs().max())
    return EncoderLayerVsPytorch(max_error=max_error)


# -------------------------------------------------------------------------------------------- 16


@dataclass(frozen=True)
class NormIndependence:
    """Result of [`norm_independence`][qkv.claims.norm_independence].

    Attributes:
        layer_norm_batch_change: largest change of sentence 0's LayerNorm output between the
            sentence alone and the sentence in a batch of other sentences.
        layer_norm_padding_change: the same between the sentence alone and the sentence followed by
            padding tokens (real tokens only).
        batch_norm_batch_change: the same as the first, for BatchNorm (training mode).
        batch_norm_padding_change: the same as the second, for BatchNorm.
    """

    layer_norm_batch_change: float
    layer_norm_padding_change: float
    batch_norm_batch_change: float
    batch_norm_padding_change: float


def norm_independence(
    seq: int = 5, d_model: int = 8, *, batch: int = 4, seed: int = 0
) -> NormIndependence:
    """Row 16: LayerNorm normalises each token over its features; BatchNorm each feature over the
    batch.

    So a sentence's LayerNorm output is the same whatever else is in the batch and however much
    padding follows it; its BatchNorm output (training mode) changes with both, because the mean
    and variance of each feature are taken over every token of every sentence, padding included.

    Args:
        seq: tokens per sentence.
        d_model: number of features.
        batch: sentences in the batch.
        seed: seed of the sentences.

    Returns:
        A [`NormIndependence`][qkv.claims.NormIndependence].

    Examples:
        >>> from qkv.claims import norm_independence
        >>> r = norm_independence()
        >>> r.layer_norm_batch_change < 1e-12 < 0.1 < r.batch_norm_batch_change
        True
    """
    rng = np.random.default_rng(seed)
    sentence = rng.standard_normal((1, seq, d_model)) + 1.0
    others = 2.0 * rng.standard_normal((batch - 1, seq, d_model)) - 1.0
    in_batch = np.concatenate([sentence, others])  # (batch, seq, d_model)
    padded = np.concatenate([sentence, np.zeros((1, 3, d_model))], axis=1)  # (1, seq + 3, d_model)
    weight, bias = np.ones(d_model), np.zeros(d_model)
    changes = {}
    for name, norm in (("layer", ref.layer_norm), ("batch", ref.batch_norm)):
        alone = norm(sentence, weight, bias)
        changes[name] = (
            _max_abs(norm(in_batch, weight, bias)[:1], alone),
            _max_abs(norm(padded, weight, bias)[:, :seq], alone),
        )
    return NormIndependence(
        layer_norm_batch_change=changes["layer"][0],
        layer_norm_padding_change=changes["layer"][1],
        batch_norm_batch_change=changes["batch"][0],
        batch_norm_padding_change=changes["batch"][1],
    )


# -------------------------------------------------------------------------------------------- 17


@dataclass(frozen=True)
class TeacherForcingToy:
    """Result of [`teacher_forcing_toy`][qkv.claims.teacher_forcing_toy].

    Attributes:
        target: the target sequence (counting modulo `vocab`).
        teacher_forced: the model's predictions of tokens 1.. when each input is the true previous
            token.
        free_running: its predictions when each input is its own previous prediction.
        teacher_forced_errors: wrong tokens under teacher forcing.
        free_running_errors: wrong tokens in free running.
        first_error: position of the first wrong token (the same in both modes).
        steps: number of predicted tokens.
    """

    target: tuple
    teacher_forced: tuple
    free_running: tuple
    teacher_forced_errors: int
    free_running_errors: int
    first_error: int
    steps: int


def teacher_forcing_toy(length: int = 16, *, vocab: int = 8, wrong: int = 3) -> TeacherForcingToy:
    """Row 17: teacher forcing versus free running on a toy counting task.

    The task: continue the sequence 0, 1, 2, ... counting modulo `vocab`. The model predicts the
    next token from the current one with a lookup table that is right for every token except
    `wrong`, after which it predicts `wrong + 2` instead of `wrong + 1`. Under teacher forcing
    (training: the input at every step is the true previous token) that one mistake costs one token
    each time `wrong` appears. In free running (inference: the input is the model's own previous
    output) the model never sees the true tokens again: after its first mistake it keeps counting
    from the wrong place and every later token is wrong. This gap between the two regimes is
    exposure bias; scheduled sampling narrows it by feeding the model some of its own predictions
    during training.

    Args:
        length: target length (the first token is given, the rest are predicted).
        vocab: vocabulary size (tokens 0 .. vocab-1).
        wrong: the one token whose successor the model gets wrong.

    Returns:
        A [`TeacherForcingToy`][qkv.claims.TeacherForcingToy].

    Examples:
        >>> from qkv.claims import teacher_forcing_toy
        >>> r = teacher_forcing_toy()
        >>> r.teacher_forced_errors, r.free_running_errors, r.steps
        (2, 12, 15)
    """
    target = [t % vocab for t in range(length)]
    next_token = [(t + 1) % vocab for t in range(vocab)]  # the model: one lookup per step
    next_token[wrong] = (wrong + 2) % vocab  # its single one-step mistake
    teacher_forced = [next_token[t] for t in target[:-1]]  # input: the true previous token
    free_running = []
    token = target[0]
    for _ in range(length - 1):  # input: the model's own previous output
        token = next_token[token]
        free_running.append(token)
    truth = target[1:]
    mistakes = [i + 1 for i, (p, t) in enumerate(zip(teacher_forced, truth, strict=True)) if p != t]
    return TeacherForcingToy(
        target=tuple(target),
        teacher_forced=tuple(teacher_forced),
        free_running=tuple(free_running),
        teacher_forced_errors=sum(p != t for p, t in zip(teacher_forced, truth, strict=True)),
        free_running_errors=sum(p != t for p, t in zip(free_running, truth, strict=True)),
        first_error=mistakes[0] if mistakes else -1,
        steps=length - 1,
    )


# -------------------------------------------------------------------------------------------- 18


@dataclass(frozen=True)
class ScoreMatrixShapes:
    """Result of [`score_matrix_shapes`][qkv.claims.score_matrix_shapes].

    Attributes:
        shapes: name -> shape, in the order of the computation.
        row_sum_error: largest |sum of a weight row - 1|.
    """

    shapes: dict
    row_sum_error: float


def score_matrix_shapes(
    seq: int = 6, d_model: int = 300, d_k: int = 64, *, seed: int = 0
) -> ScoreMatrixShapes:
    """Row 18: note 004's example: six tokens of width 300 give a 6 x 6 score matrix.

    The scores and the weights are n x n for n tokens whatever the widths; the output has one
    "refined" row per token, each a weighted mix of the rows of V.

    Args:
        seq: number of tokens n.
        d_model: embedding width.
        d_k: width of queries and keys (values keep d_model).
        seed: seed of the embeddings and projections.

    Returns:
        A [`ScoreMatrixShapes`][qkv.claims.ScoreMatrixShapes].

    Examples:
        >>> from qkv.claims import score_matrix_shapes
        >>> for name, shape in score_matrix_shapes().shapes.items():
        ...     print(f"{name:8} {shape}")
        x        (6, 300)
        w_q      (300, 64)
        w_k      (300, 64)
        w_v      (300, 300)
        q        (6, 64)
        k        (6, 64)
        v        (6, 300)
        scores   (6, 6)
        weights  (6, 6)
        out      (6, 300)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq, d_model))
    w_q = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_k = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_v = rng.standard_normal((d_model, d_model)) / math.sqrt(d_model)
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (seq, d_model) @ (d_model, d_k) -> (seq, d_k)
    scores = ref.scaled_dot_product_scores(q, k)  # (seq, d_k) @ (d_k, seq) -> (seq, seq)
    out, weights = ref.scaled_dot_product_attention(q, k, v)  # (seq, seq) @ (seq, d_model)
    named = {
        "x": x,
        "w_q": w_q,
        "w_k": w_k,
        "w_v": w_v,
        "q": q,
        "k": k,
        "v": v,
        "scores": scores,
        "weights": weights,
        "out": out,
    }
    return ScoreMatrixShapes(
        shapes={name: tuple(int(s) for s in a.shape) for name, a in named.items()},
        row_sum_error=float(np.abs(weights.sum(axis=-1) - 1.0).max()),
    )
