"""The diffusers backend on a tiny randomly initialised Stable Diffusion pipeline, on the CPU.

The pipeline is built by the test and loaded through the same path a user's model takes
(a local folder, `local_files_only`).
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest

pytest.importorskip("diffusers", reason="the gpu extra is not installed")

import redis as redis_lib  # noqa: E402
from PIL import Image, ImageChops, ImageStat  # noqa: E402

from bot.core import ImagineCore  # noqa: E402
from shared import keys
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.edits import CanvasEdit  # noqa: E402
from shared.drawing.sizes import native_size  # noqa: E402
from shared.errors import Cancelled, ConfigError  # noqa: E402
from shared.imaging.images import read_metadata  # noqa: E402
from shared.jobs.queue import job_id_for, queue_name  # noqa: E402
from tests.factories import image_request  # noqa: E402
from tests.fakes.tiny_sd import build_inpaint_unet, build_pipeline  # noqa: E402
from tests.helpers import wait_until  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.runtime import build_runtime  # noqa: E402
from workers.worker import serve  # noqa: E402

FAST = "[diffusers]\nsteps = 3\nguidance = 5.0\n"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return str(build_pipeline(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def loaded(tiny_model, redis_url, tmp_path_factory):
    """One backend for the module: loading is what the worker does once per process."""
    path = tmp_path_factory.mktemp("cfg") / "imagine.toml"
    path.write_text(FAST)
    settings = Settings(_env_file=None, redis_url=redis_url, diffusers_model=tiny_model, config_path=path)
    settings = settings.model_copy(update={"config": load_config(path)})
    return build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")


def run(runtime, request) -> list[dict]:
    """Submit like a frontend, drain with a worker on the loaded backend, return the job's events."""
    submission = ImagineCore(runtime.settings, runtime.redis).submit(request)
    serve(runtime, [queue_name("diffusers")], burst=True, name="diffusers-test", logging_level="ERROR")
    raw = runtime.redis.xrange(keys.events(submission.job_id))
    return [json.loads(fields[b"event"]) for _, fields in raw]


def pixels(runtime, event: dict, index: int = 0) -> bytes:
    with Image.open(io.BytesIO(runtime.redis.get(event["images"][index]["key"]))) as image:
        return image.convert("RGB").tobytes()


def diffusers_request(event_id: str, **fields):
    return image_request(event_id, backend="diffusers", width=64, height=64, **fields)


def test_text_to_image_makes_the_requested_images_with_their_seeds(loaded, redis):
    events = run(loaded, diffusers_request("evt-d1", count=2, seed=5))
    done = events[-1]
    assert done["type"] == "done"
    assert [i["seed"] for i in done["images"]] == [5, 6]
    meta = read_metadata(loaded.redis.get(done["images"][1]["key"]))
    assert meta["seed"] == 6 and meta["size"] == "64x64" and meta["model"].startswith("sd-tiny")


def test_same_seed_same_pixels_and_an_image_of_a_batch_reproduces_alone(loaded, redis):
    batch = run(loaded, diffusers_request("evt-batch", count=2, seed=40))[-1]
    alone = run(loaded, diffusers_request("evt-alone", seed=41))[-1]
    again = run(loaded, diffusers_request("evt-again", seed=41))[-1]
    other = run(loaded, diffusers_request("evt-other", seed=42))[-1]
    assert pixels(loaded, alone) == pixels(loaded, again)
    assert pixels(loaded, alone) != pixels(loaded, other)
    assert hashlib.sha256(pixels(loaded, batch, 1)).digest() == hashlib.sha256(pixels(loaded, alone)).digest()


def test_refinement_starts_from_the_previous_image(loaded, redis):
    run(loaded, diffusers_request("evt-p1", seed=1, prompt="a red square"))
    run(loaded, diffusers_request("evt-p2", seed=2, prompt="a blue circle"))
    refined = []
    for parent_event in ("evt-p1", "evt-p2"):
        parent_id = job_id_for(diffusers_request(parent_event))
        request = diffusers_request(
            f"refine-{parent_event}",
            kind="refine",
            prompt="at night",
            seed=9,
            parent_job_id=parent_id,
            parent_image_index=0,
        )
        refined.append(run(loaded, request)[-1])
    assert all(r["type"] == "done" for r in refined)
    # Same prompt and seed, different source images: image-to-image, not a fresh text-to-image render.
    assert pixels(loaded, refined[0]) != pixels(loaded, refined[1])


