"""Which sizes each backend can draw: a request's size or aspect mapped to the backend's own."""

from __future__ import annotations

from shared import messages
from shared.errors import InvalidRequest

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
    from shared.request import aspect_size

    return aspect_size(aspect, native_edge * native_edge)
