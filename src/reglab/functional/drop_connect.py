"""DropConnect: dropout of weights instead of activations.

Reference:
    Wan, Zeiler, Zhang, LeCun, Fergus. "Regularization of Neural Networks using DropConnect".
    ICML 2013.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab.errors import invalid_argument
from reglab.functional._checks import floating, probability

__all__ = ["drop_connect_linear"]


def drop_connect_linear(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    p: float = 0.5,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A linear map whose weight entries are zeroed with probability ``p`` (Wan et al. 2013).

    In training one Bernoulli mask over ``weight`` is drawn per call (shared by the mini-batch, as
    in common implementations; the paper samples one per example) and kept weights are scaled by
    ``1 / (1 - p)`` (inverted scaling), so evaluation is the plain linear map
    ``input @ weight.T + bias`` — the mean-network approximation rather than the paper's Gaussian
    moment-matching inference. The bias is not masked. ``p = 1`` drops every weight: training
    returns ``bias`` broadcast (zeros without bias).

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None. Defaults to None.
        p: probability of dropping each weight, in [0, 1]. Defaults to 0.5.
        training: mask the weights (True) or not (False).
        generator: draws the mask. Defaults to None (the global RNG, through PyTorch's fused
            ``dropout`` on the weight).
    """
    p = probability("p", p)
    floating("input", input)
    floating("weight", weight)
    in_features = input.shape[-1] if input.dim() else None
    if weight.dim() != 2 or weight.shape[1] != in_features:
        raise ValueError(invalid_argument(
            "weight", f"a 2-D tensor (out_features, {in_features}) matching the input's last dimension", None,
            shown=f"weight.shape={tuple(weight.shape)}"))
    if bias is not None:
        floating("bias", bias)
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(invalid_argument(
                "bias", f"None or a tensor of shape ({weight.shape[0]},) (the weight's out_features)", None,
                shown=f"bias.shape={tuple(bias.shape)}"))
    if training and p > 0.0:
        if generator is None:
            weight = F.dropout(weight, p, True)
        elif p == 1.0:
            weight = weight * 0.0
        else:
            mask = torch.empty_like(weight).bernoulli_(1.0 - p, generator=generator)
            weight = weight * mask.div_(1.0 - p)
    return F.linear(input, weight, bias)