def test_zoom_out_inpaints_the_border_and_keeps_the_original_in_the_middle(loaded, redis):
    first = run(loaded, diffusers_request("evt-z1", seed=3, prompt="a red square"))[-1]
    parent_id = job_id_for(diffusers_request("evt-z1"))
    zoom = diffusers_request(
        "evt-z2",
        kind="zoom",
        canvas=CanvasEdit(zoom=2),
        seed=4,
        parent_job_id=parent_id,
        parent_image_index=0,
    )
    done = run(loaded, zoom)[-1]
    assert done["type"] == "done"
    assert loaded.backend.model(None).inpaint is not None  # an inpainting pipeline over the same weights
    with (
        Image.open(io.BytesIO(loaded.redis.get(first["images"][0]["key"]))) as parent,
        Image.open(io.BytesIO(loaded.redis.get(done["images"][0]["key"]))) as zoomed,
    ):
        assert zoomed.size == parent.size == (64, 64)
        shrunk = parent.convert("RGB").resize((32, 32)).crop((3, 3, 29, 29))  # past the 1-px seam
        middle = zoomed.convert("RGB").crop((19, 19, 45, 45))
        assert sum(ImageStat.Stat(ImageChops.difference(middle, shrunk)).mean) / 3 < 8
        border = zoomed.convert("RGB").crop((0, 0, 64, 12))
        stretched = parent.convert("RGB").crop((0, 0, 64, 12))
        assert sum(ImageStat.Stat(ImageChops.difference(border, stretched)).mean) / 3 > 8  # drawn anew


def test_hires_draws_at_half_the_size_then_again_at_the_size_asked(loaded, redis):
    bigger = {"backend": "diffusers", "seed": 5, "width": 128, "height": 128}
    done = run(loaded, image_request("evt-hr", hires=True, **bigger))[-1]
    assert done["type"] == "done"
    data = loaded.redis.get(done["images"][0]["key"])
    assert Image.open(io.BytesIO(data)).size == (128, 128)
    assert read_metadata(data)["hires"] == "×2 at strength 0.45"
    plain = run(loaded, image_request("evt-hr2", **bigger))[-1]
    assert pixels(loaded, plain) != pixels(loaded, done)  # a second pass, not the same draw


def test_a_dedicated_inpainting_checkpoint_draws_region_edits_with_the_rest_of_the_model(
    tiny_model, redis_url, tmp_path
):
    inpaint = build_inpaint_unet(tmp_path / "inpainting")
    path = tmp_path / "imagine.toml"
    path.write_text(FAST + f'[diffusers.models.tiny]\npath = "{tiny_model}"\ninpaint = "{inpaint}"\n')
    settings = Settings(_env_file=None, redis_url=redis_url, config_path=path, backend="diffusers")
    settings = settings.model_copy(update={"config": load_config(path)})
    runtime = build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")
    model = runtime.backend.model(None)
    assert model.inpaint.unet.config.in_channels == 9  # the dedicated UNet; a 4-channel one cannot run here
    assert (
        model.inpaint.text_encoder is model.text2image.text_encoder
        and model.inpaint.vae is model.text2image.vae
    )

    first = run(runtime, diffusers_request("evt-i1", seed=3, prompt="a red square"))[-1]
    parent = job_id_for(diffusers_request("evt-i1"))
    edit = diffusers_request(
        "evt-i2", kind="region", region=("top-right",), seed=4, parent_job_id=parent, parent_image_index=0
    )
    done = run(runtime, edit)[-1]
    assert done["type"] == "done"
    with (
        Image.open(io.BytesIO(runtime.redis.get(first["images"][0]["key"]))) as before,
        Image.open(io.BytesIO(runtime.redis.get(done["images"][0]["key"]))) as after,
    ):
        kept = (0, 26, 64, 64)  # below the top third, past the seam
        difference = ImageChops.difference(before.convert("RGB").crop(kept), after.convert("RGB").crop(kept))
        assert max(ImageStat.Stat(difference).mean) < 8
        marked = (46, 2, 62, 18)
        difference = ImageChops.difference(
            before.convert("RGB").crop(marked), after.convert("RGB").crop(marked)
        )
        assert max(ImageStat.Stat(difference).mean) > 8

    path.write_text(FAST + f'[diffusers.models.tiny]\npath = "{tiny_model}"\ninpaint = "{tiny_model}"\n')
    settings = settings.model_copy(update={"config": load_config(path)})
    with pytest.raises(ConfigError, match=r"inpaint = .* is not an inpainting checkpoint \(its UNet takes 4"):
        build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")


