"""Pictures that steer a drawing, from the command line, with a real worker and Redis: `--sref` and
`--cref` weighed by `--sw` (the placeholder lays each one's colour over its drawing), `--control
KIND:PICTURE` (the placeholder draws its outlines); a1111's, OpenAI's and the Horde's ways are in
their backend tests. And the refusals where they cannot be honoured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from shared import keys
from tests.helpers import imagine_command, wait_until


@pytest.fixture
def worker(processes, redis):
    processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")


def generate(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = imagine_command(
        "generate", "a fox", "--size", "256x256", "--seed", "3", "--out", str(cwd), *args
    )
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=90)


def mean_colour(path: str) -> tuple[float, ...]:
    with Image.open(path) as image:
        return tuple(ImageStat.Stat(image.convert("RGB")).mean)


def test_a_style_reference_weighs_on_the_drawing_as_much_as_sw_says(process_env, tmp_path, worker):
    red = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (250, 0, 0)).save(red)
    plain = generate(process_env, tmp_path)
    assert plain.returncode == 0, plain.stderr
    light = generate(process_env, tmp_path, "--sref", str(red), "--sw", "20")
    strong = generate(process_env, tmp_path, "--sref", str(red), "--sw", "100")
    assert light.returncode == strong.returncode == 0, light.stderr + strong.stderr
    redness = [
        r - (g + b) / 2
        for r, g, b in map(mean_colour, (plain.stdout.strip(), light.stdout.strip(), strong.stdout.strip()))
    ]
    assert redness[0] < redness[1] < redness[2]


def test_a_control_picture_is_followed_where_its_outlines_are(process_env, tmp_path, worker):
    square = tmp_path / "square.png"
    outline = Image.new("RGB", (256, 256), "black")
    outline.paste((255, 255, 255), (64, 64, 192, 192))
    outline.save(square)
    result = generate(process_env, tmp_path, "--control", f"canny:{square}", "--control-weight", "1")
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as drawn:
        edge, inside = drawn.convert("RGB").getpixel((64, 128)), drawn.convert("RGB").getpixel((128, 128))
    assert edge == (255, 255, 255) and inside != (255, 255, 255)  # the square's side, not its middle


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (
            ["--control", "sketch:PICTURE"],
            "There is no control called “sketch”. Choose one of: canny, depth, pose",
        ),
        (["--control", "pose:missing.png"], "--control pose:PICTURE names a picture file"),
        (["--control-weight", "0.5"], "--control-weight weighs a control picture"),
        (
            ["--control", "depth:PICTURE", "--backend", "comfyui"],
            "This bot's comfyui backend is not set up for control pictures, so --control cannot be used "
            "here (the operator sets a [comfyui.workflows.NAME] file with a ControlNet).",
        ),
        (["--sw", "50"], "--sw weighs a reference picture: give one with --sref or --cref."),
        (["--sref", "PICTURE", "--sw", "150"], "sw"),
        (["--cref", "PICTURE", "--backend", "horde"], "The horde backend takes no reference pictures"),
    ],
)
def test_a_reference_that_cannot_be_honoured_is_refused_with_its_reason(process_env, tmp_path, args, told):
    picture = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (0, 0, 250)).save(picture)
    result = generate(process_env, tmp_path, *[a.replace("PICTURE", str(picture)) for a in args])
    assert result.returncode != 0 and told in result.stderr
