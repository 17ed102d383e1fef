"""Slack as a platform of `imagine`: its command (`imagine slack`) and its doctor check."""

from __future__ import annotations

import click

from bot.cli_support import EXIT_OTHER, extra, fail, role_options, with_redis
from bot.platforms import Platform
from bot.slack.doctor import check
from shared.errors import ConfigError
from shared.ops.logs import configure_logging


@click.command()
@click.option(
    "--socket",
    "mode",
    flag_value="socket",
    default=True,
    help="Socket Mode (default; needs SLACK_APP_TOKEN).",
)
@click.option(
    "--http", "mode", flag_value="http", help="Serve POST /slack/events (needs SLACK_SIGNING_SECRET)."
)
@click.option("--host", default="0.0.0.0", show_default=True, help="With --http: the address to listen on.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="With --http.")
@role_options
@click.pass_context
def slack(
    ctx: click.Context, mode: str, host: str, port: int, log_level: str, metrics_port: int | None
) -> None:
    """Run the Slack app: Socket Mode (default) or the HTTP endpoint."""
    with extra("slack", "slack"):
        from bot.slack.app import run_slack

    configure_logging(log_level)
    try:
        run_slack(
            with_redis(ctx),
            http=mode == "http",
            host=host,
            port=port,
            say=lambda t: click.echo(t, err=True),
            metrics_port=metrics_port,
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)


PLATFORM = Platform("slack", (slack,), doctor=check, extra="slack")
