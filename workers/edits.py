"""A canvas edit on a worker: the picture it starts from becomes a bigger canvas and a mask for the
backend (shared/imaging/canvas.py), and the kept pixels are pasted back over what the backend drew,
so zooming out or panning never changes what the member already had."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from shared import messages
from shared.drawing.request import ImageRequest
from shared.errors import InvalidRequest
from shared.imaging import canvas
from workers.backends.base import GenerationTask

FINISHED = 0.9  # the new area drawn anew, the pre-filled colours still carrying; the mask keeps the rest


def on_canvas(
    request: ImageRequest, task: GenerationTask
) -> tuple[GenerationTask, Callable[[Image.Image], Image.Image]]:
    """The task on the edit's canvas, and what finishes each image the backend draws on it."""
    if request.canvas is None:
        return task, lambda image: image
    if task.init_image is None:  # the picture is gone from the store
        raise InvalidRequest(messages.canvas_edit_needs_picture(request.canvas.flag))
    layout = canvas.plan(request.canvas, *task.init_image.size)
    picture, mask = canvas.compose(task.init_image, layout)
    width, height = layout.size
    edited = task.model_copy(
        update={
            "init_image": picture,
            "mask": mask,
            "width": width,
            "height": height,
            "aspect": None,
            "strength": task.strength if task.strength is not None else FINISHED,
        }
    )
    return edited, lambda drawn: canvas.keep_original(drawn, picture, mask)
