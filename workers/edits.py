"""Edits on a worker. A canvas edit: the picture the job starts from becomes a bigger canvas and a mask
for the backend (shared/imaging/canvas.py). A region edit: the member's mask, scaled to the picture.
Either way the kept pixels are pasted back over what the backend drew, so zooming out, panning or
repainting a region never changes what the member kept."""

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
    request: ImageRequest, task: GenerationTask, member_mask: Callable[[], Image.Image]
) -> tuple[GenerationTask, Callable[[Image.Image], Image.Image]]:
    """The task on the edit's canvas, or with the member's mask (read only for a region edit), and
    what finishes each image the backend draws."""
    if request.mask is not None or request.region:
        if task.init_image is None:  # the picture is gone from the store
            raise InvalidRequest(messages.mask_needs_one_picture(0))
        picture = task.init_image.convert("RGB")
        if request.region:
            region = canvas.grid_mask(request.region, picture.size)
        else:
            region = canvas.region_mask(member_mask(), picture.size)
        strength = task.strength if task.strength is not None else FINISHED
        edited = task.model_copy(update={"init_image": picture, "mask": region, "strength": strength})
        return edited, lambda drawn: canvas.keep_original(drawn, picture, region)
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
            "extends": True,
            "width": width,
            "height": height,
            "aspect": None,
            "strength": task.strength if task.strength is not None else FINISHED,
        }
    )
    return edited, lambda drawn: canvas.keep_original(drawn, picture, mask)
