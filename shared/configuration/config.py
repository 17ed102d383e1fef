"""The operator's TOML file (IMAGINE_CONFIG): quotas, presets, allow-lists, limits, job policy, and
each backend's section, whose model its spec declares (shared/drawing/backends.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from shared.configuration.presets import DEFAULT_PRESETS, Preset
from shared.errors import ConfigError

STRICT = ConfigDict(frozen=True, extra="forbid")  # every section: a misspelt key is an error


def server_urls(urls: list[str]) -> list[str]:
    """A backend section's `servers`: http(s) URLs, without a trailing slash."""
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL like http://127.0.0.1:7860")
    return [url.rstrip("/") for url in urls]


class QuotaLimits(BaseModel):
    """An override: only the keys given replace the defaults."""

    model_config = STRICT

    images_per_hour: int | None = Field(default=None, ge=0)
    concurrent: int | None = Field(default=None, ge=0)
    workspace_images_per_day: int | None = Field(default=None, ge=0)


class WorkspaceLimits(QuotaLimits):
    """[quota.workspaces."platform:id"]: a community's overrides, and its share of the workers: with
    several communities waiting, each is served in turn, `share` jobs to another's 1."""

    share: float = Field(default=1.0, gt=0, le=100)


class QuotaConfig(BaseModel):
    """[quota]: defaults, then overrides per workspace, role and user ("platform:id" keys)."""

    model_config = STRICT

    images_per_hour: int = Field(default=10, ge=0)
    concurrent: int = Field(default=2, ge=0)
    workspace_images_per_day: int = Field(default=200, ge=0)
    describes_per_hour: int = Field(default=10, ge=0)  # /describe, free of image quota; 0 turns it off
    workspaces: dict[str, WorkspaceLimits] = Field(default_factory=dict)
    roles: dict[str, QuotaLimits] = Field(default_factory=dict)
    users: dict[str, QuotaLimits] = Field(default_factory=dict)

    def share_of(self, workspace_key: str) -> float:
        """The community's weight in the workers' fair order (shared/jobs/fair.py)."""
        limits = self.workspaces.get(workspace_key)
        return limits.share if limits is not None else 1.0


class ChannelsConfig(BaseModel):
    """[channels]: where the bot answers. An empty allow-list means every channel."""

    model_config = STRICT

    allow: list[str] = Field(default_factory=list)


class LimitsConfig(BaseModel):
    """[limits]: what one request may ask for."""

    model_config = STRICT

    prompt_max_chars: int = Field(default=1000, ge=1, le=32000)
    negative_max_chars: int = Field(default=500, ge=0, le=32000)
    max_count: int = Field(default=4, ge=1, le=10)
    source_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # a member's picture to start from


class JobsConfig(BaseModel):
    """[jobs]: retries, timeouts and how long results are kept."""

    model_config = STRICT

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

    model_config = STRICT

    bucket: str = Field(min_length=3)
    endpoint_url: str | None = None  # MinIO, Cloudflare R2, ...; unset: AWS S3
    region: str | None = None
    prefix: str = "imagine/"


class StorageConfig(BaseModel):
    """[storage]: where generated images are kept for delivery and refinement, and for how long."""

    model_config = STRICT

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

    model_config = STRICT

    ttl_days: float = Field(default=7, gt=0)
    max_turns: int = Field(default=50, ge=1)
    refine_by: Literal["owner", "anyone"] = "owner"  # whose replies in a thread refine its image


class PromptsConfig(BaseModel):
    """[prompts]: expansion of short ideas and merging of refinements by a chat model."""

    model_config = STRICT

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

    model_config = STRICT

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

    model_config = STRICT

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

    model_config = STRICT

    users: dict[str, str] = Field(default_factory=dict)  # name -> password hash (imagine web-password)
    session_days: float = Field(default=7, gt=0)
    # The TLS proxies in front of the page (their addresses): only their X-Forwarded-Proto and
    # X-Forwarded-For are believed, so the cookie is Secure and the throttle sees the real address.
    trusted_proxies: list[IPvAnyAddress] = Field(default_factory=list)
    # Where members reach the page (https://imagine.example.org): 🖌️ Vary (Region) in Discord and
    # Slack then opens the page's editor through a link for that member, valid this many minutes.
    public_url: AnyHttpUrl | None = None
    edit_link_minutes: int = Field(default=15, ge=1, le=24 * 60)

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

    model_config = STRICT

    channel: str = Field(min_length=1)
    stars: int = Field(default=3, ge=1)  # distinct members whose ⭐ it takes


class WorkspacesConfig(BaseModel):
    """[workspaces]: communities the bot serves. One that removes the bot (a Discord server) keeps its
    channel settings `forget_left_after_days`, in case it adds the bot back; then they are dropped."""

    model_config = STRICT

    forget_left_after_days: float = Field(default=7, ge=0)


class AppConfig(BaseModel):
    """Everything the TOML file may hold. Unknown keys are errors, so typos do not pass silently."""

    # Each backend's section ([openai], [diffusers], ...) is validated by the model its spec names and
    # kept as an extra attribute (config.openai); any other unknown section is an error.
    model_config = ConfigDict(frozen=True, extra="allow")

    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    presets: dict[str, Preset] = Field(default_factory=lambda: dict(DEFAULT_PRESETS))
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    threads: ThreadsConfig = Field(default_factory=ThreadsConfig)
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    workspaces: WorkspacesConfig = Field(default_factory=WorkspacesConfig)
    showcase: dict[str, ShowcaseConfig] = Field(default_factory=dict)  # by workspace ("discord:<id>")

    @model_validator(mode="wrap")
    @classmethod
    def _with_backend_sections(cls, data: Any, handler: ModelWrapValidatorHandler[AppConfig]) -> AppConfig:
        from shared.drawing.backends import BACKENDS  # the registry reads this module's types

        if not isinstance(data, dict):
            return handler(data)
        sections = {name: spec.config for name, spec in BACKENDS.items() if spec.config is not None}
        errors: list[InitErrorDetails] = []
        validated: dict[str, BaseModel] = {}
        for name, model in sections.items():
            try:
                validated[name] = model.model_validate(data.get(name, {}))
            except ValidationError as exc:
                errors += [_located(name, error) for error in exc.errors()]
        config = None
        try:
            config = handler({key: value for key, value in data.items() if key not in sections})
        except ValidationError as exc:
            errors = [*(_located(None, error) for error in exc.errors()), *errors]
        unknown = list(config.__pydantic_extra__ or {}) if config is not None else []
        errors += [InitErrorDetails(type="extra_forbidden", loc=(key,), input=data[key]) for key in unknown]
        if errors or config is None:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        config.__pydantic_extra__.update(validated)  # type: ignore[union-attr]
        config.__pydantic_fields_set__.update(name for name in sections if name in data)
        return config

    @field_validator("presets")
    @classmethod
    def _with_shipped_presets(cls, value: dict[str, Preset]) -> dict[str, Preset]:
        return {**DEFAULT_PRESETS, **{name.lower(): preset for name, preset in value.items()}}


def _located(section: str | None, error: Any) -> InitErrorDetails:
    """A validation error of a section, placed under the section's name."""
    location = (section, *error["loc"]) if section else tuple(error["loc"])
    return InitErrorDetails(type=error["type"], loc=location, input=error["input"], ctx=error.get("ctx", {}))


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
