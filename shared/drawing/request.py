"""The request/job model and its validation: raw options in, an ImageRequest or a readable reason out."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import messages
from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.edits import CanvasEdit, canvas_edit, check_canvas_edit, check_region_edit, regions
from shared.drawing.finishing import Upscale, check_upscale, no_finishing, upscale_factor
from shared.drawing.loras import LoraUse, check_lora_families, checked_loras
from shared.drawing.references import (
    DEFAULT_CONTROL_WEIGHT,
    DEFAULT_WEIGHT,
    Control,
    Reference,
    check_references,
    no_control,
    not_set_up,
    weight_without_control,
    weight_without_reference,
)
from shared.drawing.requester import Requester
from shared.drawing.sizes import aspect_size, parse_size
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest

JobKind = Literal["imagine", "refine", "reroll", "variation", "upscale", "zoom", "pan", "square", "region"]
Quality = Literal["auto", "low", "medium", "high"]
QUALITIES: tuple[str, ...] = ("auto", "low", "medium", "high")

MAX_SEED = 2**32 - 1
MAX_SOURCES = 5  # pictures one request may start from (a blend takes 2 to 5)
_ALLOWED_CONTROLS = {"\n", "\t"}


class Drawing(BaseModel):
    """How to draw, validated: where a request option's value is declared, once.

    `ImageRequest` (the job), `Turn` (thread memory) and `GenerationTask` (what a backend draws) are
    each a Drawing plus their own fields, so an option added here travels to the worker, is kept by
    the thread and is carried into every follow-up without being declared again.
    """

    model_config = ConfigDict(frozen=True)

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
    strength: float | None = None  # from a source image: how far the drawing may move (0-1)
    loras: tuple[LoraUse, ...] = ()  # LoRAs by name ([diffusers.loras]), kept by refinements
    face_fix: bool = False  # the engine's face restorer over each image
    hires: bool = False  # drawn at a lower size, then again at the size asked with more detail
    references: tuple[Reference, ...] = ()  # style and character pictures (shared/drawing/references.py)
    reference_weight: int = DEFAULT_WEIGHT  # 0..100: how much they count
    control: Control | None = None  # ControlNet: the outlines, depth or pose of a picture
    control_weight: float = DEFAULT_CONTROL_WEIGHT  # 0..2

    def drawing(self) -> Drawing:
        """Just the drawing settings of a request, turn or task."""
        return Drawing(**{name: getattr(self, name) for name in Drawing.model_fields})

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


class ImageRequest(Drawing):
    """One job: what to draw, how, and for whom. Serialised into the RQ job as JSON."""

    event_id: str
    requester: Requester
    prompt: str
    kind: JobKind = "imagine"
    instruction: str | None = (
        None  # a refinement's words ("now at night"), merged into `prompt` by the worker
    )
    parent_job_id: str | None = None
    parent_image_index: int | None = None
    submitted_at: float = Field(default_factory=time.time)
    sources: tuple[SourceImage, ...] = ()  # the member's own pictures to start from (several: a blend)
    canvas: CanvasEdit | None = None  # zoom out, pan or make square the picture it starts from
    mask: SourceImage | None = None  # repaint only where it is white, over the picture it starts from
    region: tuple[str, ...] = ()  # or repaint only these ninths of it (shared/drawing/edits.py: REGIONS)
    upscale: Upscale | None = None  # or make it bigger (shared/drawing/finishing.py)
    private: bool = False  # the results go to the member's DM with the bot, not the channel

    @model_validator(mode="before")
    @classmethod
    def _one_source_before(cls, data: Any) -> Any:
        """A job queued by the previous version names one picture as `source_url`."""
        if isinstance(data, dict) and data.get("source_url"):
            data = {**data, "sources": [{"url": data["source_url"]}]}
        return data


@dataclass(frozen=True)
class Typed:
    """How members type one option: its names (`--ar` in Slack and replies; `-n` on the command line for
    one letter), an example for error messages, and the help shown by every platform."""

    names: tuple[str, ...]
    help: str
    example: str = "NAME"
    switch: bool = False  # `--enhance` / `--no-enhance`, no value
    members: bool = True  # False: the command line only (the backend is the operator's choice in chat)
    repeatable: bool = False  # `--lora a --lora b`: the values are a tuple


def _typed(
    *names: str,
    help: str,
    example: str = "NAME",
    switch: bool = False,
    members: bool = True,
    repeatable: bool = False,
) -> Any:
    return field(default=None, metadata={"typed": Typed(names, help, example, switch, members, repeatable)})


@dataclass(frozen=True)
class RequestOptions:
    """Options exactly as a member typed them, before validation (every platform fills this).

    Each field is one option, declared here once with how it is typed: Slack's and replies' flags, the
    command line's options and Discord's option descriptions are made from these declarations. None
    means "not given": the value then comes from the turn a follow-up continues, or the default.
    """

    prompt: str
    aspect: str | None = _typed(
        "ar", "aspect", help="square, portrait, landscape, wide, tall or a ratio like 16:9.", example="16:9"
    )
    count: int | str | None = _typed("n", "count", help="How many images.", example="2")
    seed: int | str | None = _typed("seed", help="Seed for a reproducible image.", example="42")
    negative: str | None = _typed(
        "no", "negative", help="What the image should not contain.", example="text, watermark"
    )
    style: str | None = _typed("style", help="A style preset (photo, anime, watercolor, ...).")
    model: str | None = _typed("model", help="Image model, where the backend offers several.")
    size: str | None = _typed("size", help="WIDTHxHEIGHT, e.g. 1024x768.", example="1024x768")
    quality: str | None = _typed("quality", help="auto, low, medium or high.", example="high")
    enhance: bool | None = _typed(
        "enhance", help="Let a language model add detail to the prompt.", switch=True
    )
    backend: str | None = _typed("backend", help="Which image backend draws it.", members=False)
    strength: float | str | None = _typed(
        "strength", help="From a picture: how far to move from it, 0 to 1.", example="0.6"
    )
    lora: str | tuple[str, ...] | None = _typed(
        "lora",
        help="A LoRA by name, NAME or NAME:WEIGHT; repeat it (or separate by commas) for up to 3.",
        example="pixel-art:0.8",
        repeatable=True,
    )
    zoom_out: float | str | None = _typed(
        "zoom-out", help="From a picture: zoom out 2 or 1.5 times, the border drawn new.", example="2"
    )
    pan: str | None = _typed(
        "pan", help="From a picture: extend it left, right, up or down by half.", example="left"
    )
    square: bool | None = _typed(
        "square", help="From a picture: make it square, the sides drawn new.", switch=True
    )
    region: str | None = _typed(
        "region",
        help="From a picture: repaint only these ninths (top-left … center … bottom-right), the rest kept.",
        example="top-left,top",
    )
    face_fix: bool | None = _typed("face-fix", help="Fix faces with the engine's face restorer.", switch=True)
    hires: bool | None = _typed(
        "hires", help="Hires fix: draw smaller, then again at full size with more detail.", switch=True
    )
    sw: int | str | None = _typed("sw", help="How much --sref/--cref count, 0 to 100.", example="100")
    control_weight: float | str | None = _typed(
        "control-weight", help="How closely to follow --control, 0 to 2.", example="1"
    )
    upscale: int | str | None = _typed(
        "upscale", help="From a picture: make it 2 or 4 times bigger with the engine's upscaler.", example="2"
    )
    sources: tuple[SourceImage, ...] = ()  # the member's attached pictures, not typed
    mask: SourceImage | None = None  # where to repaint them (white), not typed
    creative: bool | None = None  # an upscale redrawn lightly at its new size (a button, or words given)
    references: tuple[Reference, ...] = ()  # --sref and --cref pictures, kept in the store; not typed
    control: Control | None = None  # --control KIND:PICTURE, kept in the store; not typed


def typed_options() -> dict[str, Typed]:
    """Every option of RequestOptions (but the prompt) with how it is typed, in declaration order."""
    return {f.name: f.metadata["typed"] for f in fields(RequestOptions) if "typed" in f.metadata}


def build_request(
    options: RequestOptions,
    *,
    requester: Requester,
    event_id: str,
    config: AppConfig,
    default_backend: str,
    base: Drawing | None = None,
    kind: JobKind = "imagine",
    instruction: str | None = None,
    parent_job_id: str | None = None,
    parent_image_index: int | None = None,
) -> ImageRequest:
    """Validate every option given; the first problem raises InvalidRequest with a reason for the user.

    `base` holds the values of options not given: a follow-up's turn, or the defaults. The result is
    checked as a whole (model, style, size) whichever way each value came.
    """
    limits = config.limits
    base = base or Drawing(
        aspect="square", backend=default_backend, enhance=config.prompts.enhance_by_default
    )
    prompt = _checked_text(options.prompt, "prompt", limits.prompt_max_chars)
    if not prompt:
        raise InvalidRequest(messages.empty_prompt())
    if instruction is not None:
        instruction = _checked_text(instruction, "message", limits.prompt_max_chars) or None
    drawing = _drawing(options, base, config)
    _check_nsfw(drawing, requester, config)
    check_prompt = BACKENDS[drawing.backend].check_prompt  # _drawing checked the backend is known
    for text in (prompt, drawing.negative or "", instruction or ""):
        check_prompt(config, text)
    canvas = canvas_edit(options.zoom_out, options.pan, options.square)
    if canvas is not None:  # the job is the edit, whichever way it was asked
        can = BACKENDS[drawing.backend].capabilities.outpaint
        has_picture = bool(options.sources) or parent_job_id is not None
        check_canvas_edit(canvas, drawing.backend, can_extend=can, has_picture=has_picture)
        kind = "zoom" if canvas.zoom else "pan" if canvas.pan else "square"
    region = regions(options.region)
    if options.mask is not None or region:
        if options.mask is not None and region:
            raise InvalidRequest(messages.one_canvas_edit(["--mask", "--region"]))
        check_region_edit(
            drawing.backend,
            can_repaint=BACKENDS[drawing.backend].capabilities.inpaint,
            pictures=len(options.sources) or int(parent_job_id is not None),
            with_canvas=canvas is not None,
        )
        kind = "region"
    factor = upscale_factor(options.upscale)
    upscale = None
    if factor is not None:
        other = [
            flag for flag, given in (("a new canvas", canvas), ("a region", options.mask or region)) if given
        ]
        check_upscale(
            drawing.backend,
            creative=bool(options.creative),
            can_edit=BACKENDS[drawing.backend].capabilities.edit,
            has_picture=bool(options.sources) or parent_job_id is not None,
            other=other,
        )
        upscale = Upscale(factor=factor, creative=bool(options.creative))  # type: ignore[arg-type]
        kind = "upscale"
    return ImageRequest(
        **drawing.model_dump(),
        canvas=canvas,
        mask=options.mask,
        region=region,
        upscale=upscale,
        sources=_sources(options.sources),
        event_id=event_id,
        requester=requester,
        prompt=prompt,
        kind=kind,
        instruction=instruction,
        parent_job_id=parent_job_id,
        parent_image_index=parent_image_index,
    )


def _drawing(options: RequestOptions, base: Drawing, config: AppConfig) -> Drawing:
    limits = config.limits
    given: dict[str, object] = {}
    if options.negative is not None:
        given["negative"] = (
            _checked_text(options.negative, "negative prompt", limits.negative_max_chars) or None
        )
    if options.size and options.aspect:
        raise InvalidRequest(messages.size_and_aspect())
    if options.size:
        given["width"], given["height"] = parse_size(options.size)
        given["aspect"] = None
    elif options.aspect is not None:
        aspect = options.aspect.strip().lower() or "square"
        given["width"], given["height"] = aspect_size(aspect)
        given["aspect"] = aspect
    if options.count is not None:
        given["count"] = _int_in_range(options.count, "count", 1, limits.max_count)
    if options.seed is not None:
        given["seed"] = None if options.seed == "" else _int_in_range(options.seed, "seed", 0, MAX_SEED)
    if options.quality is not None:
        given["quality"] = options.quality.strip().lower() or "auto"
    if options.style is not None:
        given["style"] = options.style.strip().lower() or None
    if options.backend is not None:
        given["backend"] = options.backend.strip().lower() or base.backend
    if options.model is not None:
        given["model"] = options.model.strip() or None
    elif "backend" in given and given["backend"] != base.backend:
        given["model"] = None  # another backend's model means nothing here
    if "backend" in given and given["backend"] != base.backend and options.seed is None:
        given["seed"] = None  # nor does its seed: only a typed one is the member's choice
    if options.enhance is not None:
        given["enhance"] = options.enhance
    if options.strength is not None:
        given["strength"] = _strength(options.strength)
    for switch in ("face_fix", "hires"):
        if getattr(options, switch) is not None:
            given[switch] = bool(getattr(options, switch))
    if options.references:
        given["references"] = tuple(options.references)
    if options.sw is not None:
        if not (options.references or base.references):
            raise InvalidRequest(weight_without_reference())
        given["reference_weight"] = _int_in_range(options.sw, "sw", 0, 100)
    if options.control is not None:
        given["control"] = options.control
    if options.control_weight is not None:
        if not (options.control or base.control):
            raise InvalidRequest(weight_without_control())
        given["control_weight"] = _float_in_range(options.control_weight, "control-weight", 0, 2)
    if options.lora is not None:
        given["loras"] = checked_loras(options.lora, config, str(given.get("backend") or base.backend))
    drawing = _checked(base.model_copy(update=given), config)
    if options.model and not BACKENDS[drawing.backend].models(config):  # typed, with nothing to pick
        raise InvalidRequest(messages.no_model_choice(drawing.backend))
    return drawing


def _checked(drawing: Drawing, config: AppConfig) -> Drawing:
    """The checks that look at several values, or at the config: made on the final values."""
    if drawing.quality not in QUALITIES:
        raise InvalidRequest(messages.unknown_choice("quality", drawing.quality, QUALITIES))
    if drawing.style is not None and drawing.style not in config.presets:
        raise InvalidRequest(messages.unknown_choice("style", drawing.style, sorted(config.presets)))
    spec = BACKENDS.get(drawing.backend)
    if spec is None:
        raise InvalidRequest(messages.unknown_choice("backend", drawing.backend, BACKENDS))
    if drawing.loras and not spec.loras(config):
        raise InvalidRequest(messages.no_loras(drawing.backend))
    if drawing.seed is not None and not spec.capabilities.seed:
        raise InvalidRequest(messages.no_seeds(drawing.backend))
    check_references(drawing.backend, drawing.references, can=spec.capabilities.references)
    if drawing.control is not None and not spec.capabilities.control:
        raise InvalidRequest(no_control(drawing.backend))
    for capability, asked in (
        ("references", drawing.references),
        ("control", drawing.control),
        ("face_fix", drawing.face_fix),
    ):
        setting = spec.unset(capability, config) if asked else None
        if setting is not None:
            raise InvalidRequest(not_set_up(drawing.backend, capability, setting))
    for switch, flag in (("face_fix", "--face-fix"), ("hires", "--hires")):
        if getattr(drawing, switch) and not getattr(spec.capabilities, switch):
            raise InvalidRequest(no_finishing(drawing.backend, flag))
    choices = spec.models(config)
    if not choices:  # a backend that draws with its own model
        return drawing
    model = drawing.model or spec.default_model(config)
    if model not in choices:
        raise InvalidRequest(messages.unknown_choice("model", str(model), choices))
    spec.check_size(model, drawing.width, drawing.height, drawing.aspect)  # raises if it cannot draw it
    check_lora_families(drawing.loras, model, config)
    return drawing.model_copy(update={"model": model})


def _check_nsfw(drawing: Drawing, requester: Requester, config: AppConfig) -> None:
    """Models and LoRAs marked NSFW are offered only in channels the platform marks NSFW."""
    if requester.channel_nsfw:
        return
    model = BACKENDS[drawing.backend].model_details(config).get(drawing.model or "")
    if model is not None and getattr(model, "nsfw", False):
        raise InvalidRequest(messages.nsfw_only("model", drawing.model or ""))
    for use in drawing.loras:  # only a backend with LoRAs takes any (_checked)
        lora = config.diffusers.loras.get(use.name)
        if lora is not None and lora.nsfw:
            raise InvalidRequest(messages.nsfw_only("LoRA", use.name))


def _checked_text(text: str, what: str, limit: int) -> str:
    text = text.strip()
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            raise InvalidRequest(messages.control_characters(what, char))
    if len(text) > limit:
        raise InvalidRequest(messages.too_long(what, len(text), limit))
    return text


def _sources(sources: tuple[SourceImage, ...]) -> tuple[SourceImage, ...]:
    if len(sources) > MAX_SOURCES:
        raise InvalidRequest(messages.too_many_pictures(len(sources), MAX_SOURCES))
    return tuple(sources)


def _strength(value: float | str) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InvalidRequest(messages.not_a_number("strength", str(value))) from None
    if not 0 < number <= 1:
        raise InvalidRequest(messages.strength_range(number))
    return number


def _float_in_range(value: float | str, what: str, low: float, high: float) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InvalidRequest(messages.not_a_number(what, str(value))) from None
    if not low <= number <= high:
        raise InvalidRequest(messages.out_of_range(what, number, low, high))
    return number


def _int_in_range(value: int | str, what: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidRequest(messages.not_a_number(what, str(value))) from None
    if not low <= number <= high:
        raise InvalidRequest(messages.out_of_range(what, number, low, high))
    return number
