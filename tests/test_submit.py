"""Submitting: one platform event makes one job, charged once, whatever the retries."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from bot.core import ImagineCore
from shared.jobs.queue import QueueOutlook, job_id_for, queue_name
from shared.jobs.round_trips import SharedRoundTrips
from shared.ops.redis_conn import connect_async
from tests.factories import image_request
from tests.helpers import wait_until


def test_same_event_submitted_twice_makes_one_job_charged_once(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    first = core.submit(image_request("evt-42", count=2))
    second = core.submit(image_request("evt-42", count=2))
    assert first.job_id == second.job_id
    assert (first.duplicate, second.duplicate) == (False, True)
    assert redis.llen(f"rq:queue:{queue_name('placeholder')}") == 1
    assert core.quota.report(image_request().requester).used_this_hour == 2


def test_same_event_submitted_concurrently_makes_one_job(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    start = threading.Barrier(20)

    def submit(_: int):
        start.wait()
        return core.submit(image_request("evt-race"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        submissions = list(pool.map(submit, range(20)))
    assert len({s.job_id for s in submissions}) == 1
    assert sum(not s.duplicate for s in submissions) == 1
    assert redis.lrange(f"rq:queue:{queue_name('placeholder')}", 0, -1) == [submissions[0].job_id.encode()]
    assert core.quota.report(image_request().requester).used_this_hour == 1


def test_redelivered_event_enqueues_a_job_whose_first_submitter_died_after_admission(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    request = image_request("evt-crash")
    core.quota.admit(request.requester, job_id_for(request), request.count)  # ...and then the frontend died
    retried = core.submit(request)
    assert retried.duplicate is False
    assert core.queue.standing(retried.job_id, "placeholder")[0] == 1
    assert core.quota.report(request.requester).used_this_hour == 1


def test_different_events_get_their_places_in_the_queue(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    places = [core.submit(image_request(f"evt-{i}", user=f"u{i}")).position for i in range(3)]
    assert places == [1, 2, 3]


def test_eta_comes_from_recent_generation_times(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    for seconds in (4.0, 6.0, 5.0):
        core.queue.record_duration("placeholder", seconds)
    assert core.queue.etas("placeholder", 3) == [5.0, 10.0, 15.0]  # no worker registered: counted as one


def test_a_job_queued_with_no_live_worker_is_told_counted_and_logged(redis, make_settings, caplog, processes):
    core = ImagineCore(make_settings(), redis)
    request = image_request("evt-lonely")
    assert core.queued_text(request).startswith("queued, next in line — no image worker is running")
    assert (
        core.metrics.registry.get_sample_value(
            "imagine_jobs_without_worker_total", {"backend": "placeholder"}
        )
        == 1
    )
    assert "start `imagine worker --backend placeholder`" in caplog.text
    processes.worker({}, redis)
    assert core.queued_text(request) == "queued, next in line"


def test_an_event_loop_reads_the_same_outlook_in_one_shared_round_trip(
    redis, redis_url, make_settings, processes
):
    async def both(backend: str) -> tuple[QueueOutlook, QueueOutlook]:
        round_trips = SharedRoundTrips(connect_async(redis_url))
        return core.queue.outlook(backend), await core.queue.outlook_async(round_trips, backend)

    core = ImagineCore(make_settings(), redis)
    core.submit(image_request("evt-a", user="a"))
    core.submit(image_request("evt-b", user="b"))
    assert asyncio.run(both("placeholder")) == (QueueOutlook(2, 0), QueueOutlook(2, 0))
    processes.worker({}, redis)
    wait_until(
        lambda: core.queue.length("placeholder") == 0, timeout=20, what="the worker to drain the queue"
    )
    assert asyncio.run(both("placeholder")) == (QueueOutlook(0, 1), QueueOutlook(0, 1))
    assert asyncio.run(both("openai")) == (QueueOutlook(0, 0), QueueOutlook(0, 0))
