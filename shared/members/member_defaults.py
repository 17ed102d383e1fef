"""What a member sets once instead of typing flags every time, and what a channel's managers set for
everyone there. Precedence, for a new /imagine: the flags typed > the member's defaults > the
channel's defaults > the workspace config. Follow-ups (reroll, variation, refine) keep their turn's
settings and read none of these.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict
from redis import Redis

from shared import keys
from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.request import RequestOptions
from shared.drawing.requester import Requester
from shared.jobs.round_trips import SharedRoundTrips

_STORED = ConfigDict(frozen=True, extra="ignore")  # a field removed by an upgrade is dropped, not fatal


class MemberDefaults(BaseModel):
    """A member's own defaults (`/settings`); None: not set."""

    model_config = _STORED

    style: str | None = None
    aspect: str | None = None
    count: int | None = None
    model: str | None = None
    enhance: bool | None = None
    face_fix: bool | None = None  # where the backend has a face restorer
    negative: str | None = None
    private: bool | None = None  # results in the member's DM with the bot (a delivery choice)


class ChannelDefaults(BaseModel):
    """A channel's defaults, set by those who manage it; None: not set (the config decides)."""

    model_config = _STORED

    style: str | None = None
    model: str | None = None
    refine_by: Literal["owner", "anyone"] | None = None


def applied(
    options: RequestOptions, channel: ChannelDefaults, member: MemberDefaults, config: AppConfig, backend: str
) -> RequestOptions:
    """`options` with every option not typed taken from the member's defaults, then the channel's.
    A default that no longer fits the config (a preset or model removed since) is skipped, so a stale
    setting never blocks a prompt; the config's default applies instead."""
    layers = [
        _usable(channel.model_dump(exclude={"refine_by"}), config, backend),
        _usable(member.model_dump(exclude={"private"}), config, backend),
    ]
    merged = {name: value for layer in layers for name, value in layer.items() if value is not None}
    given = {name: getattr(options, name) for name in merged if getattr(options, name) is not None}
    return dataclasses.replace(options, **{**merged, **given})


def _usable(values: dict, config: AppConfig, backend: str) -> dict:
    usable = dict(values)
    if usable.get("style") is not None and usable["style"] not in config.presets:
        usable["style"] = None
    if usable.get("model") is not None and usable["model"] not in BACKENDS[backend].models(config):
        usable["model"] = None
    if not BACKENDS[backend].offers("face_fix", config):
        usable["face_fix"] = None
    return usable


class DefaultsStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def member(self, requester: Requester) -> MemberDefaults:
        return MemberDefaults.model_validate_json(self._redis.get(_member_key(requester)) or b"{}")

    def channel(self, requester: Requester) -> ChannelDefaults:
        return ChannelDefaults.model_validate_json(self._redis.get(_channel_key(requester)) or b"{}")

    async def both(
        self, round_trips: SharedRoundTrips, requester: Requester
    ) -> tuple[ChannelDefaults, MemberDefaults]:
        """The channel's and the member's, in the loop's shared round trip (on the ack path)."""
        channel, member = await round_trips.run(
            lambda pipe: pipe.get(_channel_key(requester)).get(_member_key(requester))
        )
        for reply in (channel, member):
            if isinstance(reply, Exception):
                raise reply
        return (
            ChannelDefaults.model_validate_json(channel or b"{}"),
            MemberDefaults.model_validate_json(member or b"{}"),
        )

    def save_member(self, requester: Requester, defaults: MemberDefaults) -> None:
        self._redis.set(_member_key(requester), _json(defaults))

    def save_channel(self, requester: Requester, defaults: ChannelDefaults) -> None:
        self._redis.set(_channel_key(requester), _json(defaults))


def _json(defaults: BaseModel) -> str:
    return json.dumps(defaults.model_dump(exclude_none=True))


def _member_key(requester: Requester) -> str:
    return keys.member_defaults(requester.user_key)


def _channel_key(requester: Requester) -> str:
    return keys.channel_defaults(requester.platform, requester.workspace, requester.channel)
