"""Pictures that steer a drawing, as a request carries them: `--sref PICTURE` (draw in its style) and
`--cref PICTURE` (draw the same character), weighed by `--sw 0..100`, as Midjourney spells them; and
`--control canny|depth|pose:PICTURE` (its outlines, depth or pose, through ControlNet), weighed by
`--control-weight`. They are drawing settings (a turn keeps them, so a refinement draws with them
too); each backend honours them in its own way (workers/backends/*: `task.reference_pictures`,
`task.control_picture`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest

ReferenceKind = Literal["style", "character"]
FLAGS: dict[str, str] = {"style": "--sref", "character": "--cref"}
MAX_REFERENCES = 2  # one style and one character
DEFAULT_WEIGHT = 100


class Reference(BaseModel):
    """One reference picture, found like any member's picture (on its platform's host, or in the store)."""

    model_config = ConfigDict(frozen=True)

    kind: ReferenceKind
    image: SourceImage


ControlKind = Literal["canny", "depth", "pose"]
CONTROL_KINDS: tuple[str, ...] = ("canny", "depth", "pose")
DEFAULT_CONTROL_WEIGHT = 1.0


class Control(BaseModel):
    """What the drawing follows: the picture's outlines (canny), depth or pose."""

    model_config = ConfigDict(frozen=True)

    kind: ControlKind
    image: SourceImage


def control_kind(typed: str) -> str:
    """`canny`, `depth` or `pose` of `--control KIND:PICTURE`; refused otherwise."""
    kind = typed.strip().lower()
    if kind not in CONTROL_KINDS:
        raise InvalidRequest(unknown_control(kind[:20]))
    return kind


def check_references(backend: str, references: tuple[Reference, ...], *, can: bool) -> None:
    if not references:
        return
    if not can:
        raise InvalidRequest(no_references(backend))
    kinds = [reference.kind for reference in references]
    if len(kinds) > MAX_REFERENCES or len(set(kinds)) != len(kinds):
        raise InvalidRequest(one_of_each())


# --- texts -----------------------------------------------------------------------------------------


def no_references(backend: str) -> str:
    return f"The {backend} backend takes no reference pictures, so --sref and --cref are not offered there."


def one_of_each() -> str:
    return "Give at most one style reference (--sref) and one character reference (--cref)."


def unknown_control(kind: str) -> str:
    kinds = ", ".join(CONTROL_KINDS)
    return f"There is no control called “{kind}”. Choose one of: {kinds} (--control pose:PICTURE)."


def no_control(backend: str) -> str:
    return f"The {backend} backend takes no control picture, so --control is not offered there."


def not_set_up(backend: str, capability: str, setting: str) -> str:
    """A capability the backend has, that this bot's operator has not set up."""
    what, flags = {
        "references": ("reference pictures", "--sref and --cref"),
        "control": ("control pictures", "--control"),
        "face_fix": ("a face fix", "--face-fix"),
    }[capability]
    return (
        f"This bot's {backend} backend is not set up for {what}, so {flags} cannot be used here "
        f"(the operator sets {setting})."
    )


def weight_without_control() -> str:
    return "--control-weight weighs a control picture: give one with --control KIND:PICTURE."


def control_kind_alone() -> str:
    return "control_kind says what of a control picture to follow: attach the picture as control too."


def references_attached(flag: str, value: str) -> str:
    return (
        f"--{flag} marks a picture attached to this message (found “{value[:40]}” after it): attach the "
        f"picture and put --{flag} after the prompt, alone."
    )


def pictures_for_roles(flags: str, needed: int, attached: int) -> str:
    return (
        f"{flags} {'needs' if needed == 1 else 'need'} {needed} attached "
        f"{'picture' if needed == 1 else 'pictures'}, and this message has {attached}: attach "
        f"{'it' if needed == 1 else 'them'} with the message."
    )


def weight_without_reference() -> str:
    return "--sw weighs a reference picture: give one with --sref or --cref."
