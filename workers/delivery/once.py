"""At-most-once posting: a job's answer (images or failure) goes out once, also across retries."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis

from shared import keys

DELIVERED_TTL = 8 * 86400


class DeliveryLedger:
    """A claim while posting (expires if the poster dies) and a permanent mark once posted."""

    def __init__(self, redis: Redis, *, claim_seconds: int = 120) -> None:
        self._redis = redis
        self._claim_seconds = claim_seconds

    def is_delivered(self, job_id: str) -> bool:
        return bool(self._redis.exists(keys.delivered(job_id)))

    def once(self, job_id: str, post: Callable[[], None]) -> bool:
        """Run `post` unless this job's answer was posted or is being posted; True if it ran."""
        if self.is_delivered(job_id):
            return False
        if not self._redis.set(keys.delivering(job_id), "1", nx=True, ex=self._claim_seconds):
            return False
        try:
            post()
            self._redis.set(keys.delivered(job_id), "1", ex=DELIVERED_TTL)
        finally:
            self._redis.delete(keys.delivering(job_id))
        return True
