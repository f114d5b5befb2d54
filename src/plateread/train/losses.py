"""Training losses: CTC, and CTC plus class-weighted province cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def ctc(logits: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss (blank 0, infinite losses zeroed) of ``[N, T, C]`` logits."""
    log_probs = F.log_softmax(logits.float(), dim=2).permute(1, 0, 2)  # [T, N, C]
    n, t = logits.shape[:2]
    input_lengths = torch.full((n,), t, dtype=torch.long)
    return F.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=True
    )


class PlateLoss(nn.Module):
    """CTC over the whole sequence, or, for models with a province head (``province_classes``),
    weighted cross-entropy on step 0 plus CTC over the characters after the province.
    """

    def __init__(self, model: nn.Module, province_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        core = getattr(model, "module", model)
        prov = getattr(core, "province_classes", None)
        self.province: torch.Tensor | None = prov.clone() if prov is not None else None
        self.weights = province_weights

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Loss of a batch; ``targets`` is the concatenation of each label's class indices."""
        if self.province is None:
            return ctc(logits, targets, lengths)
        starts = torch.cumsum(lengths, 0) - lengths
        first = targets[starts]  # province class of each label
        dev = logits.device  # the targets are on it too
        province = self.province.to(dev)
        lookup = torch.full((int(province.max()) + 1,), -1, dtype=torch.long, device=dev)
        lookup[province] = torch.arange(len(province), device=dev)
        weights = None if self.weights is None else self.weights.to(dev)
        ce = F.cross_entropy(logits[:, 0, province], lookup[first], weight=weights)
        keep = torch.ones_like(targets, dtype=torch.bool)
        keep[starts] = False
        return ce + ctc(logits[:, 1:], targets[keep], lengths - 1)


def province_weights(
    texts: list[str], provinces: str, power: float = 0.5, smoothing: float = 1.0
) -> torch.Tensor:
    """Class weights ``count ** -power`` for provinces (mean 1); ``smoothing`` is added to every
    count so unseen provinces stay finite, and ``power`` < 1 tempers CCPD's 95% 皖 imbalance.
    """
    counts = torch.full((len(provinces),), smoothing)
    for t in texts:
        if t and t[0] in provinces:
            counts[provinces.index(t[0])] += 1
    w = counts**-power
    return w / w.mean()
