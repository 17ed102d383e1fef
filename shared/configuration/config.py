"""The operator's TOML file (IMAGINE_CONFIG): quotas, presets, allow-lists, limits, job policy."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.configuration.presets import DEFAULT_PRESETS, Preset
from shared.errors import ConfigError

_STRICT = ConfigDict(frozen=True, extra="forbid")


class QuotaLimits(BaseModel):
    """An override: only the keys given replace the defaults."""

    model_config = _STRICT

    images_per_hour: int | None = Field(default=None, ge=0)
    concurrent: int | None = Field(default=None, ge=0)
    workspace_images_per_day: int | None = Field(default=None, ge=0)


class QuotaConfig(BaseModel):
    """[quota]: defaults, then overrides per workspace, role and user ("platform:id" keys)."""

    model_config = _STRICT

    images_per_hour: int = Field(default=10, ge=0)
    concurrent: int = Field(default=2, ge=0)
    workspace_images_per_day: int = Field(default=200, ge=0)
    describes_per_hour: int = Field(default=10, ge=0)  # /describe, free of image quota; 0 turns it off
    workspaces: dict[str, QuotaLimits] = Field(default_factory=dict)
    roles: dict[str, QuotaLimits] = Field(default_factory=dict)
    users: dict[str, QuotaLimits] = Field(default_factory=dict)


class ChannelsConfig(BaseModel):
    """[channels]: where the bot answers. An empty allow-list means every channel."""

    model_config = _STRICT

    allow: list[str] = Field(default_factory=list)


class LimitsConfig(BaseModel):
    """[limits]: what one request may ask for."""

    model_config = _STRICT

    prompt_max_chars: int = Field(default=1000, ge=1, le=32000)
    negative_max_chars: int = Field(default=500, ge=0, le=32000)
    max_count: int = Field(default=4, ge=1, le=10)
    source_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # a member's picture to start from


class JobsConfig(BaseModel):
    """[jobs]: retries, timeouts and how long results are kept."""

    model_config = _STRICT

    retries: int = Field(default=3, ge=0, le=20)
    retry_intervals: list[int] = Field(default_factory=lambda: [2, 10, 30])
    result_ttl_seconds: int = Field(default=86400, ge=60)
    position_update_ms: int = Field(default=1000, ge=0)  # how often waiting jobs hear their place; 0: always
    timeout_seconds: dict[str, int] = Field(default_factory=dict)  # per backend; default: its own

    @field_validator("retry_intervals")
    @classmethod
    def _positive_intervals(cls, value: list[int]) -> list[int]:
        if any(i < 0 for i in value):
            raise ValueError("retry intervals are seconds and must be >= 0")
        return value


class S3Config(BaseModel):
    """[storage.s3]: an S3-compatible bucket (credentials as boto3 finds them, never in this file)."""

    model_config = _STRICT

    bucket: str = Field(min_length=3)
    endpoint_url: str | None = None  # MinIO, Cloudflare R2, ...; unset: AWS S3
    region: str | None = None
    prefix: str = "imagine/"


class StorageConfig(BaseModel):
    """[storage]: where generated images are kept for delivery and refinement, and for how long."""

    model_config = _STRICT

    store: Literal["redis", "directory", "s3"] = "redis"
    image_ttl_seconds: int = Field(default=86400, ge=60)
    max_image_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    directory: Path | None = None  # with store = "directory"
    s3: S3Config | None = None  # with store = "s3"
    workspace_bytes: int = Field(default=0, ge=0)  # a durable store's budget per workspace (0: none)

    @model_validator(mode="after")
    def _where(self) -> StorageConfig:
        if self.store == "directory" and self.directory is None:
            raise ValueError('store = "directory" needs directory = "/path/to/images"')
        if self.store == "s3" and self.s3 is None:
            raise ValueError('store = "s3" needs a [storage.s3] table with at least bucket = "..."')
        return self


class ThreadsConfig(BaseModel):
    """[threads]: thread memory, so a reply can refine the last image."""

    model_config = _STRICT

    ttl_days: float = Field(default=7, gt=0)
    max_turns: int = Field(default=50, ge=1)
    refine_by: Literal["owner", "anyone"] = "owner"  # whose replies in a thread refine its image


class OpenAIConfig(BaseModel):
    """[openai]: the image models offered, request defaults, retries and the price table (USD)."""

    model_config = _STRICT

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

    model_config = _STRICT

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

    model_config = _STRICT

    file: Path
    trigger: str = ""  # words added to the prompt when it is used
    weight: float = Field(default=1.0, ge=-4, le=4)  # when the member names no weight
    description: str = ""
    nsfw: bool = False
    families: list[str] = Field(default_factory=list)  # the model families it fits; empty: any


class DiffusersConfig(BaseModel):
    """[diffusers]: device, precision, sampling defaults and memory savers for self-hosted models."""

    model_config = _STRICT

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

    model_config = _STRICT

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

    model_config = _STRICT

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

    model_config = _STRICT

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

    model_config = _STRICT

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


class PromptsConfig(BaseModel):
    """[prompts]: expansion of short ideas and merging of refinements by a chat model."""

    model_config = _STRICT

    enhance_by_default: bool = False  # /imagine's `enhance` option when the member leaves it out
    timeout_seconds: float = Field(default=20, gt=0)
    max_retries: int = Field(default=1, ge=0, le=5)
    cache_ttl_seconds: int = Field(default=7 * 86400, ge=0)


MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


class ModerationPolicy(BaseModel):
    """What a workspace refuses. Overrides give only the keys they change."""

    model_config = _STRICT

    block: list[str] | None = None  # moderation categories that refuse a prompt
    nsfw: Literal["never", "nsfw_channels"] | None = None  # "sexual" allowed in age-restricted channels
    on_error: Literal["closed", "open"] | None = (
        None  # the moderation service is down: refuse, or let it pass
    )
    blocklist: list[str] | None = None  # words or phrases refused always, also without OpenAI

    @field_validator("block")
    @classmethod
    def _known_categories(cls, value: list[str] | None) -> list[str] | None:
        unknown = [c for c in value or [] if c not in MODERATION_CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {', '.join(MODERATION_CATEGORIES)}")
        return value


class ModerationConfig(BaseModel):
    """[moderation]: checked before a job is queued, with overrides per workspace ("platform:id")."""

    model_config = _STRICT

    enabled: bool = True  # the OpenAI moderation endpoint, when OPENAI_API_KEY is set
    model: str = "omni-moderation-latest"
    timeout_seconds: float = Field(default=5, gt=0)
    block: list[str] = Field(
        default_factory=lambda: [
            "harassment/threatening",
            "hate",
            "hate/threatening",
            "illicit/violent",
            "self-harm/instructions",
            "sexual",
            "sexual/minors",
            "violence/graphic",
        ]
    )
    nsfw: Literal["never", "nsfw_channels"] = "nsfw_channels"
    on_error: Literal["closed", "open"] = "closed"
    check_images: bool = True  # each generated image too, with the same key and policy
    flagged_images: Literal["withhold", "spoiler"] = "withhold"  # "spoiler": posted hidden (Discord, web)
    blocklist: list[str] = Field(default_factory=list)
    workspaces: dict[str, ModerationPolicy] = Field(default_factory=dict)

    def policy_for(self, workspace_key: str) -> ModerationPolicy:
        """The defaults with the workspace's override on top; every field filled."""
        override = self.workspaces.get(workspace_key) or ModerationPolicy()
        return ModerationPolicy(
            block=override.block if override.block is not None else self.block,
            nsfw=override.nsfw or self.nsfw,
            on_error=override.on_error or self.on_error,
            blocklist=[*self.blocklist, *(override.blocklist or [])],
        )


PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")
WEB_USER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")


class WebConfig(BaseModel):
    """[web]: who may log in to `imagine web` when it serves other machines, and for how long."""

    model_config = _STRICT

    users: dict[str, str] = Field(default_factory=dict)  # name -> password hash (imagine web-password)
    session_days: float = Field(default=7, gt=0)
    # The TLS proxies in front of the page (their addresses): only their X-Forwarded-Proto and
    # X-Forwarded-For are believed, so the cookie is Secure and the throttle sees the real address.
    trusted_proxies: list[IPvAnyAddress] = Field(default_factory=list)

    @field_validator("users")
    @classmethod
    def _hashed(cls, value: dict[str, str]) -> dict[str, str]:
        for name, hashed in value.items():
            if not WEB_USER_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: a user name is 1-32 lowercase letters, digits, '_', '.' or '-'")
            if not PASSWORD_HASH.fullmatch(hashed):
                raise ValueError(
                    f"{name}: not a password hash; run `imagine web-password {name}` and paste its line"
                )
        return value


class ShowcaseConfig(BaseModel):
    """[showcase."discord:<guild id>"]: the channel where results that members star are reposted."""

    model_config = _STRICT

    channel: str = Field(min_length=1)
    stars: int = Field(default=3, ge=1)  # distinct members whose ⭐ it takes


class AppConfig(BaseModel):
    """Everything the TOML file may hold. Unknown keys are errors, so typos do not pass silently."""

    model_config = _STRICT

    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    presets: dict[str, Preset] = Field(default_factory=lambda: dict(DEFAULT_PRESETS))
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    threads: ThreadsConfig = Field(default_factory=ThreadsConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    diffusers: DiffusersConfig = Field(default_factory=DiffusersConfig)
    a1111: A1111Config = Field(default_factory=A1111Config)
    comfyui: ComfyUIConfig = Field(default_factory=ComfyUIConfig)
    horde: HordeConfig = Field(default_factory=HordeConfig)
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    showcase: dict[str, ShowcaseConfig] = Field(default_factory=dict)  # by workspace ("discord:<id>")

    @field_validator("presets")
    @classmethod
    def _with_shipped_presets(cls, value: dict[str, Preset]) -> dict[str, Preset]:
        return {**DEFAULT_PRESETS, **{name.lower(): preset for name, preset in value.items()}}


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and section)"
        lines.append(f"key {location}: {message}")
    return "; ".join(lines)


def load_config(path: Path | None) -> AppConfig:
    """Parse and validate the TOML file; any problem raises ConfigError naming file, key and cause."""
    if path is None:
        return AppConfig()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"IMAGINE_CONFIG={path}: cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"config file {path}: {_describe(exc)}") from None
