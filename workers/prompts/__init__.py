"""The prompt pipeline: from a validated request to what the backend draws.

Today it applies the style preset; expansion, refinement from thread memory and moderation plug in here.
"""

from __future__ import annotations

import hashlib

from shared.presets import Preset
from shared.request import ImageRequest
from workers.backends.base import GenerationTask


def user_hash(request: ImageRequest) -> str:
    """A stable, non-reversible id for the requester (sent to image services instead of the raw id)."""
    return hashlib.sha256(request.requester.user_key.encode()).hexdigest()


def prepare(request: ImageRequest, presets: dict[str, Preset]) -> GenerationTask:
    """The backend's task for `request`, with its style preset applied."""
    preset = presets.get(request.style or "") or Preset()
    negative = ", ".join(part for part in (request.negative, preset.negative) if part) or None
    return GenerationTask(
        prompt=preset.apply(request.prompt),
        negative=negative,
        width=request.width,
        height=request.height,
        aspect=request.aspect,
        count=request.count,
        seed=request.seed,
        quality=request.quality,
        model=request.model,
        steps=preset.steps,
        guidance=preset.guidance,
        user_hash=user_hash(request),
    )
