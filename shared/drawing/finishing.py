"""Finishing a picture, as a request carries it: `--upscale 2|4` (the Upscale (Subtle) and Upscale
(Creative) buttons), `--face-fix` and `--hires` (Drawing's `face_fix` and `hires`, honoured where the
backend's capabilities say so). Validated here; the worker's side is workers/upscaling.py and each
backend."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.errors import InvalidRequest

UPSCALE_FACTORS: dict[str, int] = {"2": 2, "4": 4}
UPSCALE_MAX_EDGE = 4096  # a bigger result is made smaller, with a note: no platform shows more
BUTTON_FACTOR = 2  # Upscale (Subtle) and (Creative) under a result double it, as Midjourney's do


class Upscale(BaseModel):
    """A bigger picture: by the engine's upscaler alone (subtle), or then redrawn lightly at the new
    size (creative)."""

    model_config = ConfigDict(frozen=True)

    factor: Literal[2, 4] = 2
    creative: bool = False

    @property
    def label(self) -> str:
        return f"Upscale ({'Creative' if self.creative else 'Subtle'}) ×{self.factor}"


def upscale_factor(typed: object) -> int | None:
    """`--upscale 2|4` (also 2x, ×4); None when not given."""
    if typed is None or typed == "":
        return None
    factor = UPSCALE_FACTORS.get(str(typed).strip().lower().lstrip("x×").rstrip("x×").removesuffix(".0"))
    if factor is None:
        raise InvalidRequest(_unknown_factor(str(typed)[:20]))
    return factor


def check_upscale(
    backend: str, *, creative: bool, can_edit: bool, has_picture: bool, other: list[str]
) -> None:
    """An upscale needs a picture; a creative one a backend that draws from a picture; and it is the
    job's one edit (`other`: the other edits asked for with it)."""
    if not has_picture:
        raise InvalidRequest(upscale_needs_picture())
    if other:
        raise InvalidRequest(upscale_alone(other))
    if creative and not can_edit:
        raise InvalidRequest(no_creative_upscale(backend))


# --- texts -----------------------------------------------------------------------------------------


def _unknown_factor(value: str) -> str:
    return f"There is no upscale called “{value}”. Choose one of: 2, 4."


def no_finishing(backend: str, flag: str) -> str:
    what = {"--face-fix": "no face restorer", "--hires": "no hires fix"}[flag]
    return f"The {backend} backend has {what}, so {flag} is not offered there. Leave it out."


def upscale_needs_picture() -> str:
    return (
        "--upscale makes a picture bigger: use it in a reply in an image's thread, or give the picture "
        "(attach it; --image on the command line)."
    )


def upscale_alone(other: list[str]) -> str:
    return f"--upscale makes the picture bigger as it is: give {' or '.join(other)} in a job of its own."


def no_creative_upscale(backend: str) -> str:
    return (
        f"The {backend} backend cannot draw from a picture, so Upscale (Creative) is not offered there; "
        "Upscale (Subtle) is."
    )


def upscaled(factor: int, upscaler: str, before: tuple[int, int], after: tuple[int, int]) -> str:
    return f"Upscaled ×{factor} with {upscaler}: {before[0]}×{before[1]} → {after[0]}×{after[1]}."


def made_smaller(edge: int) -> str:
    return f"The upscale would pass {edge} px on a side, so it was made {edge} px."


def largest_size(backend: str, size: tuple[int, int]) -> str:
    return (
        f"The {backend} backend draws at most {size[0]}×{size[1]}: this is its largest size, "
        "at its best quality."
    )
