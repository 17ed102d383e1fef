"""The web page as a platform of `imagine`: `imagine web` and `imagine web-password`."""

from __future__ import annotations

import click

from bot.cli_support import EXIT_INVALID, EXIT_OTHER, fail, role_options, with_redis
from bot.platforms import Platform
from shared.errors import ConfigError
from shared.ops.logs import configure_logging


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Another address serves other machines: needs IMAGINE_WEB_PASSWORD or [web.users].",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@role_options
@click.pass_context
def web(ctx: click.Context, host: str, port: int, log_level: str, metrics_port: int | None) -> None:
    """Run the bot in a web page: a channel, threads, buttons, no chat token needed."""
    from bot.web.run import run_web

    configure_logging(log_level)
    try:
        run_web(
            with_redis(ctx),
            host=host,
            port=port,
            say=lambda t: click.echo(t, err=True),
            metrics_port=metrics_port,
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)


@click.command("web-password")
@click.argument("name")
def web_password(name: str) -> None:
    """Make a login for `imagine web`: prints NAME's line for [web.users] (the password is asked)."""
    from bot.web.access import hash_password
    from shared.configuration.config import WEB_USER_NAME

    if not WEB_USER_NAME.fullmatch(name):
        fail(f"{name!r}: a user name is 1-32 lowercase letters, digits, '_', '.' or '-'", EXIT_INVALID)
    password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < 8:
        fail("use a password of at least 8 characters", EXIT_INVALID)
    click.echo("# under [web.users] in the config:", err=True)
    click.echo(f'{name} = "{hash_password(password)}"')


PLATFORM = Platform("web", (web, web_password))
