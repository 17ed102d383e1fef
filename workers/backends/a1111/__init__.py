"""The a1111 backend: AUTOMATIC1111 web UI or Forge servers started with --api. Its spec; the client is
in backend.py."""

from __future__ import annotations

from shared.drawing import prompt_tags
from shared.drawing.backends import Capabilities, image_server
from workers.backends.a1111.config import A1111Config
from workers.backends.a1111.doctor import check


def _backend() -> type:
    from workers.backends.a1111.backend import A1111Backend

    return A1111Backend


SPEC = image_server(
    "a1111",
    "AUTOMATIC1111 / Forge servers",
    _backend,
    A1111Config,
    check,
    secrets=("IMAGINE_A1111_AUTH",),
    check_prompt=prompt_tags.check_a1111,
    capabilities=Capabilities(
        model_choice=True,
        outpaint=True,
        inpaint=True,
        face_fix=True,
        hires=True,
        references=True,
        control=True,
    ),
    rank=3,
)
