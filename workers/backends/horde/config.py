"""[horde]: AI Horde, the crowd-sourced cluster."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.configuration.config import STRICT


class HordeConfig(BaseModel):
    """[horde]: AI Horde, the crowd-sourced cluster (HORDE_API_KEY for kudos priority, else anonymous)."""

    model_config = STRICT

    api_url: str = "https://aihorde.net/api"
    contact: str = ""  # a URL or address where the Horde's team can reach you (sent in Client-Agent)
    models: list[str] = Field(default_factory=list)  # Horde model names members may pick; [] = any
    default_model: str | None = None
    sampler: str = "k_euler_a"
    steps: int = Field(default=25, ge=1, le=100)
    cfg_scale: float = Field(default=7.0, ge=0, le=30)
    denoising_strength: float = Field(default=0.6, gt=0, le=1)
    native_edge: int = Field(default=1024, ge=256, le=2048)
    timeout_seconds: float = Field(default=600, gt=0)  # then the request is deleted and refunded
    poll_seconds: float = Field(default=2.0, gt=0)  # the Horde asks clients not to poll faster than ~1/s
