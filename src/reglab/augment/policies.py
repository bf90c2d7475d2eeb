"""Named augmentation policies, and which datasets each one keeps the labels of.

A study arm or sweep field ``augment=<policy>`` names one of :data:`POLICIES`;
:func:`resolve_policy` turns it into a batch transform for a dataset (None for ``"none"``).

Where the label knowledge lives: :data:`DATASET_AUGMENTATION`, a table (in the torch-free
``reglab._policy_names``, with :data:`POLICIES`), gives each
built-in dataset its modality and whether a horizontal flip keeps its labels. A flip turns a
digit or a letter into another shape (a mirrored 2 is no 2), so ``crop_flip`` is refused for
``digits``, ``mnist``, ``mnist5k`` unless ``allow_label_change=True``; Fashion-MNIST and CIFAR-10
are flip-invariant. Datasets not in the table are treated by their input shape: ``(C, H, W)`` as
images whose flip invariance is unknown (refused without the flag), anything else as tabular
features, which no policy here applies to (a shift of unrelated columns is no augmentation).

====================  ===========================================================================
``none``              no augmentation
``auto``              the modality's default: signals -> ``shift``; images -> ``crop_flip`` when
                      the dataset is flip-invariant, else ``crop_rotate``
``shift``             signals: circular shift by up to :data:`DEFAULT_MAX_SHIFT` samples
``crop``              images: random crop with ``H // 8`` pixels of zero padding (4 on 32 px)
``crop_flip``         images: ``crop`` + horizontal flip (p = 0.5)
``crop_rotate``       images: ``crop`` + rotation up to 10 degrees (kornia)
``trivial``           images: TrivialAugment (Müller & Hutter 2021; kornia)
====================  ===========================================================================
"""

from __future__ import annotations

from reglab._policy_names import DATASET_AUGMENTATION, POLICIES
from reglab._validate import format_choices
from reglab.augment.base import BatchTransform
from reglab.augment.image import HorizontalFlip, RandomAffine, RandomCrop, TrivialAugment
from reglab.augment.pipeline import Pipeline
from reglab.augment.signal import RandomShift
from reglab.errors import ConfigError, invalid_argument

__all__ = ["POLICIES", "DATASET_AUGMENTATION", "DEFAULT_MAX_SHIFT", "modality", "resolve_policy"]

#: MNIST-1D's shift default: +-4 of 40 samples (78% validation accuracy alone for the default MLP,
#: against 66-70% without; ``benchmarks/augmentation.py`` compares 2, 4 and 8 on validation).
DEFAULT_MAX_SHIFT = 4

_SIGNAL_POLICIES = ("shift",)
_IMAGE_POLICIES = ("crop", "crop_flip", "crop_rotate", "trivial")


def modality(dataset: str, input_shape: tuple[int, ...]) -> str:
    """``"signal"``, ``"image"`` or ``"tabular"`` for a dataset (the table, else its input shape)."""
    if dataset in DATASET_AUGMENTATION:
        return DATASET_AUGMENTATION[dataset][0]
    return "image" if len(input_shape) == 3 else "tabular"


def _flip_keeps_label(dataset: str) -> bool:
    entry = DATASET_AUGMENTATION.get(dataset)
    return bool(entry and entry[1])


def resolve_policy(policy: str, dataset: str, input_shape: tuple[int, ...], *,
                   allow_label_change: bool = False, fill: float = 0.0) -> BatchTransform | None:
    """The batch transform of ``policy`` for ``dataset`` (None for ``"none"``).

    Args:
        policy: one of :data:`POLICIES`.
        dataset: the dataset's registry name (``"mnist1d"``), used for its modality and labels.
        input_shape: the shape of one input (``(40,)``, ``(1, 28, 28)``).
        allow_label_change: accept a policy that can change labels on this dataset (a flip on
            digits). Defaults to False.
        fill: the value image crops and warps bring in at the borders. Defaults to 0.0; on
            standardised images pass the value of a black pixel (the training minimum), as
            torchvision pads raw images with 0: a border of another value than the background is a
            visible frame the test images never have (measured on mnist5k, cnn2d, 6 epochs:
            fill 0 gave 35% test accuracy against 92% without augmentation).

    Raises:
        ConfigError: unknown policy; a policy of another modality; a label-changing policy.
    """
    if policy not in POLICIES:
        raise ConfigError(invalid_argument("augment", f"one of {format_choices(POLICIES)}", policy))
    if policy == "none":
        return None
    kind = modality(dataset, tuple(input_shape))
    if policy == "auto":
        if kind == "signal":
            policy = "shift"
        elif kind == "image":
            policy = "crop_flip" if _flip_keeps_label(dataset) else "crop_rotate"
    allowed = {"signal": _SIGNAL_POLICIES, "image": _IMAGE_POLICIES}.get(kind, ())
    if policy not in allowed:
        expected = (f"a {kind} policy among {format_choices(('none', 'auto') + allowed)} for {dataset!r}"
                    if allowed else f"'none' for {dataset!r} (tabular features have no augmentation policy)")
        raise ConfigError(invalid_argument("augment", expected, policy))
    if policy == "crop_flip" and not _flip_keeps_label(dataset) and not allow_label_change:
        raise ConfigError(invalid_argument(
            "augment",
            f"a label-preserving policy for {dataset!r}: a horizontal flip can change its labels "
            "(use 'crop_rotate', or allow_label_change=True to force it)",
            policy,
        ))
    if policy == "shift":
        return RandomShift(DEFAULT_MAX_SHIFT, "circular")
    padding = max(1, int(input_shape[-2]) // 8)
    crop = RandomCrop(padding, fill)
    if policy == "crop":
        return crop
    if policy == "crop_flip":
        return Pipeline([crop, HorizontalFlip(0.5)])
    if policy == "crop_rotate":
        return Pipeline([crop, RandomAffine(10.0, fill=fill)])
    return TrivialAugment(fill=fill)


