"""The comfyui backend: the operator's API-format workflow, run on a local fake of ComfyUI's API."""

from __future__ import annotations

import io
import json
import logging

import pytest
from PIL import Image

from shared.drawing.edits import CanvasEdit
from shared.drawing.finishing import Upscale
from shared.errors import ConfigError
from tests.backend_harness import cancel_when
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request
from tests.fakes.comfyui_api import CHECKPOINTS, UNETS, FakeComfyUI, ui_format_workflow
from tests.fakes.comfyui_graphs import FLUX_DEV, SD35_TIMESTEPPED_NEGATIVE, SDXL_REFINER
from workers.backends.comfyui.doctor import check as check_comfyui
from workers.backends.comfyui.workflows import TXT2IMG
from workers.runtime import build_runtime

BACKEND = "comfyui"


@pytest.fixture
def fake():
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def comfy_settings(make_settings, config_file, fake):
    def build(extra: str = "", retries: int = 0):
        toml = (
            f"[jobs]\nretries = {retries}\nretry_intervals = [0]\n"
            f'[comfyui]\nservers = ["{fake.url}"]\npoll_seconds = 0.02\n{extra}'
        )
        return make_settings(config_file(toml), backend=BACKEND)

    return build


@pytest.fixture
def comfy_runtime(redis, comfy_settings):
    return lambda extra="", retries=0: build_runtime(comfy_settings(extra, retries), redis, BACKEND)


def comfy_request(event_id: str = "evt-c", **fields):
    return image_request(event_id, backend=BACKEND, **{"width": 1024, "height": 1024, **fields})


def first_pixel(runtime, key: str) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(runtime.redis.get(key))) as image:
        return image.convert("RGB").getpixel((0, 0))


def test_the_shipped_workflow_gets_the_request_in_its_slots_and_the_output_nodes_images(comfy_runtime, fake):
    runtime = comfy_runtime(f'models = ["{CHECKPOINTS[1]}"]\nsteps = 12\nnative_edge = 512\n')
    request = comfy_request(
        count=2, seed=9, negative="blurry", model=CHECKPOINTS[1], aspect="tall", width=768, height=1344
    )
    _, events, core = run(runtime, request)
    done = events[-1]
    assert done["type"] == "done" and [i["seed"] for i in done["images"]] == [9, None]  # one batch seed
    [graph] = fake.graphs()
    inputs = {node: spec["inputs"] for node, spec in graph.items()}
    assert inputs["6"]["text"].startswith("a lighthouse in a storm") and inputs["7"]["text"] == "blurry"
    assert (inputs["3"]["seed"], inputs["3"]["steps"], inputs["4"]["ckpt_name"]) == (9, 12, CHECKPOINTS[1])
    assert (inputs["5"]["width"], inputs["5"]["height"], inputs["5"]["batch_size"]) == (384, 704, 2)
    assert first_pixel(runtime, done["images"][1]["key"]) == (10 * 37 % 256, 10 * 91 % 256, 200)
    assert core.quota.report(request.requester).running == 0


def test_an_operators_own_workflow_is_filled_at_the_slots_it_names(comfy_runtime, fake, tmp_path):
    renumbered = {str(int(node) + 100): spec for node, spec in json.loads(json.dumps(TXT2IMG)).items()}
    for spec in renumbered.values():
        for name, value in spec["inputs"].items():
            if isinstance(value, list):
                spec["inputs"][name] = [str(int(value[0]) + 100), value[1]]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(renumbered))
    slots = (
        f'[comfyui.workflows.mine]\nfile = "{path}"\noutput = "109"\nprompt = "106.inputs.text"\n'
        'negative = "107.inputs.text"\nseed = "103.inputs.seed"\nsteps = "103.inputs.steps"\n'
        'cfg = "103.inputs.cfg"\nwidth = "105.inputs.width"\nheight = "105.inputs.height"\n'
        'batch_size = "105.inputs.batch_size"\ncheckpoint = "104.inputs.ckpt_name"\n'
    )
    runtime = comfy_runtime('workflow = "mine"\n' + slots)
    _, events, _ = run(runtime, comfy_request(seed=3))
    assert events[-1]["type"] == "done"
    [graph] = fake.graphs()
    assert graph["103"]["inputs"]["seed"] == 3 and graph["106"]["inputs"]["text"].startswith("a lighthouse")


def test_a_ui_format_workflow_is_refused_with_how_to_export_it(comfy_settings, redis, tmp_path):
    path = tmp_path / "ui.json"
    path.write_text(ui_format_workflow())
    extra = f'workflow = "mine"\n[comfyui.workflows.mine]\nfile = "{path}"\n'
    with pytest.raises(ConfigError, match=r"UI-format workflow.*Save \(API\)"):
        build_runtime(comfy_settings(extra), redis, BACKEND)
    lines = [c.line() for c in check_comfyui(comfy_settings(extra))]
    assert any(line.startswith("✗ comfyui workflow mine") and "Save (API)" in line for line in lines)


