"""The a1111 backend (AUTOMATIC1111 WebUI / Forge with --api) against a local fake of its API."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess

import pytest
from PIL import Image

from bot.checking import check_request
from shared import keys
from shared.drawing.edits import CanvasEdit
from shared.drawing.finishing import Upscale
from shared.drawing.references import Control, Reference
from shared.drawing.request import RequestOptions
from shared.errors import InvalidRequest
from shared.imaging import member_images
from shared.jobs.queue import queue_name
from shared.jobs.recovery import count_live_workers
from tests.backend_harness import cancel_when
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request
from tests.fakes.a1111_api import MODELS, FakeA1111
from tests.helpers import imagine_command, wait_until
from workers.backends.a1111.backend import INPAINTING
from workers.backends.a1111.doctor import check as check_a1111
from workers.runtime import build_runtime

BACKEND = "a1111"


@pytest.fixture
def fake():
    with FakeA1111() as server:
        yield server


@pytest.fixture
def a1111_runtime(redis, make_settings, config_file, fake):
    """A worker runtime for the a1111 backend aimed at the fake; `extra` adds [a1111] keys."""

    def build(extra: str = "", retries: int = 0, **values):
        toml = (
            f'[jobs]\nretries = {retries}\nretry_intervals = [0]\n[a1111]\nservers = ["{fake.url}"]\n{extra}'
        )
        settings = make_settings(config_file(toml), backend=BACKEND, **values)
        return build_runtime(settings, redis, BACKEND)

    return build


def a1111_request(event_id: str = "evt-a", **fields):
    return image_request(event_id, backend=BACKEND, **{"width": 1024, "height": 1024, **fields})


def pixels(runtime, key: str) -> tuple[tuple[int, int], tuple[int, ...]]:
    with Image.open(io.BytesIO(runtime.redis.get(key))) as image:
        return image.size, image.convert("RGB").getpixel((0, 0))


def test_txt2img_sends_the_request_and_posts_the_servers_images_with_their_seeds(a1111_runtime, fake):
    runtime = a1111_runtime('sampler = "DPM++ 2M"\nsteps = 20\nnative_edge = 512\n')
    request = a1111_request(count=2, seed=5, negative="text", aspect="wide", width=1344, height=768)
    _, events, core = run(runtime, request)
    done = events[-1]
    assert done["type"] == "done" and [i["seed"] for i in done["images"]] == [5, 6]
    [generation] = fake.generations
    payload = generation.payload
    assert generation.route == "txt2img"
    assert payload["prompt"].startswith("a lighthouse in a storm") and payload["negative_prompt"] == "text"
    assert (payload["seed"], payload["batch_size"], payload["n_iter"]) == (5, 2, 1)
    assert (payload["steps"], payload["sampler_name"], payload["width"], payload["height"]) == (
        20,
        "DPM++ 2M",
        704,  # 16:9 near 512² pixels: the model's native size, not the 1344x768 asked of others
        384,
    )
    assert "override_settings" not in payload  # no model configured: the server's loaded one
    assert pixels(runtime, done["images"][1]["key"]) == ((704, 384), (6 * 37 % 256, 6 * 91 % 256, 128))
    assert core.quota.report(request.requester).running == 0
    assert not any(r.path.startswith("/sdapi/v1/options") and r.method == "POST" for r in fake.requests)


def test_a_members_model_is_chosen_per_request_never_by_changing_the_servers_options(a1111_runtime, fake):
    runtime = a1111_runtime('models = ["dreamshaper_8", "v1-5-pruned-emaonly"]\n')
    _, events, _ = run(runtime, a1111_request(model="dreamshaper_8"))
    assert events[-1]["type"] == "done"
    payload = fake.generations[0].payload
    assert payload["override_settings"] == {"sd_model_checkpoint": "dreamshaper_8"}
    assert payload["override_settings_restore_afterwards"] is False  # keep_model_loaded
    assert fake.loaded == MODELS[1]["title"]
    assert [r for r in fake.requests if r.method == "POST"] == [
        r for r in fake.requests if r.path.endswith("/txt2img")
    ]


def test_a_variation_is_img2img_from_the_previous_images_real_pixels(a1111_runtime, fake):
    runtime = a1111_runtime()
    first_id, first, _ = run(runtime, a1111_request("evt-1", seed=40))
    parent_key = first[-1]["images"][0]["key"]
    variation = a1111_request("evt-2", kind="variation", parent_job_id=first_id, parent_image_index=0)
    _, events, _ = run(runtime, variation)
    assert events[-1]["type"] == "done"
    second = fake.generations[1]
    assert second.route == "img2img" and second.payload["denoising_strength"] == 0.75
    [source] = second.payload["init_images"]
    with Image.open(io.BytesIO(base64.b64decode(source))) as image:
        assert image.convert("RGB").getpixel((0, 0)) == pixels(runtime, parent_key)[1]


def test_upscales_use_the_servers_best_upscaler_and_creative_redraws_at_the_new_size(
    a1111_runtime, fake, caplog
):
    runtime = a1111_runtime()
    first_id, first, _ = run(runtime, a1111_request("evt-u0", seed=40, width=512, height=512))
    subtle = a1111_request(
        "evt-u1", kind="upscale", upscale=Upscale(factor=4), parent_job_id=first_id, parent_image_index=0
    )
    _, events, _ = run(runtime, subtle)
    done = events[-1]
    assert done["type"] == "done" and done["model"] == "R-ESRGAN 4x+"  # a model over Lanczos
    [extras] = fake.extras
    assert (extras["upscaler_1"], extras["upscaling_resize"], extras["resize_mode"]) == ("R-ESRGAN 4x+", 4, 0)
    assert pixels(runtime, done["images"][0]["key"])[0] == (2048, 2048)
    assert len(fake.generations) == 1  # the upscaler alone: nothing redrawn
    assert "Upscaled ×4 with R-ESRGAN 4x+: 512×512 → 2048×2048." in done["notes"]

    creative = subtle.model_copy(update={"event_id": "evt-u2", "upscale": Upscale(factor=2, creative=True)})
    _, events, _ = run(runtime, creative)
    assert pixels(runtime, events[-1]["images"][0]["key"])[0] == (1024, 1024)
    redrawn = fake.generations[-1]
    assert redrawn.route == "img2img" and redrawn.payload["denoising_strength"] == 0.3
    assert (redrawn.payload["width"], redrawn.payload["height"]) == (1024, 1024)  # at the new size

    configured = a1111_runtime('upscaler = "4x-UltraSharp"\n')
    with caplog.at_level(logging.ERROR):
        _, events, _ = run(configured, subtle.model_copy(update={"event_id": "evt-u3"}))
    assert events[-1]["type"] == "failed"  # the member reads that the service is unavailable
    assert "[a1111] upscaler = '4x-UltraSharp' is not one of" in caplog.text  # the operator, the fix
    fake.upscalers = [u for u in fake.upscalers if u["name"] in ("None", "Lanczos", "Nearest")]
    _, events, _ = run(runtime, subtle.model_copy(update={"event_id": "evt-u4"}))
    assert events[-1]["model"] == "Lanczos" and len(fake.extras) == 2  # only resamplers: the worker's own


def test_face_fix_and_hires_are_the_web_uis_own_options(a1111_runtime, fake):
    runtime = a1111_runtime()
    _, events, _ = run(runtime, a1111_request("evt-f", face_fix=True, hires=True))
    payload = fake.generations[-1].payload
    assert payload["restore_faces"] is True
    hires = (payload["enable_hr"], payload["hr_scale"], payload["hr_upscaler"], payload["denoising_strength"])
    assert hires == (True, 2, "Latent", 0.5)
    assert (payload["width"], payload["height"]) == (512, 512)  # the first pass, half the size asked
    assert pixels(runtime, events[-1]["images"][0]["key"])[0] == (1024, 1024)


def test_face_fix_is_adetailers_face_pass_where_the_server_has_the_extension(a1111_runtime, fake):
    fake.adetailer = ["hand_yolov8n.pt", "face_yolov8n.pt", "person_yolov8n-seg.pt"]
    runtime = a1111_runtime()
    _, events, _ = run(runtime, a1111_request("evt-ad", face_fix=True))
    assert events[-1]["type"] == "done", events[-1]
    payload = fake.generations[-1].payload
    assert payload["alwayson_scripts"]["ADetailer"]["args"] == [True, False, {"ad_model": "face_yolov8n.pt"}]
    assert "restore_faces" not in payload
    _, events, _ = run(runtime, a1111_request("evt-ad2"))
    assert "alwayson_scripts" not in fake.generations[-1].payload  # only when asked


def kept_reference(runtime, event_id: str, kind: str, colour: tuple[int, int, int]) -> Reference:
    """A member's reference picture, in the store as a frontend keeps one."""
    (source,) = member_images.picture_sources(event_id, 1)
    member_images.keep(runtime.store, [Image.new("RGB", (64, 64), colour)], (source,), workspace="local")
    return Reference(kind=kind, image=source)


