"""Recovery against real processes: Redis SIGKILLed and restarted from its append-only file with jobs
queued; the image service failing with 5xx for a while. Nothing lost, nothing posted twice, quotas right."""

from __future__ import annotations

import json
import time

import pytest
import redis as redis_lib

from bot.core import ImagineCore
from shared import keys
from tests.factories import image_request
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import Processes, RedisServer, wait_until

JOBS = 20


def final_events(client: redis_lib.Redis, job_id: str) -> list[dict]:
    entries = client.xrange(keys.events(job_id))
    return [e for e in (json.loads(f[b"event"]) for _, f in entries) if e["type"] in ("done", "failed")]


@pytest.fixture
def aof_redis():
    server = RedisServer(aof=True)
    server.start()
    yield server
    server.stop()


def test_redis_killed_and_restarted_from_its_aof_loses_no_queued_job(
    aof_redis, make_settings, process_env, tmp_path
):
    client = redis_lib.Redis.from_url(aof_redis.url)
    core = ImagineCore(make_settings(redis_url=aof_redis.url), client)
    jobs = [core.submit(image_request(f"q{n}", user=f"u{n}")).job_id for n in range(JOBS)]
    charged = {f"u{n}": client.zcard(keys.quota_window(f"cli:u{n}")) for n in range(JOBS)}
    assert set(charged.values()) == {1}

    # Redis writes its AOF buffer to the file before it answers, unless a slow disk has it postpone
    # that write (up to 2 s with fsync every second): what reached the file is what a kill keeps.
    wait_until(lambda: client.info("persistence")["aof_buffer_length"] == 0, what="the AOF buffer written")
    aof_redis.kill()  # every acknowledged write already reached the append-only file (not yet fsynced)
    aof_redis.start()
    client = redis_lib.Redis.from_url(aof_redis.url)
    assert client.llen("rq:queue:imagine-placeholder") == JOBS

    logs = tmp_path / "recovery-logs"
    logs.mkdir()
    processes = Processes({**process_env, "REDIS_URL": aof_redis.url}, logs)
    try:
        processes.worker({}, client)
        wait_until(
            lambda: all(final_events(client, job) for job in jobs), timeout=60, what="every job to finish"
        )
    finally:
        processes.close()
    assert all(
        len(final_events(client, job)) == 1 and final_events(client, job)[0]["type"] == "done" for job in jobs
    )
    assert {f"u{n}": client.zcard(keys.quota_window(f"cli:u{n}")) for n in range(JOBS)} == charged
    assert not any(client.zcard(keys.quota_running(f"cli:u{n}")) for n in range(JOBS))  # slots released


OPENAI_ENV = {"OPENAI_API_KEY": "sk-test-1234567890", "IMAGINE_BACKEND": "openai"}
RETRYING = "[jobs]\nretries = 3\nretry_intervals = [1, 2, 3]\n[openai]\nmax_retries = 0\n"


@pytest.mark.parametrize(("outage", "delivered"), [(3.0, True), (30.0, False)])
def test_an_image_service_failing_for_a_while(
    outage, delivered, redis, processes, make_settings, config_file, process_env
):
    """The service answers 500 for `outage` seconds. Retries with backoff span about 6 s: a 3 s outage
    ends in delivered images; a 30 s one in a message and the quota refunded. Never a double post."""
    config = config_file(RETRYING)
    with FakeOpenAI() as fake:
        env = {**OPENAI_ENV, "OPENAI_BASE_URL": fake.base_url, "IMAGINE_CONFIG": str(config)}
        settings = make_settings(
            config, openai_api_key=OPENAI_ENV["OPENAI_API_KEY"], openai_base_url=fake.base_url
        )
        processes.start("worker", "--backend", "openai", extra_env=env)
        # the outage begins once the worker serves: its start (slower on a loaded machine) is not part of it
        wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=30, what="the worker")
        fake.fail_until(time.monotonic() + outage)
        request = image_request(backend="openai", model="gpt-image-2.5-sunburst", width=1024, height=1024)
        job = ImagineCore(settings, redis).submit(request).job_id
        [final] = wait_until(lambda: final_events(redis, job), timeout=30, what="the job to end")
        failed_attempts = len([r for r in fake.image_requests() if r.at < fake.failing_until])
    assert failed_attempts >= 1
    assert final["type"] == ("done" if delivered else "failed")
    if not delivered:
        assert "unavailable" in final["text"] and "not charged" in final["text"]
        assert failed_attempts == 4  # the first try and three retries
    assert redis.zcard("imagine:quota:cli:alice:window") == (1 if delivered else 0)
    assert len(final_events(redis, job)) == 1
