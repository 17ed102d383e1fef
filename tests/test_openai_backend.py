"""The openai backend: the real `openai` client against a local fake of the images API."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from typing import get_args

import pytest
from openai.types import ImageModel
from PIL import Image, ImageChops

from shared.drawing.edits import CanvasEdit
from shared.drawing.finishing import Upscale
from shared.drawing.references import Reference
from shared.imaging import member_images
from shared.quotas.costs import CostLedger
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request
from tests.fakes.openai_api import BAD_KEY, FakeOpenAI
from workers.backends.openai.config import OpenAIConfig
from workers.runtime import build_runtime

KEY = "sk-test-1234567890"
PRICES = """
[openai.prices."gpt-image-2.5-sunburst"."1024x1024"]
low = 0.01
medium = 0.04
high = 0.16
"""


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def openai_runtime(redis, make_settings, config_file, fake_openai):
    """A worker runtime for the openai backend, aimed at the fake; `extra` TOML and `key` adjust it."""

    def build(extra: str = "", key: str = KEY):
        toml = f"[jobs]\nretries = 0\n[openai]\nmax_retries = 1\n{extra}\n{PRICES}"
        settings = make_settings(
            config_file(toml), openai_api_key=key, openai_base_url=fake_openai.base_url, backend="openai"
        )
        return build_runtime(settings, redis, "openai")

    return build


def openai_request(event_id: str = "evt-o", **fields):
    return image_request(event_id, backend="openai", model="gpt-image-2.5-sunburst", **fields)


def test_generation_sends_what_the_user_asked_with_a_hashed_safety_identifier(openai_runtime, fake_openai):
    runtime = openai_runtime()
    request = openai_request(count=2, width=1024, height=1024, quality="high", negative="text")
    job_id, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done"
    [sent] = fake_openai.image_requests()
    body = sent.json()
    assert sent.path == "/v1/images/generations"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert (body["model"], body["n"], body["size"], body["quality"]) == (
        "gpt-image-2.5-sunburst",
        2,
        "1024x1024",
        "high",
    )
    assert body["output_format"] == "png" and body["moderation"] == "auto"
    assert body["prompt"].startswith("a lighthouse in a storm") and "Avoid: text" in body["prompt"]
    assert body["safety_identifier"] == hashlib.sha256(b"cli:alice").hexdigest()
    assert "alice" not in json.dumps(body)
    stored = runtime.redis.get(events[-1]["images"][1]["key"])
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (1024, 1024)


def test_the_default_model_is_a_current_gpt_image_model(openai_runtime, fake_openai):
    runtime = openai_runtime()
    run(runtime, image_request("evt-default", backend="openai", width=1024, height=1024))
    model = fake_openai.image_requests()[0].json()["model"]
    assert model.startswith("gpt-image-") and model not in {"gpt-image-1", "dall-e-2", "dall-e-3"}


def test_the_offered_models_are_the_installed_clients_current_ones():
    """The client's ImageModel literal lists what OpenAI documents, the shut-down models included."""
    documented = set(get_args(ImageModel))
    retired = {"gpt-image-1", "dall-e-2", "dall-e-3"}
    config = OpenAIConfig()
    assert config.default_model == "gpt-image-2.6-sunburst"
    assert {"gpt-image-2.6-sunburst", "gpt-image-2.6-flare"} <= set(config.models)
    assert set(config.models) <= documented - retired


@pytest.mark.parametrize(
    ("model", "size"), [("gpt-image-1.5", "1536x1024"), ("gpt-image-2.5-flare", "1344x768")]
)
def test_aspect_maps_to_a_size_the_model_supports(openai_runtime, fake_openai, model, size):
    runtime = openai_runtime()
    run(
        runtime,
        image_request("evt-wide", backend="openai", model=model, aspect="wide", width=1344, height=768),
    )
    assert fake_openai.image_requests()[0].json()["size"] == size