def test_references_are_controlnet_units_with_the_servers_ip_adapters(a1111_runtime, fake, caplog):
    runtime = a1111_runtime()
    style = kept_reference(runtime, "evt-r-s", "style", (200, 0, 0))
    character = kept_reference(runtime, "evt-r-c", "character", (0, 0, 200))
    request = a1111_request("evt-r", references=(style, character), reference_weight=80)
    _, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done"
    [first, second] = fake.generations[-1].payload["alwayson_scripts"]["controlnet"]["args"]
    assert (first["module"], first["model"]) == ("ip-adapter_clip_sd15", "ip-adapter_sd15 [6a3f6166]")
    assert (second["module"], second["model"]) == (
        "ip-adapter_face_id_plus",
        "ip-adapter-plus-face_sd15 [71693645]",
    )
    assert first["weight"] == second["weight"] == 0.8 and first["enabled"] is True
    with Image.open(io.BytesIO(base64.b64decode(first["image"]))) as sent:
        assert sent.convert("RGB").getpixel((0, 0)) == (200, 0, 0)

    fake.controlnet = None  # the extension is not installed
    with caplog.at_level(logging.ERROR):
        _, events, core = run(runtime, request.model_copy(update={"event_id": "evt-r2"}))
    assert events[-1]["type"] == "failed" and "install the sd-webui-controlnet extension" in caplog.text
    assert core.quota.report(request.requester).used_this_hour == 1  # the first job only: refunded


