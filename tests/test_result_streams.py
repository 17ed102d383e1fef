"""Result events: a worker publishes a job's answer once; a platform's frontends post it once, also
when one of them died holding it, when two replicas read the same stream, and when the platform
refuses it. The consumer runs in-process against a real Redis with a recording platform poster."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from bot.core import ImagineCore
from bot.results import CLAIM_IDLE_MS, GROUP, ResultConsumer
from shared import keys
from shared.delivery.publish import Publisher
from shared.delivery.results import DeliveredImage, Failure, JobResult, StatusUpdate
from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.errors import DeliveryImpossible
from tests.helpers import wait_until_async

PLATFORM = "discord"
STREAM = keys.results(PLATFORM)


class RecordingPoster:
    """The platform side, recorded: what a frontend would have posted, in order."""

    def __init__(self, fail_with: Callable[[str], Exception | None] = lambda job_id: None) -> None:
        self.posts: list[tuple[str, str]] = []  # (kind, job id)
        self._fail_with = fail_with

    async def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        self.posts.append((update.state, job_id))

    async def result(self, request: ImageRequest, result: JobResult) -> None:
        error = self._fail_with(result.job_id)
        if error is not None:
            raise error
        self.posts.append(("done", result.job_id))

    async def failure(self, job_id: str, request: ImageRequest, failure: Failure) -> None:
        self.posts.append(("failed", job_id))

    def answers(self, job_id: str) -> int:
        return sum(1 for kind, job in self.posts if job == job_id and kind in ("done", "failed"))


def request_for(number: int) -> ImageRequest:
    requester = Requester(platform=PLATFORM, workspace="g1", channel="c1", thread="t1", user=f"u{number}")
    return ImageRequest(event_id=f"evt-{number}", requester=requester, prompt="a fox", width=64, height=64)


def publish_done(redis, core: ImagineCore, job_id: str, number: int = 1) -> None:
    """What a worker publishes for a finished job: the image in the store, then the event."""
    core.images.put_many({f"imagine:image:{job_id}:0": b"\x89PNG fake"})
    image = DeliveredImage(f"imagine:image:{job_id}:0", b"", f"{job_id}-1.png", "image/png", 7)
    result = JobResult(job_id, "a fox", "placeholder", 0.1, [image])
    Publisher(redis).result_once(request_for(number), result)


async def consuming(
    redis_url: str, core: ImagineCore, poster: RecordingPoster, scenario: Callable[[], Awaitable[None]], **kw
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    consumer = ResultConsumer(client, PLATFORM, poster, core, **kw)
    task = asyncio.create_task(consumer.run())
    try:
        await scenario()
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 10)
        await client.aclose()


def test_a_jobs_answer_is_published_once_under_concurrent_attempts(redis, make_settings):
    core = ImagineCore(make_settings(), redis)
    start = threading.Barrier(8)

    def attempt() -> None:
        start.wait()
        publish_done(redis, core, "img-1")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redis.xlen(STREAM) == 1


def test_an_entry_a_dead_frontend_held_is_posted_once_by_a_live_one(redis, redis_url, make_settings):
    core = ImagineCore(make_settings(), redis)
    redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    publish_done(redis, core, "img-dead")
    # A frontend took the entry, then was SIGKILLed before posting it (its liveness key is gone).
    taken = redis.xreadgroup(GROUP, "discord-killed", {STREAM: ">"}, count=1)
    assert taken and redis.xpending(STREAM, GROUP)["pending"] == 1
    poster = RecordingPoster()

    async def scenario() -> None:
        await wait_until_async(lambda: poster.answers("img-dead"), timeout=15, what="the taken-over post")
        await wait_until_async(lambda: redis.xpending(STREAM, GROUP)["pending"] == 0, what="the ack")

    asyncio.run(consuming(redis_url, core, poster, scenario))
    assert poster.answers("img-dead") == 1 and redis.exists(keys.posted("img-dead"))


def test_an_entry_a_live_frontend_holds_is_left_to_it(redis, redis_url, make_settings):
    core = ImagineCore(make_settings(), redis)
    redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    publish_done(redis, core, "img-busy")
    redis.xreadgroup(GROUP, "discord-busy", {STREAM: ">"}, count=1)
    redis.set(keys.consumer_alive("discord-busy"), "1", ex=30)  # still posting: a slow upload
    poster = RecordingPoster()

    def idle_past_the_claim_threshold() -> bool:
        [entry] = redis.xpending_range(STREAM, GROUP, "-", "+", 1)
        return entry["time_since_delivered"] > CLAIM_IDLE_MS

    async def scenario() -> None:
        await wait_until_async(idle_past_the_claim_threshold, what="the busy entry to age")
        # Each round of the consumer looks for dead holders before it reads: after the second result,
        # at least one full round has looked since the entry aged.
        for number in (2, 3):
            await asyncio.to_thread(publish_done, redis, core, f"img-next-{number}", number)
            await wait_until_async(lambda n=number: poster.answers(f"img-next-{n}"), what="a later result")

    asyncio.run(consuming(redis_url, core, poster, scenario))
    assert poster.answers("img-busy") == 0


def test_two_frontends_on_one_stream_post_each_result_once(redis, redis_url, make_settings):
    core = ImagineCore(make_settings(), redis)
    jobs = [f"img-{n}" for n in range(30)]
    first, second = RecordingPoster(), RecordingPoster()

    async def scenario() -> None:
        other = ResultConsumer(aioredis.Redis.from_url(redis_url), PLATFORM, second, core)
        task = asyncio.create_task(other.run())
        for number, job in enumerate(jobs):
            await asyncio.to_thread(publish_done, redis, core, job, number)
        await wait_until_async(
            lambda: all(first.answers(j) + second.answers(j) for j in jobs), what="every result posted"
        )
        other.stop()
        await task

    asyncio.run(consuming(redis_url, core, first, scenario))
    assert all(first.answers(j) + second.answers(j) == 1 for j in jobs)
    assert first.posts and second.posts  # both replicas took a share


def test_a_malformed_entry_is_acknowledged_counted_and_never_blocks_the_stream(
    redis, redis_url, make_settings
):
    core = ImagineCore(make_settings(), redis)
    redis.xadd(STREAM, {"v": "1", "job": "img-bad", "event": "{not json"})
    redis.xadd(STREAM, {"something": "else entirely"})
    publish_done(redis, core, "img-good")
    poster = RecordingPoster()

    async def scenario() -> None:
        await wait_until_async(lambda: poster.answers("img-good"), what="the good result after the bad ones")
        await wait_until_async(lambda: redis.xpending(STREAM, GROUP)["pending"] == 0, what="every ack")

    asyncio.run(consuming(redis_url, core, poster, scenario))
    assert (
        core.metrics.registry.get_sample_value("imagine_malformed_results_total", {"platform": PLATFORM}) == 2
    )


def test_an_answer_the_platform_refuses_is_refunded_once_and_the_member_told(redis, redis_url, make_settings):
    core = ImagineCore(make_settings(), redis)
    request = request_for(1)
    job_id = "img-gone"
    core.quota.admit(request.requester, job_id, 1)
    poster = RecordingPoster(lambda job: DeliveryImpossible("thread deleted"))
    publish_done(redis, core, job_id)

    async def scenario() -> None:
        await wait_until_async(lambda: poster.answers(job_id), what="the member told")

    asyncio.run(consuming(redis_url, core, poster, scenario))
    assert poster.posts == [("failed", job_id)]
    assert core.quota.report(request.requester).used_this_hour == 0


def test_a_transient_error_is_tried_again_and_posted_once(redis, redis_url, make_settings):
    core = ImagineCore(make_settings(), redis)
    failures = [ConnectionResetError("upload cut")]
    poster = RecordingPoster(lambda job: failures.pop() if failures else None)
    publish_done(redis, core, "img-flaky")

    async def scenario() -> None:
        await wait_until_async(lambda: poster.answers("img-flaky"), what="the retried post")

    asyncio.run(consuming(redis_url, core, poster, scenario, retry_seconds=0.2))
    assert poster.answers("img-flaky") == 1 and redis.xpending(STREAM, GROUP)["pending"] == 0


def test_a_result_is_published_once_with_its_bookkeeping_also_after_redis_forgot_the_script(redis):
    """The answer goes out in one transaction with the images and the quota's settling; a second
    attempt (a retry, a taken-over job) settles again but publishes nothing."""
    redis.script_flush()
    publisher = Publisher(redis)
    image = DeliveredImage("imagine:image:job-1:0", b"png", "job-1-1.png", "image/png", 7)
    result = JobResult("job-1", "a fox", "placeholder", 0.1, [image])

    def before(pipe) -> None:
        pipe.set("stored", "1")

    def also(pipe) -> None:
        pipe.incr("settled")

    assert publisher.result_once(request_for(1), result, before=before, also=also) is True
    assert publisher.result_once(request_for(1), result, before=before, also=also) is False
    [(_, fields)] = redis.xrange(STREAM)
    assert fields[b"job"] == b"job-1" and b'"type": "done"' in fields[b"event"]
    assert redis.get("stored") == b"1" and redis.get("settled") == b"2"
    assert redis.exists(keys.delivered("job-1"))
