"""`imagine discord`: start-up checks that say what to fix, then the gateway bot or the HTTP endpoint."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable

import discord
from aiohttp import web

from bot.core import ImagineCore
from bot.discord.client import ImagineClient
from bot.discord.frontend import DiscordFrontend
from shared.configuration.settings import Settings
from shared.errors import ConfigError
from shared.ops.redis_conn import connect, connect_async

log = logging.getLogger(__name__)
PORTAL = "https://discord.com/developers/applications"
NO_TOKEN = f"DISCORD_TOKEN is not set: in {PORTAL} open your app → Bot → Reset Token, and put it in .env"
BAD_TOKEN = f"DISCORD_TOKEN was rejected by Discord: copy the bot token again ({PORTAL} → your app → Bot)"
NO_INTENT = (
    "the Message Content intent is off, so replies in threads cannot be read: turn on "
    f"{PORTAL} → your app → Bot → Privileged Gateway Intents → Message Content Intent"
)
BACKLOG = 1024  # bursts of interactions arrive at once; a full accept queue costs a 1 s SYN retry
NO_PUBLIC_KEY = f"DISCORD_PUBLIC_KEY is not set: copy it from {PORTAL} → your app → General Information"


def run_discord(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    sync_commands: bool,
    say: Callable[[str], None],
    metrics_port: int | None = None,
) -> None:
    """Run until SIGTERM or SIGINT; configuration problems raise ConfigError with the fix."""
    if settings.discord_token is None:
        raise ConfigError(NO_TOKEN)
    if http and not settings.discord_public_key:
        raise ConfigError(NO_PUBLIC_KEY)
    client = build_client(settings, gateway=not http, sync_commands=sync_commands)
    if metrics_port is not None:
        client.frontend.core.metrics.serve(metrics_port)
    main = _serve_http(client, settings, host, port, say) if http else _serve_gateway(client, settings, say)
    asyncio.run(main)


def build_client(settings: Settings, *, gateway: bool, sync_commands: bool) -> ImagineClient:
    """The client with its frontend, pointed at DISCORD_API_BASE; not logged in yet."""
    discord.http.Route.BASE = settings.discord_api_base.rstrip("/")  # discord.py's one API setting
    frontend = DiscordFrontend(
        ImagineCore(settings, connect(settings.redis_url), aredis=connect_async(settings.redis_url))
    )
    return ImagineClient(
        frontend, gateway=gateway, sync_commands=sync_commands, guild_id=settings.discord_guild_id
    )


async def _login(client: ImagineClient, settings: Settings, say: Callable[[str], None]) -> None:
    assert settings.discord_token is not None
    try:
        await client.login(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        raise ConfigError(BAD_TOKEN) from None
    say(f"logged in as {client.user} (application {client.application_id})")
    say(f"invite link: {client.invite_link()}")


async def _serve_gateway(client: ImagineClient, settings: Settings, say: Callable[[str], None]) -> None:
    async with client:
        await _login(client, settings, say)
        if not client.can_read_replies():
            raise ConfigError(NO_INTENT)
        _stop_on_signals(client.close)
        try:
            await client.connect()
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(NO_INTENT) from None


async def _serve_http(
    client: ImagineClient, settings: Settings, host: str, port: int, say: Callable[[str], None]
) -> None:
    from bot.discord.http_interactions import InteractionsServer

    async with client:
        await _login(client, settings, say)
        server = InteractionsServer(client, settings.discord_public_key or "", client.frontend.core.redis)
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        # reuse_port: several frontend processes may listen on one port; the kernel spreads the load.
        site = web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_port=True)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
            ) from None
        say(f"serving Discord interactions at http://{host}:{port}/interactions")
        client.frontend.core.metrics.ready.set(1)
        # What start-up made (libraries, commands, config) stays: out of the collector's sight, a
        # full collection during a burst only walks what the burst made.
        gc.freeze()
        stopped = asyncio.Event()
        _stop_on_signals(stopped.set)
        await stopped.wait()
        await runner.cleanup()  # stop taking requests; running handlers finish first


def _stop_on_signals(stop: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()

    def handler() -> None:
        result = stop()
        if asyncio.iscoroutine(result):
            loop.create_task(result)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handler)