def test_a_control_picture_is_a_controlnet_unit_with_its_preprocessor_and_model(a1111_runtime, fake, caplog):
    runtime = a1111_runtime()
    outline = kept_reference(runtime, "evt-cn", "style", (255, 255, 255))
    control = Control(kind="canny", image=outline.image)
    _, events, _ = run(runtime, a1111_request("evt-cn1", control=control, control_weight=0.7))
    assert events[-1]["type"] == "done"
    [unit] = fake.generations[-1].payload["alwayson_scripts"]["controlnet"]["args"]
    assert (unit["module"], unit["model"], unit["weight"]) == (
        "canny",
        "control_v11p_sd15_canny [d14c016b]",
        0.7,
    )
    with caplog.at_level(logging.ERROR):  # no openpose model there: the job fails, the log says what to add
        _, events, _ = run(
            runtime, a1111_request("evt-cn2", control=control.model_copy(update={"kind": "pose"}))
        )
    assert events[-1]["type"] == "failed" and "put a ControlNet pose model" in caplog.text


def test_pan_left_is_an_inpaint_on_a_wider_canvas_that_keeps_the_original_on_the_right(a1111_runtime, fake):
    runtime = a1111_runtime()
    first_id, first, _ = run(runtime, a1111_request("evt-1", seed=40))
    _, original_colour = pixels(runtime, first[-1]["images"][0]["key"])
    pan = a1111_request(
        "evt-2",
        kind="pan",
        canvas=CanvasEdit(pan="left"),
        parent_job_id=first_id,
        parent_image_index=0,
        seed=7,
    )
    _, events, _ = run(runtime, pan)
    assert events[-1]["type"] == "done"
    payload = fake.generations[1].payload
    assert (payload["width"], payload["height"]) == (1536, 1024)
    assert {k: payload[k] for k in INPAINTING} == INPAINTING and payload["denoising_strength"] == 0.9
    with Image.open(io.BytesIO(base64.b64decode(payload["mask"]))) as mask:
        assert mask.getpixel((100, 500)) == 255 and mask.getpixel((1000, 500)) == 0  # new | kept
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as panned:
        panned = panned.convert("RGB")
        assert panned.size == (1536, 1024)
        assert panned.getpixel((1200, 500)) == original_colour  # kept, to the pixel
        assert panned.getpixel((100, 500)) == (7 * 37 % 256, 7 * 91 % 256, 128)  # drawn by the server


