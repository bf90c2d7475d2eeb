"""Per-member dropout masks of a stacked ensemble, drawn once per step for every dropout site.

Inverted dropout (Srivastava et al. 2014) keeps a unit with probability ``q = 1 - p`` and scales
it by ``1 / q``. A :class:`MaskPlan` holds, for one batch size, what a step's masks need: a
random-bits buffer ``(K, U)`` covering the ``U`` units of all dropout sites of a member, the
per-member keep thresholds and the bit patterns of the scales. Each step

* member ``k`` fills its row of the buffer with one ``random_`` call on its own generator (one
  call per contiguous run of sites where it drops anything), in site order, so its stream is
  consumed in the order a single run's dropout layers consume it;
* four integer ops over the whole ``(K, U)`` buffer turn the bits into the scaled masks of all
  members and sites at once, with no comparison and no bool-to-float cast (both several times
  slower on CPU than integer arithmetic, measured): ``d = (u - t) >> (bits - 1)`` is ``-1``
  where ``u < t`` (kept) and ``0`` elsewhere, and ``d & scale_bits`` is the float ``1 / q``
  where kept and ``+0.0`` where dropped, read through a view of the float dtype.

``mode="exact"``: ``u`` is the low 53 bits of one 64-bit draw per unit and ``t = ceil(q * 2**53)``.
``bernoulli_(q, generator=g)`` on CPU keeps a unit iff its float64 uniform
``(r & (2**53 - 1)) * 2**-53`` is ``< q``, ``r`` being the generator's next 64 random bits, and
int64 ``random_(0, 2**53)`` draws ``r mod 2**53`` from the same 64 bits per element, so the
masks are bit for bit those of ``torch.empty(B, H).bernoulli_(q, generator=g)`` (the draw of
``reglab.functional.dropout`` and of PyTorch's CPU dropout) and the generator ends in the same
state: member k reproduces a single run.

``mode="fast"``: each int64 draw gives two units (its two 32-bit halves, each masked to 31 bits,
uniform on ``[0, 2**31)``) and ``t = round(q * 2**31)``: the same Bernoulli(q) law up to
``2**-31`` (finer than ``torch.rand``'s 24 bits), half the draws of the exact mode, but a
different random stream than a single run.

A member with ``p = 0`` at a site draws nothing there (its bits stay 0, below every threshold:
kept, scale 1); ``p = 1`` keeps nothing (scale 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["MaskPlan"]

_LOW31 = 0x7FFFFFFF
_LOW53 = 2**53 - 1
_INT_OF_WIDTH = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _runs(flags: Sequence[bool], offsets: Sequence[int], sizes: Sequence[int]) -> list[tuple[int, int]]:
    """Unit ranges ``[a, b)`` covering the sites where ``flags`` is True, adjacent sites merged."""
    runs: list[tuple[int, int]] = []
    for flag, off, size in zip(flags, offsets, sizes):
        if not flag:
            continue
        if runs and runs[-1][1] == off:
            runs[-1] = (runs[-1][0], off + size)
        else:
            runs.append((off, off + size))
    return runs


class MaskPlan:
    """The masks of ``K`` members at dropout sites ``rates`` (per site, per member) for a batch.

    Args:
        rates: per dropout site, the per-member drop probabilities (length ``K`` each).
        shapes: per site, the activation shape of one member, ``(B, H)``.
        dtype, device: the activations' dtype and device.
        mode: ``"exact"`` or ``"fast"`` (see the module docstring).
    """

    def __init__(
        self,
        rates: Sequence[Sequence[float]],
        shapes: Sequence[tuple[int, int]],
        *,
        dtype: torch.dtype,
        device: torch.device,
        mode: str,
    ) -> None:
        self.mode = mode
        self.shapes = [tuple(s) for s in shapes]
        self.num_members = k = len(rates[0])
        sizes = [b * h for b, h in self.shapes]
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        units = sum(sizes)
        self.units = units
        self.dtype = dtype
        self.int_dtype = _INT_OF_WIDTH[torch.empty((), dtype=dtype).element_size()]
        per_member = [[float(site[m]) for site in rates] for m in range(k)]
        # What member m draws (exact: the runs of its p > 0 sites; fast: its whole row, then the
        # p = 0 sites are zeroed again) and the thresholds/scales of each unit.
        self.draws = [_runs([p > 0 for p in ps], self.offsets, sizes) for ps in per_member]
        self.zeroed = [
            _runs([p == 0 for p in ps], self.offsets, sizes) if any(p > 0 for p in ps) else [] for ps in per_member
        ]
        uniform = all(len(set(ps)) == 1 for ps in per_member)  # one rate per member: (K, 1) columns
        if mode == "exact":
            self.bits = torch.zeros(k, units, dtype=torch.int64, device=device)
            thr = [[math.ceil((1.0 - p) * 2**53) for p in ps] for ps in per_member]
            thr_dtype = torch.int64
        else:
            self.bits = torch.zeros(k, (units + 1) // 2, dtype=torch.int64, device=device)
            thr = [[min(round((1.0 - p) * 2**31), _LOW31) for p in ps] for ps in per_member]
            thr_dtype = torch.int32
        self._rows = self.bits.unbind(0)  # views reused every step
        self._halves = self.bits.view(torch.int32)
        self._units = self._halves[:, :units]
        scale = [[0.0 if p >= 1.0 else 1.0 / (1.0 - p) for p in ps] for ps in per_member]
        self.threshold = self._expand(thr, thr_dtype, sizes, uniform, device)
        scale_t = self._expand(scale, dtype, sizes, uniform, device)
        self.scale_bits = scale_t.view(self.int_dtype)

    @staticmethod
    def _expand(values: list[list[float]] | list[list[int]], dtype: torch.dtype, sizes: Sequence[int],
                uniform: bool, device: torch.device) -> torch.Tensor:
        """Per member and site ``values`` as a ``(K, 1)`` column (one value per member) or ``(K, U)``."""
        if uniform:
            return torch.tensor([row[0] for row in values], dtype=dtype, device=device).view(-1, 1)
        return torch.cat(
            [torch.tensor(row, dtype=dtype, device=device).repeat_interleave(torch.tensor(sizes, device=device))
             .view(1, -1) for row in values]
        )

    def draw(self, generators: Sequence[torch.Generator | None]) -> list[torch.Tensor]:
        """This step's scaled keep-masks, one ``(K, B, H)`` tensor per site, in site order."""
        if self.mode == "exact":
            for row, runs, gen in zip(self._rows, self.draws, generators):
                for a, b in runs:  # the low 53 bits of each 64-bit draw (random64() % 2**53)
                    (row if b - a == self.units else row[a:b]).random_(0, _LOW53 + 1, generator=gen)
            d = torch.sub(self.bits, self.threshold).bitwise_right_shift_(63)  # -1: kept
        else:
            for m, (row, runs, gen) in enumerate(zip(self._rows, self.draws, generators)):
                if runs:
                    row.random_(generator=gen)
                    for a, b in self.zeroed[m]:
                        self._halves[m, a:b].zero_()
            d = torch.bitwise_and(self._units, _LOW31).sub_(self.threshold).bitwise_right_shift_(31)
        if d.dtype != self.int_dtype:
            d = d.to(self.int_dtype)
        mask = d.bitwise_and_(self.scale_bits).view(self.dtype)  # (K, U): 1 / q where kept, +0.0 elsewhere
        k = self.num_members
        return [mask[:, off : off + b * h].view(k, b, h) for off, (b, h) in zip(self.offsets, self.shapes)]