def test_a_variation_uploads_the_previous_image_into_the_load_image_slot(comfy_runtime, fake):
    runtime = comfy_runtime()
    first_id, first, _ = run(runtime, comfy_request("evt-1", seed=40))
    variation = comfy_request("evt-2", kind="variation", parent_job_id=first_id, parent_image_index=0)
    _, events, _ = run(runtime, variation)
    assert events[-1]["type"] == "done"
    graph = fake.graphs()[1]
    [(name, data)] = fake.uploads.items()
    assert graph["10"]["inputs"]["image"] == name and graph["3"]["inputs"]["denoise"] == 0.75
    with Image.open(io.BytesIO(data)) as uploaded:
        assert uploaded.convert("RGB").getpixel((0, 0)) == first_pixel(runtime, first[-1]["images"][0]["key"])


def test_an_upscale_runs_the_shipped_upscale_graph_with_the_configured_model(comfy_runtime, fake):
    runtime = comfy_runtime('upscale_model = "RealESRGAN_x4plus.pth"\n')
    first_id, first, _ = run(runtime, comfy_request("evt-u1", seed=40, width=512, height=512))
    subtle = comfy_request(
        "evt-u2", kind="upscale", upscale=Upscale(factor=2), parent_job_id=first_id, parent_image_index=0
    )
    _, events, _ = run(runtime, subtle)
    done = events[-1]
    assert done["type"] == "done" and done["model"] == "RealESRGAN_x4plus.pth"
    graph = fake.graphs()[-1]
    assert {spec["class_type"] for spec in graph.values()} == {
        "LoadImage",
        "UpscaleModelLoader",
        "ImageUpscaleWithModel",
        "SaveImage",
    }
    assert graph["13"]["inputs"]["model_name"] == "RealESRGAN_x4plus.pth"
    with Image.open(io.BytesIO(runtime.redis.get(done["images"][0]["key"]))) as bigger:
        assert bigger.size == (1024, 1024)  # the model's ×4 fitted to the ×2 asked for
    # A model the server does not have is its node error, named for the operator; none set: Lanczos.
    missing = comfy_runtime('upscale_model = "4x-UltraSharp.pth"\n')
    _, events, _ = run(missing, subtle.model_copy(update={"event_id": "evt-u3"}))
    assert events[-1]["type"] == "failed"
    _, events, _ = run(comfy_runtime(), subtle.model_copy(update={"event_id": "evt-u4"}))
    assert events[-1]["model"] == "Lanczos"


def test_pan_runs_the_shipped_inpaint_workflow_with_the_mask_in_the_uploads_alpha(comfy_runtime, fake):
    runtime = comfy_runtime()
    first_id, first, _ = run(runtime, comfy_request("evt-1", seed=40))
    kept_colour = first_pixel(runtime, first[-1]["images"][0]["key"])
    pan = comfy_request(
        "evt-2",
        kind="pan",
        canvas=CanvasEdit(pan="left"),
        parent_job_id=first_id,
        parent_image_index=0,
        seed=3,
    )
    _, events, _ = run(runtime, pan)
    assert events[-1]["type"] == "done"
    graph = fake.graphs()[1]
    assert graph["12"]["class_type"] == "SetLatentNoiseMask" and graph["3"]["inputs"]["latent_image"] == [
        "12",
        0,
    ]
    [(name, data)] = fake.uploads.items()
    assert graph["10"]["inputs"]["image"] == name
    with Image.open(io.BytesIO(data)) as uploaded:
        assert uploaded.mode == "RGBA" and uploaded.size[0] > uploaded.size[1]  # wider: room on the left
        alpha = uploaded.getchannel("A")
        assert alpha.getpixel((5, 5)) == 0 and alpha.getpixel((uploaded.width - 5, 5)) == 255  # draw | keep
    with Image.open(io.BytesIO(runtime.redis.get(events[-1]["images"][0]["key"]))) as panned:
        panned = panned.convert("RGB")
        assert panned.getpixel((panned.width - 5, 5)) == kept_colour
        assert panned.getpixel((5, 5)) == (3 * 37 % 256, 3 * 91 % 256, 200)  # drawn by the server


def test_node_errors_fail_the_job_once_refunded_and_tell_the_operator_the_node(comfy_runtime, fake, caplog):
    runtime = comfy_runtime('models = ["not_installed.safetensors"]\n', retries=2)
    request = comfy_request(count=2, model="not_installed.safetensors")
    with caplog.at_level(logging.ERROR):
        _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed" and len(fake.requests_to_prompt()) == 1
    assert "node 4 (CheckpointLoaderSimple): Value not in list" in caplog.text
    assert core.quota.report(request.requester).used_this_hour == 0


