"""Discord as a platform of `imagine`: its command (`imagine discord`) and its doctor check."""

from __future__ import annotations

import click

from bot.cli_support import EXIT_OTHER, extra, fail, role_options, with_redis
from bot.discord.doctor import check
from bot.platforms import Platform
from shared.errors import ConfigError
from shared.ops.logs import configure_logging


@click.command()
@click.option("--http", "http", is_flag=True, help="Serve HTTP interactions at POST /interactions instead.")
@click.option("--host", default="0.0.0.0", show_default=True, help="With --http: the address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="With --http.")
@click.option("--sync/--no-sync", default=True, show_default=True, help="Sync slash commands at start-up.")
@role_options
@click.pass_context
def discord(
    ctx: click.Context, http: bool, host: str, port: int, sync: bool, log_level: str, metrics_port: int | None
) -> None:
    """Run the Discord bot: the gateway (default) or the HTTP interactions endpoint."""
    with extra("discord", "discord"):
        from bot.discord.run import run_discord

    configure_logging(log_level)
    try:
        run_discord(
            with_redis(ctx),
            http=http,
            host=host,
            port=port,
            sync_commands=sync,
            say=lambda t: click.echo(t, err=True),
            metrics_port=metrics_port,
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)


PLATFORM = Platform("discord", (discord,), doctor=check, extra="discord")
