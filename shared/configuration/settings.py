"""Settings from the environment (and a .env file), plus the TOML config; built once, passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.configuration.config import AppConfig, load_config
from shared.drawing.backends import BACKENDS
from shared.errors import ConfigError
from shared.ops.redis_conn import safe_url

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    """The operator contract's environment variables (the README's Configuration lists them)."""

    # `OPENAI_BASE_URL=` left empty (as .env.example and compose pass it) means unset, for every setting.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True, env_ignore_empty=True
    )

    redis_url: str = Field(default=DEFAULT_REDIS_URL, validation_alias="REDIS_URL")
    config_path: Path | None = Field(default=None, validation_alias="IMAGINE_CONFIG")
    backend: str = Field(default="placeholder", validation_alias="IMAGINE_BACKEND")
    placeholder_delay: float = Field(default=0.0, ge=0, validation_alias="IMAGINE_PLACEHOLDER_DELAY")

    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    image_model: str | None = Field(default=None, validation_alias="IMAGINE_IMAGE_MODEL")
    text_model: str | None = Field(default=None, validation_alias="IMAGINE_TEXT_MODEL")
    vision_model: str | None = Field(default=None, validation_alias="IMAGINE_VISION_MODEL")  # default: text
    diffusers_model: str | None = Field(default=None, validation_alias="IMAGINE_DIFFUSERS_MODEL")
    a1111_auth: SecretStr | None = Field(default=None, validation_alias="IMAGINE_A1111_AUTH")  # user:password
    horde_api_key: SecretStr | None = Field(default=None, validation_alias="HORDE_API_KEY")

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    discord_public_key: str | None = Field(default=None, validation_alias="DISCORD_PUBLIC_KEY")
    discord_api_base: str = Field(default=DEFAULT_DISCORD_API_BASE, validation_alias="DISCORD_API_BASE")
    discord_guild_id: int | None = Field(default=None, validation_alias="DISCORD_GUILD_ID")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    web_password: SecretStr | None = Field(default=None, validation_alias="IMAGINE_WEB_PASSWORD")

    config: AppConfig = Field(default_factory=AppConfig, exclude=True)

    def is_set(self, variable: str) -> bool:
        """Whether the environment variable `variable` (a field's alias, e.g. HORDE_API_KEY) is set."""
        for name, field in type(self).model_fields.items():
            if field.validation_alias == variable:
                return getattr(self, name) is not None
        return False

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "image_model",
        "text_model",
        "vision_model",
        "diffusers_model",
        "a1111_auth",
        "horde_api_key",
        "discord_token",
        "discord_public_key",
        "discord_guild_id",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "web_password",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`DISCORD_TOKEN=` left empty in .env.example means "not set", not an empty token."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _a_redis_url(cls, value: object) -> object:
        """`localhost:6379` (no scheme) is the usual slip: say how to write it."""
        if isinstance(value, str) and not value.strip():
            return DEFAULT_REDIS_URL
        if isinstance(value, str) and value.split("://", 1)[0] not in REDIS_SCHEMES:
            raise ValueError(
                f"{safe_url(value)!r} is not a Redis URL: write redis://HOST:PORT/DB "
                "(rediss:// for TLS, unix:///path/redis.sock for a socket, "
                "redis+sentinel://HOST:PORT,HOST:PORT/SERVICE for sentinels)"
            )
        return value

    @property
    def redis_url_explicit(self) -> bool:
        """Whether the operator chose a Redis (env or .env), so no private one may be started."""
        return "redis_url" in self.model_fields_set


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read the environment, the .env file and IMAGINE_CONFIG; raise ConfigError saying what to fix."""
    try:
        settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_input=False)
        )
        raise ConfigError(f"environment: {problems}") from None
    if settings.backend not in BACKENDS:
        raise ConfigError(f"IMAGINE_BACKEND={settings.backend!r}: choose one of {', '.join(BACKENDS)}")
    config = load_config(settings.config_path)
    return settings.model_copy(update={"config": with_environment(config, settings)})


def with_environment(config: AppConfig, settings: Settings) -> AppConfig:
    """What the environment overrides in the config, applied once here so every reader sees it:
    IMAGINE_IMAGE_MODEL is the OpenAI backend's default model (and offered to members)."""
    if settings.image_model is None:
        return config
    openai = config.openai
    models = (
        openai.models if settings.image_model in openai.models else [settings.image_model, *openai.models]
    )
    return config.model_copy(
        update={"openai": openai.model_copy(update={"default_model": settings.image_model, "models": models})}
    )
