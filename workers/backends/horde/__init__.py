"""The horde backend: AI Horde, the crowd-sourced cluster. Its spec; the client is in backend.py."""

from __future__ import annotations

from shared.drawing.backends import Capabilities, image_server
from workers.backends.horde.config import HordeConfig
from workers.backends.horde.doctor import check


def _backend() -> type:
    from workers.backends.horde.backend import HordeBackend

    return HordeBackend


SPEC = image_server(
    "horde",
    "AI Horde",
    _backend,
    HordeConfig,
    check,
    secrets=("HORDE_API_KEY",),
    capabilities=Capabilities(
        model_choice=True, outpaint=True, inpaint=True, face_fix=True, hires=True, control=True
    ),
    rank=5,
)
