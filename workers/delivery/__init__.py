"""Delivery back to where each request came from, one deliverer per platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from shared.errors import ConfigError, DeliveryImpossible
from shared.settings import Settings
from workers.delivery.base import DeliveredImage, Deliverer, JobResult, StatusUpdate

__all__ = ["DeliveredImage", "Deliverer", "Deliverers", "JobResult", "StatusUpdate", "build_deliverers"]


class Deliverers:
    """Platform name -> deliverer; a platform without one cannot be answered."""

    def __init__(self, by_platform: dict[str, Deliverer]) -> None:
        self._by_platform = by_platform

    def for_platform(self, platform: str) -> Deliverer:
        try:
            return self._by_platform[platform]
        except KeyError:
            raise DeliveryImpossible(f"this worker has no delivery configured for {platform!r}") from None


def build_deliverers(settings: Settings, redis: Redis) -> Deliverers:
    """Every deliverer this worker can use, from the settings it was given.

    A platform whose token is not set has no deliverer here: its jobs end with "cannot deliver".
    """
    from workers.delivery.local import LocalDeliverer

    by_platform: dict[str, Deliverer] = {"cli": LocalDeliverer(redis)}
    if settings.discord_token is not None:
        with _extra("discord", "DISCORD_TOKEN"):
            from workers.delivery.discord import DiscordDeliverer
        by_platform["discord"] = DiscordDeliverer(settings)
    if settings.slack_bot_token is not None:
        with _extra("slack", "SLACK_BOT_TOKEN"):
            from workers.delivery.slack import SlackDeliverer
        by_platform["slack"] = SlackDeliverer(settings)
    return Deliverers(by_platform)


@contextmanager
def _extra(name: str, token: str) -> Iterator[None]:
    """A platform's token is set but its client library is not installed: say which extra to add."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"{token} is set, so this worker posts {name} results, which needs the {name} extra "
            f"({exc.name} is missing): pip install 'imagine-bot[{name}]', or unset {token}"
        ) from None
