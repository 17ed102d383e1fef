"""Waiting on things with a deadline, and running real `imagine` processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import redis as redis_lib

from shared.jobs.queue import queue_name
from shared.jobs.recovery import count_live_workers

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], T], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        pause.wait(0.02)


async def wait_until_async(check: Callable[[], T], *, timeout: float = 10.0, what: str = "condition") -> T:
    """`wait_until` for tests that run an event loop: the loop keeps running while a thread waits."""
    import asyncio

    return await asyncio.to_thread(wait_until, check, timeout=timeout, what=what)


def answers_ok(url: str) -> bool:
    """Whether GET `url` answers 200 (a /healthz endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the tests' own on a free loopback port; with `aof`, it persists like production
    (appendonly, fsync every second) and can be SIGKILLed and started again on the same data."""

    def __init__(self, *, aof: bool = False, extra: tuple[str, ...] = ()) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(
                "redis-server is not installed: `apt-get install -y redis-server` (.ci/run does this)"
            )
        self.folder = tempfile.mkdtemp(prefix="imagine-redis-")
        self.port = free_port()
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
        self._args = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence]
        self._args += ["--dir", self.folder, *extra]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> str:
        self._process = subprocess.Popen(self._args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis_lib.exceptions.BusyLoadingError:
                return False  # still replaying its append-only file
            except redis_lib.ConnectionError:
                return False

        try:
            wait_until(answers, timeout=10, what="redis-server to start")
        finally:
            client.close()
        return self.url

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save; only what reached the append-only file survives."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_redis(*, aof: bool = False) -> Iterator[str]:
    """A throw-away redis-server (see RedisServer); yields its URL."""
    server = RedisServer(aof=aof)
    try:
        yield server.start()
    finally:
        server.stop()


def imagine_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


class Processes:
    """Started `imagine` processes, each in its own session, all killed (with children) at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / f"proc-{len(self.started)}.log", "wb")
        process = subprocess.Popen(
            imagine_command(*args),
            env={**self.env, **(extra_env or {})},
            cwd=self.logs,  # no stray .env from the checkout
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait()

    def serving(
        self, *args: str, env: dict[str, str], what: str, host: str = "127.0.0.1", port: int | None = None
    ) -> str:
        """Start an `imagine … --http` server on `port` (default: a free one); return its URL once
        /healthz answers."""
        port = port or free_port()
        process = self.start(*args, "--host", host, "--port", str(port), extra_env=env)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, self.log_of(process)
            return answers_ok(f"{url}/healthz")

        wait_until(healthy, timeout=20, what=what)
        return url

    def worker(self, env: dict[str, str], redis: redis_lib.Redis) -> None:
        """A placeholder-backend worker with `env`, once it is alive and registered on its queue (its
        liveness key comes a moment before RQ's registration)."""
        before = count_live_workers(redis, queue_name("placeholder"))
        self.start("worker", "--backend", "placeholder", extra_env=env)
        wait_until(
            lambda: count_live_workers(redis, queue_name("placeholder")) > before,
            timeout=20,
            what="a worker to start",
        )

    def log_of(self, process: subprocess.Popen) -> str:
        return (self.logs / f"proc-{self.started.index(process)}.log").read_text(errors="replace")
