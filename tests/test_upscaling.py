"""Upscale for real: `imagine generate --image P --upscale 2|4` and the Upscale (Subtle) / (Creative)
buttons make a picture 2× or 4× bigger, with real processes, a worker and Redis (the placeholder
backend has no upscaler model: Lanczos; a1111's upscaler is in test_a1111_backend.py)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from shared import keys
from tests.helpers import imagine_command, wait_until
from tests.test_web import Page, results
from tests.web_harness import start_web


def saved_picture(folder: Path, size: tuple[int, int] = (300, 200)) -> tuple[Path, Image.Image]:
    picture = Image.new("RGB", size)
    picture.putdata([((x * 7) % 256, (y * 5) % 256, 90) for y in range(size[1]) for x in range(size[0])])
    path = folder / "photo.png"
    picture.save(path)
    return path, picture


@pytest.fixture
def worker(processes, redis):
    processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")


def generate(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = imagine_command("generate", *args, "--out", str(cwd))
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=90)


def difference(a: Image.Image, b: Image.Image) -> float:
    return max(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean)


def test_the_command_line_upscales_a_picture_two_or_four_times_without_a_prompt(
    process_env, tmp_path, worker
):
    source, picture = saved_picture(tmp_path)
    twice = generate(process_env, tmp_path, "--image", str(source), "--upscale", "2")
    assert twice.returncode == 0, twice.stderr
    with Image.open(twice.stdout.strip()) as bigger:
        assert bigger.size == (600, 400)
        assert difference(bigger.resize(picture.size, Image.Resampling.LANCZOS), picture) < 8  # the same
        assert "Model: Lanczos" in bigger.info["parameters"]
    four = generate(process_env, tmp_path, "--image", str(source), "--upscale", "4")
    assert four.returncode == 0, four.stderr
    assert Image.open(four.stdout.strip()).size == (1200, 800)


def test_with_a_prompt_the_upscale_is_redrawn_at_the_new_size(process_env, tmp_path, worker):
    source, picture = saved_picture(tmp_path)
    creative = generate(process_env, tmp_path, "sharper", "--image", str(source), "--upscale", "2")
    assert creative.returncode == 0, creative.stderr
    with Image.open(creative.stdout.strip()) as redrawn:
        assert redrawn.size == (600, 400)
        assert "Model: placeholder" in redrawn.info["parameters"]  # drawn by the backend after the upscaler


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--upscale", "2"], "--upscale makes a picture bigger"),
        (["--image", "PICTURE", "--upscale", "3"], "There is no upscale called “3”. Choose one of: 2, 4."),
        (
            ["--image", "PICTURE", "--upscale", "2", "--zoom-out", "2"],
            "give a new canvas in a job of its own",
        ),
        (
            ["a face", "--face-fix"],
            "The placeholder backend has no face restorer, so --face-fix is not offered",
        ),
        (["a face", "--hires"], "The placeholder backend has no hires fix, so --hires is not offered there."),
    ],
)
def test_an_upscale_that_cannot_be_made_is_refused_with_its_reason(process_env, tmp_path, args, told):
    source, _ = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, *[str(source) if a == "PICTURE" else a for a in args])
    assert result.returncode != 0 and told in result.stderr


def test_the_buttons_under_one_image_upscale_it_subtly_or_creatively(processes, redis, config_file):
    web = Page(start_web(processes, redis, config_file, ""))
    web.say("a lighthouse")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    rows = [[b["label"] for b in row] for row in first["buttons"]]
    assert ["Upscale (Subtle)", "Upscale (Creative)"] in rows
    press = {b["label"]: b["id"] for row in first["buttons"] for b in row}
    assert web.press(press["Upscale (Subtle)"], first["thread"])["taken"]
    subtle = results(web.feed_until(lambda ms: len(results(ms)) == 2))[1]
    assert (subtle["label"], subtle["model"]) == ("⬆️ Upscale:", "Lanczos")
    assert "Upscaled ×2 with Lanczos: 1024×1024 → 2048×2048." in subtle["notes"]
    _, data, _ = web.get(subtle["images"][0]["url"])
    assert Image.open(io.BytesIO(data)).size == (2048, 2048)
    assert web.press(press["Upscale (Creative)"], first["thread"])["taken"]
    creative = results(web.feed_until(lambda ms: len(results(ms)) == 3))[2]
    assert creative["model"] == "placeholder"
    _, data, _ = web.get(creative["images"][0]["url"])
    assert Image.open(io.BytesIO(data)).size == (2048, 2048)
    assert redis.zcard(keys.quota_window("web:local")) == 3  # one image each
