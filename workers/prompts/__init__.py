"""The prompt pipeline: from a validated request to what the backend draws.

It merges a refinement's instruction into the thread's prompt and applies the style preset;
expansion by a language model and moderation plug in here.
"""

from __future__ import annotations

import hashlib

from shared.presets import Preset
from shared.request import ImageRequest
from workers.backends.base import GenerationTask

# How far an image-to-image step may move from its source: a variation explores, an upscale keeps.
STRENGTH_BY_KIND = {"variation": 0.75, "upscale": 0.3}


def user_hash(request: ImageRequest) -> str:
    """A stable, non-reversible id for the requester (sent to image services instead of the raw id)."""
    return hashlib.sha256(request.requester.user_key.encode()).hexdigest()


def merge_instruction(prompt: str, instruction: str | None, limit: int) -> str:
    """The thread's prompt with a refinement appended as a clause, without repeating a clause.

    The deterministic fallback for refinement: clauses are comma-separated, compared without case;
    when the result is too long, the oldest clauses give way so the newest wish always fits.
    """
    clauses = _clauses(prompt)
    seen = {c.casefold() for c in clauses}
    for clause in _clauses(instruction or ""):
        if clause.casefold() not in seen:
            clauses.append(clause)
            seen.add(clause.casefold())
    merged = ", ".join(clauses)
    while len(merged) > limit and len(clauses) > 1:
        clauses.pop(0)
        merged = ", ".join(clauses)
    return merged[:limit]


def _clauses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def prepare(request: ImageRequest, presets: dict[str, Preset], *, prompt_limit: int) -> GenerationTask:
    """The backend's task for `request`: refinement merged, style preset applied."""
    idea = merge_instruction(request.prompt, request.instruction, prompt_limit)
    preset = presets.get(request.style or "") or Preset()
    negative = ", ".join(part for part in (request.negative, preset.negative) if part) or None
    return GenerationTask(
        prompt=preset.apply(idea),
        idea=idea,
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
        strength=STRENGTH_BY_KIND.get(request.kind),
    )
