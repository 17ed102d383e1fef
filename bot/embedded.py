"""The embedded default for `imagine generate`: a private redis-server when none is configured."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from shared.errors import ConfigError

START_TIMEOUT = 10.0


class PrivateRedis:
    """A throw-away redis-server on a Unix socket in a temporary folder, no TCP port, no persistence."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        executable = shutil.which("redis-server")
        if executable is None:
            raise ConfigError(
                "no Redis is reachable at REDIS_URL and redis-server is not installed: "
                "install it (apt-get install redis-server) or set REDIS_URL to a running Redis"
            )
        self._folder = Path(tempfile.mkdtemp(prefix="imagine-redis-"))
        socket_path = self._folder / "redis.sock"
        self._process = subprocess.Popen(
            [
                executable,
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"unix://{socket_path}?db=0"
        self._wait_until_ready(url)
        return url

    def _wait_until_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis.from_url(url)
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.02)
        self.__exit__()
        raise ConfigError("the private redis-server did not start; set REDIS_URL to a running Redis instead")

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
