"""Round trips shared by the coroutines of one event loop: a group commit for short Redis commands.

Whatever the handlers of one loop iteration queue goes to Redis in one pipeline, so a burst of
requests costs a few round trips instead of one each, and none of them holds the loop while it waits.
Each caller gets the replies to its own commands, errors as values (as `execute(raise_on_error=False)`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)
_Waiting = tuple[Callable[[Pipeline], object], asyncio.Future[list[Any]]]  # commands, their replies


class SharedRoundTrips:
    def __init__(self, redis: AsyncRedis) -> None:
        self._redis = redis
        self._waiting: list[_Waiting] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, queue: Callable[[Pipeline], object]) -> list[Any]:
        """Queue commands with `queue(pipe)`; the replies to them once the shared round trip is back."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[list[Any]] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._send_waiting)  # after the handlers already runnable have queued theirs
        self._waiting.append((queue, reply))
        return await reply

    def _send_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.create_task(self._send(batch))
        self._sending.add(task)  # held until done, so the loop cannot drop it
        task.add_done_callback(self._sending.discard)

    async def _send(
        self, batch: list[tuple[Callable[[Pipeline], object], asyncio.Future[list[Any]]]]
    ) -> None:
        spans: list[tuple[int, int]] = []
        try:
            pipe = self._redis.pipeline(transaction=False)
            for queue, _ in batch:
                start = len(pipe)
                queue(pipe)
                spans.append((start, len(pipe)))
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed (or a caller's bug): every caller hears it
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(exc)
            return
        for (start, end), (_, reply) in zip(spans, batch, strict=True):
            if not reply.done():
                reply.set_result(replies[start:end])
