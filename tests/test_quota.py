"""Quotas on a real Redis: atomic admission, exact waits, refunds, caps and overrides."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.configuration.config import QuotaConfig, load_config
from shared.drawing.requester import Requester
from shared.errors import Refused
from shared.jobs.round_trips import SharedRoundTrips
from shared.ops.redis_conn import connect_async
from shared.quotas.quota import Quota, limits_for


def member(user: str = "alice", workspace: str = "guild1", roles: tuple[str, ...] = ()) -> Requester:
    return Requester(platform="discord", workspace=workspace, channel="c1", user=user, roles=roles)


def quota(redis, **limits) -> Quota:
    return Quota(redis, QuotaConfig(**{"concurrent": 100, **limits}))


def test_fifty_simultaneous_requests_for_a_limit_of_five_admit_exactly_five(redis):
    q = quota(redis, images_per_hour=5)
    start = threading.Barrier(50)

    def attempt(i: int) -> bool:
        start.wait()
        try:
            q.admit(member(), f"job-{i}", 1)
            return True
        except Refused:
            return False

    with ThreadPoolExecutor(max_workers=50) as pool:
        admitted = sum(pool.map(attempt, range(50)))
    assert admitted == 5
    assert q.report(member()).used_this_hour == 5


def test_eleventh_image_in_an_hour_is_refused_with_the_wait(redis):
    q = quota(redis, images_per_hour=10)
    for i in range(10):
        q.admit(member(), f"job-{i}", 1)
    with pytest.raises(Refused) as refused:
        q.admit(member(), "job-10", 1)
    assert refused.value.rule == "hourly"
    assert 3590 < refused.value.retry_after <= 3600
    assert re.fullmatch(
        r"Please wait (1 h|59 min \d+ s) — you have used 10 of 10 images this hour\.", str(refused.value)
    )


def test_wait_is_until_enough_old_images_expire_for_the_whole_request(redis):
    q = quota(redis, images_per_hour=4)
    q.admit(member(), "early", 2)
    redis.zincrby(f"imagine:quota:{member().user_key}:window", -1800, "early:1")  # half an hour ago
    redis.zincrby(f"imagine:quota:{member().user_key}:window", -1800, "early:2")
    q.admit(member(), "late", 2)
    with pytest.raises(Refused) as refused:
        q.admit(member(), "more", 2)
    assert 1790 < refused.value.retry_after <= 1800  # both early images must expire, not one


def test_refund_gives_the_images_and_the_slot_back_once(redis):
    q = quota(redis, images_per_hour=2, concurrent=1)
    q.admit(member(), "job-a", 2)
    assert q.refund(member(), "job-a") is True
    assert q.refund(member(), "job-a") is False  # a second refund changes nothing
    report = q.report(member())
    assert (report.used_this_hour, report.running) == (0, 0)
    q.admit(member(), "job-b", 2)


def test_release_frees_the_slot_but_keeps_the_images_charged(redis):
    q = quota(redis, images_per_hour=10, concurrent=2)
    q.admit(member(), "a", 1)
    q.admit(member(), "b", 1)
    with pytest.raises(Refused) as refused:
        q.admit(member(), "c", 1)
    assert refused.value.rule == "concurrent"
    assert "2 of 2 jobs" in str(refused.value)
    q.release(member(), "a")
    q.admit(member(), "c", 1)
    assert q.report(member()).used_this_hour == 3


def test_a_slot_whose_job_no_longer_exists_is_dropped_instead_of_refusing(redis):
    q = quota(redis, concurrent=1)
    q.admit(member(), "lost-job", 1)  # its frontend died before enqueueing
    q.admit(member(), "next", 1, is_job_alive=lambda job_id: job_id != "lost-job")
    assert q.report(member()).running == 1


def test_workspace_daily_cap_counts_every_member_and_says_when_it_resets(redis):
    q = quota(redis, images_per_hour=10, workspace_images_per_day=3)
    q.admit(member("alice"), "a", 2)
    q.admit(member("bob"), "b", 1)
    with pytest.raises(Refused) as refused:
        q.admit(member("carol"), "c", 1)
    assert refused.value.rule == "workspace"
    assert 0 < refused.value.retry_after <= 86400
    assert "3 of its 3 images for today" in str(refused.value)
    q.admit(member("carol", workspace="guild2"), "d", 1)  # other servers are not affected


def test_same_job_id_is_charged_once(redis):
    q = quota(redis, images_per_hour=10)
    assert q.admit(member(), "event-job", 2).duplicate is False
    assert q.admit(member(), "event-job", 2).duplicate is True
    assert q.report(member()).used_this_hour == 2


def test_blocked_user_is_refused_with_a_plain_reason_until_unblocked(redis):
    q = quota(redis)
    q.block(member())
    with pytest.raises(Refused) as refused:
        q.admit(member(), "x", 1)
    assert refused.value.rule == "blocked"
    assert "not allowed" in str(refused.value)
    q.unblock(member())
    q.admit(member(), "x", 1)


def test_granted_images_go_beyond_the_hourly_limit_and_come_back_on_refund(redis):
    q = quota(redis, images_per_hour=1)
    q.admit(member(), "a", 1)
    assert q.grant(member(), 2) == 2
    q.admit(member(), "b", 2)
    assert q.report(member()).bonus == 0
    with pytest.raises(Refused):
        q.admit(member(), "c", 1)
    q.refund(member(), "b")
    assert q.report(member()).bonus == 2


def test_asking_for_more_than_the_hourly_limit_says_so_instead_of_a_wait(redis):
    q = quota(redis, images_per_hour=3)
    with pytest.raises(Refused) as refused:
        q.admit(member(), "x", 4)
    assert refused.value.retry_after is None
    assert "limit is 3 images per hour" in str(refused.value)


def test_reset_forgets_the_hour(redis):
    q = quota(redis, images_per_hour=1)
    q.admit(member(), "a", 1)
    q.reset(member())
    q.admit(member(), "b", 1)


def test_overrides_from_toml_apply_per_workspace_role_and_user(redis, config_file):
    path = config_file(
        """
