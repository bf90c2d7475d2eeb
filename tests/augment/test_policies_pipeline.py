"""Named policies (with the label-changing refusals) and the Pipeline of batch transforms."""

from __future__ import annotations

import pytest
import torch

from reglab.augment import (
    POLICIES, HorizontalFlip, Mixup, MixupCutmix, Pipeline, RandomAffine, RandomCrop, RandomShift, TrivialAugment,
    random_shift, resolve_policy,
)
from reglab.errors import ConfigError


def test_auto_picks_the_modality_default():
    shift = resolve_policy("auto", "mnist1d", (40,))
    assert isinstance(shift, RandomShift) and (shift.max_shift, shift.mode) == (4, "circular")
    flip = resolve_policy("auto", "cifar10", (3, 32, 32))
    assert isinstance(flip, Pipeline)
    assert [type(t) for t in flip.transforms] == [RandomCrop, HorizontalFlip] and flip.transforms[0].padding == 4
    digits = resolve_policy("auto", "mnist5k", (1, 28, 28))
    assert [type(t) for t in digits.transforms] == [RandomCrop, RandomAffine]
    assert (digits.transforms[0].padding, digits.transforms[1].degrees) == (3, 10.0)
    assert resolve_policy("none", "wine", (13,)) is None
    assert isinstance(resolve_policy("trivial", "digits", (1, 8, 8)), TrivialAugment)
    assert POLICIES == ("none", "auto", "shift", "crop", "crop_flip", "crop_rotate", "trivial")


def test_a_flip_on_digits_is_refused_unless_allowed():
    with pytest.raises(ConfigError) as err:
        resolve_policy("crop_flip", "mnist5k", (1, 28, 28))
    assert str(err.value) == (
        "Invalid value for argument `augment`. Expected a label-preserving policy for 'mnist5k': a horizontal "
        "flip can change its labels (use 'crop_rotate', or allow_label_change=True to force it). "
        "Received: augment='crop_flip'"
    )
    forced = resolve_policy("crop_flip", "mnist5k", (1, 28, 28), allow_label_change=True)
    assert [type(t) for t in forced.transforms] == [RandomCrop, HorizontalFlip]
    # an unknown image dataset: flip invariance unknown, refused the same way
    with pytest.raises(ConfigError):
        resolve_policy("crop_flip", "my_images", (3, 16, 16))


@pytest.mark.parametrize(
    "policy, dataset, shape, message",
    [
        ("crop", "mnist1d", (40,),
         "Invalid value for argument `augment`. Expected a signal policy among 'none', 'auto', 'shift' for "
         "'mnist1d'. Received: augment='crop'"),
        ("shift", "wine", (13,),
         "Invalid value for argument `augment`. Expected 'none' for 'wine' (tabular features have no "
         "augmentation policy). Received: augment='shift'"),
        ("flip", "mnist1d", (40,),
         "Invalid value for argument `augment`. Expected one of 'none', 'auto', 'shift', 'crop', 'crop_flip', "
         "'crop_rotate', 'trivial'. Received: augment='flip'"),
    ],
)
def test_policies_of_another_modality_are_refused(policy, dataset, shape, message):
    with pytest.raises(ConfigError) as err:
        resolve_policy(policy, dataset, shape)
    assert str(err.value) == message


def test_pipeline_applies_in_order_with_one_generator():
    x = torch.randn(8, 40, generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 3
    pipe = Pipeline([RandomShift(4), Mixup(0.3, num_classes=3)])
    out, soft = pipe(x, y, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    shifted = random_shift(x, 4, "circular", g)
    expected, expected_soft = Mixup(0.3, num_classes=3)(shifted, y, generator=g)
    assert torch.equal(out, expected) and torch.equal(soft, expected_soft)
    assert soft.shape == (8, 3)
    # a plain callable without a generator argument works too
    plain = Pipeline([lambda a, b: (a * 2, b)])
    assert torch.equal(plain(x, y)[0], x * 2)
    assert len(Pipeline([])) == 0 and Pipeline([])(x, y)[0] is x


def test_pipeline_refuses_non_callables():
    with pytest.raises(ValueError) as err:
        Pipeline([RandomShift(1), 3])
    assert str(err.value) == (
        "Invalid value for argument `transforms`. Expected a list of callables (x, y) -> (x, y). "
        "Received: transforms item 3"
    )


def test_augmentation_composes_with_mixup_cutmix_on_images():
    x = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(6) % 2
    pipe = Pipeline([RandomCrop(1), MixupCutmix(mixup_alpha=0.2, cutmix_alpha=1.0, num_classes=2)])
    out, soft = pipe(x, y, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and soft.shape == (6, 2)
    assert torch.allclose(soft.sum(1), torch.ones(6))


def test_fill_reaches_every_image_border():
    trivial = resolve_policy("trivial", "cifar10", (3, 32, 32), fill=-1.5)
    crop_rotate = resolve_policy("crop_rotate", "digits", (1, 8, 8), fill=-0.5)
    assert trivial.fill == -1.5
    assert [t.fill for t in crop_rotate.transforms] == [-0.5, -0.5]
    out, _ = crop_rotate.transforms[0](torch.ones(200, 1, 8, 8), None, generator=torch.Generator().manual_seed(0))
    assert set(out.unique().tolist()) == {-0.5, 1.0}