def test_forge_takes_its_scheduler_and_own_settings_with_the_members_checkpoint(a1111_runtime, fake):
    extra = (
        'models = ["flux1-dev.safetensors"]\nscheduler = "Simple"\n'
        '[a1111.override_settings]\nforge_preset = "flux"\nforge_additional_modules = ["ae.safetensors"]\n'
    )
    runtime = a1111_runtime(extra)
    _, events, _ = run(runtime, a1111_request(model="flux1-dev.safetensors"))
    assert events[-1]["type"] == "done"
    payload = fake.generations[0].payload
    assert payload["scheduler"] == "Simple"
    assert payload["override_settings"] == {
        "forge_preset": "flux",
        "forge_additional_modules": ["ae.safetensors"],
        "sd_model_checkpoint": "flux1-dev.safetensors",
    }


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda fake: setattr(fake, "api", False), "start the web UI with --api"),
        (lambda fake: setattr(fake, "auth", "bot:secret"), "set IMAGINE_A1111_AUTH"),
    ],
    ids=["without --api", "wrong credentials"],
)
def test_a_server_set_up_wrong_fails_the_job_at_once_refunded_and_logs_the_fix(
    a1111_runtime, fake, caplog, setup, words
):
    setup(fake)
    runtime = a1111_runtime(retries=2)
    request = a1111_request(count=2)
    with caplog.at_level(logging.ERROR):
        _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed" and events[-1]["kind"] == "fault"
    assert len([r for r in fake.requests if r.path.endswith("/txt2img")]) == 1  # not retried
    assert core.quota.report(request.requester).used_this_hour == 0
    assert words in caplog.text  # the member reads that the service is unavailable; the operator, the fix


def test_the_credentials_from_the_environment_are_sent_and_never_shown(a1111_runtime, fake, caplog):
    fake.auth = "bot:s3cret-pass"
    runtime = a1111_runtime(a1111_auth="bot:s3cret-pass")
    _, events, _ = run(runtime, a1111_request())
    assert events[-1]["type"] == "done"
    assert "s3cret" not in caplog.text and "s3cret" not in json.dumps(events)


def test_a_server_error_or_a_restart_mid_job_is_retried_and_delivered_once(a1111_runtime, fake):
    runtime = a1111_runtime(retries=3)
    fake.fail_next = [500]
    fake.drop_next = 1
    _, events, _ = run(runtime, a1111_request())
    assert [e["type"] for e in events].count("done") == 1
    assert len(fake.generations) == 1


def test_a_generation_that_never_finishes_is_interrupted_and_refunded(a1111_runtime, fake):
    fake.hang = True
    runtime = a1111_runtime("timeout_seconds = 1\n", retries=2)
    request = a1111_request(count=2)
    _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed"
    assert fake.interrupted.is_set() and any(r.path == "/sdapi/v1/interrupt" for r in fake.requests)
    assert core.quota.report(request.requester).used_this_hour == 0


def test_a_job_cancelled_while_drawn_interrupts_the_server_and_is_refunded(a1111_runtime, fake, redis):
    fake.hang = True
    runtime = a1111_runtime("progress_seconds = 0.05\n")
    request = a1111_request()
    cancel_when(redis, request, lambda: any(r.path == "/sdapi/v1/txt2img" for r in fake.requests))
    _, events, core = run(runtime, request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "cancelled")
    assert fake.interrupted.is_set() and core.quota.report(request.requester).used_this_hour == 0


def test_the_servers_live_preview_reaches_the_status(a1111_runtime, fake):
    fake.seconds_per_image = 1.0
    runtime = a1111_runtime("progress_seconds = 0.2\n")
    job_id, events, _ = run(runtime, a1111_request())
    assert "preview" in [e["type"] for e in events] and events[-1]["type"] == "done"


