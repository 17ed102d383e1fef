"""Text every chat platform shares: the id prefix, status labels and icons, shortening."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.drawing.request import ImageRequest

ACTION_PREFIX = "imagine"
JOB_ID_PATTERN = r"img-[0-9a-f]{32}"

KIND_LABELS = {
    "imagine": "🎨",
    "refine": "✏️ Refine:",
    "reroll": "🔁 Reroll:",
    "variation": "✨ Variation:",
    "upscale": "⬆️ Upscale:",
    "zoom": "🔍 Zoom out:",
    "pan": "↔️ Pan:",
    "square": "⬜ Make square:",
    "region": "🖌️ Vary (Region):",
}


def failure_icon(kind: str) -> str:
    """🚫 for a refusal (a rule, the image service's safety system), ⏹️ for a job its member
    cancelled, ❌ for everything that failed."""
    return {"refused": "🚫", "cancelled": "⏹️"}.get(kind, "❌")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def subject(request: ImageRequest) -> str:
    """What the member asked, as a status shows it: a reply's words (a refinement, a region), else the
    prompt."""
    return request.instruction or request.prompt
