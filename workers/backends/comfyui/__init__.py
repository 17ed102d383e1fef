"""The comfyui backend: ComfyUI servers running the shipped or the operator's workflows. Its spec; the
client is in backend.py, the workflows' slots in slots.py."""

from __future__ import annotations

from shared.drawing.backends import Capabilities, image_server
from workers.backends.comfyui.config import ComfyUIConfig
from workers.backends.comfyui.doctor import check


def _backend() -> type:
    from workers.backends.comfyui.backend import ComfyUIBackend

    return ComfyUIBackend


SPEC = image_server(
    "comfyui",
    "ComfyUI servers",
    _backend,
    ComfyUIConfig,
    check,
    model_details=lambda config: config.comfyui.workflows,  # a workflow picked by name
    capabilities=Capabilities(model_choice=True, outpaint=True, inpaint=True),
    rank=4,
)
