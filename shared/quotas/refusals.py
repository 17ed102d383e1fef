"""Refusals counted per user and per workspace, by rule, for operators (`imagine quota show`)."""

from __future__ import annotations

from redis import Redis

from shared import keys
from shared.drawing.requester import Requester

TTL_SECONDS = 90 * 86400


class RefusalCounter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def count(self, requester: Requester, rule: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key in (
            keys.refusals(f"user:{requester.user_key}"),
            keys.refusals(f"ws:{requester.workspace_key}"),
        ):
            pipe.hincrby(key, rule, 1)
            pipe.expire(key, TTL_SECONDS)
        pipe.execute()

    def of_user(self, requester: Requester) -> dict[str, int]:
        return self._read(keys.refusals(f"user:{requester.user_key}"))

    def of_workspace(self, requester: Requester) -> dict[str, int]:
        return self._read(keys.refusals(f"ws:{requester.workspace_key}"))

    def _read(self, key: str) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in sorted(self._redis.hgetall(key).items())}
