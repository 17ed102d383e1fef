"""Posting result events onto the member's page feed (run by a ResultConsumer in the web process)."""

from __future__ import annotations

from bot.web import ui as web_ui
from bot.web.feed import Feed
from shared.delivery.results import Failure, JobResult, StatusUpdate
from shared.drawing.request import ImageRequest


class WebPoster:
    def __init__(self, feed: Feed) -> None:
        self._feed = feed

    async def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        await self._feed.add(request.requester.user, web_ui.status_update(job_id, request, update))

    async def result(self, request: ImageRequest, result: JobResult) -> None:
        await self._feed.add(request.requester.user, web_ui.result(request, result))

    async def failure(self, job_id: str, request: ImageRequest, failure: Failure) -> None:
        await self._feed.add(request.requester.user, web_ui.failure(job_id, request, failure))
