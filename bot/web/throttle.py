"""Failed logins are counted per client address in Redis; past the limit, that address waits."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared import keys

FAILURES = 10
WINDOW_SECONDS = 15 * 60


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def wait_seconds(self, address: str) -> int:
        """How long `address` must wait before trying again (0: it may try now)."""
        key = keys.web_login_failures(address)
        async with self._redis.pipeline(transaction=False) as pipe:
            count, ttl = await pipe.get(key).ttl(key).execute()
        return max(int(ttl), 1) if count is not None and int(count) >= FAILURES else 0

    async def failed(self, address: str) -> None:
        key = keys.web_login_failures(address)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.incr(key).expire(key, WINDOW_SECONDS, nx=True).execute()
