"""What the page shows a member, as a Redis stream per member: the channel's prompts, each job's status
(replaced in place by job), its images with their buttons, failures and private answers.

Any frontend process may add to it (the one taking the command, the one posting the result) and any
may serve it: the page reads it from the start, then follows it (`XREAD BLOCK`), so a reload or a
second tab shows the same conversation and nothing posted while the page was closed is lost.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from shared import keys
from shared.jobs.round_trips import SharedRoundTrips

PLATFORM = "web"
FEED_LENGTH = 2000  # approximate: the newest messages of a member's conversation
BLOCK_MS = 15_000  # a follow ends its wait this often, so a closed page is noticed
PER_MEMBER = 4  # pages one member follows at once, per process


class Superseded(Exception):
    """This page's follow was closed: the member opened more pages than a member may follow at once."""


class Feed:
    """`reads` is a client for the blocking follows (a connection per open page, while it waits);
    appends travel in the loop's shared round trips, so a burst's statuses go out together and never
    wait for a connection behind the pages' reads. A member follows from at most `per_member` pages
    per process: a new one closes their oldest, so one member cannot hold every connection of
    `reads` and stall everyone else's feed."""

    def __init__(
        self, reads: aioredis.Redis, writes: SharedRoundTrips, *, per_member: int = PER_MEMBER
    ) -> None:
        self._reads = reads
        self._writes = writes
        self._per_member = per_member
        self._open: dict[str, deque[asyncio.Event]] = {}

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
        """(event id, message) from `after` on, until a newer page of the member's supersedes this one
        (raises Superseded); a quiet stretch yields ("", {}) as a heartbeat."""
        key = keys.member_feed(PLATFORM, user)
        closed = asyncio.Event()
        pages = self._open.setdefault(user, deque())
        pages.append(closed)
        while len(pages) > self._per_member:
            pages.popleft().set()
        try:
            while True:
                answer = await self._read_unless(closed, key, after)
                if not answer:
                    yield "", {}
                    continue
                for entry_id, fields in answer[0][1]:
                    after = entry_id.decode()
                    yield after, json.loads(fields[b"m"])
        finally:
            if closed in pages:
                pages.remove(closed)
            if not pages:
                self._open.pop(user, None)

    async def _read_unless(self, closed: asyncio.Event, key: str, after: str) -> Any:
        read = asyncio.ensure_future(self._reads.xread({key: after}, count=100, block=BLOCK_MS))
        stop = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the page went away mid-wait: neither is left running
            stop.cancel()
            if not read.done():
                read.cancel()  # redis-py drops that connection: the pool makes a fresh one
        if closed.is_set():
            raise Superseded
        return read.result()
