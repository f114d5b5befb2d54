"""A ResNet-18 trunk with torchvision's parameter names (torchvision itself is not importable here),
so a user's ImageNet ``resnet18`` state dict loads into it directly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from plateread.models.files import load_tensors


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock`` (two 3x3 convolutions and a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual block."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18Trunk(nn.Module):
    """ResNet-18 without its pooling and classifier: ``[N, 3, H, W] -> [N, 512, H/32, W/32]``."""

    out_channels = 512

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features at stride 32."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def load_torchvision(self, path: str | Path) -> list[str]:
        """Load a torchvision ``resnet18`` state dict file (``fc.*`` is ignored).

        Returns:
            The names of trunk parameters the file did not provide (empty when complete).

        Raises:
            ValueError: the file holds tensors of the wrong shapes.
        """
        state = load_tensors(path, "backbone weights file")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        try:
            result = self.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise ValueError(f"{path}: not ResNet-18 weights ({e})") from None
        if result.unexpected_keys:
            raise ValueError(f"{path}: unexpected keys {result.unexpected_keys[:5]}")
        return list(result.missing_keys)
