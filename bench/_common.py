"""Shared bits for benchmarks: worker processes, percentiles, tables (a private Redis comes from tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID
from tests.helpers import private_redis  # noqa: F401  (re-exported for the benchmarks)

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def background(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A process in its own session, killed with its children at the end."""
    process = subprocess.Popen(
        args,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["BENCH_STDERR"], "ab")
        if os.environ.get("BENCH_STDERR")
        else subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


ACK_HEADERS = ["round", "concurrent /imagine", "p50 ms", "p99 ms", "max ms"]


def ack_row(round_number: int, requests: int, seconds: list[float]) -> list[str]:
    """One round of an acknowledgement benchmark, in milliseconds."""
    ms = [t * 1000 for t in seconds]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    return [str(round_number), str(requests), f"{p50:.1f}", f"{p99:.1f}", f"{max(ms):.1f}"]


def small_request(platform: str, number: int, label: str, *, members: int = 50) -> ImageRequest:
    """A 64x64 placeholder request from one of `members` members: of the command line, or of a thread
    in the fake Discord (no status message, so only the images show there)."""
    user = str(number % members)
    if platform == "discord":
        who = Requester(
            platform="discord", workspace=GUILD_ID, channel=CHANNEL_ID, thread=CHANNEL_ID, user=user
        )
    else:
        who = Requester(platform="cli", workspace="bench", channel="cli", user=f"member{user}")
    return ImageRequest(
        event_id=f"{label}-{platform}-{number}",
        requester=who,
        prompt=f"{label} image {number}",
        width=64,
        height=64,
        seed=number,
    )
