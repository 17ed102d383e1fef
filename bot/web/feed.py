"""What the page shows a member, as a Redis stream per member: the channel's prompts, each job's status
(replaced in place by job), its images with their buttons, failures and private answers.

Any frontend process may add to it (the one taking the command, the one posting the result) and any
may serve it: the page reads it from the start, then follows it (`XREAD BLOCK`), so a reload or a
second tab shows the same conversation and nothing posted while the page was closed is lost.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from shared import keys
from shared.round_trips import SharedRoundTrips

PLATFORM = "web"
FEED_LENGTH = 2000  # approximate: the newest messages of a member's conversation
BLOCK_MS = 15_000  # a follow ends its wait this often, so a closed page is noticed


class Feed:
    """`reads` is a client for the blocking follows (a connection per open page, while it waits);
    appends travel in the loop's shared round trips, so a burst's statuses go out together and never
    wait for a connection behind the pages' reads."""

    def __init__(self, reads: aioredis.Redis, writes: SharedRoundTrips) -> None:
        self._reads = reads
        self._writes = writes

    async def add(self, user: str, message: dict[str, Any]) -> str:
        """Append one message (given an `id` and a time); its stream id is the page's event id."""
        message = {"id": uuid.uuid4().hex[:12], "at": time.time(), **message}
        key, fields = keys.member_feed(PLATFORM, user), {"m": json.dumps(message)}
        [entry_id] = await self._writes.run(
            lambda pipe: pipe.xadd(key, fields, maxlen=FEED_LENGTH, approximate=True)  # type: ignore[arg-type]
        )
        if isinstance(entry_id, Exception):  # shared round trips hand errors back as values
            raise entry_id
        return entry_id.decode()

    async def follow(self, user: str, after: str = "0") -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """(event id, message) from `after` on, forever; a quiet stretch yields ("", {}) as a heartbeat."""
        key = keys.member_feed(PLATFORM, user)
        while True:
            answer = await self._reads.xread({key: after}, count=100, block=BLOCK_MS)
            if not answer:
                yield "", {}
                continue
            for entry_id, fields in answer[0][1]:
                after = entry_id.decode()
                yield after, json.loads(fields[b"m"])
