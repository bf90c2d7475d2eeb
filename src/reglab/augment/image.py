"""Image augmentations on ``(N, C, H, W)`` batches, one draw per image, on the batch's device.

==========================  ====================================================================
:func:`random_crop`         pad by ``padding`` on every side, crop back at a uniform offset
                            (Krizhevsky et al. 2012; He et al. 2016: 4 px on CIFAR-10)
:func:`horizontal_flip`     mirror left-right with probability ``p``
:func:`random_affine`       rotation, translation, scale and shear about the centre (kornia)
:func:`color_jitter`        brightness and contrast (pure torch), saturation and hue (kornia)
:func:`random_erasing`      Zhong et al. 2020 (AAAI, arXiv:1708.04896): a random rectangle of
                            random area and aspect ratio set to ``value``
:func:`trivial_augment`     TrivialAugment (Müller & Hutter 2021, ICCV, arXiv:2103.10158): one op
                            and one magnitude drawn uniformly per image
==========================  ====================================================================

Crop, flip and erasing are pure torch. The warps and the saturation/hue changes use kornia, an
optional extra: without it they raise ``ImportError`` naming ``pip install 'reglab[augment]'``.
Inputs are usually standardised, so brightness is an additive shift and contrast scales around each
image's mean; nothing is clipped. A horizontal flip changes the label of a digit or a letter:
``reglab.augment.policies`` refuses it for such datasets.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from reglab._validate import check_int, check_probability
from reglab.augment._common import bernoulli, check_finite, check_tensor, randint, uniform
from reglab.augment.base import LabelPreserving
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = [
    "random_crop",
    "horizontal_flip",
    "affine_matrices",
    "warp",
    "random_affine",
    "color_jitter",
    "random_erasing",
    "trivial_augment",
    "TRIVIAL_OPS",
    "RandomCrop",
    "HorizontalFlip",
    "RandomAffine",
    "ColorJitter",
    "RandomErasing",
    "TrivialAugment",
]


def _kornia() -> Any:
    try:
        import kornia
    except ImportError as exc:
        raise ImportError(
            f"This augmentation needs kornia, which cannot be imported here ({exc}). "
            "Install it with: pip install 'reglab[augment]'"
        ) from None
    return kornia


def _images(x: Any) -> Tensor:
    return check_tensor("x", x, (4,))


def random_crop(x: Tensor, padding: int, generator: torch.Generator | None = None, fill: float = 0.0) -> Tensor:
    """Pad every side by ``padding`` with ``fill`` and crop an ``H x W`` window at a random offset.

    Each image draws its top and left offsets uniformly from ``{0, ..., 2 * padding}`` (rows, then
    columns), so the content moves by ``padding - offset`` pixels; offset ``padding`` is the
    identity.

    Args:
        x: images ``(N, C, H, W)``. Not modified.
        padding: pixels added on each side, ``>= 0`` (0: unchanged).
        generator: the random source. Defaults to None (PyTorch's global CPU generator).
        fill: the padding value. Defaults to 0.0 (the mean of standardised inputs).
    """
    padding = check_int("padding", padding, low=0)
    fill = check_finite("fill", fill)
    x = _images(x)
    n, _, h, w = x.shape
    top = randint(n, 0, 2 * padding, generator, x.device)
    left = randint(n, 0, 2 * padding, generator, x.device)
    if padding == 0:
        return x.clone()
    padded = F.pad(x, (padding,) * 4, value=fill)
    rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=x.device)  # (N, W)
    idx = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def horizontal_flip(x: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability ``p`` (its own coin).

    Args:
        x: images ``(N, C, H, W)``.
        p: the flip probability in ``[0, 1]``. Defaults to 0.5.
        generator: the random source. Defaults to None.
    """
    p = check_probability("p", p)
    x = _images(x)
    flip = bernoulli(x.shape[0], p, generator, x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def affine_matrices(angle: Tensor, translate: Tensor, scale: Tensor, shear: Tensor, height: int,
                    width: int) -> Tensor:
    """``(N, 2, 3)`` pixel-coordinate affine matrices about the image centre.

    ``angle`` in degrees, counter-clockwise positive as PIL's ``Image.rotate``; ``translate``
    ``(N, 2)`` in pixels ``(dx, dy)``; ``scale`` ``(N,)``; ``shear`` ``(N, 2)`` in degrees along x
    then y. The matrix maps output pixels from input pixels (kornia's ``warp_affine`` convention).
    """
    kornia = _kornia()
    n = angle.shape[0]
    center = torch.tensor([(width - 1) / 2.0, (height - 1) / 2.0], device=angle.device).expand(n, 2)
    m = kornia.geometry.transform.get_affine_matrix2d(
        translate.float(), center, scale.float()[:, None].expand(n, 2), -angle.float(),
        sx=torch.deg2rad(shear[:, 0].float()), sy=torch.deg2rad(shear[:, 1].float()),
    )
    return m[:, :2, :]


def warp(x: Tensor, matrices: Tensor, fill: float = 0.0) -> Tensor:
    """Apply ``(N, 2, 3)`` affine matrices with kornia's ``warp_affine`` (bilinear, ``fill`` outside)."""
    kornia = _kornia()
    n, c, h, w = x.shape
    if fill == 0.0:
        return kornia.geometry.transform.warp_affine(x, matrices.to(x.dtype), (h, w), mode="bilinear",
                                                     padding_mode="zeros", align_corners=True)
    fill_value = torch.full((c,), fill, device=x.device, dtype=x.dtype)
    return kornia.geometry.transform.warp_affine(x, matrices.to(x.dtype), (h, w), mode="bilinear",
                                                 padding_mode="fill", align_corners=True, fill_value=fill_value)


def random_affine(x: Tensor, degrees: float, translate: float = 0.0, scale: float = 0.0, shear: float = 0.0,
                  generator: torch.Generator | None = None, fill: float = 0.0) -> Tensor:
    """Rotate, translate, scale and shear every image by its own draw, about the centre (kornia).

    Per image: angle ``U[-degrees, degrees]``; shift ``U[-translate, translate]`` times the width
    (x) and the height (y); scale ``U[1 - scale, 1 + scale]``; shear ``U[-shear, shear]`` degrees
    along x. Draw order: angles, x shifts, y shifts, scales, shears. All zero returns a copy.

    Args:
        x: images ``(N, C, H, W)``.
        degrees: the largest rotation in degrees, in ``[0, 180]``.
        translate: the largest shift as a fraction of the size, in ``[0, 1]``. Defaults to 0.0.
        scale: the largest relative zoom, in ``[0, 1)``. Defaults to 0.0.
        shear: the largest shear in degrees, in ``[0, 45]``. Defaults to 0.0.
        generator: the random source. Defaults to None.
        fill: the value outside the warped image. Defaults to 0.0.
    """
    degrees = check_finite("degrees", degrees, 0.0, 180.0)
    translate = check_finite("translate", translate, 0.0, 1.0)
    scale = check_finite("scale", scale, 0.0, 1.0, high_inclusive=False)
    shear = check_finite("shear", shear, 0.0, 45.0)
    fill = check_finite("fill", fill)
    x = _images(x)
    n, _, h, w = x.shape
    dev = x.device
    angle = uniform(n, -degrees, degrees, generator, dev)
    dx = uniform(n, -translate, translate, generator, dev) * w
    dy = uniform(n, -translate, translate, generator, dev) * h
    s = uniform(n, 1.0 - scale, 1.0 + scale, generator, dev)
    sh = uniform(n, -shear, shear, generator, dev)
    if degrees == translate == scale == shear == 0.0:
        return x.clone()
    m = affine_matrices(angle, torch.stack([dx, dy], 1), s, torch.stack([sh, torch.zeros_like(sh)], 1), h, w)
    return warp(x, m, fill)


def color_jitter(x: Tensor, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0,
                 hue: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
    """Per-image brightness, contrast, saturation and hue changes, applied in that order.

    Brightness adds ``U[-brightness, brightness]`` (inputs are standardised); contrast scales each
    image around its own mean by ``U[1 - contrast, 1 + contrast]`` (as PIL's ``ImageEnhance``);
    saturation ``U[1 - saturation, 1 + saturation]`` and hue ``U[-hue, hue]`` (fraction of a turn)
    use kornia and need RGB images ``(N, 3, H, W)`` in ``[0, 1]``. Draw order: brightness,
    contrast, saturation, hue factors.

    Args:
        x: images ``(N, C, H, W)``.
        brightness: ``>= 0``. Defaults to 0.0.
        contrast: in ``[0, 1]``. Defaults to 0.0.
        saturation: in ``[0, 1]``. Defaults to 0.0.
        hue: in ``[0, 0.5]``. Defaults to 0.0.
        generator: the random source. Defaults to None.
    """
    brightness = check_finite("brightness", brightness, 0.0)
    contrast = check_finite("contrast", contrast, 0.0, 1.0)
    saturation = check_finite("saturation", saturation, 0.0, 1.0)
    hue = check_finite("hue", hue, 0.0, 0.5)
    x = _images(x)
    n, dev = x.shape[0], x.device
    if (saturation > 0 or hue > 0) and x.shape[1] != 3:
        raise ValueError(invalid_argument("x", "RGB images (N, 3, H, W) for saturation or hue", x,
                                          shown=f"x.shape={tuple(x.shape)}"))
    b = uniform(n, -brightness, brightness, generator, dev).to(x.dtype)
    c = uniform(n, 1.0 - contrast, 1.0 + contrast, generator, dev).to(x.dtype)
    s = uniform(n, 1.0 - saturation, 1.0 + saturation, generator, dev).to(x.dtype)
    hh = uniform(n, -hue, hue, generator, dev).to(x.dtype)
    out = x
    if brightness > 0:
        out = out + b[:, None, None, None]
    if contrast > 0:
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = mean + (out - mean) * c[:, None, None, None]
    if saturation > 0:
        out = _kornia().enhance.adjust_saturation(out, s)
    if hue > 0:
        out = _kornia().enhance.adjust_hue(out, hh * 2 * math.pi)
    return out if out is not x else x.clone()


def random_erasing(x: Tensor, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                   ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0,
                   generator: torch.Generator | None = None) -> Tensor:
    """Random erasing (Zhong et al. 2020): with probability ``p``, set one rectangle per image.

    Each image draws an area fraction ``U[scale]`` and a log-uniform aspect ratio in ``ratio``;
    the rectangle is ``round(sqrt(area * r))`` rows by ``round(sqrt(area / r))`` columns, clipped to
    the image, at a uniform position where it fits. Draw order: coins, areas, ratios, tops, lefts.

    Args:
        x: images ``(N, C, H, W)`` (any dtype).
        p: the erasing probability in ``[0, 1]``. Defaults to 0.5 (the paper's).
        scale: the area fraction range, within ``[0, 1]``. Defaults to (0.02, 0.33).
        ratio: the aspect ratio range, ``> 0``. Defaults to (0.3, 3.3).
        value: the value written. Defaults to 0.0.
        generator: the random source. Defaults to None.
    """
    p = check_probability("p", p)
    lo, hi = _pair("scale", scale, 0.0, 1.0)
    rlo, rhi = _pair("ratio", ratio, 0.0, None, low_inclusive=False)
    value = check_finite("value", value)
    x = check_tensor("x", x, (4,), floating=False)
    n, _, h, w = x.shape
    dev = x.device
    on = bernoulli(n, p, generator, dev)
    area = uniform(n, lo, hi, generator, dev).double() * h * w
    r = torch.exp(uniform(n, math.log(rlo), math.log(rhi), generator, dev).double())
    eh = torch.sqrt(area * r).round().long().clamp(0, h)
    ew = torch.sqrt(area / r).round().long().clamp(0, w)
    top = randint(n, 0, h - eh, generator, dev)
    left = randint(n, 0, w - ew, generator, dev)
    rows = torch.arange(h, device=dev)[None, :]
    cols = torch.arange(w, device=dev)[None, :]
    in_r = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
    in_c = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
    mask = (in_r[:, :, None] & in_c[:, None, :]) & on[:, None, None]
    return x.masked_fill(mask[:, None], value)


def _pair(name: str, value: Any, low: float | None, high: float | None, **kw: Any) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(invalid_argument(name, "a pair (low, high)", value))
    a = check_finite(name, value[0], low, high, **kw)
    b = check_finite(name, value[1], low, high, **kw)
    if a > b:
        raise ValueError(invalid_argument(name, "a pair (low, high) with low <= high", value))
    return a, b


#: TrivialAugment's ops here (the "wide" space's geometric and intensity ops that make sense on
#: standardised tensors) and the magnitude of bin ``num_bins - 1``: rotate 135 degrees is the
#: wide space's; reglab uses 30 so a digit keeps its class.
TRIVIAL_OPS: dict[str, float] = {
    "identity": 0.0,
    "rotate": 30.0,  # degrees
    "shear_x": 0.99,  # tan of the shear angle, as the paper's
    "shear_y": 0.99,
    "translate_x": 0.32,  # fraction of the width (wide space: 32 px of 32)
    "translate_y": 0.32,
    "brightness": 0.99,  # additive, standardised units
    "contrast": 0.99,  # factor 1 +- m around the image mean
}


def trivial_augment(x: Tensor, num_bins: int = 31, generator: torch.Generator | None = None,
                    fill: float = 0.0) -> Tensor:
    """TrivialAugment (Müller & Hutter 2021): per image, one op of :data:`TRIVIAL_OPS` chosen
    uniformly, with a magnitude bin uniform over ``{0, ..., num_bins - 1}`` and a random sign.

    Bin ``k`` gives ``k / (num_bins - 1)`` of the op's largest magnitude. All geometric ops of the
    batch are one kornia warp; brightness and contrast are per-image factors (1 and 0 for the
    images that drew another op). Draw order: ops, bins, signs.

    Args:
        x: images ``(N, C, H, W)``.
        num_bins: magnitude bins, ``>= 2``. Defaults to 31 (the paper's).
        generator: the random source. Defaults to None.
        fill: the value outside warped images. Defaults to 0.0.
    """
    num_bins = check_int("num_bins", num_bins, low=2)
    fill = check_finite("fill", fill)
    x = _images(x)
    n, _, h, w = x.shape
    dev = x.device
    names = list(TRIVIAL_OPS)
    op = randint(n, 0, len(names) - 1, generator, dev)
    level = randint(n, 0, num_bins - 1, generator, dev).double() / (num_bins - 1)
    sign = torch.where(bernoulli(n, 0.5, generator, dev), 1.0, -1.0).double()
    mag = {name: torch.where(op == i, level * sign * TRIVIAL_OPS[name], 0.0) for i, name in enumerate(names)}
    out = x
    geometric = op.ge(1) & op.le(5)
    if bool(geometric.any()):
        angle = mag["rotate"]
        shear = torch.rad2deg(torch.atan(torch.stack([mag["shear_x"], mag["shear_y"]], 1)))
        shift = torch.stack([mag["translate_x"] * w, mag["translate_y"] * h], 1)
        m = affine_matrices(angle, shift, torch.ones(n, device=dev), shear, h, w)
        out = torch.where(geometric[:, None, None, None], warp(x, m, fill), x)
    shape = (n, 1, 1, 1)
    out = out + mag["brightness"].to(x.dtype).view(shape)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (out - mean) * (1.0 + mag["contrast"]).to(x.dtype).view(shape)


@register("random_crop")
class RandomCrop(LabelPreserving):
    """Batch transform form of :func:`random_crop`.

    Args:
        padding: pixels added on each side. Defaults to 4 (the CIFAR-10 standard; 2-3 on 28 px).
        fill: the padding value. Defaults to 0.0.
    """

    def __init__(self, padding: int = 4, fill: float = 0.0) -> None:
        self.padding = check_int("padding", padding, low=0)
        self.fill = check_finite("fill", fill)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_crop(x, self.padding, generator, self.fill)


@register("horizontal_flip")
class HorizontalFlip(LabelPreserving):
    """Batch transform form of :func:`horizontal_flip`.

    Args:
        p: the flip probability. Defaults to 0.5.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = check_probability("p", p)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return horizontal_flip(x, self.p, generator)


@register("random_affine")
class RandomAffine(LabelPreserving):
    """Batch transform form of :func:`random_affine` (needs kornia: ``reglab[augment]``).

    Args:
        degrees: the largest rotation. Defaults to 10.0 (small: digits keep their class).
        translate: the largest shift as a fraction of the size. Defaults to 0.0.
        scale: the largest relative zoom. Defaults to 0.0.
        shear: the largest shear in degrees. Defaults to 0.0.
        fill: the value outside the image. Defaults to 0.0.
    """

    def __init__(self, degrees: float = 10.0, translate: float = 0.0, scale: float = 0.0, shear: float = 0.0,
                 fill: float = 0.0) -> None:
        self.degrees = check_finite("degrees", degrees, 0.0, 180.0)
        self.translate = check_finite("translate", translate, 0.0, 1.0)
        self.scale = check_finite("scale", scale, 0.0, 1.0, high_inclusive=False)
        self.shear = check_finite("shear", shear, 0.0, 45.0)
        self.fill = check_finite("fill", fill)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_affine(x, self.degrees, self.translate, self.scale, self.shear, generator, self.fill)


@register("color_jitter")
class ColorJitter(LabelPreserving):
    """Batch transform form of :func:`color_jitter`.

    Args:
        brightness, contrast, saturation, hue: see :func:`color_jitter`. Default to 0.2, 0.2, 0.0, 0.0.
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.0,
                 hue: float = 0.0) -> None:
        self.brightness = check_finite("brightness", brightness, 0.0)
        self.contrast = check_finite("contrast", contrast, 0.0, 1.0)
        self.saturation = check_finite("saturation", saturation, 0.0, 1.0)
        self.hue = check_finite("hue", hue, 0.0, 0.5)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return color_jitter(x, self.brightness, self.contrast, self.saturation, self.hue, generator)


@register("random_erasing")
class RandomErasing(LabelPreserving):
    """Batch transform form of :func:`random_erasing` (defaults: the paper's)."""

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0) -> None:
        self.p = check_probability("p", p)
        self.scale = _pair("scale", scale, 0.0, 1.0)
        self.ratio = _pair("ratio", ratio, 0.0, None, low_inclusive=False)
        self.value = check_finite("value", value)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_erasing(x, self.p, self.scale, self.ratio, self.value, generator)


@register("trivial_augment")
class TrivialAugment(LabelPreserving):
    """Batch transform form of :func:`trivial_augment` (needs kornia: ``reglab[augment]``).

    Args:
        num_bins: magnitude bins. Defaults to 31.
        fill: the value outside warped images. Defaults to 0.0.
    """

    def __init__(self, num_bins: int = 31, fill: float = 0.0) -> None:
        self.num_bins = check_int("num_bins", num_bins, low=2)
        self.fill = check_finite("fill", fill)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return trivial_augment(x, self.num_bins, generator, self.fill)

