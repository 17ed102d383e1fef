"""Sizes: what a member may ask for (WIDTHxHEIGHT, a named aspect or a ratio) and which sizes each
backend can draw, a request's size or aspect mapped to the backend's own."""

from __future__ import annotations

import math
import re

from shared import messages
from shared.errors import InvalidRequest

ASPECTS: dict[str, tuple[int, int]] = {
    "square": (1, 1),
    "portrait": (2, 3),
    "landscape": (3, 2),
    "wide": (16, 9),
    "tall": (9, 16),
}
SIZE_STEP, SIZE_MIN, SIZE_MAX = 8, 64, 2048
NATIVE_AREA = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")

OPENAI_STANDARD = ((1024, 1024), (1536, 1024), (1024, 1536))
# Models that accept any WIDTHxHEIGHT in multiples of 16 with a ratio from 1:3 to 3:1 (per the client docs).
OPENAI_ANY_SIZE = ("gpt-image-2", "gpt-image-2-", "gpt-image-2.5-")
OPENAI_MAX_EDGE = 3840


def _openai_any_size(model: str) -> bool:
    return model == OPENAI_ANY_SIZE[0] or model.startswith(OPENAI_ANY_SIZE[1:])


def openai_size(model: str, width: int, height: int, aspect: str | None) -> str:
    """The `size` to send: the request's own where the model takes any size, else the nearest standard one."""
    ratio = width / height
    if not _openai_any_size(model):
        best = min(OPENAI_STANDARD, key=lambda size: abs(size[0] / size[1] - ratio))
        return f"{best[0]}x{best[1]}"
    if not 1 / 3 <= ratio <= 3:
        raise InvalidRequest(messages.unsupported_ratio(model, "1:3", "3:1"))
    w, h = (_round16(width), _round16(height))
    if max(w, h) > OPENAI_MAX_EDGE:
        raise InvalidRequest(messages.bad_size(f"{width}x{height}"))
    return f"{w}x{h}"


def _round16(value: int) -> int:
    return max(16, round(value / 16) * 16)


def native_size(native_edge: int, width: int, height: int, aspect: str | None) -> tuple[int, int]:
    """For models with a native resolution (Stable Diffusion): aspects scale to it, explicit sizes stay."""
    if aspect is None:
        return width, height
    return aspect_size(aspect, native_edge * native_edge)


def hires_first_pass(width: int, height: int, scale: int = 2) -> tuple[int, int]:
    """The size a hires fix draws first, before its second pass `scale` times bigger: on the size grid."""
    return tuple(max(SIZE_MIN, round(side / scale / SIZE_STEP) * SIZE_STEP) for side in (width, height))  # type: ignore[return-value]


def parse_size(text: str) -> tuple[int, int]:
    """'1024x768' -> (1024, 768); each side a multiple of 8 from 64 to 2048."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidRequest(messages.bad_size(text))
    width, height = int(match[1]), int(match[2])
    for side in (width, height):
        if side % SIZE_STEP or not SIZE_MIN <= side <= SIZE_MAX:
            raise InvalidRequest(messages.bad_size(text))
    return width, height


def aspect_size(aspect: str, area: int = NATIVE_AREA) -> tuple[int, int]:
    """A named aspect or a ratio like '16:9' -> a size near `area` pixels, in multiples of 64."""
    name = aspect.strip().lower()
    ratio = ASPECTS.get(name)
    if ratio is None:
        match = _RATIO.match(name)
        if not match or int(match[1]) == 0 or int(match[2]) == 0:
            raise InvalidRequest(messages.bad_aspect(aspect, tuple(ASPECTS)))
        ratio = (int(match[1]), int(match[2]))
    r = ratio[0] / ratio[1]
    if not 1 / 4 <= r <= 4:
        raise InvalidRequest(messages.bad_aspect(aspect, tuple(ASPECTS)))
    width = math.sqrt(area * r)
    return _round64(width), _round64(area / width)


def _round64(value: float) -> int:
    return int(min(SIZE_MAX, max(128, round(value / 64) * 64)))
