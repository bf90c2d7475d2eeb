"""A small pre-LayerNorm Transformer encoder classifier with dropout, attention dropout, DropPath."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_choice, check_int, check_positive, check_probability
from reglab.errors import invalid_argument
from reglab.functional import drop_path_rates
from reglab.models._common import check_input_shape, check_num_classes, dropout_layers
from reglab.nn import DropPath
from reglab.registry import Configurable

__all__ = ["Transformer", "default_patch_size"]


def default_patch_size(height: int, width: int) -> int:
    """``min(height, width) // 4`` when it divides both sides (16 tokens for 8x8, 28x28, 32x32), else 1."""
    p = max(1, min(height, width) // 4)
    return p if height % p == 0 and width % p == 0 else 1


class _Attention(nn.Module):
    """Multi-head self-attention with dropout on the attention weights (as in Vaswani et al. 2017)."""

    def __init__(self, dim: int, heads: int, attention_dropout: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_drop = nn.Sequential(*dropout_layers("attention_dropout", attention_dropout))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Sequential(*dropout_layers("dropout", dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, T, hs)
        attn = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)  # (B, h, T, T)
        attn = self.attn_drop(attn.softmax(dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(b, t, d)  # (B, T, D)
        return self.proj_drop(self.proj(out))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float, attention_dropout: float,
                 drop_path_rate: float | None) -> None:
        super().__init__()
        hidden = max(1, int(round(dim * mlp_ratio)))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, heads, attention_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), *dropout_layers("dropout", dropout),
            nn.Linear(hidden, dim), *dropout_layers("dropout", dropout),
        )
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Transformer(nn.Module, Configurable):
    """A Transformer encoder classifier (Vaswani et al. 2017; pre-LN, ViT-style tokens).

    Tokens: a 1-D input ``(L,)`` (MNIST-1D, tabular) is ``L`` tokens of one value; ``(T, F)`` is
    ``T`` tokens of ``F`` values; an image ``(C, H, W)`` is cut into ``patch_size`` squares
    (Dosovitskiy et al. 2021, arXiv:2010.11929). Each token is embedded linearly, a learned
    position embedding is added, ``depth`` pre-LayerNorm blocks follow, then a final LayerNorm,
    mean pooling over tokens and a linear head. Regularizers: ``dropout`` on the embeddings, the
    attention output and the MLP; ``attention_dropout`` on the attention weights; ``drop_path``
    (stochastic depth, Huang et al. 2016) on both residual branches of block ``i`` with the linear
    rule of :func:`reglab.functional.drop_path_rates`. Each is absent when 0. The defaults
    (dim 64, 2 blocks, 4 heads, MLP ratio 2) have 70,410 parameters on MNIST-1D.

    Args:
        input_shape: ``(L,)``, ``(T, F)`` or ``(C, H, W)``.
        num_classes: outputs.
        dim: token width; a multiple of ``heads``. Defaults to 64.
        depth: encoder blocks. Defaults to 2.
        heads: attention heads. Defaults to 4.
        mlp_ratio: hidden width of each block's MLP over ``dim``. Defaults to 2.0.
        dropout: dropout rate, in [0, 1). Defaults to 0.0.
        attention_dropout: dropout on attention weights, in [0, 1). Defaults to 0.0.
        drop_path: the deepest block's DropPath rate, in [0, 1). Defaults to 0.0.
        patch_size: side of the square patches of image inputs; None picks
            :func:`default_patch_size`. Defaults to None.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        drop_path: float = 0.0,
        patch_size: int | None = None,
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("transformer", input_shape, (1, 2, 3), "(L,), (T, F) or (C, H, W)")
        self.num_classes = check_num_classes(num_classes)
        self.heads = check_int("heads", heads, low=1)
        self.dim = check_int("dim", dim, low=1)
        if self.dim % self.heads:
            raise ValueError(invalid_argument("dim", f"a multiple of heads={self.heads}", dim))
        self.depth = check_int("depth", depth, low=1)
        self.mlp_ratio = check_positive("mlp_ratio", mlp_ratio)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.attention_dropout = check_probability("attention_dropout", attention_dropout, allow_one=False)
        self.drop_path = check_probability("drop_path", drop_path, allow_one=False)
        shape = self.input_shape
        if len(shape) == 3:
            c, h, w = shape
            if patch_size is None:
                p = default_patch_size(h, w)
            else:
                p = check_int("patch_size", patch_size, low=1)
                if h % p or w % p:
                    raise ValueError(
                        invalid_argument("patch_size", f"a divisor of both height {h} and width {w}", patch_size)
                    )
            self._patch = p
            tokens, token_dim = (h // p) * (w // p), c * p * p
        else:
            if patch_size is not None:
                raise ValueError(invalid_argument("patch_size", "None for inputs that are not images", patch_size))
            self._patch = 0
            tokens, token_dim = shape[0], (shape[1] if len(shape) == 2 else 1)
        self.patch_size = patch_size
        self.embed = nn.Linear(token_dim, self.dim)
        self.pos = nn.Parameter(torch.zeros(1, tokens, self.dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.embed_drop = nn.Sequential(*dropout_layers("dropout", dropout))
        rates = drop_path_rates(self.drop_path, self.depth) if self.drop_path > 0 else [None] * self.depth
        self.blocks = nn.Sequential(
            *(_Block(self.dim, self.heads, self.mlp_ratio, self.dropout, self.attention_dropout, r) for r in rates)
        )
        self.norm = nn.LayerNorm(self.dim)
        self.head = nn.Linear(self.dim, self.num_classes)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs ``(N, *input_shape)`` as tokens ``(N, T, token_dim)``."""
        if self._patch:
            n, c, h, w = x.shape
            p = self._patch
            x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)  # (N, h', w', C, p, p)
            return x.reshape(n, (h // p) * (w // p), c * p * p)
        return x.unsqueeze(-1) if x.dim() == 2 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embed_drop(self.embed(self.tokens(x)) + self.pos)  # (N, T, D)
        z = self.norm(self.blocks(z))
        return self.head(z.mean(dim=1))  # (N, num_classes)
