"""`imagine worker`: a non-forking RQ worker with the backend loaded once per process."""

from __future__ import annotations

import os
import socket

from redis.client import Pipeline
from rq import SimpleWorker

from shared.configuration.settings import Settings
from shared.jobs.queue import SERIALIZER, queue_name, record_model_loads
from shared.ops.redis_conn import connect
from workers.backends import served_lanes
from workers.liveness import Liveness
from workers.runtime import CURRENT_RUNTIME, Runtime, build_runtime

# RQ runs maintenance only between blocking dequeues of worker_ttl - 15 s; these keep it within
# about half a minute. Scheduling and dead-worker recovery run in the Liveness thread instead.
WORKER_TTL = 35
MAINTENANCE_INTERVAL = 30
# An idle worker blocks in BLMOVE for WORKER_TTL - 15 s; every read on its client must be allowed
# longer, or the wait ends in a socket timeout that RQ logs as an error and backs off from.
SOCKET_TIMEOUT = WORKER_TTL


class ImagineWorker(SimpleWorker):
    """RQ's non-forking worker, with its heartbeat in one round trip: RQ sends the heartbeat's three
    commands one by one, three times per job, which at zero generation cost was a large share of a
    job's time (bench/queue.py)."""

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()

    def unsubscribe(self) -> None:
        """RQ's, with its wait bounded: a burst that ends before Redis confirmed the subscription
        leaves the pubsub thread waiting on that confirmation with RQ's 60 s poll, and redis-py's
        `stop()` joins it without a bound, so the worker's exit took 60 s (measured in the tests)."""
        if self.pubsub_thread:
            self.pubsub.unsubscribe()
            self.pubsub_thread.stop(timeout=1)  # a daemon thread: one still waiting dies with us
            self.pubsub.close()


def run_worker(
    settings: Settings,
    backend: str,
    queues: list[str] | None,
    *,
    burst: bool,
    logging_level: str = "INFO",
    metrics_port: int | None = None,
    models: list[str] | None = None,
) -> bool:
    """Load the backend once, then serve its queues until stopped (or drained, with `burst`): the
    backend's, or, with models configured, one per model it serves."""
    redis = connect(settings.redis_url, socket_timeout=SOCKET_TIMEOUT)
    runtime = build_runtime(settings, redis, backend, models=models)
    verify = getattr(runtime.backend, "verify", None)  # backends with a service behind them check it
    if verify is not None:
        verify()
    if metrics_port is not None:
        runtime.metrics.serve(metrics_port)
    runtime.metrics.ready.set(1)
    served = getattr(runtime.backend, "served", None)  # a backend with a queue per model
    if served is not None:  # a model that did not load is named to health, doctor and members
        record_model_loads(redis, backend, served, getattr(runtime.backend, "failed", {}))
    lanes = served_lanes(backend, settings, served if served is not None else models)
    return serve(
        runtime, queues or [queue_name(lane) for lane in lanes], burst=burst, logging_level=logging_level
    )


def serve(
    runtime: Runtime, queues: list[str], *, burst: bool, name: str | None = None, logging_level: str = "INFO"
) -> bool:
    """Run the work loop in this (main) thread; SIGTERM finishes the running job, then stops.

    RQ's own scheduler would fork a process; the Liveness thread runs it in-process instead.
    """
    worker = ImagineWorker(
        queues,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
        connection=runtime.redis,
        serializer=SERIALIZER,
        worker_ttl=WORKER_TTL,
        maintenance_interval=MAINTENANCE_INTERVAL,
    )
    liveness = Liveness(runtime, worker.name, queues)
    liveness.beat()
    liveness.start()
    token = CURRENT_RUNTIME.set(runtime)
    try:
        return worker.work(burst=burst, with_scheduler=False, logging_level=logging_level)
    finally:
        CURRENT_RUNTIME.reset(token)
        liveness.stop()
