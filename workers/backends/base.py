"""The one small interface every image backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image


@dataclass(frozen=True)
class GenerationTask:
    """What a backend is asked to draw, after the prompt pipeline and presets have had their say."""

    prompt: str
    width: int
    height: int
    aspect: str | None = None  # when set, the backend may map it to its native sizes
    count: int = 1
    negative: str | None = None
    seed: int | None = None
    quality: str = "auto"
    model: str | None = None
    steps: int | None = None
    guidance: float | None = None
    user_hash: str | None = None
    init_image: Image.Image | None = None  # refinement / variation source, where the backend can edit
    strength: float | None = None
    on_preview: Callable[[bytes], None] | None = field(default=None, compare=False)
    idea: str | None = None  # the prompt before the preset: what thread memory keeps and refines


@dataclass(frozen=True)
class GeneratedImage:
    image: Image.Image
    seed: int | None


@dataclass(frozen=True)
class Generation:
    images: list[GeneratedImage]
    model: str
    revised_prompt: str | None = None
    cost_usd: float = 0.0


class ImageBackend(Protocol):
    """Built once per worker process; `generate` may be called for many jobs."""

    name: str
    supports_edit: bool

    def generate(self, task: GenerationTask) -> Generation: ...
