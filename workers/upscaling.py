"""Upscale (Subtle) and (Creative) on a worker: the picture the job starts from made `factor` times
bigger by the backend's upscaler where it has one (an ESRGAN-family model on the engine), else by
Lanczos here; Creative then redraws it lightly at the new size with the backend's image-to-image."""

from __future__ import annotations

import dataclasses

from PIL import Image

from shared.drawing import finishing
from shared.drawing.backends import BACKENDS
from shared.drawing.request import ImageRequest
from shared.errors import InvalidRequest
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled

LANCZOS = "Lanczos"
CREATIVE_STRENGTH = 0.3  # Creative keeps the composition and adds detail at the new size


def upscale(backend: object, request: ImageRequest, task: GenerationTask) -> Generation:
    """The job's one image, bigger; `task.init_image` is the picture it starts from."""
    assert request.upscale is not None
    picture = task.init_image
    if picture is None:
        raise InvalidRequest(finishing.upscale_needs_picture())
    factor = request.upscale.factor
    notes: list[str] = []
    target = (picture.width * factor, picture.height * factor)
    if max(target) > finishing.UPSCALE_MAX_EDGE:
        scale = finishing.UPSCALE_MAX_EDGE / max(target)
        target = (round(target[0] * scale), round(target[1] * scale))
        notes.append(finishing.made_smaller(finishing.UPSCALE_MAX_EDGE))
    big = enlarge(backend, picture, factor, target, task)
    notes.insert(0, finishing.upscaled(factor, big.upscaler, picture.size, big.image.size))
    parameters = {"upscaler": big.upscaler, "upscale": factor}
    if not request.upscale.creative:
        image = GeneratedImage(big.image, task.seed)
        return Generation([image], model=big.upscaler, notes=notes, parameters=parameters)
    spec = BACKENDS[request.backend]
    if spec.fixed_sizes:  # the service draws its own sizes: its largest, at its best quality
        best = {"init_image": picture, "quality": "high"}
        drawn = backend.generate(task.model_copy(update=best))  # type: ignore[attr-defined]
        first = drawn.images[0].image if drawn.images else picture
        notes = [finishing.largest_size(request.backend, first.size)]
    else:
        # at the new size exactly: no aspect to map to the model's native edge
        redraw = {
            "init_image": big.image,
            "width": big.image.width,
            "height": big.image.height,
            "aspect": None,
        }
        drawn = backend.generate(task.model_copy(update={**redraw, "strength": CREATIVE_STRENGTH}))  # type: ignore[attr-defined]
    return dataclasses.replace(
        drawn, notes=[*notes, *drawn.notes], parameters={**drawn.parameters, **parameters}
    )


def enlarge(
    backend: object, picture: Image.Image, factor: int, target: tuple[int, int], task: GenerationTask
) -> Upscaled:
    """`picture` at `target` size: the backend's upscaler where it has one (its own scale, then
    fitted by Lanczos: a ×4 model serves a ×2 upscale), else Lanczos alone."""
    upscaler = getattr(backend, "upscale", None)
    made = upscaler(picture, factor, task) if upscaler is not None else None
    if made is None:
        return Upscaled(picture.resize(target, Image.Resampling.LANCZOS), LANCZOS)
    if made.image.size != target:
        made = Upscaled(made.image.resize(target, Image.Resampling.LANCZOS), made.upscaler)
    return made