[quota]
images_per_hour = 2
concurrent = 5
workspace_images_per_day = 100

[quota.workspaces."discord:big"]
workspace_images_per_day = 1000
images_per_hour = 4

[quota.roles.patron]
images_per_hour = 20
[quota.roles.helper]
images_per_hour = 8
concurrent = 9

[quota.users."discord:vip"]
images_per_hour = 50
"""
    )
    config = load_config(path).quota
    assert limits_for(config, member()).images_per_hour == 2
    big = limits_for(config, member(workspace="big"))
    assert (big.images_per_hour, big.workspace_images_per_day, big.concurrent) == (4, 1000, 5)
    both_roles = limits_for(config, member(roles=("helper", "patron")))
    assert (both_roles.images_per_hour, both_roles.concurrent) == (20, 9)  # the most generous role wins
    assert limits_for(config, member(user="vip", roles=("patron",))).images_per_hour == 50

    q = Quota(redis, config)
    for i in range(4):
        q.admit(member(workspace="big"), f"big-{i}", 1)
    with pytest.raises(Refused):
        q.admit(member(workspace="big"), "big-5", 1)


def test_an_admission_after_redis_forgot_its_scripts_is_charged_once_with_its_claim_made_once(redis):
    """The admission runs the script by its hash in one round trip; a Redis that restarted (or had its
    scripts flushed) answers NOSCRIPT, and the admission is run again alone, not the claim with it."""
    q = quota(redis, images_per_hour=5)
    redis.script_flush()
    admission = q.admit(member(), "job-1", 2, before=lambda pipe: pipe.set("claim", "1", nx=True))
    assert admission.before == [True] and not admission.duplicate
    assert q.report(member()).used_this_hour == 2
    again = q.admit(member(), "job-2", 1, before=lambda pipe: pipe.set("claim", "1", nx=True))
    assert again.before == [None] and q.report(member()).used_this_hour == 3


def test_admissions_of_one_moment_share_round_trips_and_stay_exact(redis, redis_url):
    """200 admissions started at once on an event loop: exactly the limit is admitted, each claim is
    answered to its own caller, and they travel together rather than one round trip each."""
    q = quota(redis, images_per_hour=50)

    async def burst() -> tuple[list[bool], list[list]]:
        client = connect_async(redis_url)
        trips = SharedRoundTrips(client)
        claims: list[list] = []

        async def attempt(i: int) -> bool:
            def claim(pipe) -> None:
                pipe.set(f"claim-{i}", "1", nx=True)

            try:
                admission = await q.admit_async(trips, member(), f"job-{i}", 1, before=claim)
            except Refused:
                return False
            claims.append(admission.before)
            return True

        try:
            return list(await asyncio.gather(*(attempt(i) for i in range(200)))), claims
        finally:
            await client.aclose()

    redis.config_resetstat()
    admitted, claims = asyncio.run(burst())
    assert sum(admitted) == 50 and claims == [[True]] * 50
    assert q.report(member()).used_this_hour == 50
    stats = redis.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 200
    # One round trip each would have opened the client's whole pool of connections.
    assert redis.info("stats")["total_connections_received"] <= 2


def test_an_async_admission_after_redis_forgot_its_scripts_teaches_it_once(redis, redis_url):
    q = quota(redis, images_per_hour=5)
    redis.script_flush()

    async def admit() -> list:
        client = connect_async(redis_url)
        try:
            trips = SharedRoundTrips(client)
            admission = await q.admit_async(
                trips, member(), "job-1", 2, before=lambda pipe: pipe.set("claim", "1", nx=True)
            )
            return admission.before
        finally:
            await client.aclose()

    assert asyncio.run(admit()) == [True]
    assert q.report(member()).used_this_hour == 2
