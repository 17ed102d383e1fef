"""Pictures that steer a drawing on the diffusers backend, on the tiny pipeline: an IP-Adapter for
--sref/--cref and a ControlNet for --control, each built by the test in the layout operators download
them in, read once by the worker from `[diffusers.ip_adapter]` and `[diffusers.controlnet]`."""

from __future__ import annotations

import io
import json

import pytest

pytest.importorskip("diffusers", reason="the gpu extra is not installed")

import redis as redis_lib  # noqa: E402
from PIL import Image, ImageChops, ImageDraw, ImageStat  # noqa: E402

from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.references import Control, Reference  # noqa: E402
from shared.drawing.request import RequestOptions, build_request  # noqa: E402
from shared.drawing.sources import SourceImage  # noqa: E402
from shared.errors import InvalidRequest  # noqa: E402
from shared.jobs.queue import queue_name  # noqa: E402
from tests.factories import image_request, requester  # noqa: E402
from tests.fakes.tiny_sd import build_controlnet, build_ip_adapter, build_pipeline  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers.control import control_picture  # noqa: E402
from workers.runtime import build_runtime  # noqa: E402
from workers.worker import serve  # noqa: E402

FAST = "[diffusers]\nsteps = 3\nguidance = 5.0\n"


@pytest.fixture(scope="module")
def steered(tmp_path_factory, redis_url):
    """One worker's backend with the tiny model, its IP-Adapter and a canny ControlNet."""
    folder = tmp_path_factory.mktemp("steering")
    model = build_pipeline(folder)
    adapter, encoder = build_ip_adapter(model, folder / "ip-adapter")
    controlnet = build_controlnet(model, folder / "controlnet-canny")
    path = folder / "imagine.toml"
    path.write_text(
        FAST
        + f'[diffusers.models.tiny]\npath = "{model}"\n'
        + f'[diffusers.ip_adapter]\nfile = "{adapter}"\nimage_encoder = "{encoder}"\n'
        + f'[diffusers.controlnet]\ncanny = "{controlnet}"\n'
    )
    settings = Settings(_env_file=None, redis_url=redis_url, config_path=path, backend="diffusers")
    settings = settings.model_copy(update={"config": load_config(path)})
    return build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")


def drawn(runtime, **fields) -> Image.Image:
    task = GenerationTask(prompt="a fox", width=64, height=64, count=1, seed=7, **fields)
    return runtime.backend.generate(task).images[0].image.convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> float:
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def striped() -> Image.Image:
    picture = Image.new("RGB", (64, 64), "white")
    draw = ImageDraw.Draw(picture)
    for x in range(0, 64, 16):
        draw.rectangle((x, 0, x + 7, 63), fill=(200, 30, 30))
    return picture


def test_a_reference_picture_steers_the_drawing_by_its_weight_and_leaves_the_next_job_as_it_was(steered):
    plain = drawn(steered)
    weighed_out = drawn(steered, reference_pictures=[("style", striped())], reference_weight=0)
    styled = drawn(steered, reference_pictures=[("style", striped())], reference_weight=100)
    both = drawn(
        steered,
        reference_pictures=[("style", striped()), ("character", Image.new("RGB", (48, 48), "navy"))],
        reference_weight=100,
    )
    after = drawn(steered)
    assert difference(plain, weighed_out) < 1  # the adapter at scale 0 adds nothing
    assert difference(plain, styled) > 2 and difference(styled, both) > 1
    assert after.tobytes() == plain.tobytes()  # the adapter is taken off the UNet after its job
    assert steered.backend.model(None).text2image.image_encoder is None


