"""A member's queue and cancelling: a waiting job leaves the queue refunded and its status says so; a
job being drawn stops where its backend can (a real worker process); nobody cancels another's job."""

from __future__ import annotations

import json

from rq.job import Job, JobStatus

from bot.core import ImagineCore
from bot.followups import parse_press
from bot.interactions.queue import queue_view
from shared import keys
from shared.jobs.queue import SERIALIZER, queue_key
from tests.factories import image_request
from tests.helpers import wait_until


def events(redis, job_id: str) -> list[dict]:
    """A command-line job's events (its own stream, as `imagine generate` reads them)."""
    return [json.loads(fields[b"event"]) for _, fields in redis.xrange(keys.events(job_id))]


def test_a_queued_job_is_cancelled_out_of_the_queue_refunded_and_told(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    first = core.submit(image_request("evt-1", prompt="a fox", count=2))
    second = core.submit(image_request("evt-2", prompt="a hare"))
    alice = image_request().requester
    view = queue_view(core.jobs, core.jobs.of(alice), operator=True)
    assert view.lines == ["1. a fox — #1 in the queue", "2. a hare — #2 in the queue"]
    assert "placeholder: 2 waiting, 0 running, the oldest waiting" in view.text
    assert parse_press(view.cancels[0][1]).job_id == first.job_id  # the button names its job
    assert core.jobs.cancel(alice, first.job_id).startswith("Cancelled before it started")
    assert redis.lrange(queue_key("placeholder"), 0, -1) == [second.job_id.encode()]
    assert core.quota.report(alice).used_this_hour == 1 and core.quota.report(alice).running == 1
    [cancelled] = events(redis, first.job_id)
    assert (cancelled["type"], cancelled["kind"]) == ("failed", "cancelled")
    assert Job.fetch(first.job_id, connection=redis, serializer=SERIALIZER).get_status() == JobStatus.CANCELED
    assert queue_view(core.jobs, core.jobs.of(alice), operator=False).lines == ["1. a hare — #1 in the queue"]
    assert core.jobs.cancel(alice, first.job_id) == "That job has already finished."


def test_nobody_cancels_another_members_job_or_one_that_is_unknown(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    job = core.submit(image_request("evt-1"))
    bob = image_request(user="bob").requester
    assert core.jobs.cancel(bob, job.job_id) == "Only the member who asked for a job can cancel it."
    assert core.jobs.cancel(bob, "img-" + "0" * 32).startswith("I don't know that job")
    assert redis.llen(queue_key("placeholder")) == 1
    assert core.jobs.of(bob) == [] and queue_view(core.jobs, [], operator=False).lines == [
        "You have no jobs queued or running."
    ]


def test_a_job_being_drawn_stops_when_cancelled_and_is_refunded(redis, make_settings, processes):
    core = ImagineCore(make_settings(), redis)
    processes.worker({"IMAGINE_PLACEHOLDER_DELAY": "30"}, redis)
    job = core.submit(image_request("evt-slow", prompt="a slow fox"))
    alice = image_request().requester
    wait_until(
        lambda: [j.state for j in core.jobs.of(alice)] == ["running"], timeout=20, what="the job to start"
    )
    assert core.jobs.of(alice)[0].job_id == job.job_id
    assert core.jobs.cancel(alice, job.job_id).startswith("Stopping it")
    stopped = wait_until(
        lambda: [e for e in events(redis, job.job_id) if e["type"] == "failed"],
        timeout=20,
        what="the job to stop",
    )
    assert (stopped[0]["type"], stopped[0]["kind"], stopped[0]["text"]) == (
        "failed",
        "cancelled",
        "Cancelled. Nothing was charged.",
    )
    assert core.quota.report(alice).used_this_hour == 0 and core.jobs.of(alice) == []


def test_an_openai_job_being_drawn_cannot_be_stopped_and_the_member_is_told_why(redis, make_settings):
    core = ImagineCore(make_settings(openai_api_key="sk-test"), redis)
    request = image_request("evt-openai", backend="openai", width=1024, height=1024)
    core.admit(request)  # (no moderation service here: admitted and enqueued as after one)
    job = core.enqueue(request)
    # A worker took it: out of the queue, started (as RQ's own worker marks it).
    redis.lrem(queue_key("openai"), 0, job.job_id)
    Job.fetch(job.job_id, connection=redis, serializer=SERIALIZER).set_status(JobStatus.STARTED)
    alice = image_request().requester
    assert core.jobs.cancel(alice, job.job_id).startswith("Jobs on the openai backend cannot be stopped")
    assert not redis.exists(keys.stop_requested(job.job_id))
