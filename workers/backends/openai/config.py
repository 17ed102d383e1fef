"""[openai]: the image models offered, request defaults, retries and prices."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.configuration.config import STRICT


class OpenAIConfig(BaseModel):
    """[openai]: the image models offered, request defaults, retries and the price table (USD)."""

    model_config = STRICT

    # The installed openai client documents gpt-image-2.6-sunburst as the default GPT image model (and
    # gpt-image-1 / DALL·E as shut down), so that is ours; flare is the same generation's faster model.
    # The 2.5 pair stays on offer: the client documents arbitrary sizes and xhigh/max quality for it only.
    default_model: str = "gpt-image-2.6-sunburst"
    models: list[str] = Field(
        default_factory=lambda: [
            "gpt-image-2.6-sunburst",
            "gpt-image-2.6-flare",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-flare",
            "gpt-image-2",
            "gpt-image-1.5",
        ]
    )
    output_format: Literal["png", "webp", "jpeg"] = "png"
    moderation: Literal["auto", "low"] = "auto"
    partial_images: int = Field(default=0, ge=0, le=3)  # > 0 streams progress previews
    max_retries: int = Field(default=3, ge=0, le=10)  # 429/5xx/timeouts, with backoff and Retry-After
    timeout_seconds: float = Field(default=180, gt=0)
    # model -> size ("1024x1024") -> quality ("low"/"medium"/"high") -> USD per image
    prices: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)
