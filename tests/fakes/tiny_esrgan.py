"""An ESRGAN-family upscaler with random weights, in the layout Real-ESRGAN's released .pth files use
(`params_ema` holding `conv_first`, `body.N.rdbK.convJ`, `conv_body`, `conv_upI`, `conv_hr`,
`conv_last`), small enough for CPU tests: what an operator downloads, only tiny."""

from __future__ import annotations

import math
from pathlib import Path

GROWTH = 32  # the dense blocks' growth channels, as every ESRGAN release has them


def build_esrgan(path: Path, scale: int = 4, filters: int = 8, blocks: int = 1, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)

    def conv(out_channels: int, in_channels: int) -> dict[str, torch.Tensor]:
        return {
            "weight": torch.randn(out_channels, in_channels, 3, 3) * 0.05,
            "bias": torch.zeros(out_channels),
        }

    layers = {"conv_first": conv(filters, 3)}
    for block in range(blocks):
        for dense in (1, 2, 3):
            for index in range(1, 6):
                width = filters + (index - 1) * GROWTH
                layers[f"body.{block}.rdb{dense}.conv{index}"] = conv(GROWTH if index < 5 else filters, width)
    layers["conv_body"] = conv(filters, filters)
    for step in range(1, int(math.log2(scale)) + 1):
        layers[f"conv_up{step}"] = conv(filters, filters)
    layers["conv_hr"] = conv(filters, filters)
    layers["conv_last"] = conv(3, filters)
    state = {f"{name}.{part}": tensor for name, parts in layers.items() for part, tensor in parts.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params_ema": state}, path)
    return path
