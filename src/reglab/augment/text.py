"""Token-level text augmentation on ``(B, L)`` token-id batches with a padding mask, and mixup on
embeddings as a model-side module.

The token ops are EDA's (Wei & Zou 2019, "EDA: Easy Data Augmentation Techniques for Boosting
Performance on Text Classification Tasks", EMNLP, arXiv:1901.11196): random deletion, random swap,
random insertion and synonym replacement (from a user-given table ``{token: [synonyms]}``; nothing
is downloaded), plus word dropout / token masking (Iyyer et al. 2015; Devlin et al. 2019's
``[MASK]``). Random insertion draws the new tokens uniformly from ``[0, vocab_size)`` minus the
padding id, instead of EDA's synonyms.

Padding: ``padding_mask`` is True at padding positions (as ``nn.MultiheadAttention``'s
``key_padding_mask``); when None it is ``tokens == pad_id``. Each op works on a row's real tokens in
order, wherever they are, and writes them back into the same real positions: **a padding position
is never changed**. The number of real positions is kept, so deletion fills the freed positions at
the end of the real span with ``pad_id``, and insertion drops the real tokens pushed past it.

:class:`EmbeddingMixup` (Guo et al. 2019, "Augmenting Data with Mixup for Sentence
Classification", arXiv:1905.08941) mixes embedded sentences, where token ids cannot be mixed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from reglab._validate import check_int, check_probability
from reglab.augment._common import check_tensor
from reglab.augment.base import LabelPreserving
from reglab.augment.params import MixParams, apply_mix, sample_mixup_params
from reglab.augment.sampling import generator_device
from reglab.augment.targets import check_num_classes, to_soft_targets
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = [
    "random_deletion",
    "random_swap",
    "random_insertion",
    "token_mask",
    "synonym_replacement",
    "RandomDeletion",
    "RandomSwap",
    "RandomInsertion",
    "TokenMask",
    "SynonymReplacement",
    "EmbeddingMixup",
]


def _tokens(tokens: Any, padding_mask: Any, pad_id: int) -> tuple[Tensor, Tensor]:
    tokens = check_tensor("tokens", tokens, (2,), floating=False)
    if torch.is_floating_point(tokens) or tokens.dtype == torch.bool:
        raise ValueError(invalid_argument("tokens", "an integer tensor of token ids", tokens,
                                          shown=f"tokens.dtype={tokens.dtype}"))
    if padding_mask is None:
        return tokens, tokens == pad_id
    if not isinstance(padding_mask, Tensor) or padding_mask.dtype != torch.bool or padding_mask.shape != tokens.shape:
        raise ValueError(invalid_argument("padding_mask", f"None or a bool tensor of shape {tuple(tokens.shape)}",
                                          padding_mask, shown=f"padding_mask={_describe(padding_mask)}"))
    return tokens, padding_mask.to(tokens.device)


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    return repr(value)


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, device=generator_device(generator)).to(device)


def _compact(tokens: Tensor, pad: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(order, compact, lengths): ``compact = tokens.gather(1, order)`` has each row's real tokens
    first, in order; ``lengths`` counts them."""
    order = torch.sort(pad.to(torch.int8), dim=1, stable=True).indices
    return order, tokens.gather(1, order), (~pad).sum(1)


def _restore(tokens: Tensor, order: Tensor, compact: Tensor) -> Tensor:
    return tokens.scatter(1, order, compact)


