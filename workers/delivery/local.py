"""Delivery for `imagine generate`: events on a Redis stream that the waiting command reads.

Workers may run on another machine than the command, so they cannot write into its folder; the
command reads the stream and writes the files itself.
"""

from __future__ import annotations

import json

from redis import Redis
from redis.client import Pipeline

from shared import keys
from shared.errors import FailureKind
from shared.request import ImageRequest
from workers.delivery.base import JobResult, StatusUpdate

EVENTS_TTL = 86400
EVENTS_MAXLEN = 200


class LocalDeliverer:
    """A PipelinedDeliverer: each event is an XADD that can join the job's own round trips."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        self._now(lambda pipe: self.status_into(pipe, job_id, request, update))

    def result(self, request: ImageRequest, result: JobResult) -> None:
        self._now(lambda pipe: self.result_into(pipe, request, result))

    def failure(self, job_id: str, request: ImageRequest, message: str, kind: FailureKind) -> None:
        self._now(lambda pipe: self.failure_into(pipe, job_id, request, message, kind))

    def status_into(self, pipe: Pipeline, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        _publish(pipe, job_id, {"type": update.state, "text": update.text, "position": update.position})

    def result_into(self, pipe: Pipeline, request: ImageRequest, result: JobResult) -> None:
        images = [{"key": i.key, "filename": i.filename, "seed": i.seed} for i in result.images]
        event = {
            "type": "done",
            "seconds": result.seconds,
            "model": result.model,
            "images": images,
            "revised_prompt": result.revised_prompt,
            "notes": result.notes,
        }
        _publish(pipe, result.job_id, event)

    def failure_into(
        self, pipe: Pipeline, job_id: str, request: ImageRequest, message: str, kind: FailureKind
    ) -> None:
        _publish(pipe, job_id, {"type": "failed", "text": message, "kind": kind})

    def _now(self, step) -> None:
        pipe = self._redis.pipeline(transaction=False)
        step(pipe)
        pipe.execute()


def _publish(pipe: Pipeline, job_id: str, event: dict) -> None:
    key = keys.events(job_id)
    pipe.xadd(key, {"event": json.dumps(event)}, maxlen=EVENTS_MAXLEN, approximate=True)
    pipe.expire(key, EVENTS_TTL)


def read_events(redis: Redis, job_id: str, after: str, block_ms: int) -> list[tuple[str, dict]]:
    """Events after stream id `after` (use '0' for all), waiting up to `block_ms` for the first."""
    answer = redis.xread({keys.events(job_id): after}, block=block_ms, count=50)
    if not answer:
        return []
    return [(entry_id.decode(), json.loads(fields[b"event"])) for entry_id, fields in answer[0][1]]
