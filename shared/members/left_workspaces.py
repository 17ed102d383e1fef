"""Communities that removed the bot (a Discord server kicking it): when each left, and their channel
settings dropped once `[workspaces] forget_left_after_days` has passed without them adding it back."""

from __future__ import annotations

import time

from redis import Redis

from shared import keys

SCAN_BATCH = 500


class LeftWorkspaces:
    def __init__(self, redis: Redis, platform: str) -> None:
        self._redis = redis
        self._platform = platform

    def left(self, workspace: str, at: float | None = None) -> None:
        self._redis.zadd(keys.workspaces_left(self._platform), {workspace: at or time.time()})

    def rejoined(self, workspace: str) -> None:
        """Added back within the grace period: its settings stay."""
        self._redis.zrem(keys.workspaces_left(self._platform), workspace)

    def forget_due(self, grace_seconds: float, now: float | None = None) -> list[str]:
        """Drop the channel settings of the workspaces left longer ago than `grace_seconds`; returns them."""
        key = keys.workspaces_left(self._platform)
        cutoff = (now or time.time()) - grace_seconds
        due = [raw.decode() for raw in self._redis.zrangebyscore(key, "-inf", cutoff)]
        for workspace in due:
            pattern = keys.channel_defaults(self._platform, workspace, "*")
            stale = list(self._redis.scan_iter(match=pattern, count=SCAN_BATCH))
            if stale:
                self._redis.delete(*stale)
            self._redis.zrem(key, workspace)
        return due