def test_rate_limit_is_retried_after_the_servers_retry_after_and_delivered_once(openai_runtime, fake_openai):
    runtime = openai_runtime()
    fake_openai.fail_next("rate_limited")
    _, events, _ = run(runtime, openai_request(width=1024, height=1024))
    first, second = fake_openai.image_requests()
    assert second.at - first.at >= 0.9  # Retry-After: 1
    assert [e["type"] for e in events].count("done") == 1


def test_safety_refusal_is_told_plainly_not_retried_and_not_refunded(openai_runtime, fake_openai):
    runtime = openai_runtime()
    fake_openai.fail_next("safety")
    job_id, events, core = run(runtime, openai_request(count=2, width=1024, height=1024))
    assert len(fake_openai.image_requests()) == 1
    assert events[-1] == {
        "type": "failed",
        "text": "The image service's safety system refused this prompt. Please rephrase it.",
        "kind": "refused",
    }
    report = core.quota.report(image_request().requester)
    assert (report.used_this_hour, report.running) == (2, 0)


def test_server_errors_after_the_retries_fail_with_a_message_and_a_refund(openai_runtime, fake_openai):
    runtime = openai_runtime()
    fake_openai.fail_next("server_error", times=2)
    _, events, core = run(runtime, openai_request(width=1024, height=1024))
    assert len(fake_openai.image_requests()) == 2  # the first try and max_retries = 1
    assert events[-1]["type"] == "failed"
    assert "unavailable" in events[-1]["text"] and "not charged" in events[-1]["text"]
    report = core.quota.report(image_request().requester)
    assert (report.used_this_hour, report.running) == (0, 0)


@pytest.mark.parametrize(("key", "failure"), [(BAD_KEY, None), (KEY, "insufficient_quota")])
def test_bad_key_or_exhausted_account_fails_once_refunds_and_logs_no_secret(
    openai_runtime, fake_openai, caplog, key, failure
):
    # With the same bad key the moderation check would refuse first (fail closed; tested with moderation).
    runtime = openai_runtime(key=key, extra="[moderation]\nenabled = false")
    if failure:
        fake_openai.fail_next(failure, times=5)
    with caplog.at_level(logging.INFO):
        _, events, core = run(runtime, openai_request(width=1024, height=1024))
    assert events[-1]["type"] == "failed"
    assert "unavailable" in events[-1]["text"] and "not charged" in events[-1]["text"]
    assert core.quota.report(image_request().requester).used_this_hour == 0
    assert key not in caplog.text and "OPENAI_API_KEY" in caplog.text


def test_refinement_goes_through_the_edits_endpoint_with_the_previous_image(openai_runtime, fake_openai):
    runtime = openai_runtime()
    parent_id, events, _ = run(runtime, openai_request("evt-parent", width=1024, height=1024))
    parent_png = runtime.redis.get(events[-1]["images"][0]["key"])
    refine = openai_request(
        "evt-refine",
        kind="refine",
        prompt="now at night",
        parent_job_id=parent_id,
        parent_image_index=0,
        width=1024,
        height=1024,
    )
    _, events, _ = run(runtime, refine)
    assert events[-1]["type"] == "done"
    edit = fake_openai.image_requests()[-1]
    assert edit.path == "/v1/images/edits" and edit.headers["content-type"].startswith("multipart/form-data")
    form = edit.form()
    assert form["prompt"] == b"now at night" and form["model"] == b"gpt-image-2.5-sunburst"
    with Image.open(io.BytesIO(form["image"])) as sent, Image.open(io.BytesIO(parent_png)) as parent:
        assert sent.size == parent.size
        assert sent.convert("RGB").tobytes() == parent.convert("RGB").tobytes()


