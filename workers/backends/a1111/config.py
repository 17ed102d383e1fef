"""[a1111]: AUTOMATIC1111 web UI or Forge servers and what to ask of them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from shared.configuration.config import STRICT, server_urls


class A1111Config(BaseModel):
    """[a1111]: AUTOMATIC1111 WebUI or Forge servers started with --api, and what to ask of them."""

    model_config = STRICT

    # Each job takes a free one (leased in Redis), so several workers share them without collisions.
    servers: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:7860"], min_length=1)
    models: list[str] = Field(default_factory=list)  # checkpoints members may pick; [] = the server's own
    default_model: str | None = None  # None: whichever checkpoint the server has loaded
    keep_model_loaded: bool = True  # after a job with another checkpoint, leave it loaded (no reload back)
    sampler: str | None = None  # e.g. "DPM++ 2M"; None: the server's default
    scheduler: str | None = None  # web UI 1.9+ and Forge take it apart from the sampler ("Karras", "Simple")
    # More per-request settings, e.g. Forge's {forge_preset = "flux", forge_additional_modules = [...]}.
    override_settings: dict[str, Any] = Field(default_factory=dict)
    steps: int = Field(default=25, ge=1, le=150)
    cfg_scale: float = Field(default=7.0, ge=0, le=30)
    denoising_strength: float = Field(default=0.6, gt=0, le=1)  # refinements; variations/upscales set theirs
    # Upscale (Subtle/Creative): an upscaler of /sdapi/v1/upscalers ("R-ESRGAN 4x+", "4x-UltraSharp");
    # None: the best the server has, an ESRGAN-family model over Lanczos
    upscaler: str | None = None
    native_edge: int = Field(default=1024, ge=256, le=2048)  # an aspect maps to about this many pixels²
    timeout_seconds: float = Field(default=600, gt=0)  # one generation; then it is interrupted and refunded
    progress_seconds: float = Field(default=1.0, gt=0)  # how often the status shows the preview
    usd_per_image: float = Field(default=0.0, ge=0)  # what an image costs you, for `imagine quota` costs
    # <lora:NAME:W>, <lyco:…>, <hypernet:…> members may write in a prompt, as "lora:NAME"; others refused
    prompt_tags: list[str] = Field(default_factory=list)

    @field_validator("servers")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        return server_urls(value)
