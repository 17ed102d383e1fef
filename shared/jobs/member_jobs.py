"""A member's own jobs — where each stands, and cancelling one — and, for operators, each queue's
totals. The member's jobs are the quota's record of their open slots (every job queued or running
holds one), so no second list has to be kept in step."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from redis import Redis
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from shared import keys, messages
from shared.delivery.publish import Publisher
from shared.delivery.results import Failure
from shared.drawing.backends import BACKENDS
from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.jobs import fair
from shared.jobs.queue import SERIALIZER, JobQueue, known_lanes, lane_of, queue_key
from shared.quotas.quota import Quota

STOP_SECONDS = 3600  # a stop request outlives any job's time limit on a worker


@dataclass(frozen=True)
class MemberJob:
    job_id: str
    request: ImageRequest
    state: Literal["queued", "running"]
    position: int | None  # in its queue, while queued
    eta_seconds: float | None


@dataclass(frozen=True)
class QueueTotals:
    backend: str
    waiting: int
    running: int
    oldest_wait_seconds: float | None


class MemberJobs:
    def __init__(self, redis: Redis, queue: JobQueue, quota: Quota) -> None:
        self._redis = redis
        self._queue = queue
        self._quota = quota
        self._publisher = Publisher(redis)

    def of(self, requester: Requester) -> list[MemberJob]:
        """The member's queued and running jobs, oldest first."""
        ids = [raw.decode() for raw in self._redis.zrange(keys.quota_running(requester.user_key), 0, -1)]
        jobs = Job.fetch_many(ids, connection=self._redis, serializer=SERIALIZER) if ids else []
        found = []
        for job in jobs:
            if job is None or "request" not in (job.kwargs or {}):
                continue  # admitted a moment ago, not yet enqueued; or gone
            request = ImageRequest.model_validate(job.kwargs["request"])
            status = job.get_status(refresh=False)
            if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
                position, eta = self._queue.standing(job.id, lane_of(request))
                found.append(MemberJob(job.id, request, "queued", position, eta))
            elif status == JobStatus.STARTED:
                found.append(MemberJob(job.id, request, "running", None, None))
        return sorted(found, key=lambda job: job.request.submitted_at)

    def cancel(self, requester: Requester, job_id: str) -> str:
        """Cancel one of the member's jobs; what to tell them. A queued job leaves the queue and its
        images are refunded; a running one is stopped where its backend can stop."""
        try:
            job = Job.fetch(job_id, connection=self._redis, serializer=SERIALIZER)
            request = ImageRequest.model_validate((job.kwargs or {}).get("request") or {})
        except (NoSuchJobError, ValueError):  # gone, or an id that is not one of our image jobs
            return messages.cancel_unknown()
        if request.requester.user_key != requester.user_key:
            return messages.cancel_not_yours()
        # LREM decides a race with a worker taking the job: whoever removes it owns it.
        if self._redis.lrem(queue_key(lane_of(request)), 0, job_id):
            fair.forget(self._redis, lane_of(request), job_id)
            try:
                job.cancel()
            except InvalidJobOperation:
                pass  # already marked cancelled: the removal above is what counts
            self._quota.refund(request.requester, job_id)
            self._publisher.failure_once(job_id, request, Failure(messages.cancelled(), "cancelled"))
            return messages.cancelled_while_queued()
        if job.get_status() != JobStatus.STARTED:
            return messages.cancel_too_late()
        if not BACKENDS[request.backend].capabilities.stop:
            return messages.cannot_stop(request.backend)
        self._redis.set(keys.stop_requested(job_id), "1", ex=STOP_SECONDS)
        return messages.stopping()

    def totals(self) -> list[QueueTotals]:
        """Per backend: jobs waiting, jobs running, and how long the oldest has waited."""
        now = time.time()
        totals = []
        for backend in known_lanes(self._redis):
            queue = self._queue.queue(backend)
            waiting, running = queue.count, queue.started_job_registry.count
            oldest_id = self._queue.waiting(backend, 1)
            oldest = (
                Job.fetch(oldest_id[0], connection=self._redis, serializer=SERIALIZER) if oldest_id else None
            )
            enqueued = oldest.enqueued_at.timestamp() if oldest is not None and oldest.enqueued_at else None
            if waiting or running:
                totals.append(QueueTotals(backend, waiting, running, now - enqueued if enqueued else None))
        return totals