def random_deletion(tokens: Tensor, p: float, padding_mask: Tensor | None = None, pad_id: int = 0,
                    generator: torch.Generator | None = None) -> Tensor:
    """Delete each real token with probability ``p`` (EDA's RD); a row keeps at least one token.

    The kept tokens move up, in order; the freed real positions at the end become ``pad_id``. When
    every token of a row is drawn for deletion, the one with the largest draw is kept (EDA keeps a
    random word).

    Args:
        tokens: token ids ``(B, L)``.
        p: the deletion probability in ``[0, 1]``. EDA's default 0.1.
        padding_mask: True at padding positions, or None for ``tokens == pad_id``. Defaults to None.
        pad_id: the padding id. Defaults to 0.
        generator: the random source. Defaults to None.
    """
    p = check_probability("p", p)
    pad_id = check_int("pad_id", pad_id)
    tokens, pad = _tokens(tokens, padding_mask, pad_id)
    b, length = tokens.shape
    order, comp, n = _compact(tokens, pad)
    pos = torch.arange(length, device=tokens.device)[None, :]
    span = pos < n[:, None]
    u = _rand((b, length), generator, tokens.device)
    keep = (u >= p) & span
    best = torch.where(span, u, -1.0).argmax(1)
    none_kept = ~keep.any(1) & (n > 0)
    keep[none_kept, best[none_kept]] = True
    key = torch.where(keep, pos, pos + length)
    moved = comp.gather(1, torch.sort(key, dim=1, stable=True).indices)
    n_kept = keep.sum(1)[:, None]
    new = torch.where(pos < n_kept, moved, torch.where(span, torch.full_like(comp, pad_id), comp))
    return _restore(tokens, order, new)


def random_swap(tokens: Tensor, n_swaps: int = 1, padding_mask: Tensor | None = None, pad_id: int = 0,
                generator: torch.Generator | None = None) -> Tensor:
    """Swap two uniformly chosen real tokens, ``n_swaps`` times per row (EDA's RS).

    Each swap draws two positions uniformly among the row's real positions (the same position:
    no change). Rows with fewer than two real tokens are unchanged.

    Args:
        tokens: token ids ``(B, L)``.
        n_swaps: swaps per row, ``>= 0``. Defaults to 1.
        padding_mask, pad_id, generator: as :func:`random_deletion`.
    """
    n_swaps = check_int("n_swaps", n_swaps, low=0)
    pad_id = check_int("pad_id", pad_id)
    tokens, pad = _tokens(tokens, padding_mask, pad_id)
    b = tokens.shape[0]
    order, comp, n = _compact(tokens, pad)
    rows = torch.arange(b, device=tokens.device)
    comp = comp.clone()
    for _ in range(n_swaps):
        u = _rand((2, b), generator, tokens.device)
        i = (u[0] * n).long().clamp(max=tokens.shape[1] - 1)
        j = (u[1] * n).long().clamp(max=tokens.shape[1] - 1)
        ti, tj = comp[rows, i].clone(), comp[rows, j].clone()
        comp[rows, i] = tj
        comp[rows, j] = ti
    return _restore(tokens, order, comp)


def random_insertion(tokens: Tensor, vocab_size: int, n_insert: int = 1, padding_mask: Tensor | None = None,
                     pad_id: int = 0, generator: torch.Generator | None = None) -> Tensor:
    """Insert ``n_insert`` random tokens per row at uniform real positions (EDA's RI).

    Each insertion draws a position uniform over ``{0, ..., n - 1}`` (``n`` real tokens) and a token
    uniform over ``[0, vocab_size)`` without ``pad_id``; the tokens after it move one position on
    and the last real token drops out, so the row keeps its length. Rows without a real token are
    unchanged.

    Args:
        tokens: token ids ``(B, L)``.
        vocab_size: the number of token ids, ``>= 2``.
        n_insert: insertions per row, ``>= 0``. Defaults to 1.
        padding_mask, pad_id, generator: as :func:`random_deletion`.
    """
    vocab_size = check_int("vocab_size", vocab_size, low=2)
    n_insert = check_int("n_insert", n_insert, low=0)
    pad_id = check_int("pad_id", pad_id)
    tokens, pad = _tokens(tokens, padding_mask, pad_id)
    b, length = tokens.shape
    order, comp, n = _compact(tokens, pad)
    pos = torch.arange(length, device=tokens.device)[None, :]
    span = pos < n[:, None]
    for _ in range(n_insert):
        u = _rand((2, b), generator, tokens.device)
        k = (u[0] * n).long()[:, None]
        new_tok = (u[1] * (vocab_size - 1)).long().clamp(max=vocab_size - 2)
        if 0 <= pad_id < vocab_size:
            new_tok = new_tok + (new_tok >= pad_id).long()
        prev = torch.cat([comp[:, :1], comp[:, :-1]], 1)
        shifted = torch.where(pos > k, prev, comp)
        shifted = torch.where(pos == k, new_tok[:, None].to(comp.dtype), shifted)
        comp = torch.where(span, shifted, comp)
    return _restore(tokens, order, comp)


