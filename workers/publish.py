"""How a worker hands out what it made: result events on Redis streams (shared/results.py), never a
post to a chat platform. The final event of a job (images, or why it failed) is published once, also
across retries and dead workers: it joins an optimistic transaction that sets the lasting "published"
mark, and the job's own bookkeeping joins the same round trips.
"""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis, WatchError
from redis.client import Pipeline

from shared import keys
from shared.request import ImageRequest
from shared.results import Failure, JobResult, StatusUpdate, publish_failure, publish_result, publish_status

PUBLISHED_TTL = 8 * 86400
PipelineStep = Callable[[Pipeline], None]


class Publisher:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        """A progress event on its own (queue positions, previews, retries)."""
        pipe = self._redis.pipeline(transaction=False)
        publish_status(pipe, job_id, request, update)
        pipe.execute()

    def result_once(
        self,
        request: ImageRequest,
        result: JobResult,
        *,
        before: PipelineStep | None = None,
        also: PipelineStep | None = None,
    ) -> bool:
        """Publish the images unless this job's answer was published; True if this call did."""
        return self._once(result.job_id, lambda pipe: publish_result(pipe, request, result), before, also)

    def failure_once(self, job_id: str, request: ImageRequest, failure: Failure) -> bool:
        return self._once(job_id, lambda pipe: publish_failure(pipe, job_id, request, failure), None, None)

    def _once(
        self, job_id: str, publish: PipelineStep, before: PipelineStep | None, also: PipelineStep | None
    ) -> bool:
        """`before` joins the first round trip and `also` the recording one, published or not."""
        if before is not None:
            pipe = self._redis.pipeline(transaction=False)
            before(pipe)
            pipe.execute()
        published = keys.delivered(job_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(published)
                    publishing = not pipe.exists(published)
                    pipe.multi()
                    if publishing:
                        publish(pipe)
                        pipe.set(published, "1", ex=PUBLISHED_TTL)
                    if also is not None:
                        also(pipe)
                    pipe.execute()
                    return publishing
                except WatchError:
                    continue  # someone recorded meanwhile: look again
