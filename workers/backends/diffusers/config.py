"""[diffusers]: device, precision, sampling defaults, memory savers, and the operator's models and LoRAs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.configuration.config import STRICT

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")  # it names a queue, a flag value, a choice


class DiffusersModel(BaseModel):
    """[diffusers.models.NAME]: one checkpoint, from exactly one of `file` (a single .safetensors or
    .ckpt, architecture detected), `path` (a diffusers folder) or `hub` (a hub id)."""

    model_config = STRICT

    file: Path | None = None
    path: Path | None = None
    hub: str | None = None
    config: str | None = None  # a local diffusers folder or hub id with the component configs (offline)
    vae: str | None = None  # another VAE: a single file, a diffusers folder or a hub id
    scheduler: str | None = None  # a diffusers scheduler class; default [diffusers] scheduler
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0, le=50)
    size: int | None = Field(default=None, ge=64, le=2048)  # the native edge; default from the model
    clip_skip: int | None = Field(default=None, ge=1, le=12)
    negative: str | None = None  # always added to the negative prompt
    description: str = ""  # shown to members next to the name
    nsfw: bool = False  # offered only in channels the platform marks NSFW
    family: str | None = None  # sd15, sd2, sdxl, ...: detected at load when not given
    # A dedicated inpainting checkpoint of the same family (a 9-channel UNet: a single file, a diffusers
    # folder or a hub id): its UNet draws region edits, zoom and pan; the rest of the model is shared.
    inpaint: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DiffusersModel:
        given = [name for name in ("file", "path", "hub") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, path or hub")
        return self

    @property
    def source(self) -> str:
        return str(self.file or self.path or self.hub)


class DiffusersLora(BaseModel):
    """[diffusers.loras.NAME]: a LoRA file members may add to an image."""

    model_config = STRICT

    file: Path
    trigger: str = ""  # words added to the prompt when it is used
    weight: float = Field(default=1.0, ge=-4, le=4)  # when the member names no weight
    description: str = ""
    nsfw: bool = False
    families: list[str] = Field(default_factory=list)  # the model families it fits; empty: any


class DiffusersIpAdapter(BaseModel):
    """[diffusers.ip_adapter]: the IP-Adapter that draws after reference pictures (--sref, --cref), for
    SD 1.x and SDXL models: `file` its weights (ip-adapter_sd15.safetensors or .bin), `image_encoder`
    the CLIP vision model it was trained with (a diffusers folder or a hub id)."""

    model_config = STRICT

    file: Path
    image_encoder: str
    character_file: Path | None = None  # --cref's own weights (ip-adapter-plus-face_sd15); default `file`


class DiffusersConfig(BaseModel):
    """[diffusers]: device, precision, sampling defaults and memory savers for self-hosted models."""

    model_config = STRICT

    device: str = "auto"  # auto: cuda when available, else cpu
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"  # auto: float16 on cuda
    steps: int = Field(default=30, ge=1, le=200)
    guidance: float = Field(default=7.0, ge=0, le=50)
    scheduler: str | None = None  # a diffusers scheduler class name, e.g. "DPMSolverMultistepScheduler"
    strength: float = Field(default=0.6, gt=0, le=1)  # how far a refinement may move from the last image
    max_batch: int = Field(default=4, ge=1, le=16)
    attention_slicing: bool = False
    cpu_offload: bool = False
    warmup: bool = True
    safety_checker: bool = (
        False  # the model's own NSFW checker (loaded once); its flagged images are withheld
    )
    models: dict[str, DiffusersModel] = Field(default_factory=dict)  # several, by name
    default_model: str | None = None  # default: the first of `models`
    loras: dict[str, DiffusersLora] = Field(default_factory=dict)
    max_loras: int = Field(default=3, ge=0, le=8)  # per image
    models_on_device: int = Field(default=1, ge=1)  # a worker's loaded models kept on the GPU at once
    evict: Literal["cpu", "drop"] = "cpu"  # the least recently used beyond that: moved to RAM, or dropped
    upscaler: Path | None = None  # ESRGAN-family weights (4x-UltraSharp.pth) for Upscale; else Lanczos
    ip_adapter: DiffusersIpAdapter | None = None
    # --control's ControlNet weights by kind (canny, depth, pose): a single file, a diffusers folder or
    # a hub id, of the models' family; depth and pose pictures are taken as the map or skeleton they are
    controlnet: dict[Literal["canny", "depth", "pose"], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> DiffusersConfig:
        for name in [*self.models, *self.loras]:
            if not MODEL_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a usable name: letters, digits, _ . - (at most 40)")
        if self.default_model is not None and self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of [diffusers.models]")
        return self
