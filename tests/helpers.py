"""Waiting on things with a deadline, and running real `imagine` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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

    def log_of(self, process: subprocess.Popen) -> str:
        return (self.logs / f"proc-{self.started.index(process)}.log").read_text(errors="replace")
