"""An exponential moving average of a model's weights, validated and saved in their place."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class WeightAverage:
    """Keeps ``decay``-weighted running averages of a model's floating-point tensors.

    The decay ramps up from 0 over the first updates (``(1 + n) / (10 + n)``) so that the early,
    random weights fade fast; integer buffers (batch-norm counters) are copied as they are.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight-average decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(getattr(model, "module", model)).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        for m in self.model.modules():
            if isinstance(m, nn.RNNBase):
                m.flatten_parameters()  # a copy's weights are not one cuDNN block

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights (call after each step)."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        current = getattr(model, "module", model).state_dict()
        for name, avg in self.model.state_dict().items():
            new = current[name].detach()
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(new, alpha=1 - d)
            else:
                avg.copy_(new)

    def state_dict(self) -> dict[str, Any]:
        """The averaged weights and the update count (for resuming)."""
        return {"state_dict": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.model.load_state_dict(state["state_dict"])
        self.updates = int(state["updates"])
