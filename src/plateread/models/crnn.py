"""CRNN-CTC models. Every model maps ``uint8`` RGB ``[N, H, W, 3]`` (or float ``[N, 3, H, W]`` in
[0, 1], the course's layout) to logits ``[N, T, C]`` (class 0 = CTC blank); scaling and
normalisation happen inside, so exported graphs take raw pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from plateread.models.resnet import ResNet18Trunk

NEG = -30.0  # logit for classes a step can never emit (softmax mass ~1e-13)


class InputNorm(nn.Module):
    """Pixels to normalised ``float [N, 3, H, W]`` (ImageNet statistics).

    Accepts the runtime layout, ``uint8 [N, H, W, 3]`` (what exported models take), or the course's
    and torchvision's layout, ``float [N, 3, H, W]`` with values in [0, 1].
    """

    def __init__(self) -> None:
        super().__init__()
        mean = torch.tensor([0.485, 0.456, 0.406]) * 255
        std = torch.tensor([0.229, 0.224, 0.225]) * 255
        self.mean: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", (1 / std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise a batch of pixels."""
        runtime = x.dtype == torch.uint8  # [N, H, W, 3] 0-255, else [N, 3, H, W] 0-1
        x = x.permute(0, 3, 1, 2).float() if runtime else x * 255.0
        return (x - self.mean) * self.scale


def conv_bn(
    cin: int, cout: int, k: int | tuple[int, int] = 3, pad: int | tuple[int, int] = 1
) -> nn.Sequential:
    """Convolution, batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, 1, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)
    )


class CRNNResNet18(nn.Module):
    """The course model: ResNet-18 trunk, average over height, a 1x1 convolution across the width
    that stretches ``W/32`` steps to ``steps``, a GRU and a linear classifier.
    """

    def __init__(
        self,
        num_classes: int,
        input_size: tuple[int, int] = (64, 320),
        steps: int = 20,
        hidden: int = 128,
        layers: int = 2,
        bidirectional: bool = False,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        h, w = input_size
        if h % 32 or w % 32:
            raise ValueError(f"crnn_resnet18 needs an input size divisible by 32, got {input_size}")
        self.norm = InputNorm()
        self.cnn = ResNet18Trunk()
        self.pool = nn.AvgPool2d(kernel_size=(h // 32, 1))
        self.proj = nn.Conv2d(w // 32, steps, kernel_size=1)
        self.rnn = nn.GRU(
            512,
            hidden,
            layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, H, W, 3] uint8 -> [N, steps, C]``."""
        f = self.pool(self.cnn(self.norm(images)))  # [N, 512, 1, W/32]
        f = self.proj(f.permute(0, 3, 2, 1))  # width as channels: [N, steps, 1, 512]
        y, _ = self.rnn(f.squeeze(2))  # [N, steps, hidden*dirs]
        return self.fc(y)  # type: ignore[no-any-return]


def small_cnn(
    input_size: tuple[int, int],
    channels: tuple[int, int, int, int, int] = (32, 64, 128, 160, 256),
) -> tuple[nn.Sequential, int]:
    """A VGG-like stack for 32-pixel-high inputs: ``[N, 3, 32, W] -> [N, C, 1, W/4]``.

    Raises:
        ValueError: the input is not 32 pixels high with a width divisible by 4.
    """
    if input_size[0] != 32 or input_size[1] % 4:
        raise ValueError(f"this CRNN needs height 32 and width divisible by 4, got {input_size}")
    c = channels
    net = nn.Sequential(
        conv_bn(3, c[0]),
        nn.MaxPool2d(2),  # 16 x W/2
        conv_bn(c[0], c[1]),
        nn.MaxPool2d(2),  # 8 x W/4
        conv_bn(c[1], c[2]),
        conv_bn(c[2], c[2]),
        nn.MaxPool2d((2, 1)),  # 4 x W/4
        conv_bn(c[2], c[3]),
        conv_bn(c[3], c[3]),
        nn.MaxPool2d((2, 1)),  # 2 x W/4
        conv_bn(c[3], c[4], k=(2, 3), pad=(0, 1)),  # 1 x W/4
    )
    return net, c[4]


