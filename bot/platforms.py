"""The chat platforms `imagine` serves, registered here one line each. A platform is a folder of
bot/ (events in, its surface, rendering, result delivery, run) whose `entry` module declares its
`imagine` commands and its doctor check, importing its SDK only when a command runs, so the CLI and
doctor load without any platform's extra installed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from shared.configuration.settings import Settings
    from shared.ops.checks import Check


@dataclass(frozen=True)
class Platform:
    name: str
    commands: tuple[click.Command, ...]  # its `imagine` subcommands
    doctor: Callable[[Settings], Iterator[Check]] | None = None  # its lines of `imagine doctor`
    extra: str | None = None  # the pip extra its SDK comes in


def platforms() -> tuple[Platform, ...]:
    from bot.discord import entry as discord
    from bot.slack import entry as slack
    from bot.web import entry as web

    return (discord.PLATFORM, slack.PLATFORM, web.PLATFORM)