def test_a_canny_control_follows_the_pictures_outlines(steered):
    square = Image.new("RGB", (64, 64), "black")
    square.paste((255, 255, 255), (16, 16, 48, 48))
    outlines = control_picture("canny", square, 64, 64).convert("L")
    assert outlines.getpixel((16, 32)) == 255 and outlines.getpixel((32, 32)) == 0  # its side, not its middle
    plain = drawn(steered)
    control = Control(kind="canny", image=SourceImage(key="unused"))
    followed = drawn(steered, control=control, control_picture=square, control_weight=1.0)
    weighed_out = drawn(steered, control=control, control_picture=square, control_weight=0.0)
    assert difference(plain, followed) > 2 and difference(plain, weighed_out) < 1
    refined = drawn(steered, control=control, control_picture=square, init_image=plain, strength=0.8)
    assert refined.size == (64, 64)  # the ControlNet's image-to-image pipeline, from the same weights


def test_a_control_kind_without_weights_is_refused_naming_what_is_offered(steered):
    control = Control(kind="depth", image=SourceImage(key="unused"))
    with pytest.raises(InvalidRequest, match=r"no depth ControlNet.*Offered: canny"):
        drawn(steered, control=control, control_picture=Image.new("RGB", (64, 64)))


def test_a_job_with_a_reference_from_the_store_is_drawn_after_it(steered, redis):
    buffer = io.BytesIO()
    striped().save(buffer, format="PNG")
    steered.store.put_many({"member-style": buffer.getvalue()}, workspace="local")
    reference = Reference(kind="style", image=SourceImage(key="member-style"))
    done = [
        job_done(steered, image_request(event, backend="diffusers", **fields))
        for event, fields in (("evt-plain", {}), ("evt-sref", {"references": (reference,)}))
    ]
    plain, styled = (steered.redis.get(event["images"][0]["key"]) for event in done)
    assert (
        difference(
            Image.open(io.BytesIO(plain)).convert("RGB"), Image.open(io.BytesIO(styled)).convert("RGB")
        )
        > 2
    )


def job_done(runtime, request) -> dict:
    submission = ImagineCore(runtime.settings, runtime.redis).submit(request)
    serve(runtime, [queue_name("diffusers")], burst=True, name="steering-test", logging_level="ERROR")
    events = [json.loads(f[b"event"]) for _, f in runtime.redis.xrange(keys.events(submission.job_id))]
    assert events[-1]["type"] == "done", events[-1]
    return events[-1]


def test_without_the_settings_the_options_are_refused_before_anything_is_queued(config_file):
    config = load_config(config_file(FAST + '[diffusers.models.tiny]\npath = "/models/tiny"\n'))
    reference = Reference(kind="style", image=SourceImage(key="k"))
    control = Control(kind="pose", image=SourceImage(key="k"))
    for options, told in (
        ({"references": (reference,)}, r"not set up for reference pictures.*\[diffusers.ip_adapter\]"),
        ({"control": control}, r"not set up for control pictures.*\[diffusers.controlnet\]"),
    ):
        with pytest.raises(InvalidRequest, match=told):
            build_request(  # the frontends' own check, before the quota or the queue
                RequestOptions(prompt="a fox", backend="diffusers", **options),
                requester=requester(),
                event_id="e",
                config=config,
                default_backend="diffusers",
            )


def test_doctor_says_what_upscale_references_and_control_will_use(steered, tmp_path):
    from workers.backends.diffusers.doctor import check

    lines = [c.line() for c in check(steered.settings)]
    assert any(line.startswith("✓ diffusers IP-Adapter file: ip-adapter_tiny.safetensors") for line in lines)
    assert any(line.startswith("✓ diffusers ControlNet canny: controlnet-canny") for line in lines)
    assert "✓ diffusers upscaler: Lanczos (set [diffusers] upscaler for an ESRGAN model)" in lines
    config = steered.settings.config
    adapter = config.diffusers.ip_adapter.model_copy(update={"file": tmp_path / "gone.safetensors"})
    diffusers = config.diffusers.model_copy(update={"ip_adapter": adapter})
    moved = config.model_copy(update={"diffusers": diffusers})
    lines = [c.line() for c in check(steered.settings.model_copy(update={"config": moved}))]
    assert any("gone.safetensors does not exist → fix [diffusers.ip_adapter] file" in line for line in lines)
