"""Token augmentations: padding never changes, exact edits, seeded statistics; embedding mixup."""

from __future__ import annotations

import pytest
import torch

from reglab.augment import (
    EmbeddingMixup, RandomDeletion, SynonymReplacement, random_deletion, random_insertion, random_swap,
    synonym_replacement, token_mask,
)

PAD = 0


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(n=200, length=12, seed=0):
    """Token ids in [1, 50) with random right padding and some rows padded in the middle."""
    g = _gen(seed)
    tokens = torch.randint(1, 50, (n, length), generator=g)
    lengths = torch.randint(0, length + 1, (n,), generator=g)
    tokens[torch.arange(length)[None, :] >= lengths[:, None]] = PAD
    tokens[::7, 2] = PAD  # a hole inside some rows
    return tokens


OPS = {
    "deletion": lambda t, g, pm=None: random_deletion(t, 0.3, pm, PAD, g),
    "swap": lambda t, g, pm=None: random_swap(t, 3, pm, PAD, g),
    "insertion": lambda t, g, pm=None: random_insertion(t, 60, 2, pm, PAD, g),
    "mask": lambda t, g, pm=None: token_mask(t, 0.3, 99, pm, PAD, g),
    "synonyms": lambda t, g, pm=None: synonym_replacement(t, {k: [k + 100, k + 200] for k in range(1, 50)}, 0.5, pm, PAD, g),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_padding_positions_are_never_changed_and_shapes_kept(name):
    tokens = _batch()
    out = OPS[name](tokens, _gen(1))
    pad = tokens == PAD
    assert out.shape == tokens.shape and out.dtype == tokens.dtype
    assert torch.equal(out[pad], tokens[pad])
    assert torch.equal(OPS[name](tokens, _gen(1)), out)  # seeded


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_explicit_padding_mask_is_respected(name):
    tokens = torch.randint(1, 50, (100, 10), generator=_gen(2))
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 7:] = True  # padding holds arbitrary ids here: only the mask says what padding is
    out = OPS[name](tokens, _gen(3), mask)
    assert torch.equal(out[:, 7:], tokens[:, 7:])


def test_zero_magnitudes_are_the_identity():
    tokens = _batch()
    assert torch.equal(random_deletion(tokens, 0.0, generator=_gen()), tokens)
    assert torch.equal(random_swap(tokens, 0, generator=_gen()), tokens)
    assert torch.equal(random_insertion(tokens, 60, 0, generator=_gen()), tokens)
    assert torch.equal(token_mask(tokens, 0.0, 99, generator=_gen()), tokens)
    assert torch.equal(synonym_replacement(tokens, {1: [2]}, 0.0, generator=_gen()), tokens)


def test_deletion_keeps_the_order_of_the_kept_tokens_and_at_least_one():
    tokens = torch.tensor([[5, 6, 7, 8, 9, 0, 0], [3, 0, 4, 5, 0, 6, 0]])
    out = random_deletion(tokens, 1.0, generator=_gen(0))  # everything drawn for deletion
    assert ((out[0] != PAD).sum().item(), (out[1] != PAD).sum().item()) == (1, 1)
    assert out[0, 0].item() in {5, 6, 7, 8, 9} and out[1, 0].item() in {3, 4, 5, 6}
    torch.manual_seed(0)
    big = _batch(2000, 12, 4)
    out = random_deletion(big, 0.3, generator=_gen(5))
    for row_in, row_out in zip(big[:200], out[:200]):
        kept = row_out[row_out != PAD].tolist()
        real = row_in[row_in != PAD].tolist()
        it = iter(real)
        assert all(tok in it for tok in kept)  # a subsequence: order kept
    n_real = (big != PAD).sum().item()
    n_kept = (out != PAD).sum().item()
    assert n_kept / n_real == pytest.approx(0.7, abs=0.02)