class CRNNSmall(nn.Module):
    """A CRNN for CPUs: VGG-like CNN at 32x128, one BiGRU layer (``channels`` set its width)."""

    def __init__(
        self,
        num_classes: int,
        input_size: tuple[int, int] = (32, 128),
        hidden: int = 96,
        channels: tuple[int, int, int, int, int] = (32, 64, 128, 160, 256),
    ) -> None:
        super().__init__()
        self.norm = InputNorm()
        self.cnn, feat = small_cnn(input_size, tuple(channels))  # type: ignore[arg-type]
        self.rnn = nn.GRU(feat, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, 32, W, 3] uint8 -> [N, W/4, C]``."""
        return self.read(self.norm(images))

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised ``[N, 3, 32, W] -> [N, W/4, C]``."""
        # channels-last, as a uint8 batch arrives (permuted from [N, H, W, 3]): a no-op then; for
        # other inputs (the sampler's view, float NCHW) the CPU convolutions and pools run faster
        x = x.contiguous(memory_format=torch.channels_last)
        f = self.cnn(x).squeeze(2).permute(0, 2, 1)  # [N, W/4, feat]
        y, _ = self.rnn(f)
        return self.fc(y)  # type: ignore[no-any-return]


class CRNNProvince(nn.Module):
    """The CCPD exam model's idea: a CNN and BiLSTM read the characters after the province with
    CTC, while a separate head classifies the province (trained with class-weighted cross-entropy).

    Output step 0 carries the province head's scores (other classes masked), steps ``1..T`` the
    CTC scores (province classes masked), so greedy CTC decoding reads the whole plate.
    """

    def __init__(
        self,
        num_classes: int,
        province_classes: list[int],
        input_size: tuple[int, int] = (32, 128),
        hidden: int = 128,
    ) -> None:
        super().__init__()
        self.norm = InputNorm()
        self.cnn, feat = small_cnn(input_size)
        self.rnn = nn.LSTM(feat, hidden, batch_first=True, bidirectional=True)
        rest = [c for c in range(num_classes) if c not in set(province_classes)]  # blank included
        self.fc = nn.Linear(2 * hidden, len(rest))
        self.province_head = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 8)),
            nn.Flatten(),
            nn.Linear(feat * 8, 128),
            nn.ReLU(True),
            nn.Dropout(0.2),
            nn.Linear(128, len(province_classes)),
        )
        self.province_classes: torch.Tensor
        self.to_full_rest: torch.Tensor
        self.to_full_prov: torch.Tensor
        self.register_buffer("province_classes", torch.tensor(province_classes, dtype=torch.long))
        self.register_buffer("to_full_rest", _one_hot(rest, num_classes), persistent=False)
        self.register_buffer(
            "to_full_prov", _one_hot(province_classes, num_classes), persistent=False
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, 32, W, 3] uint8 -> [N, 1 + W/4, C]``."""
        f = self.cnn(self.norm(images))  # [N, feat, 1, W/4]
        prov = self.province_head(f)  # [N, P]
        y, _ = self.rnn(f.squeeze(2).permute(0, 2, 1))
        rest = self.fc(y)  # [N, T, C - P]
        # scatter into the full class space with one-hot matrices (export-friendly)
        step0 = prov @ self.to_full_prov + NEG * (1 - self.to_full_prov.sum(0))
        seq = rest @ self.to_full_rest + NEG * (1 - self.to_full_rest.sum(0))
        return torch.cat([step0.unsqueeze(1), seq], dim=1)


def _one_hot(indices: list[int], num_classes: int) -> torch.Tensor:
    m = torch.zeros(len(indices), num_classes)
    m[torch.arange(len(indices)), torch.tensor(indices)] = 1.0
    return m
