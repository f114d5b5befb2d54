"""A spatial transformer in front of the CPU CRNN: it learns where the plate lies in a loose crop
and samples it, zoomed and straightened, at the CRNN's 32-pixel height (LPRNet's idea).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from plateread.models.crnn import CRNNSmall, conv_bn


class AffineSampler(nn.Module):
    """Predicts an affine map from a small view of the input and samples ``out_size`` through it.

    Starts as the identity: the last layer's weights and bias are zero and the identity map is
    added to its output, so a model initialised from a reader without the sampler first reads a
    plain downscale (exactly a 2x2 average when the input is twice the output's size).
    """

    def __init__(
        self, in_size: tuple[int, int], out_size: tuple[int, int], step_scale: float = 0.1
    ) -> None:
        super().__init__()
        h, w = in_size
        if h % 16 or w % 64:
            raise ValueError(f"the sampler needs a height divisible by 16, width by 64: {in_size}")
        # scales the predicted change, so the sampler moves in 10x smaller steps than the CRNN
        self.step_scale = step_scale
        self.loc = nn.Sequential(
            nn.AvgPool2d((h // 16, w // 64)),  # 16 x 64
            conv_bn(3, 16),
            nn.MaxPool2d(2),  # 8 x 32
            conv_bn(16, 32),
            nn.MaxPool2d(2),  # 4 x 16
            conv_bn(32, 48),
            nn.MaxPool2d(2),  # 2 x 8
            nn.Flatten(),
            nn.Linear(48 * 2 * 8, 64),
            nn.ReLU(True),
            nn.Linear(64, 6),
        )
        last = self.loc[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.identity: torch.Tensor
        self.base: torch.Tensor
        self.register_buffer("identity", torch.tensor([1.0, 0, 0, 0, 1, 0]), persistent=False)
        oh, ow = out_size
        # output pixel centres in [-1, 1] (align_corners=False), with a 1 for the translation
        ys = (torch.arange(oh) * 2 + 1) / oh - 1
        xs = (torch.arange(ow) * 2 + 1) / ow - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1)  # [oh, ow, 3]
        self.register_buffer("base", base, persistent=False)

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """The affine maps ``[N, 2, 3]`` (output to input coordinates in [-1, 1])."""
        return (self.identity + self.step_scale * self.loc(x)).view(-1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 3, H, W] -> [N, 3, oh, ow]``."""
        t = self.theta(x)
        oh, ow, _ = self.base.shape
        # a matmul instead of F.affine_grid: exports to any ONNX opset with GridSample
        grid = (self.base.reshape(1, -1, 3) @ t.transpose(1, 2)).view(-1, oh, ow, 2)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class CRNNSampler(CRNNSmall):
    """``CRNNSmall`` reading what an :class:`AffineSampler` cuts from a larger input: a view
    32 pixels high with the input's aspect ratio (32x128 from the default 64x256).

    The CRNN's parameter names are ``CRNNSmall``'s, so ``--init`` from a shipped reader loads
    all of them and only the sampler starts fresh.
    """

    def __init__(
        self,
        num_classes: int,
        input_size: tuple[int, int] = (64, 256),
        hidden: int = 96,
        channels: tuple[int, int, int, int, int] = (32, 64, 128, 160, 256),
    ) -> None:
        h, w = input_size
        inner = (32, w * 32 // h)
        super().__init__(num_classes, inner, hidden, channels)
        self.stn = AffineSampler(input_size, inner)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, H, W, 3] uint8 -> [N, W*8/H, C]``."""
        return self.read(self.stn(self.norm(images)))  # the CRNN reads [N, 3, 32, W*32/H]