def test_swap_permutes_the_real_tokens():
    tokens = _batch(500)
    out = random_swap(tokens, 2, generator=_gen(6))
    for a, b in zip(tokens, out):
        assert sorted(a.tolist()) == sorted(b.tolist())
    assert (out != tokens).any(1).float().mean().item() > 0.5


def test_insertion_inserts_non_pad_tokens_and_shifts_the_rest():
    tokens = torch.tensor([[5, 6, 7, 8, 0, 0]])
    out = random_insertion(tokens, 10, 1, generator=_gen(7))
    row = out[0, :4].tolist()
    k = next(i for i in range(4) if row[:i] == [5, 6, 7, 8][:i] and row[i + 1:] == [5, 6, 7, 8][i:3])
    assert row[k] != PAD and 0 < row[k] < 10
    assert out[0, 4:].tolist() == [0, 0]
    # inserted ids are uniform over the vocabulary without the padding id
    many = random_insertion(torch.full((9000, 1), 3), 4, 1, generator=_gen(8))
    counts = torch.bincount(many[:, 0], minlength=4)
    assert counts[0].item() == 0 and all(c > 2800 for c in counts[1:].tolist())


def test_token_mask_rate_and_synonym_choice():
    tokens = _batch(3000)
    real = tokens != PAD
    masked = token_mask(tokens, 0.25, 99, generator=_gen(9))
    assert (masked[real] == 99).float().mean().item() == pytest.approx(0.25, abs=0.01)
    table = {7: [70, 71], 8: [80]}
    out = synonym_replacement(tokens, table, 1.0, generator=_gen(10))
    sevens = tokens == 7
    assert set(out[sevens].tolist()) == {70, 71}
    assert (out[sevens] == 70).float().mean().item() == pytest.approx(0.5, abs=0.1)
    assert bool((out[tokens == 8] == 80).all())
    others = real & ~sevens & (tokens != 8)
    assert torch.equal(out[others], tokens[others])


def test_modules_and_messages():
    tokens = _batch(4)
    y = torch.arange(4)
    out, yy = RandomDeletion(0.2)(tokens, y, generator=_gen(1))
    assert yy is y and torch.equal(out, random_deletion(tokens, 0.2, generator=_gen(1)))
    with pytest.raises(ValueError) as err:
        random_deletion(tokens.float(), 0.1)
    assert str(err.value) == "Invalid value for argument `tokens`. Expected an integer tensor of token ids. Received: tokens.dtype=torch.float32"
    with pytest.raises(ValueError) as err:
        token_mask(tokens, 0.1, 99, padding_mask=torch.zeros(4, 3, dtype=torch.bool))
    assert str(err.value) == (
        "Invalid value for argument `padding_mask`. Expected None or a bool tensor of shape (4, 12). "
        "Received: padding_mask=tensor of dtype torch.bool and shape (4, 3)"
    )
    with pytest.raises(ValueError) as err:
        SynonymReplacement({"good": ["fine"]})
    assert str(err.value) == (
        "Invalid value for argument `synonyms`. Expected a dict {token id: [synonym ids]}. "
        "Received: synonyms={'good': ['fine']}"
    )


def test_embedding_mixup_mixes_embeddings_and_targets_with_one_draw():
    mix = EmbeddingMixup(0.4, num_classes=3, generator=_gen(11))
    emb = torch.randn(6, 5, 8, generator=_gen(12))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    out = mix(emb)
    lam, perm = mix.params.lam, mix.params.perm
    assert torch.allclose(out, lam * emb + (1 - lam) * emb[perm])
    soft = torch.nn.functional.one_hot(y, 3).float()
    assert torch.allclose(mix.mix_targets(y), lam * soft + (1 - lam) * soft[perm])
    mix.eval()
    assert mix(emb) is emb and torch.equal(mix.mix_targets(y), soft)
    assert repr(mix) == "EmbeddingMixup(alpha=0.4, num_classes=3)"
