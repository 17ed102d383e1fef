"""A real redis-server on a free port for the whole session, flushed around each test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from shared.config import AppConfig, load_config
from shared.settings import Settings
from tests.helpers import ROOT, Processes, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed: `apt-get install -y redis-server` (.ci/run does this)")
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis_lib.Redis.from_url(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis_lib.ConnectionError:
            return False

    wait_until(answers, timeout=10, what="redis-server to start")
    yield url
    process.terminate()
    process.wait(timeout=10)


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
        settings = Settings(_env_file=None, redis_url=redis_url, config_path=config_path, **values)
        config: AppConfig = load_config(config_path)
        return settings.model_copy(update={"config": config})

    return make


@pytest.fixture
def process_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for `imagine` subprocesses: this Redis, no stray settings from the developer's shell."""
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "OPENAI_", "DISCORD_", "SLACK_"))
    }
    return {
        **keep,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "HOME": str(tmp_path),
    }


@pytest.fixture
def processes(process_env: dict[str, str], tmp_path: Path, redis) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(process_env, logs)
    yield procs
    procs.close()
