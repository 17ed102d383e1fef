"""Answers first: a chat platform waits 3 s for an acknowledgement, while the work after it (posting
the status message, opening the thread, enqueueing) has minutes. Under a burst, that work waits until
no request is waiting for its answer and none has arrived for `settle` seconds (the rest of a burst
is still being read), for at most `max_wait` seconds, so it cannot starve."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

FOLLOW_UP_MAX_WAIT = 1.0
SETTLE_SECONDS = 0.05  # a gap this long between requests ends a burst


class AnswersFirst:
    def __init__(self, max_wait: float = FOLLOW_UP_MAX_WAIT, settle: float = SETTLE_SECONDS) -> None:
        self._max_wait = max_wait
        self._settle = settle
        self._unanswered = 0
        self._last_arrival = 0.0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def begin(self) -> None:
        self._unanswered += 1
        self._last_arrival = asyncio.get_running_loop().time()
        self._quiet.clear()

    def end(self) -> None:
        self._unanswered -= 1
        if self._unanswered == 0:
            self._quiet.set()

    async def wait(self) -> None:
        """Return once every request in flight has its answer and the burst has settled (or after
        `max_wait`)."""
        try:
            await asyncio.wait_for(self._settled(), self._max_wait)
        except TimeoutError:
            pass  # under endless load, follow-ups must still make progress

    async def _settled(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._quiet.wait()
            calm = loop.time() - self._last_arrival
            if calm >= self._settle and self._quiet.is_set():
                return
            await asyncio.sleep(self._settle - calm)

    def middleware(self, paths: set[str]):
        """An aiohttp middleware that counts requests to `paths` as waiting for their answer."""

        @web.middleware
        async def count(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ):
            if request.path not in paths:
                return await handler(request)
            self.begin()
            try:
                return await handler(request)
            finally:
                self.end()

        return count
