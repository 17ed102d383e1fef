"""The horde backend (AI Horde) against a local fake of its v2 API."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from shared import messages
from shared.drawing.edits import CanvasEdit
from shared.drawing.finishing import Upscale
from shared.drawing.references import Control
from shared.drawing.sources import SourceImage
from shared.imaging import member_images
from shared.quotas.costs import CostLedger
from tests.backend_harness import cancel_when
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request
from tests.fakes.horde_api import KEY, FakeHorde
from workers.backends.horde.doctor import check as check_horde
from workers.runtime import build_runtime

BACKEND = "horde"


@pytest.fixture
def fake():
    with FakeHorde() as server:
        yield server


@pytest.fixture
def horde_settings(make_settings, config_file, fake):
    def build(extra: str = "", retries: int = 0, **values):
        toml = (
            f"[jobs]\nretries = {retries}\nretry_intervals = [0]\n"
            f'[horde]\napi_url = "{fake.base}"\npoll_seconds = 0.05\ncontact = "ops@example.org"\n{extra}'
        )
        return make_settings(config_file(toml), backend=BACKEND, **values)

    return build


@pytest.fixture
def horde_runtime(redis, horde_settings):
    return lambda extra="", retries=0, **values: build_runtime(
        horde_settings(extra, retries, **values), redis, BACKEND
    )


def horde_request(event_id: str = "evt-h", **fields):
    return image_request(event_id, backend=BACKEND, **{"width": 1024, "height": 1024, **fields})


def test_a_request_is_submitted_as_the_horde_asks_and_its_images_posted(horde_runtime, fake, redis):
    runtime = horde_runtime(horde_api_key=KEY)
    request = horde_request(count=2, seed=5, negative="text", width=1000, height=600)
    _, events, core = run(runtime, request)
    done = events[-1]
    assert done["type"] == "done" and [i["seed"] for i in done["images"]] == [5, 6]
    [submitted] = fake.submitted
    body, headers = submitted.payload, fake.requests[0].headers
    assert body["prompt"].startswith("a lighthouse in a storm") and body["prompt"].endswith(" ### text")
    assert (body["params"]["width"], body["params"]["height"], body["params"]["n"]) == (1024, 576, 2)
    assert body["params"]["seed"] == "5" and body["r2"] is False
    assert (body["nsfw"], body["censor_nsfw"]) == (False, True)  # not an age-restricted channel
    assert headers["apikey"] == KEY and headers["client-agent"] == "imagine-bot:0.1.0:ops@example.org"
    assert CostLedger(redis).of_user(request.requester).kudos == 20.0
    assert core.quota.report(request.requester).running == 0


def test_anonymous_use_needs_no_key_and_the_channels_nsfw_mark_travels(horde_runtime, fake):
    runtime = horde_runtime()
    request = horde_request()
    nsfw = request.model_copy(
        update={"requester": request.requester.model_copy(update={"channel_nsfw": True})}
    )
    _, events, _ = run(runtime, nsfw)
    assert events[-1]["type"] == "done"
    assert fake.requests[0].headers["apikey"] == "0000000000"
    assert (fake.submitted[0].payload["nsfw"], fake.submitted[0].payload["censor_nsfw"]) == (True, False)


def test_the_queue_position_and_wait_reach_the_status(horde_runtime, fake):
    fake.queue_seconds = 0.6
    runtime = horde_runtime()
    _, events, _ = run(runtime, horde_request())
    texts = [e["text"] for e in events if e["type"] == "generating"]
    assert any("in the AI Horde's queue, about" in text for text in texts) and events[-1]["type"] == "done"


def test_a_censored_image_is_withheld_with_a_note_and_all_censored_is_a_refusal(horde_runtime, fake):
    runtime = horde_runtime()
    fake.censor = {2}
    _, events, _ = run(runtime, horde_request("evt-1", count=3, seed=1))
    done = events[-1]
    assert [i["seed"] for i in done["images"]] == [1, 3]
    assert "Image 2 was withheld: the AI Horde's safety filter censored it." in done["notes"]
    assert (
        runtime.metrics.registry.get_sample_value("imagine_images_withheld_total", {"backend": BACKEND}) == 1
    )
    fake.censor = {1}
    _, events, core = run(runtime, horde_request("evt-2"))
    assert events[-1]["type"] == "failed" and events[-1]["kind"] == "refused"


def test_kudos_needed_upfront_is_a_clear_refusal_naming_the_limit_and_refunded(horde_runtime, fake):
    fake.kudos_upfront = True
    runtime = horde_runtime(retries=2)
    request = horde_request(count=2)
    _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed" and events[-1]["kind"] == "invalid"
    assert "needs more kudos" in events[-1]["text"] and "576x576" in events[-1]["text"]
    assert len(fake.submitted) == 0 and core.quota.report(request.requester).used_this_hour == 0


def test_a_request_that_never_finishes_is_deleted_and_refunded(horde_runtime, fake):
    fake.hang = True
    runtime = horde_runtime("timeout_seconds = 0.3\n")
    request = horde_request()
    _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed" and fake.submitted[0].deleted
    assert core.quota.report(request.requester).used_this_hour == 0


def test_a_job_cancelled_while_the_horde_draws_it_is_deleted_there_and_refunded(horde_runtime, fake, redis):
    fake.hang = True
    runtime = horde_runtime()
    request = horde_request()
    cancel_when(redis, request, lambda: fake.submitted)
    _, events, core = run(runtime, request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "cancelled")
    assert fake.submitted[0].deleted and core.quota.report(request.requester).used_this_hour == 0


def test_an_invalid_key_fails_at_once_and_a_500_is_retried(horde_runtime, fake, caplog):
    runtime = horde_runtime(horde_api_key="wrong", retries=2)
    _, events, _ = run(runtime, horde_request("evt-1"))
    assert events[-1]["type"] == "failed" and "HORDE_API_KEY" in caplog.text
    fake.fail_next = [500]
    runtime = horde_runtime(retries=2)
    _, events, _ = run(runtime, horde_request("evt-2"))
    assert [e["type"] for e in events].count("done") == 1


def test_a_variation_sends_the_previous_image_for_img2img(horde_runtime, fake):
    runtime = horde_runtime()
    first_id, first, _ = run(runtime, horde_request("evt-1", seed=30))
    _, events, _ = run(
        runtime, horde_request("evt-2", kind="variation", parent_job_id=first_id, parent_image_index=0)
    )
    assert events[-1]["type"] == "done"
    second = fake.submitted[1].payload
    assert second["source_processing"] == "img2img" and second["params"]["denoising_strength"] == 0.75
    with Image.open(io.BytesIO(base64.b64decode(second["source_image"]))) as image:
        assert image.format == "WEBP"


def test_an_upscale_asks_for_the_hordes_realesrgan_post_processor(horde_runtime, fake):
    runtime = horde_runtime()
    first_id, _, _ = run(runtime, horde_request("evt-u1", seed=5, width=512, height=512))
    for number, factor in enumerate((2, 4), 2):
        upscale = horde_request(
            f"evt-u{number}",
            kind="upscale",
            upscale=Upscale(factor=factor),
            parent_job_id=first_id,
            parent_image_index=0,
        )
        _, events, _ = run(runtime, upscale)
        done = events[-1]
        assert done["type"] == "done" and done["model"] == f"RealESRGAN_x{factor}plus"
        payload = fake.submitted[-1].payload
        assert payload["params"]["post_processing"] == [f"RealESRGAN_x{factor}plus"]
        assert payload["source_processing"] == "img2img" and payload["params"]["denoising_strength"] == 0.05
        assert (payload["params"]["width"], payload["params"]["height"]) == (512, 512)  # the picture's own
        with Image.open(io.BytesIO(runtime.redis.get(done["images"][0]["key"]))) as bigger:
            assert bigger.size == (512 * factor, 512 * factor)


def test_face_fix_and_hires_are_the_hordes_gfpgan_and_hires_fix(horde_runtime, fake):
    _, events, _ = run(horde_runtime(), horde_request("evt-ff", face_fix=True, hires=True))
    assert events[-1]["type"] == "done"
    params = fake.submitted[-1].payload["params"]
    assert params["hires_fix"] is True and params["post_processing"] == ["GFPGAN"]


def test_a_control_picture_is_the_hordes_source_image_with_its_control_type(horde_runtime, fake):
    runtime = horde_runtime()
    (source,) = member_images.picture_sources("evt-ctl", 1)
    member_images.keep(runtime.store, [Image.new("RGB", (64, 64), "white")], (source,), workspace="local")
    request = horde_request("evt-ctl", control=Control(kind="pose", image=source), control_weight=0.7)
    _, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done"
    payload = fake.submitted[-1].payload
    params = payload["params"]
    assert (params["control_type"], params["image_is_control"], params["control_strength"]) == (
        "openpose",
        False,
        0.7,
    )
    assert payload["source_image"] and payload["source_processing"] == "img2img"


def test_zoom_out_is_outpainting_with_the_mask_and_the_original_kept_in_the_middle(horde_runtime, fake):
    runtime = horde_runtime()
    first_id, first, _ = run(runtime, horde_request("evt-1", seed=30))
    with Image.open(io.BytesIO(runtime.redis.get(first[-1]["images"][0]["key"]))) as parent:
        original = parent.convert("RGB").getpixel((parent.width // 2, parent.height // 2))
    zoom = horde_request(
        "evt-2", kind="zoom", canvas=CanvasEdit(zoom=2), parent_job_id=first_id, parent_image_index=0, seed=3
    )
    _, events, _ = run(runtime, zoom)
    assert events[-1]["type"] == "done"
    sent = fake.submitted[1].payload
    assert sent["source_processing"] == "outpainting"
    with Image.open(io.BytesIO(base64.b64decode(sent["source_mask"]))) as webp:
        mask = webp.convert("L")  # webp keeps no grey mode
        assert mask.getpixel((10, 10)) == 255 and mask.getpixel((mask.width // 2, mask.height // 2)) == 0
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as zoomed:
        zoomed = zoomed.convert("RGB")
        assert zoomed.getpixel((zoomed.width // 2, zoomed.height // 2)) == original  # kept
        assert zoomed.getpixel((5, 5)) == (3 * 37 % 256, 3 * 91 % 256, 50)  # the Horde's drawing


def test_a_region_is_inpainting_with_the_members_mask_and_the_rest_kept(horde_runtime, fake):
    runtime = horde_runtime()
    first_id, first, _ = run(runtime, horde_request("evt-1", seed=30))
    with Image.open(io.BytesIO(runtime.redis.get(first[-1]["images"][0]["key"]))) as parent:
        kept_colour = parent.convert("RGB").getpixel((parent.width - 5, 5))
    painted = Image.new("L", (10, 10), 0)
    painted.paste(255, (0, 0, 5, 10))  # the left half
    buffer = io.BytesIO()
    painted.save(buffer, format="PNG")
    runtime.store.put_many({"member-mask": buffer.getvalue()}, workspace="local")
    region = horde_request(
        "evt-2",
        kind="region",
        mask=SourceImage(key="member-mask"),
        parent_job_id=first_id,
        parent_image_index=0,
        seed=3,
    )
    _, events, _ = run(runtime, region)
    assert events[-1]["type"] == "done", events[-1]
    assert fake.submitted[1].payload["source_processing"] == "inpainting"
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as edited:
        edited = edited.convert("RGB")
        assert edited.getpixel((edited.width - 5, 5)) == kept_colour
        assert edited.getpixel((5, 5)) == (3 * 37 % 256, 3 * 91 % 256, 50)


def test_doctor_reports_the_key_its_kudos_and_idle_models(horde_settings, fake):
    lines = [
        c.line() for c in check_horde(horde_settings('models = ["stable_diffusion"]\n', horde_api_key=KEY))
    ]
    assert "✓ horde key: imagine#1234: 2500 kudos" in lines and lines[-1].startswith("✓ horde models")
    lines = [c.line() for c in check_horde(horde_settings('models = ["nobody_runs_this"]\n'))]
    assert any(line.startswith("✓ horde key: anonymous") for line in lines)
    assert lines[-1] == "✗ horde models: no worker serves nobody_runs_this now"


def test_images_stored_as_links_are_fetched_within_the_cap(horde_runtime, fake):
    fake.r2 = True
    _, events, _ = run(horde_runtime(), horde_request(width=512, height=512))
    assert events[-1]["type"] == "done" and len(events[-1]["images"]) == 1
    assert any(r.path.startswith("/r2/") for r in fake.requests)


@pytest.mark.parametrize(
    ("switch", "cause"),
    [
        ({"r2": True, "padding": 200_000}, "an image larger than 100,000 bytes"),
        ({"image_format": "BMP"}, "not a PNG, JPEG, WebP or GIF picture"),
        ({"image_format": "TIFF"}, "not a PNG, JPEG, WebP or GIF picture"),
    ],
)
def test_a_result_over_the_cap_or_in_another_format_fails_clearly_and_refunded(
    horde_runtime, fake, switch, cause
):
    for name, value in switch.items():
        setattr(fake, name, value)
    runtime = horde_runtime("[storage]\nmax_image_bytes = 100000\n")
    request = horde_request(width=512, height=512)
    _, events, core = run(runtime, request)
    failed = events[-1]
    assert failed["type"] == "failed" and failed["text"] == messages.backend_unavailable()
    assert cause in failed["detail"] and "the AI Horde" in failed["detail"]
    assert core.quota.report(request.requester).used_this_hour == 0
