"""--control on diffusers: `[diffusers.controlnet]`'s weights by kind, read once per worker, and a
job's pipeline made from the model's own (`from_pipe`: the same weights, with the ControlNet added).

The control picture is what the ControlNet reads: for canny its outlines, found here with Pillow
(edges, thresholded: white lines on black, as the canny preprocessor gives); a depth or pose picture
is taken as the depth map or pose skeleton it is (no estimator runs on the worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image, ControlNetModel
from PIL import Image, ImageFilter, ImageOps

from shared.errors import ConfigError, InvalidRequest
from workers.backends.base import GenerationTask
from workers.backends.diffusers import texts

WHERE = "[diffusers.controlnet]"
EDGE_THRESHOLD = 48  # of 255: an edge strength kept as a line (about where canny's low threshold sits)


class ControlNets:
    def __init__(self, sources: dict[str, str], device: str, dtype: torch.dtype) -> None:
        self._models = {kind: _load(kind, source, dtype).to(device) for kind, source in sources.items()}

    def pipeline(
        self, loaded_pipeline: Any, family: str, task: GenerationTask, width: int, height: int
    ) -> tuple[Any, dict[str, Any]] | None:
        """The task's pipeline with its ControlNet and the arguments it takes (`image` for a drawing
        from nothing, `control_image` beside the picture of a refinement); None without --control."""
        if task.control is None or task.control_picture is None:
            return None
        kind = task.control.kind
        model = self._models.get(kind)
        if model is None:
            raise InvalidRequest(texts.no_controlnet(kind, sorted(self._models)))
        picture = control_picture(kind, task.control_picture, width, height)
        weight = {"controlnet_conditioning_scale": task.control_weight}
        auto = AutoPipelineForImage2Image if task.init_image is not None else AutoPipelineForText2Image
        try:
            pipeline = auto.from_pipe(loaded_pipeline, controlnet=model)
        except (ValueError, KeyError) as exc:
            raise InvalidRequest(texts.no_controlnet_for(family, str(exc)[:200])) from None
        pipeline.set_progress_bar_config(disable=True)
        if task.init_image is not None:
            return pipeline, {"control_image": picture, **weight}
        return pipeline, {"image": picture, **weight}


def control_picture(kind: str, picture: Image.Image, width: int, height: int) -> Image.Image:
    """What the ControlNet reads, at the size drawn: canny's outlines, else the picture itself."""
    fitted = ImageOps.fit(picture.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    if kind != "canny":
        return fitted
    edges = fitted.convert("L").filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.FIND_EDGES)
    return edges.point(lambda value: 255 if value >= EDGE_THRESHOLD else 0).convert("RGB")


def _load(kind: str, source: str, dtype: torch.dtype) -> Any:
    path = Path(source).expanduser()
    try:
        if path.is_file():
            return ControlNetModel.from_single_file(str(path), dtype=dtype)
        return ControlNetModel.from_pretrained(
            str(path) if path.is_dir() else source, local_files_only=path.is_dir(), dtype=dtype
        )
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ConfigError(f"{WHERE} {kind} = {source}: cannot load it ({exc})") from None
