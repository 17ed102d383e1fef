"""Upscale on diffusers: `[diffusers] upscaler`, an operator's ESRGAN-family weights file (4x-UltraSharp,
RealESRGAN_x4plus, …) read by spandrel once per worker, run on the worker's device tile by tile, so a
big picture needs no more memory than a tile does. spandrel is the `upscale` extra (it needs
torchvision); without it, or without the setting, Upscale is Lanczos on the worker."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from shared.errors import ConfigError

WHERE = "[diffusers] upscaler"
TILE = 512  # pixels of the source per tile: ×4 of it is 2048² out, well within a consumer GPU
OVERLAP = 32  # pixels each tile reads past its edge, so no seam shows where tiles meet


class SpandrelUpscaler:
    """An image-to-image super-resolution model, as spandrel recognises it from its weights."""

    def __init__(self, file: Path, device: str, dtype: torch.dtype) -> None:
        path = Path(file).expanduser()
        if not path.is_file():
            raise ConfigError(f"{WHERE} = {path}: no such file")
        try:
            import spandrel
        except ImportError as exc:
            raise ConfigError(
                f"{WHERE} = {path}: the upscale extra is not installed ({exc}): "
                "pip install 'imagine-bot[upscale]' (spandrel, with the torchvision of your torch)"
            ) from None
        try:
            model = spandrel.ModelLoader().load_from_file(str(path))
        except (
            spandrel.UnsupportedModelError,
            ValueError,
            RuntimeError,
            OSError,
            EOFError,
            pickle.UnpicklingError,
        ) as exc:
            raise ConfigError(f"{WHERE} = {path}: not a model spandrel can run ({exc})") from None
        if not isinstance(model, spandrel.ImageModelDescriptor) or model.purpose != "SR":
            raise ConfigError(f"{WHERE} = {path}: a {model.architecture.name} model, not an upscaler")
        half = dtype in (torch.float16, torch.bfloat16) and model.supports_half and device != "cpu"
        self._model: Any = model.to(device).eval()
        if half:
            self._model = self._model.half()
        self._device, self._dtype = device, (torch.float16 if half else torch.float32)
        self.scale: int = model.scale
        self.name = path.stem  # "4x-UltraSharp": what the result's details name

    def upscale(self, picture: Image.Image) -> Image.Image:
        """`picture` `scale` times bigger, drawn tile by tile."""
        rgb = picture.convert("RGB")
        width, height = rgb.size
        out = Image.new("RGB", (width * self.scale, height * self.scale))
        for left in range(0, width, TILE):
            for top in range(0, height, TILE):
                box = (left, top, min(left + TILE, width), min(top + TILE, height))
                out.paste(self._tile(rgb, box), (left * self.scale, top * self.scale))
        return out

    def _tile(self, picture: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
        """The tile at `box`, upscaled from a crop `OVERLAP` pixels wider on every side that has
        picture, and cut back to the tile (the model sees past the tile's edge)."""
        left, top, right, bottom = box
        wide = (
            max(0, left - OVERLAP),
            max(0, top - OVERLAP),
            min(picture.width, right + OVERLAP),
            min(picture.height, bottom + OVERLAP),
        )
        drawn = self._run(picture.crop(wide))
        s = self.scale
        inner = ((left - wide[0]) * s, (top - wide[1]) * s, (right - wide[0]) * s, (bottom - wide[1]) * s)
        return drawn.crop(inner)

    @torch.inference_mode()
    def _run(self, crop: Image.Image) -> Image.Image:
        tensor = torch.frombuffer(bytearray(crop.tobytes()), dtype=torch.uint8)
        tensor = tensor.view(crop.height, crop.width, 3).permute(2, 0, 1).unsqueeze(0)
        tensor = tensor.to(self._device, self._dtype) / 255
        multiple = max(1, self._model.size_requirements.multiple_of)
        pad_w = math.ceil(crop.width / multiple) * multiple - crop.width
        pad_h = math.ceil(crop.height / multiple) * multiple - crop.height
        if pad_w or pad_h:  # some architectures (SwinIR, DAT) take multiples of their window only
            tensor = torch.nn.functional.pad(tensor, (0, pad_w, 0, pad_h), mode="replicate")
        result = self._model(tensor)[:, :, : crop.height * self.scale, : crop.width * self.scale]
        pixels = (result.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).cpu().contiguous()
        return Image.frombytes(
            "RGB", (crop.width * self.scale, crop.height * self.scale), pixels.numpy().tobytes()
        )
