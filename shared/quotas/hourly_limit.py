"""A per-member limit of uses in a rolling hour, atomic in Redis (one script): for /describe, which
costs no image quota but does cost a vision-model call."""

from __future__ import annotations

import time
import uuid

from redis import Redis

WINDOW_SECONDS = 3600.0
# Forget uses older than the window; refuse (with the seconds until the oldest leaves) or record one.
TAKE = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window))
return ''
"""


class HourlyLimit:
    def __init__(self, redis: Redis, key: str, limit: int) -> None:
        self._redis = redis
        self._key = key
        self._limit = limit
        self._take = redis.register_script(TAKE)

    def take(self) -> str | float:
        """A use's id when one is left this hour, else the seconds until one is."""
        use = uuid.uuid4().hex
        answer = self._take(keys=[self._key], args=[time.time(), WINDOW_SECONDS, self._limit, use])
        return use if not answer else max(1.0, float(answer))

    def give_back(self, use: str) -> None:
        """A use that came to nothing (the model failed) is not counted."""
        self._redis.zrem(self._key, use)
