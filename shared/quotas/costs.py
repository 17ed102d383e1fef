"""What generation cost, per user and per workspace, for operators (`imagine quota show`)."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from shared import keys
from shared.drawing.requester import Requester


@dataclass(frozen=True)
class Spend:
    usd: float
    images: int
    kudos: float = 0.0


class CostLedger:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def record(
        self,
        requester: Requester,
        usd: float,
        images: int,
        pipe: Pipeline | None = None,
        *,
        kudos: float = 0.0,
    ) -> None:
        """Add one job's cost to its user and workspace; with `pipe`, as part of it."""
        target = pipe if pipe is not None else self._redis.pipeline(transaction=False)
        for subject in (f"user:{requester.user_key}", f"ws:{requester.workspace_key}"):
            target.hincrbyfloat(keys.cost(subject), "usd", usd)
            target.hincrby(keys.cost(subject), "images", images)
            if kudos:
                target.hincrbyfloat(keys.cost(subject), "kudos", kudos)
        if pipe is None:
            target.execute()

    def of_user(self, requester: Requester) -> Spend:
        return self._spend(f"user:{requester.user_key}")

    def of_workspace(self, requester: Requester) -> Spend:
        return self._spend(f"ws:{requester.workspace_key}")

    def _spend(self, subject: str) -> Spend:
        raw = self._redis.hgetall(keys.cost(subject))
        return Spend(
            usd=float(raw.get(b"usd", 0)),
            images=int(raw.get(b"images", 0)),
            kudos=float(raw.get(b"kudos", 0)),
        )
