"""`imagine web`: serve the page, post its results, and — when no Redis is configured or reachable — bring
a private Redis and a worker along, so one command on a fresh machine shows the whole bot."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from aiohttp import web

from bot.core import ImagineCore
from bot.embedded import PrivateRedis
from bot.results import ResultConsumer
from bot.web.deliver import WebPoster
from bot.web.feed import BLOCK_MS, PLATFORM, Feed
from bot.web.frontend import WebFrontend
from bot.web.server import WebServer
from shared.errors import ConfigError, ImagineError
from shared.redis_conn import connect, connect_async
from shared.settings import Settings

BACKLOG = 1024
FEED_CONNECTIONS = 64  # pages following their feed at once, per process
SHUTDOWN_GRACE_SECONDS = 5


def run_web(settings: Settings, *, host: str, port: int, say: Callable[[str], None]) -> None:
    _check_host(host)
    with ExitStack() as stack:
        url = _redis_url(settings, stack, say)
        asyncio.run(_serve(settings, url, host, port, say))


def _check_host(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"--host {host}: the page has no login yet, so it serves this machine only "
            "(--host 127.0.0.1, the default); reach it from elsewhere through an SSH tunnel"
        )


def _redis_url(settings: Settings, stack: ExitStack, say: Callable[[str], None]) -> str:
    """The configured Redis; or, when none is configured and none answers, a private one with a
    worker of the default backend beside it."""
    try:
        connect(settings.redis_url)
        return settings.redis_url
    except ImagineError:
        if settings.redis_url_explicit:
            raise
    url = stack.enter_context(PrivateRedis())
    stack.enter_context(_worker(url, settings.backend))
    say(f"no Redis at REDIS_URL: running a private Redis and a {settings.backend} worker for this page")
    return url


@contextmanager
def _worker(redis_url: str, backend: str) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--backend", backend, "--log-level", "WARNING"],
        env={**os.environ, "REDIS_URL": redis_url},
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _serve(
    settings: Settings, redis_url: str, host: str, port: int, say: Callable[[str], None]
) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url})
    core = ImagineCore(settings, connect(redis_url), aredis=connect_async(redis_url))
    # The feed's reads block for BLOCK_MS: its own client, whose reads may wait that long.
    feed = Feed(connect_async(redis_url, socket_timeout=BLOCK_MS / 1000 + 10, connections=FEED_CONNECTIONS))
    frontend = WebFrontend(core, feed)
    results = ResultConsumer(connect_async(redis_url, socket_timeout=30), PLATFORM, WebPoster(feed), core)
    runner = web.AppRunner(WebServer(frontend, host=host, port=port).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_port=True)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    posting = asyncio.create_task(results.run(), name="web-results")
    say(f"the bot is at http://{host}:{port}/ (Ctrl-C stops it)")
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    results.stop()
    try:
        await asyncio.wait_for(posting, SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        pass  # another frontend takes the entry over
    await runner.cleanup()
