"""`[diffusers] upscaler`: an ESRGAN-family weights file read by spandrel and run tile by tile, on a tiny
network built by the test in Real-ESRGAN's released layout.

spandrel needs torchvision, which has no CPU build beside the test suite's CPU torch on the package
registries CI reaches, so these tests run where the `upscale` extra is installed (the GPU image; a
venv with a torchvision matching its torch) and are skipped, saying so, elsewhere."""

from __future__ import annotations

import pytest

pytest.importorskip("diffusers", reason="the gpu extra is not installed")
pytest.importorskip("spandrel", reason="the upscale extra (spandrel, with its torchvision) is not installed")

import redis as redis_lib  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageChops  # noqa: E402

from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.finishing import Upscale  # noqa: E402
from shared.errors import ConfigError  # noqa: E402
from tests.factories import image_request  # noqa: E402
from tests.fakes.tiny_esrgan import build_esrgan  # noqa: E402
from tests.fakes.tiny_sd import build_pipeline  # noqa: E402
from workers import upscaling  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers import upscaler as tiles  # noqa: E402
from workers.backends.diffusers.upscaler import SpandrelUpscaler  # noqa: E402
from workers.runtime import build_runtime  # noqa: E402


def picture(width: int, height: int) -> Image.Image:
    return Image.radial_gradient("L").resize((width, height)).convert("RGB")


@pytest.mark.parametrize("scale", [2, 4])
def test_an_esrgan_file_makes_the_picture_its_scale_bigger(tmp_path, scale):
    model = SpandrelUpscaler(build_esrgan(tmp_path / f"{scale}x-tiny.pth", scale=scale), "cpu", torch.float32)
    assert (model.scale, model.name) == (scale, f"{scale}x-tiny")
    assert model.upscale(picture(40, 24)).size == (40 * scale, 24 * scale)


def test_a_big_picture_is_drawn_in_tiles_that_meet_without_a_seam(tmp_path):
    model = SpandrelUpscaler(build_esrgan(tmp_path / "4x-tiny.pth"), "cpu", torch.float32)
    source = picture(tiles.TILE + 40, 48)  # two tiles across
    whole = model._run(source)  # the network over the whole picture at once
    tiled = model.upscale(source)
    assert tiled.size == whole.size == (source.width * 4, source.height * 4)
    assert max(high for _, high in ImageChops.difference(tiled, whole).getextrema()) <= 1


def test_the_diffusers_backend_upscales_with_it_and_names_it(tmp_path, redis_url):
    model = build_pipeline(tmp_path / "models")
    weights = build_esrgan(tmp_path / "4x-UltraTiny.pth")
    path = tmp_path / "imagine.toml"
    path.write_text(f'[diffusers]\nupscaler = "{weights}"\n[diffusers.models.tiny]\npath = "{model}"\n')
    settings = Settings(_env_file=None, redis_url=redis_url, config_path=path, backend="diffusers")
    settings = settings.model_copy(update={"config": load_config(path)})
    runtime = build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")
    for factor in (2, 4):
        request = image_request("evt-up", backend="diffusers", upscale=Upscale(factor=factor))
        task = GenerationTask(prompt="", width=64, height=64, init_image=picture(64, 48))
        made = upscaling.upscale(runtime.backend, request, task)
        assert made.images[0].image.size == (64 * factor, 48 * factor)
        assert made.model == "4x-UltraTiny" and "4x-UltraTiny" in made.notes[0]


def test_a_file_that_is_not_an_upscaler_is_named_at_start(tmp_path):
    broken = tmp_path / "notes.pth"
    broken.write_bytes(b"not a model")
    with pytest.raises(
        ConfigError, match=r"\[diffusers\] upscaler = .*notes.pth: not a model spandrel can run"
    ):
        SpandrelUpscaler(broken, "cpu", torch.float32)
