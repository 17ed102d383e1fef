"""The a1111 backend: AUTOMATIC1111 web UI or Forge servers started with --api. Its spec; the client is
in backend.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.drawing import prompt_tags
from shared.drawing.backends import Capabilities, image_server
from workers.backends.a1111.config import A1111Config

if TYPE_CHECKING:
    from shared.configuration.settings import Settings
    from shared.ops.checks import Check


def _backend() -> type:
    from workers.backends.a1111.backend import A1111Backend

    return A1111Backend


def _doctor(settings: Settings) -> Iterator[Check]:
    from workers.backends.a1111.doctor import check

    return check(settings)


SPEC = image_server(
    "a1111",
    "AUTOMATIC1111 / Forge servers",
    _backend,
    A1111Config,
    _doctor,
    secrets=("IMAGINE_A1111_AUTH",),
    check_prompt=prompt_tags.check_a1111,
    capabilities=Capabilities(model_choice=True, outpaint=True, inpaint=True),
    rank=3,
)
