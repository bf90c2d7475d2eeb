"""Image classification: training from scratch on little data, and fine-tuning.

From scratch (torchvision's reference recipe; timm's "ResNet strikes back"; DeiT):

1. Pretrained weights first when the set has fewer than ``TRANSFER_DATA`` images (Kornblith et
   al. 2019: fine-tuning matched or beat training from scratch on all 12 of their sets, by wide
   margins on the small ones; BiT, Kolesnikov et al. 2020).
2. Random (resized) crops and horizontal flips where a mirror image keeps the label (He et al.
   2016; every recipe above).
3. TrivialAugment (torchvision's recipe: ``TrivialAugmentWide``) or RandAugment (timm; DeiT:
   9 ops magnitude 9, std 0.5).
4. If the gap persists: mixup (alpha 0.2 in torchvision's recipe for CNNs, 0.8 in DeiT for
   vision transformers), CutMix (alpha 1.0 in both), label smoothing 0.1 (Szegedy et al. 2016),
   stochastic depth on deep residual nets (0.05 for ResNet-50 in timm, 0.1 in DeiT).
5. Decoupled weight decay (0.05 in DeiT for transformers; timm's ResNet-50 recipes 0.01-0.02,
   so 0.01 for CNNs) and early stopping on validation accuracy.

Fine-tuning (BiT; Kornblith et al. 2019): a learning rate about ten times below training from
scratch (AdamW 1e-4), crops and flips, short early stopping (5 epochs), then label smoothing,
weight decay, stochastic depth on transformers; mixup (alpha 0.1) only above 20,000 examples
(BiT found it useless below).
"""

from __future__ import annotations

from reglab.analysis.recommend.problem import TRANSFER_DATA, Plan, Problem, Step, advice_step, technique_step

__all__ = ["image_plan", "MIXUP_CNN", "MIXUP_VIT", "BIT_MIXUP_MIN", "FINE_TUNING_PATIENCE"]

#: mixup alpha: torchvision's CNN recipe, and DeiT's for vision transformers.
MIXUP_CNN = 0.2
MIXUP_VIT = 0.8
#: BiT applies mixup (alpha 0.1) only to sets of at least this many examples.
BIT_MIXUP_MIN = 20_000
#: Early-stopping patience (epochs) while fine-tuning: it converges in few epochs.
FINE_TUNING_PATIENCE = 5


def _crop_flip(p: Problem, *sources: str) -> Step:
    settings: dict[str, object] = {"random_resized_crop_scale": (0.08, 1.0)}
    if p.flips:
        settings["horizontal_flip"] = 0.5
        what = ("Random resized crops (scale 0.08-1; on 32x32 images: pad by 4 and crop) and "
                "horizontal flips with probability 0.5")
    else:
        what = ("Random resized crops (scale 0.08-1; on 32x32 images: pad by 4 and crop), no "
                "flips: a mirror image changes these labels")
    return advice_step(
        "crop and flip augmentation", settings,
        f"{what}: the cheapest augmentation and part of every image recipe; each epoch then "
        "sees new views of the same images.", *sources)


def _policy(p: Problem, core: bool) -> Step:
    return advice_step(
        "TrivialAugment / RandAugment", {"policy": "TrivialAugmentWide"},
        "An automatic augmentation policy: TrivialAugmentWide (one random op at a random "
        "strength per image, no tuning) as in torchvision's recipe, or RandAugment (2 ops, "
        "magnitude 9) as in timm and DeiT.", "muller2021", "cubuk2020", "torchvision", core=core)


def image_plan(p: Problem) -> Plan:
    """The image-classification plan for ``p`` (``p.modality == "image"``)."""
    return _fine_tuning(p) if p.fine_tuning else _from_scratch(p)


