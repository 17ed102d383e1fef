"""`imagine web`: serve the page, post its results, and — on this machine's own Redis with no worker of
the default backend — bring a worker along, so one command on a fresh machine shows the whole bot."""

from __future__ import annotations

import asyncio
import errno
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
from bot.embedded import is_local
from bot.results import RESULTS_SOCKET_TIMEOUT, ResultConsumer
from bot.web.access import Access
from bot.web.deliver import WebPoster
from bot.web.feed import BLOCK_MS, PLATFORM, Feed
from bot.web.frontend import WebFrontend
from bot.web.server import WebServer
from bot.web.sessions import Sessions, load_secret
from bot.web.throttle import LoginThrottle
from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.errors import ConfigError
from shared.jobs.queue import lane, queue_name
from shared.jobs.recovery import count_live_workers
from shared.ops.redis_conn import connect, connect_async

BACKLOG = 1024
FEED_CONNECTIONS = (
    256  # pages following their feed at once, per process (each member at most feed.PER_MEMBER)
)
SHUTDOWN_SECONDS = 0.8  # open feeds get this long at a stop: Ctrl-C stops the page within 2 s


def run_web(
    settings: Settings,
    *,
    host: str,
    port: int,
    say: Callable[[str], None],
    metrics_port: int | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; `settings` name the Redis to use (bot.embedded.resolve_redis)."""
    access = Access(settings.config.web.users, settings.web_password)
    _check_host(host, access)
    if not _loopback(host) and not settings.config.web.trusted_proxies:
        say(
            f"warning: --host {host} serves plain HTTP, so passwords and session cookies travel in clear: "
            "put a TLS proxy in front and name it in [web] trusted_proxies"
        )
    with ExitStack() as stack:
        if is_local(settings) and not _served(settings):
            stack.enter_context(_worker(settings.redis_url, settings.backend))
            say(f"no {settings.backend} worker is running: started one for this page")
        asyncio.run(_serve(settings, access, host, port, say, metrics_port))


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _served(settings: Settings) -> bool:
    spec = BACKENDS[settings.backend]
    return (
        count_live_workers(
            connect(settings.redis_url),
            queue_name(lane(settings.backend, spec.default_model(settings.config))),
        )
        > 0
    )


def _check_host(host: str, access: Access) -> None:
    """Serving other machines needs a login: a page anyone on the network could use would spend the
    operator's quota and GPU for them."""
    if not _loopback(host) and not access.required:
        raise ConfigError(
            f"--host {host} serves other machines, so the page needs a login: set IMAGINE_WEB_PASSWORD "
            "(one shared password), or name users under [web.users] in the config "
            "(`imagine web-password NAME` prints a user's line)"
        )


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
    settings: Settings,
    access: Access,
    host: str,
    port: int,
    say: Callable[[str], None],
    metrics_port: int | None,
) -> None:
    redis_url = settings.redis_url
    aredis = connect_async(redis_url)
    core = ImagineCore(settings, connect(redis_url), aredis=aredis)
    # The feed's reads block for BLOCK_MS: their own client, whose reads may wait that long.
    reads = connect_async(redis_url, socket_timeout=BLOCK_MS / 1000 + 10, connections=FEED_CONNECTIONS)
    assert core.round_trips is not None  # made above from `aredis`
    feed = Feed(reads, core.round_trips)
    frontend = WebFrontend(core, feed)
    session_seconds = round(settings.config.web.session_days * 86400)
    sessions = Sessions(
        await load_secret(aredis), access, max_age_seconds=session_seconds, revocations=aredis
    )
    server = WebServer(frontend, access, sessions, LoginThrottle(aredis), host=host, port=port)
    results = ResultConsumer(
        connect_async(redis_url, socket_timeout=RESULTS_SOCKET_TIMEOUT), PLATFORM, WebPoster(feed), core
    )
    # Open pages hold their feed for minutes: at a stop they get SHUTDOWN_SECONDS, then are closed.
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=BACKLOG)  # no reuse_port: one page per port
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"port {port} is in use (another `imagine web`?): stop that one or choose another --port"
            if exc.errno == errno.EADDRINUSE
            else f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host"
        ) from None
    if metrics_port is not None:
        core.metrics.serve(metrics_port)
    core.metrics.ready.set(1)
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
    await asyncio.gather(runner.cleanup(), _finish(posting))


async def _finish(posting: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(posting, SHUTDOWN_SECONDS)
    except TimeoutError:
        pass  # another frontend takes the entry over