def test_an_execution_error_names_the_node_and_refunds(comfy_runtime, fake, caplog):
    fake.execution_error_next = 1
    runtime = comfy_runtime()
    with caplog.at_level(logging.ERROR):
        _, events, _ = run(runtime, comfy_request())
    assert events[-1]["type"] == "failed"
    assert "node 3 (KSampler): CUDA out of memory" in caplog.text


def test_a_prompt_that_never_finishes_is_deleted_interrupted_and_refunded(comfy_runtime, fake):
    fake.hang = True
    runtime = comfy_runtime("timeout_seconds = 0.5\n")
    request = comfy_request()
    _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed"
    assert fake.deleted == [fake.queued[0].prompt_id] and fake.interrupts == 1
    assert core.quota.report(request.requester).used_this_hour == 0


def test_a_job_cancelled_while_drawn_leaves_the_servers_queue_and_is_refunded(comfy_runtime, fake, redis):
    fake.hang = True
    runtime = comfy_runtime()
    request = comfy_request()
    cancel_when(redis, request, lambda: fake.queued)
    _, events, core = run(runtime, request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "cancelled")
    assert fake.deleted == [fake.queued[0].prompt_id] and fake.interrupts == 1
    assert core.quota.report(request.requester).used_this_hour == 0


def test_a_server_restarting_mid_job_is_retried_and_delivered_once(comfy_runtime, fake):
    fake.drop_next = 1
    runtime = comfy_runtime(retries=2)
    _, events, _ = run(runtime, comfy_request())
    assert [e["type"] for e in events].count("done") == 1


def test_doctor_lists_checkpoints_and_loras_and_names_missing_models(comfy_settings, fake):
    lines = [c.line() for c in check_comfyui(comfy_settings(f'models = ["{CHECKPOINTS[0]}"]\n'))]
    [txt2img] = [line for line in lines if line.startswith("✓ comfyui workflow txt2img: 7 nodes")]
    assert "\n    seed → 3.inputs.seed (KSampler)\n" in txt2img
    assert any(
        line.startswith(f"✓ comfyui {fake.url}") and "4 checkpoints, 1 diffusion models, 1 LoRAs" in line
        for line in lines
    )
    [missing] = [
        line
        for line in (c.line() for c in check_comfyui(comfy_settings('models = ["x.safetensors"]\n')))
        if fake.url in line
    ]
    assert missing.startswith("✗") and "x.safetensors" in missing and CHECKPOINTS[1] in missing
    assert any("; Upscale by Lanczos (2 upscale models there)" in line for line in lines)
    [upscaler] = [
        line
        for line in (c.line() for c in check_comfyui(comfy_settings('upscale_model = "4x-UltraSharp.pth"\n')))
        if fake.url in line
    ]
    assert upscaler.startswith("✗") and "upscale_model '4x-UltraSharp.pth' not there" in upscaler


def test_previews_and_steps_from_the_websocket_reach_the_status(comfy_runtime, fake):
    fake.seconds_per_image = 0.6
    runtime = comfy_runtime()
    _, events, _ = run(runtime, comfy_request())
    kinds = [e["type"] for e in events]
    assert "preview" in kinds and kinds[-1] == "done"
    assert "Generating… step 5 of 20" in [e.get("text") for e in events if e["type"] == "generating"]


@pytest.mark.parametrize("broken", ["stall_socket", "no socket"])
def test_a_stalled_or_missing_websocket_never_stalls_the_job(comfy_runtime, fake, broken):
    fake.seconds_per_image = 0.3
    if broken == "stall_socket":
        fake.stall_socket = True
    else:
        fake.socket = False
    runtime = comfy_runtime()
    _, events, _ = run(runtime, comfy_request())
    assert events[-1]["type"] == "done" and "preview" not in [e["type"] for e in events]


