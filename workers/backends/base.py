"""The one small interface every image backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image
from pydantic import ConfigDict

from shared.drawing.request import Drawing
from shared.errors import BackendUnavailable, Cancelled
from shared.imaging import pictures


class GenerationTask(Drawing):
    """What a backend is asked to draw: the request's drawing settings after the prompt pipeline and
    presets have had their say (`negative` includes the preset's), plus what the pipeline adds."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    prompt: str
    idea: str | None = None  # the prompt before the preset: what thread memory keeps and refines
    steps: int | None = None
    guidance: float | None = None
    user_hash: str | None = None
    init_image: Image.Image | None = None  # refinement / variation source, where the backend can edit
    more_images: list[Image.Image] = []  # a blend's other pictures, for a backend that takes several
    mask: Image.Image | None = None  # over init_image: white is drawn anew, black is kept
    extends: bool = False  # the mask is the new border of a bigger canvas (outpainting), not a region
    # The request's references (kind "style" or "character", the picture), weighed by reference_weight
    reference_pictures: list[tuple[str, Image.Image]] = []
    control_picture: Image.Image | None = None  # what `control` (a Drawing setting) follows
    on_preview: Callable[[bytes], None] | None = None
    on_progress: Callable[[str], None] | None = None  # a status line ("#3 in the Horde's queue, ~40 s")
    nsfw_allowed: bool = False  # the request comes from a channel the platform marks NSFW
    stop_requested: Callable[[], bool] | None = None  # the member cancelled: stop where the backend can

    def check_stop(self) -> None:
        """Raise Cancelled once the member has cancelled (a backend calls it between its steps)."""
        if self.stop_requested is not None and self.stop_requested():
            raise Cancelled("cancelled by the member")


@dataclass(frozen=True)
class GeneratedImage:
    image: Image.Image
    seed: int | None
    spoiler: bool = False  # flagged by the content check, to be shown hidden (`flagged_images`)


@dataclass(frozen=True)
class Generation:
    images: list[GeneratedImage]
    model: str
    revised_prompt: str | None = None
    cost_usd: float = 0.0
    kudos: float = 0.0  # what a crowd cluster (AI Horde) charged for it
    notes: list[str] = field(default_factory=list)  # for the member, e.g. an image withheld
    withheld: int = 0  # images the service made but censored, not posted
    parameters: dict[str, Any] = field(default_factory=dict)  # to draw it again: hashes, LoRAs, sampler


@dataclass(frozen=True)
class Upscaled:
    """A picture made bigger by a backend's upscaler, and the upscaler's name (for the details)."""

    image: Image.Image
    upscaler: str


class Upscaler(Protocol):
    """A backend with an upscaler model of its own (an ESRGAN-family one on the engine) implements
    this; the others are upscaled by Lanczos on the worker (workers/upscaling.py)."""

    def upscale(self, picture: Image.Image, factor: int, task: GenerationTask) -> Upscaled | None:
        """`picture` about `factor` times bigger (`task`: the job, for an engine that needs a prompt);
        None where no upscaler is configured after all."""


class ImageBackend(Protocol):
    """Built once per worker process; `generate` may be called for many jobs."""

    name: str  # what the backend can do is its spec's (shared/drawing/backends.py: Capabilities)

    def generate(self, task: GenerationTask) -> Generation: ...


def engine_picture(data: bytes, engine: str, *, rgb: bool = True) -> Image.Image:
    """An image server's or service's result, decoded (as RGB, or in its own mode: a transparent
    background stays), checked as a member's file is, since their bytes are no more trusted: a result
    we refuse fails the job for good, naming the engine."""
    try:
        if rgb:
            return pictures.decoded_rgb(data)
        image = pictures.opened(data)
        image.load()
        return image
    except (OSError, SyntaxError) as exc:
        raise BackendUnavailable(
            f"{engine} sent a result whose data is broken ({exc})", transient=False
        ) from None
    except pictures.NotAPicture as exc:
        raise BackendUnavailable(f"{engine} sent a result that is {exc}", transient=False) from None
