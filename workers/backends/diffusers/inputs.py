"""Which of a model's pipelines draws a task, and the pictures it is given: the inpainting pipeline
for a mask, image-to-image for a picture to start from, text-to-image otherwise, each with the
task's ControlNet where it has --control."""

from __future__ import annotations

import inspect
from typing import Any

from PIL import Image

from workers.backends.base import GenerationTask
from workers.backends.diffusers.control import ControlNets
from workers.backends.diffusers.loaded import LoadedModel

INPAINT_STRENGTH = 0.9  # a mask's area drawn anew, what the canvas pre-filled still carrying


def pipeline_and_inputs(
    loaded: LoadedModel,
    task: GenerationTask,
    width: int,
    height: int,
    strength: float,
    controlnets: ControlNets,
) -> tuple[Any, dict[str, Any]]:
    """The pipeline and its picture arguments; `strength` is the refinement's default."""
    inpaint = loaded.inpaint if task.mask is not None and task.init_image is not None else None
    if inpaint is not None:  # draw where the mask is white; the worker pastes the rest back
        source = _fitted(task.init_image, width, height)
        mask = task.mask.convert("L").resize((width, height))  # type: ignore[union-attr]
        chosen = task.strength if task.strength is not None else INPAINT_STRENGTH
        inputs = {"image": source, "mask_image": mask, "strength": chosen, "width": width, "height": height}
        return inpaint, inputs
    base = loaded.image2image if task.init_image is not None else loaded.text2image
    controlled = controlnets.pipeline(base, loaded.family, task, width, height)
    pipeline, inputs = controlled if controlled is not None else (base, {})
    if task.init_image is None:
        return pipeline, {**inputs, "width": width, "height": height}
    chosen = task.strength if task.strength is not None else strength
    # Flux's and SD3's image-to-image draw their default size unless told the asked one.
    sized = {"width": width, "height": height} if takes(pipeline, "width") else {}
    return pipeline, {**inputs, "image": _fitted(task.init_image, width, height), "strength": chosen, **sized}


def takes(pipeline: Any, parameter: str) -> bool:
    return parameter in inspect.signature(pipeline.__call__).parameters


def _fitted(picture: Image.Image | None, width: int, height: int) -> Image.Image:
    assert picture is not None
    return picture.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
