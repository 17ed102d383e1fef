"""At-most-once posting: a job's answer (images or failure) goes out once, also across retries."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from redis.client import Pipeline

from shared import keys

DELIVERED_TTL = 8 * 86400
PipelineStep = Callable[[Pipeline], None]


class DeliveryLedger:
    """A claim while posting (it expires if the poster dies) and a lasting mark once posted."""

    def __init__(self, redis: Redis, *, claim_seconds: int = 120) -> None:
        self._redis = redis
        self._claim_seconds = claim_seconds

    def once(
        self,
        job_id: str,
        *,
        post: Callable[[], None] | None = None,
        post_into: PipelineStep | None = None,
        before: PipelineStep | None = None,
        also: PipelineStep | None = None,
    ) -> bool:
        """Post the answer unless it was posted or is being posted; True if this call posted it.

        Give `post` for a deliverer that calls out (HTTP), or `post_into` for one whose posts are
        Redis writes: those join the transaction that records the posting, so they happen exactly
        once. `before` joins the claim's round trip and `also` the recording one; both run whether
        or not this call posts, so callers batch their bookkeeping with ours.
        """
        assert (post is None) != (post_into is None), "give exactly one of post and post_into"
        pipe = self._redis.pipeline(transaction=False)
        if before is not None:
            before(pipe)
        pipe.exists(keys.delivered(job_id))
        pipe.set(keys.delivering(job_id), "1", nx=True, ex=self._claim_seconds)
        delivered, claimed = pipe.execute()[-2:]
        posting = claimed and not delivered
        if posting and post is not None:
            try:
                post()
            except BaseException:
                self._redis.delete(keys.delivering(job_id))
                raise
        pipe = self._redis.pipeline(transaction=True)
        if posting:
            if post_into is not None:
                post_into(pipe)
            pipe.set(keys.delivered(job_id), "1", ex=DELIVERED_TTL)
        if claimed:
            pipe.delete(keys.delivering(job_id))
        if also is not None:
            also(pipe)
        pipe.execute()
        return bool(posting)
