"""Request validation and settings, without Redis."""

from __future__ import annotations

import pytest

from shared.configuration.config import load_config
from shared.configuration.settings import Settings, load_settings
from shared.drawing.request import RequestOptions, build_request
from shared.drawing.sizes import aspect_size
from shared.errors import ConfigError, InvalidRequest
from tests.factories import requester


def build(config=None, **options):
    return build_request(
        RequestOptions(**{"prompt": "a fox", **options}),
        requester=requester(),
        event_id="e",
        config=config or load_config(None),
        default_backend="placeholder",
    )


def test_defaults_are_one_square_image_on_the_default_backend():
    request = build()
    assert (request.count, request.width, request.height, request.backend) == (1, 1024, 1024, "placeholder")


@pytest.mark.parametrize(
    ("aspect", "size"),
    [
        ("square", (1024, 1024)),
        ("portrait", (832, 1280)),
        ("landscape", (1280, 832)),
        ("16:9", (1344, 768)),
        ("tall", (768, 1344)),
    ],
)
def test_aspects_map_to_sizes_near_a_megapixel_in_multiples_of_64(aspect, size):
    assert aspect_size(aspect) == size


def test_prompt_keeps_newlines_and_unicode_but_is_trimmed():
    assert build(prompt="  un renard 🦊\nau crépuscule  ").prompt == "un renard 🦊\nau crépuscule"


def test_configured_prompt_limit_applies(config_file):
    config = load_config(config_file("[limits]\nprompt_max_chars = 10\n"))
    build(config, prompt="x" * 10)
    with pytest.raises(InvalidRequest, match="limit is 10"):
        build(config, prompt="x" * 11)


def test_presets_from_toml_join_the_shipped_ones(config_file):
    config = load_config(config_file('[presets.noir]\nprompt_suffix = "black and white, film noir"\n'))
    assert build(config, style="Noir").style == "noir"
    assert build(config, style="anime").style == "anime"


def test_settings_read_the_operator_contract_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("IMAGINE_BACKEND", "placeholder")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    settings = load_settings(env_file=None)
    assert settings.redis_url == "redis://example:6380/2" and settings.redis_url_explicit
    assert "sk-secret" not in repr(settings)


def test_dotenv_file_is_read(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    env = tmp_path / ".env"
    env.write_text("REDIS_URL=redis://from-dotenv:6379/0\n")
    assert load_settings(env_file=env).redis_url == "redis://from-dotenv:6379/0"


def test_unset_redis_url_is_not_explicit(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert Settings(_env_file=None).redis_url_explicit is False


def test_unknown_backend_setting_says_what_to_choose(monkeypatch):
    monkeypatch.setenv("IMAGINE_BACKEND", "dalle")
    with pytest.raises(
        ConfigError, match="IMAGINE_BACKEND='dalle': choose one of placeholder, openai, diffusers"
    ):
        load_settings(env_file=None)


def test_config_errors_name_the_file_and_the_key(config_file, tmp_path):
    path = config_file("[quota]\nconcurrent = -1\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and "quota.concurrent" in str(error.value)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(config_file("[quota\n"))
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.toml")