def test_upscales_are_lanczos_or_the_services_largest_size_at_its_best_quality(openai_runtime, fake_openai):
    runtime = openai_runtime()
    parent_id, events, _ = run(runtime, openai_request("evt-up0", width=1024, height=1024))
    parent = {"parent_job_id": parent_id, "parent_image_index": 0, "width": 1024, "height": 1024}
    subtle = openai_request("evt-up1", kind="upscale", upscale=Upscale(factor=2), **parent)
    _, events, _ = run(runtime, subtle)
    assert events[-1]["model"] == "Lanczos" and len(fake_openai.image_requests()) == 1  # no call
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as bigger:
        assert bigger.size == (2048, 2048)
    creative = openai_request(
        "evt-up2", kind="upscale", upscale=Upscale(factor=2, creative=True), quality="high", **parent
    )
    _, events, _ = run(runtime, creative)
    edit = fake_openai.image_requests()[-1]
    assert edit.path == "/v1/images/edits" and edit.form()["quality"] == b"high"
    assert "draws at most 1024×1024: this is its largest size, at its best quality." in events[-1]["notes"][0]


def test_a_style_reference_is_an_input_image_of_an_edit_with_the_prompt_saying_so(
    openai_runtime, fake_openai
):
    runtime = openai_runtime()
    (source,) = member_images.picture_sources("evt-sref", 1)
    member_images.keep(
        runtime.store, [Image.new("RGB", (64, 64), (0, 90, 200))], (source,), workspace="local"
    )
    request = openai_request(
        "evt-sref", references=(Reference(kind="style", image=source),), reference_weight=90
    )
    _, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done"
    edit = fake_openai.image_requests()[-1]
    assert edit.path == "/v1/images/edits"
    form = edit.form()
    assert form["prompt"].decode().endswith(", in the style of the reference image (follow it closely)")
    with Image.open(io.BytesIO(form["image"])) as sent:
        assert sent.convert("RGB").getpixel((0, 0)) == (0, 90, 200)


def test_pan_right_sends_the_wider_canvas_with_a_mask_transparent_where_to_draw(openai_runtime, fake_openai):
    runtime = openai_runtime()
    parent_id, events, _ = run(runtime, openai_request("evt-parent", width=1024, height=1024))
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as parent:
        parent_rgb = parent.convert("RGB")
    pan = openai_request(
        "evt-pan",
        kind="pan",
        canvas=CanvasEdit(pan="right"),
        parent_job_id=parent_id,
        parent_image_index=0,
        width=1536,
        height=1024,
    )
    _, events, _ = run(runtime, pan)
    assert events[-1]["type"] == "done"
    form = fake_openai.image_requests()[-1].form()
    assert form["size"] == b"1536x1024"
    with Image.open(io.BytesIO(form["image"])) as sent, Image.open(io.BytesIO(form["mask"])) as mask:
        assert sent.size == mask.size == (1536, 1024) and mask.mode == "RGBA"
        assert mask.getpixel((1400, 500))[3] == 0 and mask.getpixel((200, 500))[3] == 255  # draw | keep
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as panned:
        kept = panned.convert("RGB").crop((0, 0, 1000, 1024))
        assert ImageChops.difference(kept, parent_rgb.crop((0, 0, 1000, 1024))).getbbox() is None


def test_partial_images_are_progress_previews_when_switched_on(openai_runtime, fake_openai):
    runtime = openai_runtime("partial_images = 2")
    _, events, _ = run(runtime, openai_request(width=1024, height=1024))
    assert [e["type"] for e in events] == ["generating", "preview", "preview", "done"]
    assert fake_openai.image_requests()[0].json()["stream"] is True


def test_cost_is_recorded_for_the_user_and_the_workspace_from_the_price_table(openai_runtime, fake_openai):
    runtime = openai_runtime()
    run(runtime, openai_request(count=2, width=1024, height=1024, quality="low"))
    run(runtime, openai_request("evt-2", width=1536, height=1024, quality="high"))
    costs = CostLedger(runtime.redis)
    requester = image_request().requester
    assert costs.of_user(requester).usd == pytest.approx(2 * 0.01 + 0.16 * 1.5)
    assert costs.of_workspace(requester).images == 3
