"""How a job's outcome is handed out (by its worker, or by a frontend for a job cancelled while it
waited): result events on Redis streams (shared/results.py), never a post to a chat platform. The
final event of a job (images, or why it failed) is published once, also
across retries and dead workers: a script adds it only while it sets the lasting "published" mark,
and the job's own bookkeeping (its images, its quota slot) travels in the same round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError

from shared import keys
from shared.delivery.results import (
    Failure,
    JobResult,
    StatusUpdate,
    StreamEntry,
    failure_entry,
    publish_status,
    result_entry,
)
from shared.drawing.request import ImageRequest

PUBLISHED_TTL = 8 * 86400
PipelineStep = Callable[[Pipeline], None]

# KEYS: the job's published mark, the stream. ARGV: the mark's TTL, the stream's approximate length
# cap, the stream's TTL (0: none), the oldest entry id it keeps (0: no time bound), then the entry's
# field/value pairs.
_PUBLISH_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 5))
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if ARGV[4] ~= '0' then redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[4]) end
return 1
"""


class Publisher:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._publish_once = redis.register_script(_PUBLISH_ONCE)

    def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        """A progress event on its own (previews, retries)."""
        self.statuses([(job_id, request, update)])

    def statuses(self, updates: list[tuple[str, ImageRequest, StatusUpdate]]) -> None:
        """Progress events of several jobs (queue positions) in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for job_id, request, update in updates:
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
        return self._once(result.job_id, result_entry(request, result), before, also)

    def failure_once(self, job_id: str, request: ImageRequest, failure: Failure) -> bool:
        return self._once(job_id, failure_entry(job_id, request, failure), None, None)

    def _once(
        self, job_id: str, entry: StreamEntry, before: PipelineStep | None, also: PipelineStep | None
    ) -> bool:
        """One transaction: `before` (storing the images), the entry unless published, then `also`
        (settling the quota), whether this call published or not."""
        script_keys, script_args = _script_call(keys.delivered(job_id), entry)
        pipe = self._redis.pipeline(transaction=True)
        if before is not None:
            before(pipe)
        published_at = len(pipe)
        # EVALSHA straight in the transaction: a Script object there would first ask SCRIPT EXISTS.
        pipe.evalsha(self._publish_once.sha, len(script_keys), *script_keys, *script_args)
        if also is not None:
            also(pipe)
        replies = pipe.execute(raise_on_error=False)
        for index, reply in enumerate(replies):
            if isinstance(reply, Exception) and not (
                index == published_at and isinstance(reply, NoScriptError)
            ):
                raise reply
        published = replies[published_at]
        if isinstance(published, NoScriptError):  # Redis restarted: the rest is done, publish alone
            published = self._publish_once(keys=script_keys, args=script_args)
        return bool(published)


def _script_call(mark: str, entry: StreamEntry) -> tuple[list[str], list[Any]]:
    pairs = [part for name, value in entry.fields.items() for part in (name, value)]
    return [mark, entry.stream], [PUBLISHED_TTL, entry.maxlen, entry.ttl or 0, entry.min_id() or "0", *pairs]
