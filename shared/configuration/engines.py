"""The config sections of the image engines: [openai], [diffusers] (its models and LoRAs), [a1111],
[comfyui] (its workflows and their slots) and [horde]."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STRICT = ConfigDict(frozen=True, extra="forbid")  # every section: a misspelt key is an error


class OpenAIConfig(BaseModel):
    """[openai]: the image models offered, request defaults, retries and the price table (USD)."""

    model_config = STRICT

    # The installed openai client documents gpt-image-2.6-sunburst as the default GPT image model (and
    # gpt-image-1 / DALL·E as shut down), so that is ours; flare is the same generation's faster model.
    # The 2.5 pair stays on offer: the client documents arbitrary sizes and xhigh/max quality for it only.
    default_model: str = "gpt-image-2.6-sunburst"
    models: list[str] = Field(
        default_factory=lambda: [
            "gpt-image-2.6-sunburst",
            "gpt-image-2.6-flare",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-flare",
            "gpt-image-2",
            "gpt-image-1.5",
        ]
    )
    output_format: Literal["png", "webp", "jpeg"] = "png"
    moderation: Literal["auto", "low"] = "auto"
    partial_images: int = Field(default=0, ge=0, le=3)  # > 0 streams progress previews
    max_retries: int = Field(default=3, ge=0, le=10)  # 429/5xx/timeouts, with backoff and Retry-After
    timeout_seconds: float = Field(default=180, gt=0)
    # model -> size ("1024x1024") -> quality ("low"/"medium"/"high") -> USD per image
    prices: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)


MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")  # it names a queue, a flag value, a choice


class DiffusersModel(BaseModel):
    """[diffusers.models.NAME]: one checkpoint, from exactly one of `file` (a single .safetensors or
    .ckpt, architecture detected), `path` (a diffusers folder) or `hub` (a hub id)."""

    model_config = STRICT

    file: Path | None = None
    path: Path | None = None
    hub: str | None = None
    config: str | None = None  # a local diffusers folder or hub id with the component configs (offline)
    vae: str | None = None  # another VAE: a single file, a diffusers folder or a hub id
    scheduler: str | None = None  # a diffusers scheduler class; default [diffusers] scheduler
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0, le=50)
    size: int | None = Field(default=None, ge=64, le=2048)  # the native edge; default from the model
    clip_skip: int | None = Field(default=None, ge=1, le=12)
    negative: str | None = None  # always added to the negative prompt
    description: str = ""  # shown to members next to the name
    nsfw: bool = False  # offered only in channels the platform marks NSFW
    family: str | None = None  # sd15, sd2, sdxl, ...: detected at load when not given

    @model_validator(mode="after")
    def _one_source(self) -> DiffusersModel:
        given = [name for name in ("file", "path", "hub") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, path or hub")
        return self

    @property
    def source(self) -> str:
        return str(self.file or self.path or self.hub)


class DiffusersLora(BaseModel):
    """[diffusers.loras.NAME]: a LoRA file members may add to an image."""

    model_config = STRICT

    file: Path
    trigger: str = ""  # words added to the prompt when it is used
    weight: float = Field(default=1.0, ge=-4, le=4)  # when the member names no weight
    description: str = ""
    nsfw: bool = False
    families: list[str] = Field(default_factory=list)  # the model families it fits; empty: any


class DiffusersConfig(BaseModel):
    """[diffusers]: device, precision, sampling defaults and memory savers for self-hosted models."""

    model_config = STRICT

    device: str = "auto"  # auto: cuda when available, else cpu
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"  # auto: float16 on cuda
    steps: int = Field(default=30, ge=1, le=200)
    guidance: float = Field(default=7.0, ge=0, le=50)
    scheduler: str | None = None  # a diffusers scheduler class name, e.g. "DPMSolverMultistepScheduler"
    strength: float = Field(default=0.6, gt=0, le=1)  # how far a refinement may move from the last image
    max_batch: int = Field(default=4, ge=1, le=16)
    attention_slicing: bool = False
    cpu_offload: bool = False
    warmup: bool = True
    safety_checker: bool = (
        False  # the model's own NSFW checker (loaded once); its flagged images are withheld
    )
    models: dict[str, DiffusersModel] = Field(default_factory=dict)  # several, by name
    default_model: str | None = None  # default: the first of `models`
    loras: dict[str, DiffusersLora] = Field(default_factory=dict)
    max_loras: int = Field(default=3, ge=0, le=8)  # per image
    models_on_device: int = Field(default=1, ge=1)  # a worker's loaded models kept on the GPU at once
    evict: Literal["cpu", "drop"] = "cpu"  # the least recently used beyond that: moved to RAM, or dropped

    @model_validator(mode="after")
    def _names(self) -> DiffusersConfig:
        for name in [*self.models, *self.loras]:
            if not MODEL_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a usable name: letters, digits, _ . - (at most 40)")
        if self.default_model is not None and self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of [diffusers.models]")
        return self


def _server_urls(urls: list[str]) -> list[str]:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL like http://127.0.0.1:7860")
    return [url.rstrip("/") for url in urls]


class A1111Config(BaseModel):
    """[a1111]: AUTOMATIC1111 WebUI or Forge servers started with --api, and what to ask of them."""

    model_config = STRICT

    # Each job takes a free one (leased in Redis), so several workers share them without collisions.
    servers: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:7860"], min_length=1)
    models: list[str] = Field(default_factory=list)  # checkpoints members may pick; [] = the server's own
    default_model: str | None = None  # None: whichever checkpoint the server has loaded
    keep_model_loaded: bool = True  # after a job with another checkpoint, leave it loaded (no reload back)
    sampler: str | None = None  # e.g. "DPM++ 2M"; None: the server's default
    scheduler: str | None = None  # web UI 1.9+ and Forge take it apart from the sampler ("Karras", "Simple")
    # More per-request settings, e.g. Forge's {forge_preset = "flux", forge_additional_modules = [...]}.
    override_settings: dict[str, Any] = Field(default_factory=dict)
    steps: int = Field(default=25, ge=1, le=150)
    cfg_scale: float = Field(default=7.0, ge=0, le=30)
    denoising_strength: float = Field(default=0.6, gt=0, le=1)  # refinements; variations/upscales set theirs
    native_edge: int = Field(default=1024, ge=256, le=2048)  # an aspect maps to about this many pixels²
    timeout_seconds: float = Field(default=600, gt=0)  # one generation; then it is interrupted and refunded
    progress_seconds: float = Field(default=1.0, gt=0)  # how often the status shows the preview
    usd_per_image: float = Field(default=0.0, ge=0)  # what an image costs you, for `imagine quota` costs
    # <lora:NAME:W>, <lyco:…>, <hypernet:…> members may write in a prompt, as "lora:NAME"; others refused
    prompt_tags: list[str] = Field(default_factory=list)

    @field_validator("servers")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        return _server_urls(value)


ComfySlot = str | list[str] | None  # "NODE.inputs.NAME", several of them, "" for none, None: found


class ComfyWorkflow(BaseModel):
    """[comfyui.workflows.NAME]: an API-format workflow ("Export (API)") and where our values go in it.

    A slot left out is found in the graph (workers/backends/comfyui_slots.py: the sampler's prompt,
    seed, steps, the latent's size, the loader's checkpoint, …); a slot given is "NODE.inputs.NAME"
    or a list of them (`width = ["27.inputs.width", "30.inputs.width"]`), and "" switches it off (the
    graph's own value stays). `output` is the id of the node whose images are the result (found: the
    one SaveImage). Without `file`, the shipped workflow of that name is used ("txt2img", "img2img":
    SD 1.x/2.x/SDXL checkpoints). `img2img` names the workflow that refines this one's images when it
    takes no picture itself."""

    model_config = STRICT

    file: Path | None = None
    description: str = ""  # what members see beside its name when it is one of [comfyui] models
    img2img: str | None = None
    output: str | None = None
    prompt: ComfySlot = None
    negative: ComfySlot = None
    seed: ComfySlot = None
    steps: ComfySlot = None
    cfg: ComfySlot = None
    denoise: ComfySlot = None  # img2img: how far to move from the image
    width: ComfySlot = None
    height: ComfySlot = None
    batch_size: ComfySlot = None
    checkpoint: ComfySlot = None
    image: ComfySlot = None  # img2img: a LoadImage node's "N.inputs.image"


def _shipped_workflows() -> dict[str, ComfyWorkflow]:
    return {
        "txt2img": ComfyWorkflow(description="ComfyUI's default graph"),
        "img2img": ComfyWorkflow(description="the default graph from a picture"),
    }


class ComfyUIConfig(BaseModel):
    """[comfyui]: ComfyUI servers, the workflows to run on them and what members may pick."""

    model_config = STRICT

    servers: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8188"], min_length=1)
    workflow: str = "txt2img"  # for new images
    img2img_workflow: str | None = "img2img"  # refinements, variations, upscales; "": drawn afresh
    workflows: dict[str, ComfyWorkflow] = Field(default_factory=_shipped_workflows)
    # What members may pick with --model: workflows by name (that graph, its own checkpoint) and
    # checkpoints (written into the default workflow's checkpoint slot).
    models: list[str] = Field(default_factory=list)
    default_model: str | None = None  # None: the default workflow with its own checkpoint
    steps: int | None = Field(default=None, ge=1, le=150)  # None: each workflow's own
    cfg: float | None = Field(default=None, ge=0, le=30)  # None: each workflow's own (Flux: its guidance)
    denoise: float = Field(default=0.6, gt=0, le=1)  # refinements; variations/upscales set theirs
    native_edge: int = Field(default=1024, ge=256, le=2048)
    timeout_seconds: float = Field(default=600, gt=0)  # then the prompt is interrupted and refunded
    poll_seconds: float = Field(default=0.25, gt=0)  # how often /history is asked
    usd_per_image: float = Field(default=0.0, ge=0)

    @field_validator("servers")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        return _server_urls(value)

    @field_validator("img2img_workflow")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None  # TOML has no null

    @field_validator("workflows")
    @classmethod
    def _with_shipped_workflows(cls, value: dict[str, ComfyWorkflow]) -> dict[str, ComfyWorkflow]:
        return {**_shipped_workflows(), **value}

    @model_validator(mode="after")
    def _workflows_named(self) -> ComfyUIConfig:
        refiners = [w.img2img for w in self.workflows.values() if w.img2img]
        for chosen in (self.workflow, self.img2img_workflow, *refiners):
            if chosen is not None and chosen not in self.workflows:
                raise ValueError(f"no [comfyui.workflows.{chosen}]; known: {', '.join(self.workflows)}")
        return self


class HordeConfig(BaseModel):
    """[horde]: AI Horde, the crowd-sourced cluster (HORDE_API_KEY for kudos priority, else anonymous)."""

    model_config = STRICT

    api_url: str = "https://aihorde.net/api"
    contact: str = ""  # a URL or address where the Horde's team can reach you (sent in Client-Agent)
    models: list[str] = Field(default_factory=list)  # Horde model names members may pick; [] = any
    default_model: str | None = None
    sampler: str = "k_euler_a"
    steps: int = Field(default=25, ge=1, le=100)
    cfg_scale: float = Field(default=7.0, ge=0, le=30)
    denoising_strength: float = Field(default=0.6, gt=0, le=1)
    native_edge: int = Field(default=1024, ge=256, le=2048)
    timeout_seconds: float = Field(default=600, gt=0)  # then the request is deleted and refunded
    poll_seconds: float = Field(default=2.0, gt=0)  # the Horde asks clients not to poll faster than ~1/s
