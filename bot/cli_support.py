"""What every `imagine` subcommand shares: one-line failures with their exit codes, the extra a
command needs, the settings with the Redis to use, and the long-running roles' options."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from shared.configuration.settings import Settings
from shared.errors import ConfigError
from shared.ops.logs import LEVELS

EXIT_OTHER, EXIT_INVALID, EXIT_REFUSED = 1, 2, 3


def fail(message: str, code: int) -> None:
    click.echo(f"imagine: {message}", err=True)
    sys.exit(code)


@contextmanager
def extra(name: str, command: str) -> Iterator[None]:
    """Imports of an optional extra: a base install says which extra to add, not a traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        fail(
            f"`imagine {command}` needs the {name} extra ({exc.name} is missing): "
            f"pip install 'imagine-bot[{name}]'",
            EXIT_OTHER,
        )


def settings_of(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def with_redis(ctx: click.Context, *, start: bool = True) -> Settings:
    """The settings with the Redis this command uses: REDIS_URL, localhost:6379, or this machine's own
    (started on first need, said in one line)."""
    from bot.embedded import resolve_redis

    try:
        return resolve_redis(
            settings_of(ctx), lambda text: click.echo(f"imagine: {text}", err=True), start=start
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)
        raise  # unreachable: fail() exits


def role_options(command: Callable[..., None]) -> Callable[..., None]:
    """What every long-running role takes: its log level and the port of its Prometheus metrics."""
    command = click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Serve Prometheus metrics at http://HOST:PORT/metrics.",
    )(command)
    return click.option(
        "--log-level",
        type=click.Choice(LEVELS, case_sensitive=False),
        default="INFO",
        show_default=True,
    )(command)
