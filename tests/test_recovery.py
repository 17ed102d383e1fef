"""Real worker processes killed mid-job: nothing lost, nothing posted twice, no quota leaked."""

from __future__ import annotations

import json
import os
import signal

from rq.job import JobStatus

from bot.core import ImagineCore
from shared import keys
from tests.factories import image_request
from tests.helpers import wait_until


def events_of(redis, job_id: str) -> list[dict]:
    return [json.loads(fields[b"event"]) for _, fields in redis.xrange(keys.events(job_id))]


def final_events(redis, job_id: str) -> list[dict]:
    return [e for e in events_of(redis, job_id) if e["type"] in ("done", "failed")]


def alive_workers(redis) -> list[bytes]:
    return list(redis.scan_iter(keys.worker_alive("*")))


def start_worker(processes, redis, delay: str, config=None):
    env = {"IMAGINE_PLACEHOLDER_DELAY": delay, **({"IMAGINE_CONFIG": str(config)} if config else {})}
    before = set(alive_workers(redis))
    process = processes.start("worker", "--backend", "placeholder", extra_env=env)
    wait_until(lambda: set(alive_workers(redis)) - before, timeout=20, what="the worker to come alive")
    return process


def submit_and_wait_until_started(core: ImagineCore, request):
    """Submit like a frontend; return the submission and its RQ job once a worker has started it."""
    submission = core.submit(request)
    job = core.queue.fetch(submission.job_id)
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.STARTED, what="the job to start")
    return submission, job


def test_job_of_a_sigkilled_worker_is_finished_by_another_and_delivered_once(redis, make_settings, processes):
    first = start_worker(processes, redis, delay="2")
    core = ImagineCore(make_settings(), redis)
    submission, job = submit_and_wait_until_started(core, image_request("evt-kill"))

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    start_worker(processes, redis, delay="2")

    wait_until(
        lambda: final_events(redis, submission.job_id), timeout=30, what="the job to be re-run (< 30 s)"
    )
    finals = final_events(redis, submission.job_id)
    assert [e["type"] for e in finals] == ["done"]
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, what="RQ to record the result")
    report = core.quota.report(image_request().requester)
    assert (report.used_this_hour, report.running) == (1, 0)
    assert redis.exists(finals[0]["images"][0]["key"])


def test_sigterm_lets_the_running_job_finish_then_the_worker_exits(redis, make_settings, processes):
    worker = start_worker(processes, redis, delay="1.5")
    core = ImagineCore(make_settings(), redis)
    submission, job = submit_and_wait_until_started(core, image_request("evt-term"))

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert [e["type"] for e in final_events(redis, submission.job_id)] == ["done"]
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert core.quota.report(image_request().requester).running == 0
    assert not alive_workers(redis)


def test_job_lost_on_its_last_attempt_is_failed_with_a_message_and_refunded(
    redis, make_settings, processes, config_file
):
    config = config_file("[jobs]\nretries = 0\n")
    first = start_worker(processes, redis, delay="5", config=config)
    core = ImagineCore(make_settings(config), redis)
    submission, job = submit_and_wait_until_started(core, image_request("evt-lost", count=2))

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    start_worker(processes, redis, delay="0", config=config)

    wait_until(lambda: final_events(redis, submission.job_id), timeout=30, what="the job to be given up")
    finals = final_events(redis, submission.job_id)
    assert [e["type"] for e in finals] == ["failed"]
    assert "quota was not charged" in finals[0]["text"]
    # RQ runs the failure callback (which tells the member) before it records the status.
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FAILED, what="RQ to record the failure")
    report = core.quota.report(image_request().requester)
    assert (report.used_this_hour, report.running) == (0, 0)