def token_mask(tokens: Tensor, p: float, mask_id: int, padding_mask: Tensor | None = None, pad_id: int = 0,
               generator: torch.Generator | None = None) -> Tensor:
    """Replace each real token by ``mask_id`` with probability ``p`` (word dropout / token masking).

    Args:
        tokens: token ids ``(B, L)``.
        p: the masking probability in ``[0, 1]``.
        mask_id: the id written (an ``<unk>`` or ``[MASK]`` token).
        padding_mask, pad_id, generator: as :func:`random_deletion`.
    """
    p = check_probability("p", p)
    mask_id = check_int("mask_id", mask_id)
    pad_id = check_int("pad_id", pad_id)
    tokens, pad = _tokens(tokens, padding_mask, pad_id)
    hit = (_rand(tuple(tokens.shape), generator, tokens.device) < p) & ~pad
    return tokens.masked_fill(hit, mask_id)


def _synonym_table(synonyms: Any) -> dict[int, tuple[int, ...]]:
    if not isinstance(synonyms, dict) or not all(
        isinstance(k, int) and isinstance(v, (list, tuple)) and all(isinstance(t, int) for t in v)
        for k, v in synonyms.items()
    ):
        raise ValueError(invalid_argument("synonyms", "a dict {token id: [synonym ids]}", synonyms))
    return {int(k): tuple(int(t) for t in v) for k, v in synonyms.items() if len(v) > 0}


def synonym_replacement(tokens: Tensor, synonyms: dict[int, list[int]], p: float,
                        padding_mask: Tensor | None = None, pad_id: int = 0,
                        generator: torch.Generator | None = None) -> Tensor:
    """Replace each real token that has synonyms, with probability ``p``, by one of them (EDA's SR).

    The synonym is uniform over the token's list in ``synonyms`` (a user-given table; nothing is
    downloaded). Tokens without an entry are never changed.

    Args:
        tokens: token ids ``(B, L)``.
        synonyms: ``{token id: [synonym ids]}``.
        p: the replacement probability in ``[0, 1]``.
        padding_mask, pad_id, generator: as :func:`random_deletion`.
    """
    table = _synonym_table(synonyms)
    p = check_probability("p", p)
    pad_id = check_int("pad_id", pad_id)
    tokens, pad = _tokens(tokens, padding_mask, pad_id)
    dev = tokens.device
    u = _rand((2, *tokens.shape), generator, dev)
    if not table:
        return tokens.clone()
    size = max(max(table), int(tokens.max()) if tokens.numel() else 0) + 1
    width = max(len(v) for v in table.values())
    syn = torch.zeros(size, width, dtype=tokens.dtype, device=dev)
    count = torch.zeros(size, dtype=torch.long, device=dev)
    for k, v in table.items():
        syn[k, : len(v)] = torch.tensor(v, dtype=tokens.dtype)
        count[k] = len(v)
    ids = tokens.clamp(min=0)
    cnt = count[ids]
    pick = (u[1] * cnt).long().clamp(min=0, max=width - 1)
    replacement = syn[ids, pick]
    hit = (u[0] < p) & (cnt > 0) & ~pad & (tokens >= 0)
    return torch.where(hit, replacement, tokens)


