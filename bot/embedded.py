"""This machine's own Redis: the embedded default when no Redis is configured and none answers.

One redis-server per user, on a Unix socket in the user's data folder with an append-only file beside
it, so every `imagine` process of that user finds the same one: quotas, thread memory, images and the
queue persist between runs, and `imagine worker &` then `imagine generate …` work together with no
Redis installed by hand or configured. It is started on first need and left running (it is small and
idle); `imagine stop` stops it. No TCP port: only this user's processes on this machine reach it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from shared.configuration.settings import DEFAULT_REDIS_URL, Settings
from shared.errors import ConfigError, ImagineError
from shared.ops.redis_conn import connect

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
MAX_SOCKET_PATH = 107  # bytes, the kernel's limit for a Unix socket's path


def data_folder() -> Path:
    """Where this user's Redis keeps its socket and data ($XDG_DATA_HOME, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "imagine-bot" / "redis"


@dataclass(frozen=True)
class LocalRedis:
    folder: Path

    @classmethod
    def of_this_user(cls) -> LocalRedis:
        return cls(data_folder())

    @property
    def socket(self) -> Path:
        """In the data folder; where that path is too long for a Unix socket, a name in the temporary
        folder made from it (the same for every process of this user)."""
        inside = self.folder / "redis.sock"
        if len(str(inside).encode()) <= MAX_SOCKET_PATH:
            return inside
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"imagine-redis-{os.getuid()}-{digest}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def running(self) -> bool:
        """Whether it answers now (it is never started by asking this)."""
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def ensure(self) -> str:
        """Its URL, starting it first when it is not running (once, whoever asks at the same time)."""
        if self.running():
            return self.url
        executable = shutil.which("redis-server")
        if executable is None:
            raise ConfigError(
                "no Redis is reachable (REDIS_URL is unset and none answers on localhost:6379) and "
                "redis-server is not installed to start this machine's own: `apt-get install -y "
                "redis-server`, or set REDIS_URL to a running Redis"
            )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock():
            if not self.running():
                self._start(executable)
        return self.url

    def stop(self) -> bool:
        """Shut it down (its append-only file is kept); whether it was running."""
        if not self.running():
            return False
        client = redis.Redis.from_url(self.url, socket_timeout=STOP_TIMEOUT)
        try:
            client.shutdown(nosave=False)
        except redis.ConnectionError:
            pass  # the answer to SHUTDOWN is the connection closing
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.folder / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _start(self, executable: str) -> None:
        self.socket.unlink(missing_ok=True)  # left by a machine that lost power
        subprocess.run(
            [
                executable,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--daemonize", "yes",
                "--pidfile", str(self.folder / "redis.pid"),
                "--logfile", str(self.folder / "redis.log"),
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(0.02)
        raise ConfigError(
            f"this machine's own Redis did not start (see {self.folder / 'redis.log'}); "
            "set REDIS_URL to a running Redis instead"
        )


def using_line(local: LocalRedis) -> str:
    return (
        f"using this machine's own Redis at {local.socket}: only processes on this machine reach it; "
        "set REDIS_URL to share one"
    )


def resolve_redis(settings: Settings, say: Callable[[str], None], *, start: bool = True) -> Settings:
    """The settings with the Redis to use: REDIS_URL when set (never another), else the default
    localhost:6379 when it answers, else this machine's own (started when `start`; the process says so
    in one line through `say`)."""
    if settings.redis_url_explicit:
        return settings
    try:
        connect(DEFAULT_REDIS_URL).close()
        return settings
    except ImagineError:
        pass
    local = LocalRedis.of_this_user()
    if not start and not local.running():
        return settings
    url = local.ensure()
    say(using_line(local))
    return settings.model_copy(update={"redis_url": url})


def is_local(settings: Settings) -> bool:
    """Whether these settings use this machine's own Redis."""
    return settings.redis_url == LocalRedis.of_this_user().url
