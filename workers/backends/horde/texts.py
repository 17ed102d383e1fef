"""The AI Horde backend's texts for members."""

from __future__ import annotations


def images_withheld(indexes: list[int]) -> str:
    which = ", ".join(str(i) for i in indexes)
    return f"Image {which} was withheld: the AI Horde's safety filter censored it."


def horde_waiting(position: int, seconds: int) -> str:
    place = f"#{position} in the AI Horde's queue" if position else "being drawn by the AI Horde"
    return f"{place}, about {seconds} s" if seconds else place


def horde_impossible() -> str:
    return "No AI Horde worker can draw this right now (model or size); try another model or a smaller size."


def horde_kudos(detail: str) -> str:
    return (
        f"The AI Horde needs more kudos for this request: {detail[:200]} Try fewer steps or a smaller size."
    )


def control_left_out() -> str:
    return "The Horde takes one picture: this one was drawn from the previous image, without the control."