def _from_scratch(p: Problem) -> Plan:
    vit = p.family == "transformer"
    steps = []
    transfer = p.n_train < TRANSFER_DATA
    if transfer:
        steps.append(advice_step(
            "pretrained weights", {},
            f"With {p.n_train:,} images, start from ImageNet-pretrained weights of the same "
            f"architecture (torchvision and timm ship them) and fine-tune, instead of training "
            f"{p.n_params:,} parameters from scratch: on small sets fine-tuning beats training "
            "from scratch by a wide margin, and the pretrained features are the strongest "
            "regularizer there is. Then follow the fine-tuning settings (--fine-tuning).",
            "kornblith2019", "kolesnikov2020"))
    steps.append(_crop_flip(p, "he2016", "torchvision", "timm"))
    steps.append(_policy(p, core=True))
    mix = MIXUP_VIT if vit else MIXUP_CNN
    steps.append(technique_step(
        "mixup", mix,
        f"If the gap persists: mixup with alpha {mix:g} ("
        + ("DeiT's value for vision transformers" if vit else "torchvision's recipe for CNNs")
        + "), mixing pairs of images and their labels.",
        "zhang2018", "deit" if vit else "torchvision", core=False))
    steps.append(technique_step(
        "cutmix", 1.0,
        "CutMix with alpha 1.0 (torchvision, timm and DeiT), alternating with mixup batch by "
        "batch: pastes a patch of one image into another, labels mixed by area.",
        "yun2019", "torchvision", "deit", core=False))
    steps.append(technique_step(
        "label_smoothing", 0.1,
        "Label smoothing 0.1, in torchvision's and DeiT's recipes: keeps the network from "
        "becoming overconfident on few examples.", "szegedy2016", "torchvision", "deit", core=False))
    if p.residual:
        rate = 0.1 if vit else 0.05
        steps.append(technique_step(
            "drop_path", rate,
            f"Stochastic depth {rate:g} for a deep residual net ("
            + ("DeiT's value" if vit else "timm's value for ResNet-50")
            + "): whole residual branches dropped at random, deeper blocks more often.",
            "huang2016", "deit" if vit else "timm", core=False))
    wd = 0.05 if vit else 0.01
    steps.append(technique_step(
        "weight_decay", wd,
        f"Decoupled weight decay {wd:g} (AdamW; "
        + ("DeiT's value" if vit else "timm's ResNet-50 recipes use 0.01-0.02")
        + "), biases and normalization weights not decayed.",
        "loshchilov2019", "deit" if vit else "timm"))
    steps.append(technique_step(
        "early_stopping", 20,
        "Stop when the validation accuracy has not improved for 20 epochs and keep the best "
        "weights.", "prechelt1998"))
    headline = ("start from pretrained weights, then augment (crops, flips, TrivialAugment) before "
                "anything else; mixup/CutMix, label smoothing"
                + (" and stochastic depth" if p.residual else "") + " while the gap persists."
                if transfer else
                "augment first (crops, flips, TrivialAugment); mixup/CutMix, label smoothing"
                + (" and stochastic depth" if p.residual else "") + " while the gap persists.")
    return Plan("image classification from scratch" + (" on little data" if transfer else ""),
                headline, steps)


def _fine_tuning(p: Problem) -> Plan:
    vit = p.family == "transformer"
    steps = [
        advice_step(
            "fine-tuning learning rate", {"lr": 1e-4},
            "A learning rate about ten times below training from scratch (AdamW 1e-4) keeps the "
            "pretrained features; BiT fine-tunes with SGD at 0.003 for few steps.",
            "kolesnikov2020", "kornblith2019"),
        _crop_flip(p, "kolesnikov2020"),
        technique_step(
            "early_stopping", FINE_TUNING_PATIENCE,
            f"Fine-tuning converges in few epochs: stop when the validation accuracy has not "
            f"improved for {FINE_TUNING_PATIENCE} epochs and keep the best weights.",
            "prechelt1998", "kolesnikov2020"),
        technique_step(
            "label_smoothing", 0.1,
            "If the gap persists: label smoothing 0.1 keeps the new head from becoming "
            "overconfident on few examples.", "szegedy2016", core=False),
        technique_step(
            "weight_decay", 0.01,
            "Decoupled weight decay 0.01 (AdamW's usual value; BiT uses none, so measure it).",
            "loshchilov2019", core=False),
    ]
    avoid = []
    if p.n_train >= BIT_MIXUP_MIN:
        steps.append(technique_step(
            "mixup", 0.1, "mixup with alpha 0.1, BiT's setting for sets above 20,000 examples.",
            "kolesnikov2020", "zhang2018", core=False))
    else:
        avoid.append(f"mixup: BiT applies it only above {BIT_MIXUP_MIN:,} examples "
                     f"(here {p.n_train:,}; Kolesnikov et al. 2020).")
    if p.residual and vit:
        steps.append(technique_step(
            "drop_path", 0.1, "Stochastic depth 0.1, as DeiT keeps while fine-tuning.",
            "huang2016", "deit", core=False))
    if p.small:
        steps.append(_policy(p, core=False))
    return Plan("fine-tuning a pretrained image model",
                "a small learning rate, crops and flips and short early stopping first; label "
                "smoothing and weight decay while the gap persists.", steps, avoid)
