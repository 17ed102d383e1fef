"""A real redis-server on a free port for the whole session, flushed around each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from bot.embedded import LocalRedis
from shared.configuration.config import AppConfig, load_config
from shared.configuration.settings import Settings, with_environment
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import ROOT, Processes, private_redis

# The browser's fixtures (browser, new_page, open_page), for every file that drives the page
pytest_plugins = ["tests.browser_harness"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


@pytest.fixture
def redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def config_file(tmp_path: Path):
    """Write a TOML config and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "imagine.toml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def make_settings(redis_url: str):
    """Settings as an operator would set them, with no .env file and an optional TOML config."""

    def make(config_path: Path | None = None, **values: object) -> Settings:
        settings = Settings(_env_file=None, **{"redis_url": redis_url, "config_path": config_path, **values})
        config: AppConfig = load_config(config_path)
        return settings.model_copy(update={"config": with_environment(config, settings)})

    return make


@pytest.fixture
def process_env(redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for `imagine` subprocesses: this Redis, no stray settings from the developer's shell.
    A test that unsets REDIS_URL may start this machine's own Redis under its HOME: it is stopped after."""
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "OPENAI_", "DISCORD_", "SLACK_"))
    }
    keep.pop("XDG_DATA_HOME", None)
    yield {
        **keep,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "HOME": str(tmp_path),
    }
    LocalRedis(tmp_path / ".local" / "share" / "imagine-bot" / "redis").stop()


@pytest.fixture
def processes(process_env: dict[str, str], tmp_path: Path, redis) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(process_env, logs)
    yield procs
    procs.close()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A local server speaking OpenAI's API (images, chat, moderation); `.env()` points a process at it."""
    with FakeOpenAI() as server:
        yield server


# The files that take longest start first: xdist hands out whole files (--dist loadfile) in the order
# they were collected, so three processes finish together instead of one ending with a long file.
# Measured with --durations=0 (seconds of test time): discord_http 130, slack_http 99, generate_cli 80,
# day_one 74, web 71, diffusers_families 66, diffusers_models 58.
SLOW_FILES_FIRST = (
    "test_discord_http.py",
    "test_slack_http.py",
    "test_generate_cli.py",
    "test_day_one.py",
    "test_web.py",
    "test_diffusers_families.py",
    "test_diffusers_models.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FILES_FIRST.index(name) if name in SLOW_FILES_FIRST else len(SLOW_FILES_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order
