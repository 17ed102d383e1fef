"""Starting `imagine web` with a placeholder worker for the web tests (HTTP and browser)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis as redis_lib

from tests.helpers import Processes


def start_web(
    processes: Processes, redis: redis_lib.Redis, config_file: Callable[[str], Path], config: str
) -> str:
    """The page's URL once it answers, with a worker serving its jobs; `config` is TOML (may be empty)."""
    env = {"IMAGINE_CONFIG": str(config_file(config))} if config else {}
    processes.worker(env, redis)
    return processes.serving("web", env=env, what="imagine web")
