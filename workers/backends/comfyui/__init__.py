"""The comfyui backend: ComfyUI servers running the shipped or the operator's workflows. Its spec; the
client is in backend.py, the workflows' slots in slots.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.drawing.backends import Capabilities, image_server
from workers.backends.comfyui.config import ComfyUIConfig

if TYPE_CHECKING:
    from shared.configuration.settings import Settings
    from shared.ops.checks import Check


def _backend() -> type:
    from workers.backends.comfyui.backend import ComfyUIBackend

    return ComfyUIBackend


def _doctor(settings: Settings) -> Iterator[Check]:
    from workers.backends.comfyui.doctor import check

    return check(settings)


SPEC = image_server(
    "comfyui",
    "ComfyUI servers",
    _backend,
    ComfyUIConfig,
    _doctor,
    model_details=lambda config: config.comfyui.workflows,  # a workflow picked by name
    capabilities=Capabilities(model_choice=True, outpaint=True, inpaint=True),
    rank=4,
)
