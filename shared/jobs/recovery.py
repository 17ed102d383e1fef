"""Worker liveness and the requeue of jobs whose worker died, using RQ's own registries to move them.

RQ alone notices a dead non-forking worker only after the job's timeout plus a minute. Our workers
refresh a short-lived key; a started job whose worker's key has expired is handed to RQ's
StartedJobRegistry.cleanup(), which retries it (counting the attempt) or fails it for good.
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import Worker
from rq.executions import Execution
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.scripts import release_lock
from rq.serializers import Serializer
from rq.timeouts import TimerDeathPenalty
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from shared import keys

log = logging.getLogger(__name__)

ALIVE_TTL = 10  # seconds without a beat before a worker counts as dead


def mark_alive(redis: Redis, worker_name: str, ttl: int = ALIVE_TTL) -> None:
    redis.set(keys.worker_alive(worker_name), "1", ex=ttl)


def mark_gone(redis: Redis, worker_name: str) -> None:
    redis.delete(keys.worker_alive(worker_name))


def is_alive(redis: Redis, worker_name: str) -> bool:
    return bool(worker_name) and bool(redis.exists(keys.worker_alive(worker_name)))


def count_live_workers(redis: Redis, queue_name: str) -> int:
    """How many workers registered on the queue are alive, in two round trips (for the ack path)."""
    prefix = Worker.redis_worker_namespace_prefix  # the set holds worker keys: rq:worker:<name>
    names = [key.decode().removeprefix(prefix) for key in redis.smembers(WORKERS_BY_QUEUE_KEY % queue_name)]
    return int(redis.exists(*(keys.worker_alive(name) for name in names))) if names else 0


def requeue_abandoned(redis: Redis, queue_names: list[str], serializer: type[Serializer]) -> list[str]:
    """Hand jobs of dead workers back to RQ; returns their ids. One caller at a time across hosts."""
    if not redis.set(keys.reaper_lock(), "1", nx=True, px=5000):
        return []
    moved: list[str] = []
    try:
        for name in queue_names:
            registry = StartedJobRegistry(
                name, connection=redis, serializer=serializer, death_penalty_class=TimerDeathPenalty
            )
            dead = {
                f"{job_id}:{execution_id}": job_id
                for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False)
                if not _execution_alive(redis, job_id, execution_id)
            }
            if dead:
                # Score 0 marks them expired; RQ's cleanup then retries or fails each one.
                redis.zadd(registry.key, {entry: 0 for entry in dead}, xx=True)
                registry.cleanup()
                moved.extend(dead.values())
                log.warning(
                    "requeued %d job(s) of dead workers on %s: %s", len(dead), name, list(dead.values())
                )
        free_scheduler_locks_of_dead(redis, queue_names)
    finally:
        redis.delete(keys.reaper_lock())
    return moved


def free_scheduler_locks_of_dead(redis: Redis, queue_names: list[str]) -> list[str]:
    """Drop RQ scheduler locks held by dead workers (our schedulers are named after their worker),
    so a live worker schedules retries now rather than after the lock's 61 s TTL."""
    freed = []
    for name in queue_names:
        lock_key = RQScheduler.get_locking_key(name)
        holder = redis.get(lock_key)
        if holder is not None and not is_alive(redis, holder.decode()):
            if release_lock(redis, lock_key, holder.decode()):
                freed.append(name)
    return freed


def _execution_alive(redis: Redis, job_id: str, execution_id: str) -> bool:
    try:
        execution = Execution.fetch(execution_id, job_id, connection=redis)
    except ValueError:  # the execution record is gone: nobody is running it
        return False
    return is_alive(redis, execution.worker_name)
