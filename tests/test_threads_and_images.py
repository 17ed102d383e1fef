"""Thread memory and image storage on a real Redis."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shared.imaging.image_store import ImageTooLarge, RedisImageStore
from shared.imaging.images import encode_png, read_metadata
from shared.members.threads import ThreadMemory, Turn


def turn(job_id: str, prompt: str = "a cat") -> Turn:
    return Turn(job_id=job_id, owner="cli:alice", prompt=prompt, width=64, height=64, backend="placeholder")


def test_turns_are_kept_in_order_with_a_ttl(redis):
    memory = ThreadMemory(redis, ttl_seconds=7 * 86400, max_turns=50)
    memory.record("imagine:thread:t", turn("j1", "a cat"))
    memory.record("imagine:thread:t", turn("j2", "a cat in a hat"))
    assert [t.prompt for t in memory.turns("imagine:thread:t")] == ["a cat", "a cat in a hat"]
    assert memory.last("imagine:thread:t").job_id == "j2"
    assert 7 * 86400 - 5 < redis.ttl("imagine:thread:t") <= 7 * 86400


def test_a_retried_job_records_its_turn_once(redis):
    memory = ThreadMemory(redis, ttl_seconds=60, max_turns=50)
    assert memory.record("imagine:thread:t", turn("j1")) is True
    assert memory.record("imagine:thread:t", turn("j1")) is False
    assert len(memory.turns("imagine:thread:t")) == 1


def test_long_threads_keep_the_latest_turns(redis):
    memory = ThreadMemory(redis, ttl_seconds=60, max_turns=3)
    for i in range(5):
        memory.record("imagine:thread:t", turn(f"j{i}"))
    assert [t.job_id for t in memory.turns("imagine:thread:t")] == ["j2", "j3", "j4"]


def test_unknown_thread_has_no_last_turn(redis):
    assert ThreadMemory(redis, ttl_seconds=60, max_turns=3).last("imagine:thread:none") is None


def test_png_carries_the_parameters_to_reproduce_it():
    meta = {"prompt": "a fox", "negative": "blur", "seed": 3, "model": "m", "size": "8x8", "job_id": "img-1"}
    data = encode_png(Image.new("RGB", (8, 8)), meta)
    assert read_metadata(data) == meta
    with Image.open(io.BytesIO(data)) as image:
        assert image.text["parameters"].startswith("a fox\nNegative prompt: blur\nSeed: 3, Size: 8x8")


def test_store_keeps_images_with_a_ttl_and_refuses_oversized_ones(redis):
    store = RedisImageStore(redis, ttl_seconds=120, max_bytes=1024)
    store.put_many({"imagine:image:x:0": b"\x89PNG small"})
    assert store.get("imagine:image:x:0") == b"\x89PNG small"
    assert 0 < redis.ttl("imagine:image:x:0") <= 120
    with pytest.raises(ImageTooLarge):
        store.put_many({"imagine:image:x:1": b"small", "imagine:image:x:2": b"0" * 1025})
    assert store.get("imagine:image:x:1") is None  # all or nothing