def test_doctor_says_what_each_server_offers_and_what_to_fix(make_settings, config_file, fake):
    def lines(extra: str = "", **values) -> list[str]:
        path = config_file(f'[a1111]\nservers = ["{fake.url}"]\n{extra}')
        return [c.line() for c in check_a1111(make_settings(path, **values))]

    [ok] = lines('models = ["dreamshaper_8"]\n')
    assert ok.startswith("✓") and "web UI --api answers: 2 checkpoints" in ok and "1 LoRAs" in ok
    assert (
        "; Upscale by R-ESRGAN 4x+; ControlNet: 2 IP-Adapter models (--sref, --cref), --control canny, depth"
        in ok
    )
    assert ok.endswith("; --face-fix by restore_faces (CodeFormer, GFPGAN)")
    fake.adetailer = ["face_yolov8n.pt"]
    assert lines()[0].endswith("; --face-fix by ADetailer (face_yolov8n.pt)")
    fake.controlnet = None
    assert "no ControlNet (--sref, --cref and --control need the sd-webui-controlnet extension)" in lines()[0]
    [no_such] = lines('upscaler = "4x-UltraSharp"\n')
    assert no_such.startswith("✗") and "[a1111] upscaler '4x-UltraSharp' not there" in no_such
    fake.forge = True
    assert "Forge --api answers" in lines()[0]
    [missing] = lines('models = ["sdxl_turbo"]\n')
    assert missing.startswith("✗") and "sdxl_turbo" in missing and "dreamshaper_8.safetensors" in missing
    fake.auth = "bot:secret"
    [refused] = lines()
    assert "IMAGINE_A1111_AUTH" in refused
    assert lines(a1111_auth="bot:secret")[0].startswith("✓")
    fake.api = False
    [no_api] = lines(a1111_auth="bot:secret")
    assert no_api.startswith("✗") and "--api" in no_api


def test_two_workers_share_two_servers_each_job_on_a_free_one(process_env, processes, redis, config_file):
    """The pool: two workers, two servers taking 0.5 s an image; jobs spread over both, one at a time
    on each, and every lease is given back."""
    with FakeA1111(seconds_per_image=0.5) as one, FakeA1111(seconds_per_image=0.5) as two:
        path = config_file(f'[a1111]\nservers = ["{one.url}", "{two.url}"]\n')
        env = {**process_env, "IMAGINE_CONFIG": str(path), "IMAGINE_BACKEND": BACKEND}
        for _ in range(2):
            processes.start("worker", "--backend", BACKEND, extra_env={"IMAGINE_CONFIG": str(path)})
        wait_until(lambda: count_live_workers(redis, queue_name(BACKEND)) == 2, timeout=30, what="workers")
        generate = [
            subprocess.Popen(
                imagine_command("generate", f"a fox {i}", "--out", str(path.parent), "--user", f"u{i}"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(4)
        ]
        assert all(p.wait(timeout=60) == 0 for p in generate)
        assert len(one.generations) + len(two.generations) == 4
        assert one.generations and two.generations
        assert not list(redis.scan_iter(keys.server_lease(BACKEND, "*")))


def test_prompt_tags_that_load_networks_are_open_only_as_the_operator_lists_them(
    a1111_runtime, fake, make_settings, config_file
):
    config = config_file(f'[a1111]\nservers = ["{fake.url}"]\nprompt_tags = ["lora:papercut"]\n')
    settings = make_settings(config, backend=BACKEND)
    who = image_request("evt-who").requester

    def ask(prompt: str, **options: str):
        return check_request(settings, RequestOptions(prompt=prompt, **options), requester=who, event_id="e")

    with pytest.raises(InvalidRequest, match="asks the image server for <lora:evil:100>") as refused:
        ask("a fox <lora:evil:100>")
    assert "allowed here: <lora:papercut>" in str(refused.value)
    for sneaky in ("a fox <LyCo:anything>", "a fox < hypernet : x >"):
        with pytest.raises(InvalidRequest, match="not open to members"):
            ask(sneaky)
    with pytest.raises(InvalidRequest, match="<lora:evil>"):
        ask("a fox", negative="<lora:evil>")
    assert ask("a fox <lora:papercut:0.7>").prompt == "a fox <lora:papercut:0.7>"

    # What reaches the worker without that check (a prompt writer's text) is stripped there.
    runtime = a1111_runtime('prompt_tags = ["lora:papercut"]\n')
    run(runtime, a1111_request(prompt="a fox <lora:evil:100> <lora:papercut:0.7> at night"))
    [generation] = fake.generations
    assert generation.payload["prompt"] == "a fox <lora:papercut:0.7> at night"
