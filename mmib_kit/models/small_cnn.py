"""A small convolutional backbone for the CPU benchmarks and the demo."""
from typing import Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import nn


@MODELS.register_module()
class SmallCNN(BaseModule):
    """Conv-BN-ReLU stages, each but the last followed by 2x2 max pooling.

    Sized so that a few hundred epochs over a few thousand 28x28 images
    train in minutes on two CPU cores. With the default widths, an mmpretrain
    ``GlobalAveragePooling`` neck and a ``LinearClsHead`` it is a 5-layer
    CNN (3 convolutions, pooling, 1 linear layer).

    Args:
        in_channels (int): Channels of the input image. Defaults to 1.
        widths (Sequence[int]): Output channels of each stage.
            Defaults to ``(16, 32, 64)``.
        convs_per_stage (int): Conv-BN-ReLU layers in each stage.
            Defaults to 1.
        init_cfg (dict, optional): MMEngine initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 1,
                 widths: Sequence[int] = (16, 32, 64),
                 convs_per_stage: int = 1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        for stage, width in enumerate(widths):
            for _ in range(convs_per_stage):
                layers += [
                    nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True)
                ]
                in_channels = width
            if stage < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Feature map of the last stage, as a one-tuple (mmpretrain's
        backbone convention)."""
        return (self.layers(x), )
