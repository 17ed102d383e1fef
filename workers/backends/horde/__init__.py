"""The horde backend: AI Horde, the crowd-sourced cluster. Its spec; the client is in backend.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.drawing.backends import Capabilities, image_server
from workers.backends.horde.config import HordeConfig

if TYPE_CHECKING:
    from shared.configuration.settings import Settings
    from shared.ops.checks import Check


def _backend() -> type:
    from workers.backends.horde.backend import HordeBackend

    return HordeBackend


def _doctor(settings: Settings) -> Iterator[Check]:
    from workers.backends.horde.doctor import check

    return check(settings)


SPEC = image_server(
    "horde",
    "AI Horde",
    _backend,
    HordeConfig,
    _doctor,
    secrets=("HORDE_API_KEY",),
    capabilities=Capabilities(model_choice=True, outpaint=True, inpaint=True),
    rank=5,
)