@register("random_deletion")
class RandomDeletion(LabelPreserving):
    """Batch transform form of :func:`random_deletion` (padding from ``pad_id``).

    Args:
        p: the deletion probability. Defaults to 0.1 (EDA's alpha).
        pad_id: the padding id. Defaults to 0.
    """

    def __init__(self, p: float = 0.1, pad_id: int = 0) -> None:
        self.p = check_probability("p", p)
        self.pad_id = check_int("pad_id", pad_id)

    def _apply(self, tokens: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_deletion(tokens, self.p, None, self.pad_id, generator)


@register("random_swap")
class RandomSwap(LabelPreserving):
    """Batch transform form of :func:`random_swap`. ``n_swaps`` defaults to 1, ``pad_id`` to 0."""

    def __init__(self, n_swaps: int = 1, pad_id: int = 0) -> None:
        self.n_swaps = check_int("n_swaps", n_swaps, low=0)
        self.pad_id = check_int("pad_id", pad_id)

    def _apply(self, tokens: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_swap(tokens, self.n_swaps, None, self.pad_id, generator)


@register("random_insertion")
class RandomInsertion(LabelPreserving):
    """Batch transform form of :func:`random_insertion`. ``n_insert`` defaults to 1, ``pad_id`` to 0."""

    def __init__(self, vocab_size: int, n_insert: int = 1, pad_id: int = 0) -> None:
        self.vocab_size = check_int("vocab_size", vocab_size, low=2)
        self.n_insert = check_int("n_insert", n_insert, low=0)
        self.pad_id = check_int("pad_id", pad_id)

    def _apply(self, tokens: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_insertion(tokens, self.vocab_size, self.n_insert, None, self.pad_id, generator)


@register("token_mask")
class TokenMask(LabelPreserving):
    """Batch transform form of :func:`token_mask`. ``p`` defaults to 0.1, ``pad_id`` to 0."""

    def __init__(self, mask_id: int, p: float = 0.1, pad_id: int = 0) -> None:
        self.mask_id = check_int("mask_id", mask_id)
        self.p = check_probability("p", p)
        self.pad_id = check_int("pad_id", pad_id)

    def _apply(self, tokens: Tensor, generator: torch.Generator | None) -> Tensor:
        return token_mask(tokens, self.p, self.mask_id, None, self.pad_id, generator)


@register("synonym_replacement")
class SynonymReplacement(LabelPreserving):
    """Batch transform form of :func:`synonym_replacement`. ``p`` defaults to 0.1, ``pad_id`` to 0."""

    def __init__(self, synonyms: dict[int, list[int]], p: float = 0.1, pad_id: int = 0) -> None:
        _synonym_table(synonyms)
        self.synonyms = synonyms
        self.p = check_probability("p", p)
        self.pad_id = check_int("pad_id", pad_id)

    def _apply(self, tokens: Tensor, generator: torch.Generator | None) -> Tensor:
        return synonym_replacement(tokens, self.synonyms, self.p, None, self.pad_id, generator)


class EmbeddingMixup(nn.Module):
    """Mixup on embeddings (Guo et al. 2019), a module placed after the model's embedding layer.

    In training, ``forward(emb)`` draws ``lam ~ Beta(alpha, alpha)`` and a pairing (as
    :func:`reglab.augment.sample_mixup_params`), keeps them in ``self.params`` and returns
    ``lam * emb + (1 - lam) * emb[perm]``; :meth:`mix_targets` then mixes the labels with the same
    draw. In eval mode it is the identity. Use it in the model's forward and call
    ``mix_targets(y)`` before the loss (soft targets, scored by e.g.
    ``LabelSmoothingCrossEntropy``).

    Args:
        alpha: the Beta parameter, ``> 0``. Defaults to 0.2.
        num_classes: classes, for class-index labels. Defaults to None.
        generator: the random source. Defaults to None.
    """

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        from reglab._validate import check_positive

        self.alpha = check_positive("alpha", alpha)
        self.num_classes = check_num_classes(num_classes)
        self.generator = generator
        self.params: MixParams | None = None

    def forward(self, emb: Tensor) -> Tensor:
        if not self.training:
            self.params = None
            return emb
        params = sample_mixup_params(emb.shape[0], self.alpha, self.generator)
        self.params = params
        perm = params.perm.to(emb.device) if params.perm is not None else torch.arange(emb.shape[0], device=emb.device)
        return emb * params.lam + emb[perm] * (1.0 - params.lam)

    def mix_targets(self, y: Tensor) -> Tensor:
        """``y`` as soft targets, mixed with the last forward's draw (unchanged after eval)."""
        y_soft = to_soft_targets(y, self.num_classes, y.shape[0], torch.get_default_dtype())
        if self.params is None:
            return y_soft
        dummy = torch.zeros(y.shape[0], 1, device=y_soft.device)
        return apply_mix(dummy, y_soft, self.params)[1]

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, num_classes={self.num_classes}"

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "num_classes": self.num_classes}
