"""Text and ids every chat platform shares: action ids that carry a job, labels, shortening."""

from __future__ import annotations

ACTION_PREFIX = "imagine"
JOB_ID_PATTERN = r"img-[0-9a-f]{32}"

KIND_LABELS = {
    "imagine": "🎨",
    "refine": "✏️ Refine:",
    "reroll": "🔁 Reroll:",
    "variation": "✨ Variation:",
    "upscale": "⬆️ Upscale:",
}


def failure_icon(kind: str) -> str:
    """🚫 for a refusal (a rule, the image service's safety system), ❌ for everything that failed."""
    return "🚫" if kind == "refused" else "❌"


def custom_id(action: str, job_id: str, index: int | None = None, owner: str | None = None) -> str:
    """'imagine:variation:<job>:1' — what a button carries, so a press needs no stored state."""
    parts = [ACTION_PREFIX, action, job_id]
    if index is not None:
        parts.append(str(index))
    if owner is not None:
        parts.append(owner)
    return ":".join(parts)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
