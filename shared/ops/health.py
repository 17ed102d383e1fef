"""`imagine health`: is Redis up, how deep is each queue, which workers are alive, how old is the
oldest waiting job. Unhealthy (exit 1) when Redis is down, when no live worker serves the default
backend (requests would wait forever), or when jobs wait with no live worker to take them."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job

from shared import keys, messages
from shared.jobs.queue import SERIALIZER, known_lanes, model_failures, queue_key, queue_name
from shared.jobs.recovery import is_alive

STALE_QUEUE_SECONDS = 600  # a job waiting longer than this is worth a warning even with workers


@dataclass
class WorkerHealth:
    name: str
    queues: list[str]
    state: str
    alive: bool
    seconds_since_heartbeat: float | None


@dataclass
class QueueHealth:
    backend: str
    queue: str
    depth: int
    oldest_seconds: float | None
    live_workers: int


@dataclass
class Health:
    redis: str  # "ok" or the error
    redis_url: str = ""  # without its password
    redis_local: bool = False  # this machine's own Redis (bot/embedded.py)
    sentinels: str = ""  # behind Sentinels: what they say (shared/ops/sentinel.py: SentinelView.line)
    queues: list[QueueHealth] = field(default_factory=list)
    workers: list[WorkerHealth] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


def check_health(redis: Redis, default_backend: str, *, where: str, local: bool = False) -> Health:
    """`default_backend` is the lane new requests go to by default (shared/queue.py: lane); `where` the
    Redis as the operator may see it (no password), `local` whether it is this machine's own."""
    try:
        redis.ping()
    except RedisError as exc:
        problem = (
            f"Redis is unreachable at {where} ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}): "
            "start it, or set REDIS_URL to the Redis the bot uses"
        )
        return Health(redis=type(exc).__name__, redis_url=where, problems=[problem])
    health = Health(redis="ok", redis_url=where, redis_local=local)
    if local:
        health.warnings.append(
            "this is this machine's own Redis: workers and bots on other machines cannot reach it "
            "(set REDIS_URL to share one)"
        )
    now = time.time()
    for worker in Worker.all(connection=redis):
        beat = worker.last_heartbeat.timestamp() if worker.last_heartbeat else None
        health.workers.append(
            WorkerHealth(
                name=worker.name,
                queues=worker.queue_names(),
                state=str(worker.get_state()),
                alive=is_alive(redis, worker.name),
                seconds_since_heartbeat=round(now - beat, 1) if beat else None,
            )
        )
    lanes = known_lanes(redis)
    for backend in [*lanes, *([default_backend] if default_backend not in lanes else [])]:
        name = queue_name(backend)
        depth = int(redis.llen(queue_key(backend)))
        live = sum(1 for w in health.workers if w.alive and name in w.queues)
        oldest = _oldest_age(redis, backend, now) if depth else None
        health.queues.append(QueueHealth(backend, name, depth, oldest, live))
        if depth and not live:
            health.problems.append(
                f"{depth} job(s) wait in {name} and no worker is alive for it: "
                f"start one with `imagine worker {_worker_options(backend)}`"
            )
        elif backend == default_backend and not live:
            health.problems.append(messages.no_worker_for_default(backend))
        elif oldest is not None and oldest > STALE_QUEUE_SECONDS:
            health.warnings.append(f"the oldest job in {name} has waited {oldest:.0f} s")
    prefix = keys.model_failed("")
    failed = [key.decode().removeprefix(prefix) for key in redis.scan_iter(match=f"{prefix}*", count=100)]
    for lane, reason in sorted(model_failures(redis, failed).items()):
        health.warnings.append(f"the model of {queue_name(lane)} did not load on a worker: {reason}")
    return health


def _worker_options(lane: str) -> str:
    backend, _, model = lane.partition(".")
    return f"--backend {backend}" + (f" --models {model}" if model else "")


def _oldest_age(redis: Redis, backend: str, now: float) -> float | None:
    first = redis.lindex(queue_key(backend), 0)
    if first is None:
        return None
    job = Job.fetch(first.decode(), connection=redis, serializer=SERIALIZER)
    return round(now - job.enqueued_at.timestamp(), 1) if job.enqueued_at else None
