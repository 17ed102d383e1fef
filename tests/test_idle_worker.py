"""An idle worker on a healthy Redis is quiet and quick: its blocking wait for work never ends in a
socket timeout (logged by RQ as an error, then a back-off of up to 16 s during which jobs wait)."""

from __future__ import annotations

import json
import threading

from rq.job import Job

from bot.core import ImagineCore
from shared import keys
from shared.jobs.queue import SERIALIZER
from tests.factories import image_request
from tests.helpers import wait_until

# Seconds of idleness before each job, 45 in all: shorter than redis-py's default 5 s socket timeout,
# then across the 20 s blocking dequeue, then long enough to fall into a back-off of several seconds.
PAUSES = (3.0, 12.0, 30.0)


def test_an_idle_worker_logs_nothing_and_starts_each_job_within_a_second(processes, redis, make_settings):
    worker = processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")
    core = ImagineCore(make_settings(), redis)
    idle = threading.Event()  # never set: the pauses are the idleness under test
    waits: list[float] = []
    for number, pause in enumerate(PAUSES):
        idle.wait(pause)
        request = image_request(f"evt-idle-{number}", user=f"member-{number}")
        job_id = core.submit(request).job_id
        job = wait_until(
            lambda job_id=job_id: _finished(redis, job_id), timeout=10, what=f"job {job_id} to finish"
        )
        waits.append((job.started_at - job.enqueued_at).total_seconds())
    assert waits and max(waits) < 1.0, f"seconds from enqueue to start: {waits}"
    loud = [line for line in _log_lines(processes, worker) if line.get("level") in {"warning", "error"}]
    assert loud == [], loud


def _finished(redis, job_id: str) -> Job | None:
    job = Job.fetch(job_id, connection=redis, serializer=SERIALIZER)
    return job if job.is_finished else None


def _log_lines(processes, worker) -> list[dict]:
    """The worker's log, one JSON object per line (it is not on a terminal)."""
    return [json.loads(line) for line in processes.log_of(worker).splitlines() if line.startswith("{")]
