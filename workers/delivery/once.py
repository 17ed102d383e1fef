"""At-most-once posting: a job's answer (images or failure) goes out once, also across retries and
dead workers.

Redis-native posts (the command line's event stream) join an optimistic transaction that also sets the
lasting "delivered" mark, so they happen exactly once. Posts over HTTP cannot join a transaction, so
the poster first claims the job under its worker name; a claim whose worker is dead (its liveness key
gone) is taken over, and a claim held by a live worker makes this attempt wait for a retry.
"""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis, WatchError
from redis.client import Pipeline

from shared import keys
from shared.recovery import is_alive

DELIVERED_TTL = 8 * 86400
PipelineStep = Callable[[Pipeline], None]

# Take over a claim only if it is still the dead holder's (another worker may have taken it meanwhile).
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


class DeliveryInProgress(Exception):
    """Another live worker is posting this job's answer right now; try again later (RQ retries)."""


class DeliveryLedger:
    def __init__(self, redis: Redis, *, claim_seconds: int = 600) -> None:
        self._redis = redis
        self._claim_seconds = claim_seconds
        self._take_over = redis.register_script(_TAKE_OVER)

    def once(
        self,
        job_id: str,
        *,
        poster: str = "",
        post: Callable[[], None] | None = None,
        post_into: PipelineStep | None = None,
        before: PipelineStep | None = None,
        also: PipelineStep | None = None,
    ) -> bool:
        """Post the answer unless it was posted; True if this call posted it.

        Give `post` for a deliverer that calls out (HTTP), or `post_into` for one whose posts are Redis
        writes. `before` joins the first round trip and `also` the recording one; both run whether or
        not this call posts, so callers batch their bookkeeping with ours. `poster` is this worker's
        name (its liveness key says whether it is alive).
        """
        assert (post is None) != (post_into is None), "give exactly one of post and post_into"
        if post_into is not None:
            return self._once_in_redis(job_id, post_into, before, also)
        return self._once_over_http(job_id, poster, post, before, also)  # type: ignore[arg-type]

    def _once_in_redis(
        self, job_id: str, post_into: PipelineStep, before: PipelineStep | None, also: PipelineStep | None
    ) -> bool:
        if before is not None:
            pipe = self._redis.pipeline(transaction=False)
            before(pipe)
            pipe.execute()
        delivered = keys.delivered(job_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(delivered)
                    posting = not pipe.exists(delivered)
                    pipe.multi()
                    if posting:
                        post_into(pipe)
                        pipe.set(delivered, "1", ex=DELIVERED_TTL)
                    if also is not None:
                        also(pipe)
                    pipe.execute()
                    return posting
                except WatchError:
                    continue  # someone recorded meanwhile: look again

    def _once_over_http(
        self,
        job_id: str,
        poster: str,
        post: Callable[[], None],
        before: PipelineStep | None,
        also: PipelineStep | None,
    ) -> bool:
        claim_key = keys.delivering(job_id)
        me = poster or "anonymous"
        pipe = self._redis.pipeline(transaction=False)
        if before is not None:
            before(pipe)
        pipe.exists(keys.delivered(job_id))
        pipe.set(claim_key, me, nx=True, ex=self._claim_seconds)
        pipe.get(claim_key)
        delivered, claimed, holder = pipe.execute()[-3:]
        holder = holder.decode() if holder else ""
        if not delivered and not claimed and holder != me:
            if holder and is_alive(self._redis, holder):
                raise DeliveryInProgress(f"{holder} is posting job {job_id}")
            # The holder died before recording: nothing or part was posted; post (again) rather than lose it.
            claimed = bool(self._take_over(keys=[claim_key], args=[holder, me, self._claim_seconds]))
            if not claimed:
                raise DeliveryInProgress(f"another worker took over posting job {job_id}")
        posting = bool(claimed or holder == me) and not delivered
        if posting:
            try:
                post()
            except BaseException:
                self._redis.delete(claim_key)
                raise
        pipe = self._redis.pipeline(transaction=True)
        if posting:
            pipe.set(keys.delivered(job_id), "1", ex=DELIVERED_TTL)
            pipe.delete(claim_key)
        if also is not None:
            also(pipe)
        pipe.execute()
        return posting
