"""The request/job model and its validation: raw options in, an ImageRequest or a readable reason out."""

from __future__ import annotations

import math
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import messages
from shared.backends import BACKENDS
from shared.config import AppConfig
from shared.errors import InvalidRequest

JobKind = Literal["imagine", "refine", "reroll", "variation", "upscale"]
Quality = Literal["auto", "low", "medium", "high"]
QUALITIES: tuple[str, ...] = ("auto", "low", "medium", "high")

ASPECTS: dict[str, tuple[int, int]] = {
    "square": (1, 1),
    "portrait": (2, 3),
    "landscape": (3, 2),
    "wide": (16, 9),
    "tall": (9, 16),
}
SIZE_STEP, SIZE_MIN, SIZE_MAX = 8, 64, 2048
NATIVE_AREA = 1024 * 1024
MAX_SEED = 2**32 - 1
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
_ALLOWED_CONTROLS = {"\n", "\t"}


class Requester(BaseModel):
    """Who asked and where the answer goes; `reply` is opaque to everyone but that platform's deliverer."""

    model_config = ConfigDict(frozen=True)

    platform: str
    workspace: str
    channel: str
    user: str
    thread: str | None = None
    user_name: str | None = None
    roles: tuple[str, ...] = ()
    channel_nsfw: bool = False
    reply: dict[str, str] = Field(default_factory=dict)

    @property
    def user_key(self) -> str:
        """The quota subject, e.g. 'discord:1234'; also the key for overrides in the config file."""
        return f"{self.platform}:{self.user}"

    @property
    def workspace_key(self) -> str:
        return f"{self.platform}:{self.workspace}"


class ImageRequest(BaseModel):
    """One job: what to draw, how, and for whom. Serialised into the RQ job as JSON."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    requester: Requester
    prompt: str
    kind: JobKind = "imagine"
    instruction: str | None = (
        None  # a refinement's words ("now at night"), merged into `prompt` by the worker
    )
    negative: str | None = None
    width: int = 1024
    height: int = 1024
    aspect: str | None = None  # kept so each backend can map it to its own native sizes
    count: int = 1
    seed: int | None = None
    quality: Quality = "auto"
    style: str | None = None
    backend: str = "placeholder"
    model: str | None = None
    enhance: bool = False
    parent_job_id: str | None = None
    parent_image_index: int | None = None
    submitted_at: float = Field(default_factory=time.time)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class RequestOptions:
    """Options exactly as a user typed them, before validation (every platform fills this)."""

    prompt: str
    negative: str | None = None
    size: str | None = None
    aspect: str | None = None
    count: int | str | None = None
    seed: int | str | None = None
    quality: str | None = None
    style: str | None = None
    backend: str | None = None
    model: str | None = None
    enhance: bool | None = None  # None: the config's [prompts] enhance_by_default


def build_request(
    options: RequestOptions,
    *,
    requester: Requester,
    event_id: str,
    config: AppConfig,
    default_backend: str,
    kind: JobKind = "imagine",
    instruction: str | None = None,
    parent_job_id: str | None = None,
    parent_image_index: int | None = None,
) -> ImageRequest:
    """Validate every option; the first problem raises InvalidRequest with a reason for the user."""
    limits = config.limits
    prompt = _checked_text(options.prompt, "prompt", limits.prompt_max_chars)
    if not prompt:
        raise InvalidRequest(messages.empty_prompt())
    if instruction is not None:
        instruction = _checked_text(instruction, "message", limits.prompt_max_chars) or None
    negative = _checked_text(options.negative or "", "negative prompt", limits.negative_max_chars) or None
    if options.size and options.aspect:
        raise InvalidRequest(messages.size_and_aspect())
    aspect = None if options.size else (options.aspect or "square").strip().lower()
    width, height = parse_size(options.size) if options.size else aspect_size(aspect or "square")
    count = _int_in_range(options.count if options.count is not None else 1, "count", 1, limits.max_count)
    seed = None if options.seed in (None, "") else _int_in_range(options.seed, "seed", 0, MAX_SEED)
    quality = (options.quality or "auto").strip().lower()
    if quality not in QUALITIES:
        raise InvalidRequest(messages.unknown_choice("quality", quality, QUALITIES))
    style = (options.style or "").strip().lower() or None
    if style is not None and style not in config.presets:
        raise InvalidRequest(messages.unknown_choice("style", style, sorted(config.presets)))
    backend = (options.backend or default_backend).strip().lower()
    spec = BACKENDS.get(backend)
    if spec is None:
        raise InvalidRequest(messages.unknown_choice("backend", backend, BACKENDS))
    model = (options.model or "").strip() or None
    choices = spec.models(config)
    if choices:  # a backend whose members pick among models; others draw with their own
        model = model or spec.default_model(config)
        if model not in choices:
            raise InvalidRequest(messages.unknown_choice("model", str(model), choices))
        spec.check_size(model, width, height, aspect)  # raises for sizes the model cannot draw
    return ImageRequest(
        event_id=event_id,
        requester=requester,
        prompt=prompt,
        kind=kind,
        instruction=instruction,
        negative=negative,
        width=width,
        height=height,
        aspect=aspect,
        count=count,
        seed=seed,
        quality=quality,  # type: ignore[arg-type]
        style=style,
        backend=backend,
        model=model,
        enhance=config.prompts.enhance_by_default if options.enhance is None else options.enhance,
        parent_job_id=parent_job_id,
        parent_image_index=parent_image_index,
    )


def _checked_text(text: str, what: str, limit: int) -> str:
    text = text.strip()
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            raise InvalidRequest(messages.control_characters(what, char))
    if len(text) > limit:
        raise InvalidRequest(messages.too_long(what, len(text), limit))
    return text


def _int_in_range(value: int | str, what: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidRequest(messages.not_a_number(what, str(value))) from None
    if not low <= number <= high:
        raise InvalidRequest(messages.out_of_range(what, number, low, high))
    return number


def parse_size(text: str) -> tuple[int, int]:
    """'1024x768' -> (1024, 768); each side a multiple of 8 from 64 to 2048."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidRequest(messages.bad_size(text))
    width, height = int(match[1]), int(match[2])
    for side in (width, height):
        if side % SIZE_STEP or not SIZE_MIN <= side <= SIZE_MAX:
            raise InvalidRequest(messages.bad_size(text))
    return width, height


def aspect_size(aspect: str, area: int = NATIVE_AREA) -> tuple[int, int]:
    """A named aspect or a ratio like '16:9' -> a size near `area` pixels, in multiples of 64."""
    name = aspect.strip().lower()
    ratio = ASPECTS.get(name)
    if ratio is None:
        match = _RATIO.match(name)
        if not match or int(match[1]) == 0 or int(match[2]) == 0:
            raise InvalidRequest(messages.bad_aspect(aspect, tuple(ASPECTS)))
        ratio = (int(match[1]), int(match[2]))
    r = ratio[0] / ratio[1]
    if not 1 / 4 <= r <= 4:
        raise InvalidRequest(messages.bad_aspect(aspect, tuple(ASPECTS)))
    width = math.sqrt(area * r)
    return _round64(width), _round64(area / width)


def _round64(value: float) -> int:
    return int(min(SIZE_MAX, max(128, round(value / 64) * 64)))
