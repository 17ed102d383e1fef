"""Everything a job needs, built once per worker process and handed to each job."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from redis import Redis

from shared.configuration.settings import Settings
from shared.delivery.publish import Publisher
from shared.imaging.image_check import ImageChecker
from shared.imaging.image_store import ImageStore, build_store
from shared.jobs.queue import JobQueue
from shared.members.threads import ThreadMemory
from shared.ops.metrics import Metrics
from shared.quotas.costs import CostLedger
from shared.quotas.quota import Quota
from workers.backends import ImageBackend, build_backend
from workers.prompts import PromptPipeline
from workers.prompts.writer import build_writer


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    redis: Redis
    backend: ImageBackend
    publisher: Publisher
    store: ImageStore
    threads: ThreadMemory
    quota: Quota
    queue: JobQueue
    costs: CostLedger
    prompts: PromptPipeline
    metrics: Metrics
    image_check: ImageChecker


# RQ calls job functions by import path; the worker sets this around its work loop so the
# function finds the process's loaded backend instead of building one per job.
CURRENT_RUNTIME: ContextVar[Runtime] = ContextVar("imagine_runtime")


def build_runtime(
    settings: Settings, redis: Redis, backend_name: str, *, models: list[str] | None = None
) -> Runtime:
    config = settings.config
    threads = ThreadMemory(
        redis, ttl_seconds=int(config.threads.ttl_days * 86400), max_turns=config.threads.max_turns
    )
    return Runtime(
        settings=settings,
        redis=redis,
        backend=build_backend(backend_name, settings, models=models, redis=redis),
        publisher=Publisher(redis),
        store=build_store(redis, config.storage),
        threads=threads,
        quota=Quota(redis, config.quota),
        queue=JobQueue(redis, config.jobs, config.quota),
        costs=CostLedger(redis),
        prompts=PromptPipeline(config, threads, build_writer(settings, redis)),
        metrics=Metrics(redis),
        image_check=ImageChecker(settings),
    )