def test_aspect_presets_map_near_the_models_native_resolution():
    assert native_size(512, 1344, 768, "wide") == (704, 384)
    assert native_size(1024, 1344, 768, "wide") == (1344, 768)
    assert native_size(512, 640, 320, None) == (640, 320)  # explicit sizes are kept


def test_worker_loads_the_pipeline_once_for_many_jobs(
    tiny_model, processes, redis, make_settings, config_file
):
    config = config_file(FAST)
    worker = processes.start(
        "worker",
        "--backend",
        "diffusers",
        extra_env={"IMAGINE_DIFFUSERS_MODEL": tiny_model, "IMAGINE_CONFIG": str(config)},
    )
    core = ImagineCore(make_settings(config), redis)
    ids = [core.submit(diffusers_request(f"evt-many-{i}", seed=i, user=f"u{i}")).job_id for i in range(3)]

    def all_done() -> bool:
        return all(
            any(json.loads(f[b"event"])["type"] == "done" for _, f in redis.xrange(keys.events(i)))
            for i in ids
        )

    wait_until(all_done, timeout=120, what="three diffusers jobs")
    assert processes.log_of(worker).count("loaded diffusers model") == 1


def test_missing_model_setting_says_what_to_set(processes, redis):
    worker = processes.start("worker", "--backend", "diffusers")
    assert worker.wait(timeout=60) == 1
    assert "IMAGINE_DIFFUSERS_MODEL is not set" in processes.log_of(worker)


def test_a_cancel_stops_the_pipeline_between_its_steps(loaded):
    """The step callback sees the member's cancel and diffusers skips the remaining steps; what it
    had is not a result."""
    checks: list[int] = []

    def stop_requested() -> bool:
        checks.append(1)
        return len(checks) >= 2  # cancelled during the second of 20 steps

    task = GenerationTask(
        prompt="a fox", width=64, height=64, count=1, seed=1, steps=20, stop_requested=stop_requested
    )
    with pytest.raises(Cancelled):
        loaded.backend.generate(task)
    assert len(checks) == 3  # two step callbacks, then the check after the interrupted pipeline


def test_a_job_cancelled_before_it_is_drawn_never_reaches_the_pipeline(loaded, redis):
    request = diffusers_request("evt-cancel-early")
    redis.set(keys.stop_requested(job_id_for(request)), "1")
    events = run(loaded, request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "cancelled")


@pytest.fixture(scope="module")
def checked_models(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("checked")
    return {verdict: str(build_pipeline(folder, safety=verdict)) for verdict in ("flags-all", "passes-all")}


def backend_with(model: str, redis_url: str, config_file, *, checker: bool):
    path = config_file(FAST + f"safety_checker = {'true' if checker else 'false'}\n")
    settings = Settings(_env_file=None, redis_url=redis_url, diffusers_model=model, config_path=path)
    settings = settings.model_copy(update={"config": load_config(path)})
    return build_runtime(settings, redis_lib.Redis.from_url(redis_url), "diffusers")


def test_the_models_safety_checker_is_off_unless_switched_on(checked_models, redis_url, config_file, redis):
    runtime = backend_with(checked_models["flags-all"], redis_url, config_file, checker=False)
    assert (
        runtime.backend.model(None).text2image.safety_checker is None
    )  # not loaded: no memory, no black images
    events = run(runtime, diffusers_request("evt-unchecked", count=2))
    assert events[-1]["type"] == "done" and len(events[-1]["images"]) == 2


def test_switched_on_its_flagged_images_are_withheld_and_a_job_with_none_left_is_refunded(
    checked_models, redis_url, config_file, redis
):
    passing = backend_with(checked_models["passes-all"], redis_url, config_file, checker=True)
    assert run(passing, diffusers_request("evt-passes", count=2))[-1]["type"] == "done"
    flagging = backend_with(checked_models["flags-all"], redis_url, config_file, checker=True)
    request = diffusers_request("evt-flagged", count=2, user="bob")
    events = run(flagging, request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "refused")
    assert ImagineCore(flagging.settings, redis).quota.report(request.requester).used_this_hour == 0


def test_switched_on_for_a_model_without_a_checker_says_what_to_do(tiny_model, redis_url, config_file):
    with pytest.raises(ConfigError, match="has no safety_checker component"):
        backend_with(tiny_model, redis_url, config_file, checker=True)
