"""`imagine generate` end to end, as an operator runs it: real processes, real Redis, exit codes."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from pathlib import Path

import pytest

from bot.core import ImagineCore
from shared import keys
from shared.imaging.images import read_metadata
from tests.factories import image_request
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import imagine_command, wait_until


def run_imagine(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        imagine_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_failure(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert text in lines[0]


@pytest.fixture
def worker(processes, redis):
    processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["   "], "Your prompt is empty"),
        (["x" * 1001], "is 1,001 characters long; the limit is 1,000"),
        (["a\x07bell"], "control character (U+0007)"),
        (["a fox", "--count", "5"], "count must be between 1 and 4 (you asked for 5)"),
        (["a fox", "--count", "0"], "count must be between 1 and 4"),
        (["a fox", "--count", "two"], "count must be a whole number"),
        (["a fox", "--size", "1001x1000"], "is not a size I can draw"),
        (["a fox", "--size", "big"], "is not a size I can draw"),
        (["a fox", "--aspect", "9:0"], "is not an aspect I know"),
        (["a fox", "--aspect", "wide", "--size", "512x512"], "either a size or an aspect"),
        (["a fox", "--style", "vaporwave"], "no style called “vaporwave”"),
        (["a fox", "--backend", "midjourney"], "no backend called “midjourney”"),
        (["a fox", "--seed", "-1"], "seed must be between 0 and"),
        (["a fox", "--quality", "ultra"], "no quality called “ultra”"),
    ],
)
def test_invalid_input_exits_2_with_the_reason(process_env, tmp_path, args, reason):
    result = run_imagine(process_env, tmp_path, "generate", *args)
    assert_one_line_failure(result, 2, reason)


def test_images_are_written_with_their_parameters_and_paths_printed(process_env, tmp_path, worker):
    out = tmp_path / "out"
    result = run_imagine(
        process_env,
        tmp_path,
        "generate",
        "a red bicycle",
        "--count",
        "2",
        "--seed",
        "7",
        "--size",
        "128x96",
        "--negative",
        "people",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(p.parent == out and p.exists() for p in paths)
    meta = [read_metadata(p.read_bytes()) for p in paths]
    assert [m["seed"] for m in meta] == [7, 8]
    assert meta[0]["prompt"] == "a red bicycle" and meta[0]["negative"] == "people"
    assert meta[0]["size"] == "128x96" and meta[0]["model"] == "placeholder" and meta[0]["job_id"]


def test_same_seed_gives_the_same_pixels(process_env, tmp_path, worker):
    digests = []
    for attempt in range(2):
        result = run_imagine(
            process_env,
            tmp_path,
            "generate",
            "a red bicycle",
            "--seed",
            "99",
            "--size",
            "64x64",
            "--out",
            str(tmp_path / str(attempt)),
        )
        assert result.returncode == 0, result.stderr
        from PIL import Image

        with Image.open(result.stdout.strip()) as image:
            digests.append(hashlib.sha256(image.tobytes()).hexdigest())
    assert digests[0] == digests[1]


def test_quota_refusal_exits_3_with_the_wait(process_env, tmp_path, worker, config_file):
    env = {**process_env, "IMAGINE_CONFIG": str(config_file("[quota]\nimages_per_hour = 1\n"))}
    assert (
        run_imagine(env, tmp_path, "generate", "one", "--user", "bob", "--out", str(tmp_path)).returncode == 0
    )
    result = run_imagine(env, tmp_path, "generate", "two", "--user", "bob")
    assert_one_line_failure(result, 3, "you have used 1 of 1 images this hour")
    assert "Please wait" in result.stderr


def test_blocked_user_exits_3(process_env, tmp_path, worker):
    assert run_imagine(process_env, tmp_path, "quota", "block", "mallory").returncode == 0
    result = run_imagine(process_env, tmp_path, "generate", "anything", "--user", "mallory")
    assert_one_line_failure(result, 3, "not allowed to generate images")


def test_no_worker_exits_1_and_says_how_to_start_one(process_env, tmp_path, redis, make_settings):
    result = run_imagine(process_env, tmp_path, "generate", "a fox")
    assert_one_line_failure(result, 1, "imagine worker --backend placeholder")
    assert "(no job is waiting for one)" in result.stderr
    assert redis.dbsize() == 0  # nothing was charged or queued
    core = ImagineCore(make_settings(), redis)
    core.submit(image_request("evt-a"))
    core.submit(image_request("evt-b", user="bob"))
    waiting = run_imagine(process_env, tmp_path, "generate", "a fox")
    assert_one_line_failure(waiting, 1, "(2 jobs are waiting for one)")


def test_unreachable_configured_redis_exits_1_naming_it_without_the_password(process_env, tmp_path):
    env = {**process_env, "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}
    result = run_imagine(env, tmp_path, "generate", "a fox")
    assert_one_line_failure(result, 1, "cannot reach Redis at redis://:***@127.0.0.1:1/0")
    assert "hunter2" not in result.stderr


def test_timeout_exits_1_and_says_the_job_keeps_running(process_env, tmp_path, processes, redis):
    processes.start("worker", "--backend", "placeholder", extra_env={"IMAGINE_PLACEHOLDER_DELAY": "5"})
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")
    result = run_imagine(process_env, tmp_path, "generate", "slow", "--timeout", "1")
    assert_one_line_failure(result, 1, "keeps running")


def test_bad_config_file_exits_1_naming_the_key(process_env, tmp_path, config_file):
    env = {**process_env, "IMAGINE_CONFIG": str(config_file("[quota]\nimages_per_hour = 'ten'\nburst = 3\n"))}
    result = run_imagine(env, tmp_path, "generate", "a fox")
    assert_one_line_failure(result, 1, "quota.images_per_hour")
    assert "quota.burst: unknown key" in result.stderr


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_without_any_redis_configured_it_starts_its_own_and_makes_the_image(process_env, tmp_path):
    if _port_open(6379):
        pytest.skip("a Redis answers on localhost:6379, so the embedded default would not be used")
    env = {k: v for k, v in process_env.items() if k != "REDIS_URL"}
    result = run_imagine(env, tmp_path, "generate", "a lighthouse", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    [path] = result.stdout.splitlines()
    assert read_metadata(Path(path).read_bytes())["prompt"] == "a lighthouse"


def test_enhance_and_moderation_run_on_the_command_line_too(process_env, tmp_path, processes, redis):
    with FakeOpenAI() as fake:
        env = {
            **process_env,
            "OPENAI_API_KEY": "sk-test-1234567890",
            "OPENAI_BASE_URL": fake.base_url,
            "IMAGINE_TEXT_MODEL": "gpt-text-fake",
        }
        processes.start("worker", "--backend", "placeholder", extra_env=env)
        wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")
        result = run_imagine(
            env, tmp_path, "generate", "a fox", "--enhance", "--style", "anime", "--out", str(tmp_path)
        )
        assert result.returncode == 0, result.stderr
        [path] = result.stdout.splitlines()
        meta = read_metadata(Path(path).read_bytes())
        assert meta["revised_prompt"].startswith("a detailed digital painting of a fox, anime: Anime")

        fake.flag_words = {"gore": "violence/graphic"}
        refused = run_imagine(env, tmp_path, "generate", "a gore scene")
        assert_one_line_failure(
            refused, 3, "refused by the server's content policy (category: violence/graphic)"
        )


def test_a_refusal_by_the_image_services_safety_system_exits_3_and_a_fault_1(
    process_env, tmp_path, processes, redis, config_file
):
    config = config_file("[jobs]\nretries = 0\n[openai]\nmax_retries = 0\n")
    with FakeOpenAI() as fake:
        env = {**process_env, **fake.env(), "IMAGINE_CONFIG": str(config)}
        processes.start("worker", "--backend", "openai", extra_env=env)
        wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")
        fake.fail_next("safety")
        result = run_imagine(env, tmp_path, "generate", "a fox", "--backend", "openai")
        assert_one_line_failure(result, 3, "The image service's safety system refused this prompt")
        fake.fail_next("server_error")
        failed = run_imagine(env, tmp_path, "generate", "a fox", "--backend", "openai")
        assert_one_line_failure(failed, 1, "The image service is unavailable right now")


def write_picture(path: Path, colour: tuple[int, int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", (60, 40), colour).save(path)
    return path


def test_generate_starts_from_pictures_and_blends_several(process_env, tmp_path, worker):
    red = write_picture(tmp_path / "red.png", (255, 0, 0))
    blue = write_picture(tmp_path / "blue.jpg", (0, 0, 255))
    result = run_imagine(
        process_env, tmp_path, "generate", "a dream", "--image", str(red), "--image", str(blue),
        "--strength", "0.2", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    from PIL import Image

    [path] = result.stdout.splitlines()
    r, g, b = Image.open(path).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert r > 2 * g and b > 2 * g  # both pictures are in it
    notes = write_picture(tmp_path / "notes.png", (0, 0, 0))
    notes.write_bytes(b"not a picture")
    bad = run_imagine(process_env, tmp_path, "generate", "a fox", "--image", str(notes))
    assert_one_line_failure(bad, 2, "That file is not a picture I can read")
    six = [arg for _ in range(6) for arg in ("--image", str(red))]
    too_many = run_imagine(process_env, tmp_path, "generate", "a fox", *six)
    assert_one_line_failure(too_many, 2, "6 pictures is more than I can start from at once (at most 5)")


def test_describe_prints_four_prompts_one_per_line(process_env, tmp_path):
    green = write_picture(tmp_path / "green.png", (0, 220, 0))
    unset = run_imagine(process_env, tmp_path, "describe", str(green))
    assert_one_line_failure(unset, 1, "Describing pictures needs a vision model")
    with FakeOpenAI() as fake:
        env = {**process_env, **fake.env(), "IMAGINE_VISION_MODEL": "gpt-vision-fake"}
        result = run_imagine(env, tmp_path, "describe", str(green))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 4 and lines[0].startswith("a photo of a green scene, bold shapes")
        fake.chat_mode = "lines"  # an OpenAI-compatible server that ignores the JSON schema
        plain = run_imagine(env, tmp_path, "describe", str(green)).stdout.splitlines()
        assert plain == [
            "a photo of a green scene",
            "an oil painting of a green scene",
            "a 3D render of a green scene",
            "pixel art of a green scene",
        ]
        fake.chat_mode = "server_error"
        failed = run_imagine(env, tmp_path, "describe", str(green))
        assert_one_line_failure(
            failed, 1, "I could not describe the picture: the vision model is unavailable"
        )
