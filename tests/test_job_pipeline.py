"""The job from queue to delivery, run by a real in-process worker on a real Redis."""

from __future__ import annotations

import json

import pytest

from bot.core import ImagineCore
from shared import keys
from shared.imaging.images import read_metadata
from shared.jobs.queue import queue_name
from shared.members.threads import thread_key
from tests.factories import image_request
from workers.runner import JobRunner
from workers.runtime import build_runtime
from workers.worker import serve


def events_of(redis, job_id: str) -> list[dict]:
    return [json.loads(fields[b"event"]) for _, fields in redis.xrange(keys.events(job_id))]


@pytest.fixture
def runtime(redis, make_settings):
    return build_runtime(make_settings(), redis, "placeholder")


def drain(runtime) -> None:
    serve(runtime, [queue_name("placeholder")], burst=True, name="test-worker", logging_level="ERROR")


def test_a_job_tells_generating_then_done_with_stored_images(redis, runtime):
    core = ImagineCore(runtime.settings, redis)
    submission = core.submit(image_request("evt-1", count=2))
    drain(runtime)
    events = events_of(redis, submission.job_id)
    assert [e["type"] for e in events] == ["generating", "done"]
    images = events[-1]["images"]
    assert len(images) == 2
    assert read_metadata(redis.get(images[1]["key"]))["seed"] == 2
    assert redis.ttl(images[0]["key"]) > 0
    assert core.quota.report(image_request().requester).running == 0


def test_waiting_jobs_hear_their_place_move_up(redis, make_settings, config_file):
    runtime = build_runtime(
        make_settings(config_file("[jobs]\nposition_update_ms = 0\n")), redis, "placeholder"
    )
    core = ImagineCore(runtime.settings, redis)
    ids = [core.submit(image_request(f"evt-{i}", user=f"user{i}")).job_id for i in range(3)]
    drain(runtime)
    third = [e for e in events_of(redis, ids[2]) if e["type"] == "queued"]
    assert [e["position"] for e in third] == [2, 1]
    assert third[-1]["text"].startswith("Queued — next in line")


def test_a_job_run_again_after_delivery_posts_nothing_more(redis, runtime):
    core = ImagineCore(runtime.settings, redis)
    request = image_request("evt-again")
    submission = core.submit(request)
    drain(runtime)
    again = JobRunner(runtime).run(submission.job_id, request)
    assert again["status"] == "delivered"
    assert [e["type"] for e in events_of(redis, submission.job_id)].count("done") == 1


def test_thread_memory_records_turns_in_order_and_the_second_sees_the_first(redis, runtime):
    core = ImagineCore(runtime.settings, redis)
    first = core.submit(image_request("evt-t1", thread="th-1", prompt="a castle"))
    drain(runtime)
    second = core.submit(image_request("evt-t2", thread="th-1", prompt="a castle at night"))
    drain(runtime)
    key = thread_key(image_request(thread="th-1").requester)
    turns = runtime.threads.turns(key)
    assert [t.job_id for t in turns] == [first.job_id, second.job_id]
    assert [t.prompt for t in turns] == ["a castle", "a castle at night"]
    assert runtime.threads.last(key).images[0].startswith(keys.image(second.job_id, 0))
    assert 0 < redis.ttl(key) <= 7 * 86400


def test_a_retry_after_a_crash_between_storing_and_posting_posts_the_stored_images(redis, runtime):
    core = ImagineCore(runtime.settings, redis)
    request = image_request("evt-crash-before-post", seed=None, count=2)
    submission = core.submit(request)
    drain(runtime)
    first = events_of(redis, submission.job_id)[-1]
    stored = [redis.get(i["key"]) for i in first["images"]]
    redis.delete(keys.delivered(submission.job_id), keys.events(submission.job_id))  # the crash

    JobRunner(runtime).run(submission.job_id, request)
    again = events_of(redis, submission.job_id)[-1]
    assert again["type"] == "done"
    assert [i["seed"] for i in again["images"]] == [i["seed"] for i in first["images"]]
    assert [redis.get(i["key"]) for i in again["images"]] == stored
