"""`imagine web`: serve the page, post its results, and — when no Redis is configured or reachable — bring
a private Redis and a worker along, so one command on a fresh machine shows the whole bot."""

from __future__ import annotations

import asyncio
import gc
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
from bot.web.access import Access
from bot.web.deliver import WebPoster
from bot.web.feed import BLOCK_MS, PLATFORM, Feed
from bot.web.frontend import WebFrontend
from bot.web.server import WebServer
from bot.web.sessions import Sessions, load_secret
from bot.web.throttle import LoginThrottle
from shared.errors import ConfigError, ImagineError
from shared.redis_conn import connect, connect_async
from shared.settings import Settings

BACKLOG = 1024
FEED_CONNECTIONS = 64  # pages following their feed at once, per process
SHUTDOWN_GRACE_SECONDS = 5


def run_web(settings: Settings, *, host: str, port: int, say: Callable[[str], None]) -> None:
    access = Access(settings.config.web.users, settings.web_password)
    _check_host(host, access)
    with ExitStack() as stack:
        url = _redis_url(settings, stack, say)
        asyncio.run(_serve(settings, access, url, host, port, say))


def _check_host(host: str, access: Access) -> None:
    """Serving other machines needs a login: a page anyone on the network could use would spend the
    operator's quota and GPU for them."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not access.required:
        raise ConfigError(
            f"--host {host} serves other machines, so the page needs a login: set IMAGINE_WEB_PASSWORD "
            "(one shared password), or name users under [web.users] in the config "
            "(`imagine web-password NAME` prints a user's line)"
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
    settings: Settings, access: Access, redis_url: str, host: str, port: int, say: Callable[[str], None]
) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url})
    aredis = connect_async(redis_url)
    core = ImagineCore(settings, connect(redis_url), aredis=aredis)
    # The feed's reads block for BLOCK_MS: their own client, whose reads may wait that long.
    reads = connect_async(redis_url, socket_timeout=BLOCK_MS / 1000 + 10, connections=FEED_CONNECTIONS)
    assert core.round_trips is not None  # made above from `aredis`
    feed = Feed(reads, core.round_trips)
    frontend = WebFrontend(core, feed)
    session_seconds = round(settings.config.web.session_days * 86400)
    sessions = Sessions(await load_secret(aredis), access, max_age_seconds=session_seconds)
    server = WebServer(frontend, access, sessions, LoginThrottle(aredis), host=host, port=port)
    results = ResultConsumer(connect_async(redis_url, socket_timeout=30), PLATFORM, WebPoster(feed), core)
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_port=True)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    posting = asyncio.create_task(results.run(), name="web-results")
    gc.freeze()  # what start-up made stays out of the collector's sight (as in bot/discord/run.py)
    login = " (log in to use it)" if access.required else ""
    say(f"the bot is at http://{host}:{port}/{login} (Ctrl-C stops it)")
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
