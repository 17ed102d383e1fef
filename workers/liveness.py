"""A worker's heartbeat thread: keeps its liveness key fresh and requeues jobs of dead workers."""

from __future__ import annotations

import logging
import threading
import time

from rq.scheduler import RQScheduler

from shared.jobs.queue import SERIALIZER
from shared.jobs.recovery import ALIVE_TTL, mark_alive, mark_gone, requeue_abandoned
from workers.runtime import CURRENT_RUNTIME, Runtime

log = logging.getLogger(__name__)


class Liveness(threading.Thread):
    """Beats every `interval` seconds (well inside ALIVE_TTL), reaps every `reap_every` seconds, and
    runs RQ's scheduler (due retries back onto their queue) in this thread: a GPU worker never forks."""

    def __init__(
        self,
        runtime: Runtime,
        worker_name: str,
        queue_names: list[str],
        *,
        interval: float = 2.0,
        reap_every: float = 4.0,
    ) -> None:
        super().__init__(name=f"liveness-{worker_name}", daemon=True)
        self._runtime = runtime
        self._worker_name = worker_name
        self._queue_names = queue_names
        self._interval = interval
        self._reap_every = reap_every
        self._stopped = threading.Event()
        self._scheduler = RQScheduler(
            queue_names,
            connection=runtime.redis,
            serializer=SERIALIZER,
            name=worker_name,
            logging_level="WARNING",
        )

    def beat(self) -> None:
        mark_alive(self._runtime.redis, self._worker_name, ALIVE_TTL)

    def run(self) -> None:
        CURRENT_RUNTIME.set(self._runtime)  # a reaped job's failure callback runs on this thread
        last_reap = 0.0
        while True:
            try:
                self.beat()
                if self._scheduler.acquire_locks():
                    self._scheduler.enqueue_scheduled_jobs()
                if time.monotonic() - last_reap >= self._reap_every:
                    requeue_abandoned(self._runtime.redis, self._queue_names, SERIALIZER)
                    last_reap = time.monotonic()
            except Exception:  # a Redis blip must not end the heartbeat; the next beat tries again
                log.exception("liveness beat failed")
            if self._stopped.wait(self._interval):
                return

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
        self._scheduler.release_locks()
        mark_gone(self._runtime.redis, self._worker_name)
