"""TensorLoader and Splits.loaders: batching, seeded order, resumable state."""

from __future__ import annotations

import pytest
import torch

from reglab.data import TensorLoader, load


def _data(n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1).repeat(1, 3)
    return x, torch.arange(n)


def test_unshuffled_batches_in_order_with_a_short_last_batch() -> None:
    x, y = _data(10)
    loader = TensorLoader(x, y, 4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert torch.equal(batches[0][0], x[:4])


def test_drop_last_skips_the_incomplete_batch() -> None:
    x, y = _data(10)
    loader = TensorLoader(x, y, 4, shuffle=True, drop_last=True)
    batches = list(loader)
    assert len(loader) == 2 == len(batches)
    assert all(len(b[1]) == 4 for b in batches)


def test_shuffled_epoch_is_a_seeded_permutation() -> None:
    x, y = _data(10)
    loader = TensorLoader(x, y, 3, shuffle=True, generator=torch.Generator().manual_seed(5))
    epoch1 = torch.cat([b[1] for b in loader])
    epoch2 = torch.cat([b[1] for b in loader])
    assert sorted(epoch1.tolist()) == list(range(10)) == sorted(epoch2.tolist())
    assert torch.equal(epoch1, torch.randperm(10, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(epoch1, epoch2)  # a new order every epoch
    for xb, yb in loader:
        assert torch.equal(xb[:, 0], yb.float())  # inputs and labels stay paired


def test_state_dict_resumes_the_same_data_order() -> None:
    x, y = _data(20)
    a = TensorLoader(x, y, 5, shuffle=True, generator=torch.Generator().manual_seed(1))
    orders = [torch.cat([b[1] for b in a]) for _ in range(3)]
    b = TensorLoader(x, y, 5, shuffle=True, generator=torch.Generator().manual_seed(1))
    list(b)  # epoch 1
    state = b.state_dict()
    c = TensorLoader(x, y, 5, shuffle=True, generator=torch.Generator().manual_seed(99))
    c.load_state_dict(state)
    assert torch.equal(torch.cat([t[1] for t in c]), orders[1])
    d = TensorLoader(x, y, 5, shuffle=True, generator=torch.Generator().manual_seed(99))
    d.load_state_dict({"generator_state": state["generator_state"].tolist()})  # plain list too
    assert torch.equal(torch.cat([t[1] for t in d]), orders[1])


def test_bad_arguments() -> None:
    x, y = _data(10)
    with pytest.raises(ValueError) as exc:
        TensorLoader(x, y, 0)
    assert str(exc.value) == "Invalid value for argument `batch_size`. Expected an integer >= 1. Received: batch_size=0"
    with pytest.raises(ValueError) as exc:
        TensorLoader(x, y[:9], 2)
    assert str(exc.value) == "Invalid value for argument `y`. Expected as many samples as x (10). Received: len(y)=9"


def test_split_loaders_shuffle_only_training() -> None:
    s = load("wine", seed=0)
    train, val, test = s.loaders(32, seed=3)
    assert (len(train), len(val), len(test)) == (4, 1, 2)  # 114, 28, 36 samples
    assert train.shuffle and not val.shuffle and not test.shuffle
    assert torch.equal(torch.cat([b[1] for b in test]), s.y_test)
    again, _, _ = s.loaders(32, seed=3)
    assert torch.equal(torch.cat([b[1] for b in train]), torch.cat([b[1] for b in again]))
    other, _, _ = s.loaders(32, seed=4)
    first = torch.cat([b[0] for b in s.loaders(32, seed=3)[0]])
    assert not torch.equal(first, torch.cat([b[0] for b in other]))
    empty = load("wine", val_fraction=0.0).loaders(16)[1]
    assert len(empty) == 0 and list(empty) == []


def test_splits_built_by_hand_default_to_no_flips() -> None:
    from reglab.data import DatasetInfo, Splits

    x, y = _data(6)
    info = DatasetInfo("custom", "classification", (3,), 10, 6, 0, 6)
    s = Splits(x, y, x[:0], y[:0], x, y, info)
    assert s.flipped.tolist() == [False] * 6 and s.y_train_clean is s.y_train
    moved = s.to("cpu")
    assert torch.equal(moved.x_train, x) and moved.info is info
