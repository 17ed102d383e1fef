"""Progress and results: statuses, and the notes under a result (what was changed, hidden or left out)."""

from __future__ import annotations


def generating() -> str:
    return "Generating…"


def done(count: int, seconds: float) -> str:
    images = "image" if count == 1 else "images"
    return f"Done — {count} {images} in {seconds:.1f} s."


def expansion_skipped(reason: str) -> str:
    return f"Prompt expansion was skipped ({reason}); your prompt was used as written."


def refinement_merged_plainly(reason: str) -> str:
    return f"Your reply was added to the prompt as written ({reason})."


def changed(summary: str) -> str:
    return f"Changed: {summary}"


def retrying(attempt_left: int) -> str:
    return f"The image service hiccupped; trying again ({attempt_left} attempts left)."


def images_dropped(numbers: list[int], limit_bytes: int) -> str:
    which = ", ".join(str(n) for n in numbers)
    return (
        f"Image {which} could not be posted: even compressed it is larger than this server's "
        f"{limit_bytes / 1048576:.0f} MiB upload limit."
    )


def images_recompressed(numbers: list[int]) -> str:
    which = ", ".join(str(n) for n in numbers)
    return (
        f"Image {which} was compressed to fit the upload limit; the original quality is kept for refinements."
    )


def withheld_by_policy(withheld: int, total: int) -> str:
    if withheld == 1:
        return f"1 of {total} images was withheld by the content policy."
    return f"{withheld} of {total} images were withheld by the content policy."


def hidden_by_policy(hidden: int, total: int) -> str:
    were = "was" if hidden == 1 else "were"
    return f"{hidden} of {total} images {were} hidden by the content policy: click to show."


def hidden_image_gone() -> str:
    return "That image is no longer stored, so it cannot be shown."


def hidden_image_shown_already() -> str:
    return "That image is already shown in this thread."


def hidden_image_shown(number: int, who: str) -> str:
    return f"Image {number}, hidden by the content policy, shown because {who} asked."


def all_withheld_by_policy() -> str:
    return "The images were withheld by the content policy, so nothing was charged. Try other words."


def drawing_step(step: int, steps: int) -> str:
    return f"Generating… step {step} of {steps}"
