"""/describe for every platform: a member's picture in, prompts out, each kept for its "Imagine
this" button. Free of image quota, limited per member per hour ([quota] describes_per_hour)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis import Redis

from bot.decoding import Decoding
from bot.interactions.ids import SUGGESTION
from shared import keys, messages
from shared.configuration.settings import Settings
from shared.drawing.requester import Requester
from shared.errors import InvalidRequest, Refused
from shared.quotas.hourly_limit import HourlyLimit
from shared.textmodels.describe import DescribeUnavailable, build_describer


def button_id(describe_id: str, index: int) -> str:
    return SUGGESTION.make(describe_id, index)


def parse_button(custom_id: str) -> tuple[str, int] | None:
    """(describe id, index) of an "Imagine this" button; None for any other id."""
    parts = SUGGESTION.read(custom_id)
    return None if parts is None else (parts["describe"], int(parts["index"]))


@dataclass(frozen=True)
class Described:
    describe_id: str  # what the buttons carry
    prompts: list[str]


class Describing:
    def __init__(self, settings: Settings, redis: Redis, decoding: Decoding) -> None:
        self._settings = settings
        self._redis = redis
        self._decoding = decoding
        self._describer = build_describer(settings)
        self._ttl = int(settings.config.threads.ttl_days * 86400)

    @property
    def available(self) -> bool:
        return self._describer is not None and self._settings.config.quota.describes_per_hour > 0

    def limit(self, requester: Requester) -> HourlyLimit:
        per_hour = self._settings.config.quota.describes_per_hour
        return HourlyLimit(self._redis, keys.describes(requester.user_key), per_hour)

    async def begin(self, requester: Requester) -> str:
        """Take one of the member's describes this hour (one Redis round trip, so before the ack);
        raises InvalidRequest or Refused with the member's message."""
        if self._describer is None:
            raise InvalidRequest(messages.describe_not_configured())
        if not self.available:
            raise InvalidRequest(messages.describe_turned_off())
        use = await asyncio.to_thread(self.limit(requester).take)
        if not isinstance(use, str):
            per_hour = self._settings.config.quota.describes_per_hour
            raise Refused(messages.describe_limit(per_hour, use), rule="describe", retry_after=use)
        return use

    async def describe(
        self, requester: Requester, use: str, fetch: Callable[[], Awaitable[bytes]]
    ) -> Described:
        """Prompts for the picture `fetch` downloads from the platform; raises InvalidRequest with the
        member's message, and then the use is given back."""
        assert self._describer is not None  # begin() said so
        try:
            picture = await self._decoding.checked(await fetch())
            prompts = await asyncio.to_thread(self._describer.describe, picture)
        except (InvalidRequest, DescribeUnavailable) as exc:
            await asyncio.to_thread(self.limit(requester).give_back, use)
            if isinstance(exc, InvalidRequest):
                raise
            raise InvalidRequest(messages.describe_unavailable(str(exc))) from None
        described = Described(uuid.uuid4().hex[:16], prompts)
        await asyncio.to_thread(
            self._redis.set, keys.suggestions(described.describe_id), json.dumps(prompts), ex=self._ttl
        )
        return described

    def suggestion(self, describe_id: str, index: int) -> str | None:
        """The prompt behind an "Imagine this" button; None once it has expired."""
        raw = self._redis.get(keys.suggestions(describe_id))
        prompts = json.loads(raw) if raw else []
        return prompts[index] if 0 <= index < len(prompts) else None
