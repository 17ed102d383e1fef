"""Starting `imagine web` with a placeholder worker for the web tests (HTTP and browser)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis as redis_lib

from bot.web.access import hash_password
from tests.helpers import Processes


def start_web(
    processes: Processes,
    redis: redis_lib.Redis,
    config_file: Callable[[str], Path],
    config: str,
    *,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> str:
    """The page's URL once it answers, with a worker serving its jobs; `config` is TOML (may be empty).
    The URL always reaches it through 127.0.0.1, whichever `host` it listens on."""
    env = {**({"IMAGINE_CONFIG": str(config_file(config))} if config else {}), **(env or {})}
    processes.worker(env, redis)
    return processes.serving("web", env=env, what="imagine web", host=host, port=port)


def user_line(name: str, password: str) -> str:
    """One user's line under `[web.users]`, as `imagine web-password` prints it."""
    return f'{name} = "{hash_password(password)}"\n'
