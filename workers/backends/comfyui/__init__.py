"""The comfyui backend: ComfyUI servers running the shipped or the operator's workflows. Its spec; the
client is in backend.py, the workflows' slots in slots.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.drawing.backends import Capabilities, image_server
from workers.backends.comfyui.config import ComfyUIConfig
from workers.backends.comfyui.doctor import check

if TYPE_CHECKING:
    from shared.configuration.config import AppConfig


def _backend() -> type:
    from workers.backends.comfyui.backend import ComfyUIBackend

    return ComfyUIBackend


def _operator_workflows(config: AppConfig) -> bool:
    return any(workflow.file is not None for workflow in config.comfyui.workflows.values())


SPEC = image_server(
    "comfyui",
    "ComfyUI servers",
    _backend,
    ComfyUIConfig,
    check,
    model_details=lambda config: config.comfyui.workflows,  # a workflow picked by name
    capabilities=Capabilities(
        model_choice=True, outpaint=True, inpaint=True, face_fix=True, references=True, control=True
    ),
    # The shipped workflows have no IPAdapter, ControlNet or face restorer: the operator's own do (a
    # workflow without the node is refused by the worker, naming it).
    setup={
        "face_fix": (
            "[comfyui] face_fix_workflow",
            lambda config: config.comfyui.face_fix_workflow is not None,
        ),
        "references": ("a [comfyui.workflows.NAME] file with an IPAdapter", _operator_workflows),
        "control": ("a [comfyui.workflows.NAME] file with a ControlNet", _operator_workflows),
    },
    rank=4,
)
