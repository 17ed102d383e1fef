"""A model as a worker holds it: its pipelines over one set of weights, and where they are."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from diffusers import AutoPipelineForInpainting

from workers.backends.diffusers.config import DiffusersModel

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """One checkpoint a worker serves: its pipelines (text-to-image and image-to-image share the
    weights), its family, native edge, file hash and the LoRAs loaded into it."""

    name: str
    spec: DiffusersModel
    text2image: Any
    image2image: Any
    family: str
    native_edge: int
    digest: str | None
    on_device: bool = True
    adapters: set[str] = field(default_factory=set)
    inpaint_unet: Any = None  # the dedicated inpainting checkpoint's UNet (`inpaint = …`), if any
    _inpaint: Any = None

    @property
    def inpaint(self) -> Any:
        """The inpainting pipeline over the same weights, made on first use: a 4-channel model blends
        its latents with the kept picture's at each step, a dedicated inpainting UNet (9 channels:
        the mask and the kept picture as inputs) draws with the rest of the model; None where the
        family has none."""
        if self._inpaint is None:
            unet = {"unet": self.inpaint_unet} if self.inpaint_unet is not None else {}
            try:
                self._inpaint = AutoPipelineForInpainting.from_pipe(self.text2image, **unet)
                self._inpaint.set_progress_bar_config(disable=True)
            except (ValueError, KeyError) as exc:
                log.warning(
                    "diffusers model %s has no inpainting pipeline (%s): image-to-image", self.name, exc
                )
                self._inpaint = False
        return self._inpaint or None

    def move(self, device: str, *, on_device: bool) -> None:
        """Onto the worker's device, or into RAM ("cpu"): every pipeline shares these weights, and the
        inpainting UNet goes with them."""
        self.text2image.to(device)
        if self.inpaint_unet is not None:
            self.inpaint_unet.to(device)
        self.on_device = on_device
