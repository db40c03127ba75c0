"""PyTorch modules around the functional reference: drop-in twins of PyTorch's own layers.

[MultiHeadAttention][qkv.torch.MultiHeadAttention] and
[TransformerEncoderLayer][qkv.torch.TransformerEncoderLayer] hold their parameters as
`nn.Parameter`s and call [multi_head_attention][qkv.torch.multi_head_attention] and
[encoder_layer][qkv.torch.encoder_layer]. `from_torch` copies the weights of an
`nn.MultiheadAttention` / `nn.TransformerEncoderLayer`, so the two can be compared number for
number. Inputs are batch first, `(*batch, seq, d_model)`, and masks use qkv's polarity
(`True` = may attend), the opposite of `nn.MultiheadAttention`'s `attn_mask` and
`key_padding_mask` (`True` = blocked).
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import (
    check_choice,
    check_divisible,
    check_int,
    check_layer,
    check_multi_head,
    fail,
)
from .multihead import MultiHeadParams, _multi_head_attention, init_multi_head_params
from .transformer import EncoderLayerParams, _encoder_layer, init_encoder_layer_params

__all__ = ["MultiHeadAttention", "TransformerEncoderLayer"]

_BIASES = ("b_q", "b_k", "b_v", "b_o")


def _parameter(tensor):
    """A trainable copy of `tensor`, or `None`."""
    return None if tensor is None else nn.Parameter(tensor.detach().clone())


def _assign(module, params, fields):
    """Set `module.<field>` to a trainable copy of `params.<field>` for each field."""
    for field in fields:
        setattr(module, field, _parameter(getattr(params, field)))


class MultiHeadAttention(nn.Module):
    r"""Multi-head attention as an `nn.Module`, parameters laid out as
    [MultiHeadParams][qkv.torch.MultiHeadParams] (`x @ w + b`).

    Args:
        d_model: model width.
        num_heads: number of heads; must divide `d_model`.
        bias: whether the four projections have biases.
        seed: seed of the initial parameters (see
            [init_multi_head_params][qkv.torch.init_multi_head_params]).
        dtype: floating dtype of the parameters (default `torch.get_default_dtype()`).
        device: device of the parameters.

    Raises:
        TypeError: if `d_model` or `num_heads` is not an integer.
        ValueError: if `d_model % num_heads != 0`.

    Examples:
        >>> import torch
        >>> from qkv.torch import MultiHeadAttention
        >>> mha = MultiHeadAttention(8, 2)
        >>> x = torch.randn(3, 5, 8)  # (batch, seq, d_model)
        >>> out, weights = mha(x, x, x)
        >>> tuple(out.shape), tuple(weights.shape)
        ((3, 5, 8), (3, 2, 5, 5))
        >>> sum(p.numel() for p in mha.parameters())  # 4 * (8 * 8 + 8), whatever num_heads is
        288
    """

    def __init__(self, d_model, num_heads, *, bias=True, seed=0, dtype=None, device=None):
        super().__init__()
        name = "MultiHeadAttention"
        check_int(name, "num_heads", num_heads, minimum=1)
        check_int(name, "d_model", d_model, minimum=1)
        check_divisible(name, "d_model", d_model, "num_heads", num_heads)
        self.d_model = d_model
        self.num_heads = num_heads
        params = init_multi_head_params(d_model, bias=bias, seed=seed, dtype=dtype, device=device)
        _assign(self, params, MultiHeadParams._fields)

    def params(self):
        """The module's parameters as a [MultiHeadParams][qkv.torch.MultiHeadParams].

        The tensors are the module's own `nn.Parameter`s, so gradients flow into the module.

        Returns:
            A [MultiHeadParams][qkv.torch.MultiHeadParams] (biases `None` if `bias=False`).

        Examples:
            >>> from qkv.torch import MultiHeadAttention
            >>> params = MultiHeadAttention(4, 2, bias=False).params()
            >>> tuple(params.w_o.shape), params.b_o
            ((4, 4), None)
        """
        return MultiHeadParams(*(getattr(self, field) for field in MultiHeadParams._fields))

    def forward(self, query, key, value, mask=None, *, is_causal=False, need_weights=True):
        """Run [multi_head_attention][qkv.torch.multi_head_attention] with this module's
        parameters.

        Args:
            query: `(*batch, seq_q, d_model)`.
            key: `(*batch, seq_k, d_model)`.
            value: `(*batch, seq_k, d_model)`.
            mask: boolean, `True` = may attend, broadcastable to `(*batch, seq_q, seq_k)`.
            is_causal: also apply the causal mask.
            need_weights: return the per-head weights (else `None`, fused kernel).

        Returns:
            `(out, weights)`: `(*batch, seq_q, d_model)` and `(*batch, heads, seq_q, seq_k)`
            or `None`.
        """
        params, flags = self.params(), {"is_causal": is_causal, "need_weights": need_weights}
        check_multi_head(
            "MultiHeadAttention", "torch", query, key, value, params, self.num_heads, mask, **flags
        )
        return _multi_head_attention(
            query, key, value, params, num_heads=self.num_heads, mask=mask, **flags
        )

    def extra_repr(self):
        return f"d_model={self.d_model}, num_heads={self.num_heads}, bias={self.b_q is not None}"

    @classmethod
    def from_torch(cls, m):
        """A `MultiHeadAttention` holding copies of an `nn.MultiheadAttention`'s weights.

        `nn.MultiheadAttention` applies `x @ W.T + b` with `in_proj_weight = [W_q; W_k; W_v]`
        stacked along rows, so `w_q = in_proj_weight[:d_model].T` and
        `w_o = out_proj.weight.T`. With masks flipped (`mask = ~attn_mask`), the two modules
        give the same outputs and per-head weights (`average_attn_weights=False`), except on
        fully masked rows, where PyTorch gives NaN and qkv gives zero weights.

        Args:
            m: an `nn.MultiheadAttention` with `batch_first=True`, `kdim = vdim = embed_dim`, no
                `add_bias_kv`, no `add_zero_attn`, and no active dropout (`dropout=0` or eval
                mode).

        Returns:
            A new `MultiHeadAttention` on `m`'s device, with `m`'s dtype.

        Raises:
            TypeError: if `m` is not an `nn.MultiheadAttention`.
            ValueError: for a configuration this module does not cover (named in the message).

        Examples:
            >>> import torch
            >>> from torch import nn
            >>> from qkv.torch import MultiHeadAttention
            >>> theirs = nn.MultiheadAttention(4, 2, batch_first=True)
            >>> ours = MultiHeadAttention.from_torch(theirs)
            >>> torch.equal(ours.w_q, theirs.in_proj_weight[:4].T)
            True
        """
        name = "MultiHeadAttention.from_torch"
        if not isinstance(m, nn.MultiheadAttention):
            fail(name, "expects an nn.MultiheadAttention", TypeError, m=type(m).__name__)
        if not m.batch_first:
            fail(
                name,
                "only batch_first=True modules are covered (inputs (*batch, seq, d_model))",
                batch_first=False,
            )
        if not m._qkv_same_embed_dim:
            fail(
                name,
                "kdim and vdim must equal embed_dim",
                embed_dim=m.embed_dim,
                kdim=m.kdim,
                vdim=m.vdim,
            )
        if m.bias_k is not None:
            fail(name, "add_bias_kv is not covered", add_bias_kv=True)
        if m.add_zero_attn:
            fail(name, "add_zero_attn is not covered", add_zero_attn=True)
        if m.dropout > 0 and m.training:
            fail(
                name,
                "dropout is not covered: call .eval() first or use dropout=0",
                dropout=m.dropout,
                training=True,
            )
        # in_proj_weight (3 * d_model, d_model) stacks the rows [W_q; W_k; W_v] of x @ W.T:
        # transpose each block into our x @ w
        w_q, w_k, w_v = m.in_proj_weight.chunk(3, dim=0)  # 3 x (d_model, d_model)
        biases = (None,) * 4
        if m.in_proj_bias is not None:
            biases = (*m.in_proj_bias.chunk(3, dim=0), m.out_proj.bias)  # 4 x (d_model,)
        params = MultiHeadParams(w_q.T, w_k.T, w_v.T, m.out_proj.weight.T, *biases)
        module = cls(
            m.embed_dim,
            m.num_heads,
            bias=m.in_proj_bias is not None,
            dtype=m.in_proj_weight.dtype,
            device=m.in_proj_weight.device,
        )
        _assign(module, params, MultiHeadParams._fields)
        return module


class TransformerEncoderLayer(nn.Module):
    r"""One Transformer encoder layer as an `nn.Module`, computed by
    [encoder_layer][qkv.torch.encoder_layer].

    Args:
        d_model: model width.
        num_heads: number of attention heads; must divide `d_model`.
        d_ff: hidden width of the feed-forward network.
        norm_first: pre-LN instead of post-LN (the paper's).
        activation: `"relu"` or `"gelu"`.
        eps: LayerNorm epsilon.
        bias: whether linear layers and LayerNorms have biases.
        seed: seed of the initial parameters (see
            [init_encoder_layer_params][qkv.torch.init_encoder_layer_params]).
        dtype: floating dtype of the parameters.
        device: device of the parameters.

    Raises:
        TypeError: if a size is not an integer.
        ValueError: if `d_model % num_heads != 0` or `activation` is unknown.

    Examples:
        >>> import torch
        >>> from qkv.torch import TransformerEncoderLayer
        >>> layer = TransformerEncoderLayer(8, 2, 16, norm_first=True)
        >>> tuple(layer(torch.randn(3, 5, 8)).shape)
        (3, 5, 8)
    """

    def __init__(
        self,
        d_model,
        num_heads,
        d_ff=2048,
        *,
        norm_first=False,
        activation="relu",
        eps=1e-5,
        bias=True,
        seed=0,
        dtype=None,
        device=None,
    ):
        super().__init__()
        name = "TransformerEncoderLayer"
        check_choice(name, "activation", activation, ("relu", "gelu"))
        params = init_encoder_layer_params(
            d_model, d_ff, bias=bias, seed=seed, dtype=dtype, device=device
        )
        self.self_attn = MultiHeadAttention(
            d_model, num_heads, bias=bias, dtype=dtype, device=device
        )
        _assign(self.self_attn, params.self_attn, MultiHeadParams._fields)
        _assign(self, params, EncoderLayerParams._fields[1:])
        self.num_heads = num_heads
        self.norm_first = norm_first
        self.activation = activation
        self.eps = eps

    def params(self):
        """The module's parameters as an [EncoderLayerParams][qkv.torch.EncoderLayerParams].

        Returns:
            An [EncoderLayerParams][qkv.torch.EncoderLayerParams] of the module's own
            `nn.Parameter`s.

        Examples:
            >>> from qkv.torch import TransformerEncoderLayer
            >>> tuple(TransformerEncoderLayer(4, 2, 8).params().w_1.shape)
            (4, 8)
        """
        rest = (getattr(self, field) for field in EncoderLayerParams._fields[1:])
        return EncoderLayerParams(self.self_attn.params(), *rest)

    def forward(self, x, mask=None):
        """Run [encoder_layer][qkv.torch.encoder_layer] with this module's parameters.

        Args:
            x: `(*batch, seq, d_model)`.
            mask: boolean, `True` = may attend, broadcastable to `(*batch, seq, seq)`.

        Returns:
            Tensor of shape `(*batch, seq, d_model)`.
        """
        params = self.params()
        settings = {
            "num_heads": self.num_heads,
            "mask": mask,
            "norm_first": self.norm_first,
            "activation": self.activation,
            "eps": self.eps,
        }
        check_layer("TransformerEncoderLayer", "torch", params, x, **settings)
        return _encoder_layer(x, params, **settings)

    def extra_repr(self):
        return (
            f"num_heads={self.num_heads}, norm_first={self.norm_first}, "
            f"activation={self.activation!r}, eps={self.eps}"
        )

    @classmethod
    def from_torch(cls, layer):
        """A `TransformerEncoderLayer` holding copies of an `nn.TransformerEncoderLayer`'s weights.

        Covers `norm_first` True and False, `activation` relu and (exact) gelu, with or without
        biases. The copy equals `layer` in eval mode; `src_mask` and `src_key_padding_mask`
        (`True` = blocked) become `mask = ~src_mask` and `mask = ~key_padding_mask[:, None, :]`.

        Args:
            layer: an `nn.TransformerEncoderLayer` with `batch_first=True`, activation relu or
                gelu, and no active dropout (`dropout=0` or eval mode).

        Returns:
            A new `TransformerEncoderLayer` on `layer`'s device, with its dtype.

        Raises:
            TypeError: if `layer` is not an `nn.TransformerEncoderLayer`.
            ValueError: for a configuration this module does not cover (named in the message).

        Examples:
            >>> import torch
            >>> from torch import nn
            >>> from qkv.torch import TransformerEncoderLayer
            >>> theirs = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True).eval()
            >>> ours = TransformerEncoderLayer.from_torch(theirs)
            >>> x = torch.randn(3, 5, 8)
            >>> torch.testing.assert_close(ours(x), theirs(x))
        """
        name = "TransformerEncoderLayer.from_torch"
        if not isinstance(layer, nn.TransformerEncoderLayer):
            fail(
                name, "expects an nn.TransformerEncoderLayer", TypeError, layer=type(layer).__name__
            )
        activation = layer.activation
        if activation is torch.nn.functional.relu or isinstance(activation, nn.ReLU):
            activation_name = "relu"
        elif activation is torch.nn.functional.gelu or (
            isinstance(activation, nn.GELU) and activation.approximate == "none"
        ):
            activation_name = "gelu"
        else:
            fail(name, "activation must be relu or exact gelu", activation=repr(activation))
        if layer.training and (layer.dropout.p > 0 or layer.self_attn.dropout > 0):
            fail(
                name,
                "dropout is not covered: call .eval() first or use dropout=0",
                dropout=layer.dropout.p,
                training=True,
            )
        if layer.norm1.eps != layer.norm2.eps:
            fail(
                name,
                "norm1 and norm2 must share eps",
                norm1_eps=layer.norm1.eps,
                norm2_eps=layer.norm2.eps,
            )
        self_attn = MultiHeadAttention.from_torch(layer.self_attn)
        weight = layer.linear1.weight
        module = cls(
            self_attn.d_model,
            self_attn.num_heads,
            weight.shape[0],
            norm_first=layer.norm_first,
            activation=activation_name,
            eps=layer.norm1.eps,
            dtype=weight.dtype,
            device=weight.device,
        )
        module.self_attn = self_attn
        # nn.Linear applies x @ W.T + b: transpose into our x @ w + b
        params = EncoderLayerParams(
            self_attn.params(),
            layer.linear1.weight.T,
            layer.linear1.bias,
            layer.linear2.weight.T,
            layer.linear2.bias,
            layer.norm1.weight,
            layer.norm1.bias,
            layer.norm2.weight,
            layer.norm2.bias,
        )
        _assign(module, params, EncoderLayerParams._fields[1:])
        return module
