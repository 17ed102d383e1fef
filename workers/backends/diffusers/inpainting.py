"""A model's dedicated inpainting checkpoint (`[diffusers.models.NAME] inpaint = …`): its UNet, which
takes the mask and the kept picture as inputs (9 channels), draws region edits, zoom and pan; the text
encoders, VAE and scheduler stay the model's own, so only the UNet is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import diffusers
from diffusers import UNet2DConditionModel

from shared.errors import ConfigError

# The families whose inpainting checkpoints are 9-channel UNets
INPAINT_PIPELINES = {
    "sd15": "StableDiffusionInpaintPipeline",
    "sd2": "StableDiffusionInpaintPipeline",
    "sdxl": "StableDiffusionXLInpaintPipeline",
}
INPAINT_CHANNELS = 4 + 1 + 4  # the noisy latents, the mask, the kept picture's latents


def inpainting_unet(where: str, source: str, family: str, dtype: Any) -> Any:
    """The UNet of `source`: a single file (read through its family's inpainting pipeline), a
    diffusers folder (its unet/ subfolder) or a hub id. `where` names the model in errors."""
    path = Path(source).expanduser()
    if family not in INPAINT_PIPELINES:
        raise ConfigError(
            f"{where} inpaint = {source}: dedicated inpainting checkpoints are for Stable Diffusion "
            f"1.x, 2.x and XL, and this model is {family}: leave inpaint out"
        )
    try:
        if path.is_file():
            pipeline_class = getattr(diffusers, INPAINT_PIPELINES[family])
            unet = pipeline_class.from_single_file(str(path), dtype=dtype).unet
        else:
            local = path.is_dir()
            unet = UNet2DConditionModel.from_pretrained(
                str(path) if local else source, subfolder="unet", local_files_only=local, torch_dtype=dtype
            )
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ConfigError(f"{where} inpaint = {source}: cannot load it ({exc})") from None
    channels = unet.config.in_channels
    if channels != INPAINT_CHANNELS:
        raise ConfigError(
            f"{where} inpaint = {source} is not an inpainting checkpoint (its UNet takes {channels} "
            f"channels, not {INPAINT_CHANNELS}): leave inpaint out to inpaint with the model itself"
        )
    return unet
