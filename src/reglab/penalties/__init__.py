"""Penalties on the weights: L1/L2/elastic net, weight-decay parameter groups, max-norm.

- :func:`l1_penalty`, :func:`l2_penalty`, :func:`elastic_net_penalty` (Zou & Hastie 2005) and
  :class:`Penalty`: scalar terms to add to the loss.
- :func:`decay_parameters`, :func:`param_groups`: AdamW groups that decay weights only
  (Loshchilov & Hutter 2019, arXiv:1711.05101).
- :func:`max_norm_`, :class:`MaxNorm`: the max-norm constraint of Srivastava et al. 2014.
"""

from __future__ import annotations

from reglab.penalties.groups import DEFAULT_SKIP, decay_parameters, no_decay_parameters, param_groups
from reglab.penalties.max_norm import MaxNorm, constrained_weights, max_norm_, renorm_units_
from reglab.penalties.norms import Penalty, elastic_net_penalty, l1_penalty, l2_penalty

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "elastic_net_penalty",
    "Penalty",
    "DEFAULT_SKIP",
    "decay_parameters",
    "no_decay_parameters",
    "param_groups",
    "max_norm_",
    "renorm_units_",
    "MaxNorm",
    "constrained_weights",
]
