"""Posting a job's answer once: across concurrent attempts, and when the worker posting it died."""

from __future__ import annotations

import threading

import pytest

from shared import keys
from shared.recovery import mark_alive
from workers.delivery.once import DeliveryInProgress, DeliveryLedger


def test_redis_native_posts_happen_exactly_once_under_concurrent_attempts(redis):
    ledger = DeliveryLedger(redis)
    start = threading.Barrier(8)
    results: list[bool] = []

    def attempt() -> None:
        start.wait()
        results.append(ledger.once("job-1", post_into=lambda pipe: pipe.rpush("posted", "x")))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1 and redis.llen("posted") == 1


def test_a_claim_left_by_a_dead_worker_is_taken_over_and_the_answer_posted(redis):
    ledger = DeliveryLedger(redis)
    redis.set(keys.delivering("job-2"), "dead-worker")  # it died between claiming and recording
    posts: list[str] = []
    assert ledger.once("job-2", poster="live-worker", post=lambda: posts.append("posted"))
    assert posts == ["posted"] and redis.exists(keys.delivered("job-2"))
    assert not ledger.once("job-2", poster="another", post=lambda: posts.append("again"))
    assert posts == ["posted"]


def test_a_claim_held_by_a_live_worker_makes_the_attempt_wait(redis):
    ledger = DeliveryLedger(redis)
    mark_alive(redis, "busy-worker")
    redis.set(keys.delivering("job-3"), "busy-worker")
    with pytest.raises(DeliveryInProgress):
        ledger.once("job-3", poster="other-worker", post=lambda: None)
    assert not redis.exists(keys.delivered("job-3"))
