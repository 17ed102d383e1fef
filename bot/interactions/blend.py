"""A blend on any platform (Discord's /blend, Slack's `/imagine --blend` form): 2 to 5 of the member's
pictures made into one image, the words (optional) saying how. The platform gathers the pictures; this
says whether there are enough, and what the prompt is when the member wrote none. The intake is a new
image's (ImagineCore.intake)."""

from __future__ import annotations

from shared import messages
from shared.drawing.request import MAX_SOURCES

PICTURES = (2, MAX_SOURCES)  # fewer is not a blend; more than one request carries


def problem(count: int) -> str | None:
    """What to tell a member who gave `count` pictures, or None when that many can be blended."""
    low, high = PICTURES
    return None if low <= count <= high else messages.blend_needs_pictures(count, low, high)


def prompt(words: str) -> str:
    return words.strip() or messages.BLEND_PROMPT