def exported(tmp_path, name: str, graph: dict) -> str:
    """A workflow file as the operator saved it from ComfyUI, and its config section naming only it."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(graph, indent=2))
    return f'[comfyui.workflows.{name}]\nfile = "{path}"\n'


@pytest.mark.parametrize(
    ("graph", "expect"),
    [
        (
            FLUX_DEV,
            {
                "prompt": [("6", "text")],
                "seed": [("25", "noise_seed")],
                "steps": [("17", "steps")],
                "width": [("27", "width"), ("30", "width")],
                "cfg": [("26", "guidance")],
            },
        ),
        (
            SDXL_REFINER,
            {
                "prompt": [("6", "text"), ("15", "text")],
                "seed": [("10", "noise_seed"), ("11", "noise_seed")],
                "steps": [("10", "steps"), ("11", "steps")],
                "width": [("5", "width")],
                "cfg": [("10", "cfg"), ("11", "cfg")],
            },
        ),
        (
            SD35_TIMESTEPPED_NEGATIVE,
            {
                "prompt": [("16", "text")],
                "seed": [("3", "seed")],
                "steps": [("3", "steps")],
                "width": [("53", "width")],
                "cfg": [("3", "cfg")],
            },
        ),
    ],
    ids=["flux", "sdxl-refiner", "sd3.5"],
)
def test_an_exported_graph_runs_with_only_its_file_given(comfy_runtime, fake, tmp_path, graph, expect):
    settings = 'workflow = "mine"\nnative_edge = 1024\nsteps = 9\ncfg = 2.5\n'
    runtime = comfy_runtime(settings + exported(tmp_path, "mine", graph))
    request = comfy_request(seed=77, aspect="wide", count=2)
    _, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done" and len(events[-1]["images"]) == 2, events[-1]
    [queued] = fake.graphs()
    value = {"prompt": None, "seed": 77, "steps": 9, "width": 1344, "cfg": 2.5}
    for role, places in expect.items():
        for node, name in places:
            got = queued[node]["inputs"][name]
            assert got.startswith("a lighthouse") if role == "prompt" else got == value[role], (role, node)
    assert {spec["class_type"] for spec in queued.values()} == {spec["class_type"] for spec in graph.values()}


def test_a_negative_prompt_the_graph_has_no_place_for_is_left_out_and_said_so(comfy_runtime, fake, tmp_path):
    runtime = comfy_runtime('workflow = "flux"\n' + exported(tmp_path, "flux", FLUX_DEV))
    _, events, _ = run(runtime, comfy_request(negative="blurry"))
    done = events[-1]
    assert done["type"] == "done"
    assert "The negative prompt was left out: the flux workflow has no place for it." in done["notes"]
    assert "blurry" not in json.dumps(fake.graphs())


def test_workflows_named_as_models_run_their_own_graph_beside_the_default_ones_checkpoints(
    comfy_runtime, fake, tmp_path
):
    sections = exported(tmp_path, "flux", FLUX_DEV) + 'description = "Flux dev"\n'
    sections += exported(tmp_path, "sdxl", SDXL_REFINER) + 'checkpoint = "4.inputs.ckpt_name"\n'
    runtime = comfy_runtime(f'models = ["flux", "sdxl", "{CHECKPOINTS[1]}"]\n' + sections)
    for event, model in (("evt-f", "flux"), ("evt-x", "sdxl"), ("evt-c", CHECKPOINTS[1])):
        _, events, _ = run(runtime, comfy_request(event, model=model))
        assert events[-1]["type"] == "done" and events[-1]["model"] == model, events[-1]
    flux, sdxl, default = fake.graphs()
    assert (
        flux["13"]["class_type"] == "SamplerCustomAdvanced" and flux["12"]["inputs"]["unet_name"] == UNETS[0]
    )
    assert sdxl["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"  # its own checkpoint
    assert default["4"]["inputs"]["ckpt_name"] == CHECKPOINTS[1] and default["3"]["class_type"] == "KSampler"
    from shared.drawing.choices import offered_models

    offered = dict(offered_models(runtime.settings.config, BACKEND, nsfw=False))
    assert offered["flux"] == "flux — Flux dev"


def test_a_picture_for_a_workflow_that_takes_none_is_drawn_afresh_and_said_so(comfy_runtime, fake, tmp_path):
    runtime = comfy_runtime('models = ["flux"]\n' + exported(tmp_path, "flux", FLUX_DEV))
    first_id, _, _ = run(runtime, comfy_request("evt-1", model="flux"))
    variation = comfy_request(
        "evt-2", kind="variation", parent_job_id=first_id, parent_image_index=0, model="flux"
    )
    _, events, _ = run(runtime, variation)
    assert events[-1]["type"] == "done" and fake.uploads == {}
    assert (
        "Drawn afresh from the words: the flux workflow does not start from a picture." in events[-1]["notes"]
    )


def test_doctor_says_where_each_slot_of_an_exported_graph_landed(comfy_settings, fake, tmp_path):
    extra = exported(tmp_path, "flux", FLUX_DEV) + exported(tmp_path, "xl", SDXL_REFINER)
    lines = [c.line() for c in check_comfyui(comfy_settings('models = ["flux"]\n' + extra))]
    [flux] = [line for line in lines if line.startswith("✓ comfyui workflow flux")]
    assert "seed → 25.inputs.noise_seed (RandomNoise)" in flux
    assert "width → 27.inputs.width (EmptySD3LatentImage), 30.inputs.width (ModelSamplingFlux)" in flux
    [xl] = [line for line in lines if "comfyui workflow xl" in line]
    assert (
        "checkpoint → not set: several could take it" in xl and 'set checkpoint = "4.inputs.ckpt_name"' in xl
    )
