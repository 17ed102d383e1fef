"""ComfyUI with the operator's steering and finishing graphs, on the fake of its API: a style picture
into an IPAdapter graph's LoadImage and a control picture into a ControlNet's (found by walking the
exported graph), and `--face-fix` through the operator's face-restore workflow."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from shared.drawing.references import Control, Reference
from shared.drawing.sources import SourceImage
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request
from tests.fakes.comfyui_api import FakeComfyUI
from tests.fakes.comfyui_graphs import FACE_RESTORE, SD15_IPADAPTER_CANNY
from workers.backends.comfyui.doctor import check as check_comfyui
from workers.runtime import build_runtime

BACKEND = "comfyui"


@pytest.fixture
def fake():
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def comfy(make_settings, config_file, fake, redis, tmp_path):
    """A runtime whose config has the exported graphs `graphs` names, and `extra` settings."""

    def build(extra: str = "", graphs: dict | None = None):
        sections = ""
        for name, graph in (graphs or {}).items():
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(graph, indent=2))
            sections += f'[comfyui.workflows.{name}]\nfile = "{path}"\n'
        server = f'[comfyui]\nservers = ["{fake.url}"]\npoll_seconds = 0.02\n'
        toml = f"[jobs]\nretries = 0\n{server}{extra}{sections}"
        settings = make_settings(config_file(toml), backend=BACKEND)
        return build_runtime(settings, redis, BACKEND), settings

    return build


def stored(runtime, key: str, picture: Image.Image) -> SourceImage:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    runtime.store.put_many({key: buffer.getvalue()}, workspace="local")
    return SourceImage(key=key)


def uploaded(fake, name: str) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(fake.uploads[name])) as picture:
        return picture.convert("RGB").getpixel((0, 0))


def test_a_style_and_a_control_picture_go_into_the_loadimages_their_nodes_read(comfy, fake):
    runtime, _ = comfy('workflow = "steered"\n', {"steered": SD15_IPADAPTER_CANNY})
    style = stored(runtime, "member-style", Image.new("RGB", (300, 200), (250, 10, 10)))
    pose = stored(runtime, "member-pose", Image.new("RGB", (256, 256), (10, 250, 10)))
    request = image_request(
        "evt-steer",
        backend=BACKEND,
        references=(Reference(kind="style", image=style),),
        reference_weight=40,
        control=Control(kind="canny", image=pose),
        control_weight=0.7,
    )
    _, events, _ = run(runtime, request)
    assert events[-1]["type"] == "done", events[-1]
    [graph] = fake.graphs()
    style_name, pose_name = graph["12"]["inputs"]["image"], graph["25"]["inputs"]["image"]
    assert uploaded(fake, style_name) == (250, 10, 10) and uploaded(fake, pose_name) == (10, 250, 10)
    with Image.open(io.BytesIO(fake.uploads[style_name])) as picture:
        assert picture.size == (300, 200)  # as given: the graph's own node prepares it for CLIP vision
    assert graph["21"]["inputs"]["weight"] == 0.4 and graph["30"]["inputs"]["strength"] == 0.7
    assert graph["6"]["inputs"]["text"].startswith("a lighthouse")  # the prompt, through the ControlNet


def test_without_pictures_the_graph_runs_with_its_own(comfy, fake):
    runtime, _ = comfy('workflow = "steered"\n', {"steered": SD15_IPADAPTER_CANNY})
    fake.uploads.update(
        {"style.png": b"", "pose.png": b""}
    )  # what the operator left in ComfyUI's input folder
    _, events, _ = run(runtime, image_request("evt-own", backend=BACKEND))
    assert events[-1]["type"] == "done", events[-1]
    [graph] = fake.graphs()
    assert (graph["12"]["inputs"]["image"], graph["21"]["inputs"]["weight"]) == ("style.png", 0.8)


def test_a_reference_for_a_workflow_without_an_ipadapter_is_refused_and_refunded(comfy, fake):
    runtime, _ = comfy(graphs={"steered": SD15_IPADAPTER_CANNY})  # the default txt2img draws
    style = stored(runtime, "member-style", Image.new("RGB", (64, 64), "red"))
    request = image_request("evt-no", backend=BACKEND, references=(Reference(kind="style", image=style),))
    _, events, core = run(runtime, request)
    assert events[-1]["type"] == "failed" and events[-1]["kind"] == "invalid"
    assert "The txt2img workflow has no place for a reference picture" in events[-1]["text"]
    assert "reference_image in [comfyui.workflows.txt2img]" in events[-1]["text"]
    assert fake.graphs() == []  # nothing was queued on the server
    assert core.quota.report(request.requester).used_this_hour == 0


def test_face_fix_runs_each_result_through_the_face_restore_workflow(comfy, fake):
    runtime, _ = comfy('face_fix_workflow = "faces"\n', {"faces": FACE_RESTORE})
    _, events, _ = run(runtime, image_request("evt-face", backend=BACKEND, seed=2, count=2, face_fix=True))
    done = events[-1]
    assert done["type"] == "done" and len(done["images"]) == 2, done
    drawn, *restored = fake.graphs()
    assert [g["3"]["class_type"] for g in restored] == ["FaceRestoreCFWithModel"] * 2
    seed = drawn["3"]["inputs"]["seed"]
    colour = (seed * 37 % 256, seed * 91 % 256, 200)  # the fake's drawing, then halfway to white
    with Image.open(io.BytesIO(runtime.redis.get(done["images"][0]["key"]))) as first:
        got = first.convert("RGB").getpixel((0, 0))
    assert all(abs(g - (c + 255) / 2) <= 1 for g, c in zip(got, colour, strict=True)), (got, colour)


def test_doctor_shows_where_the_steering_pictures_go(comfy, fake):
    _, settings = comfy('models = ["steered"]\n', {"steered": SD15_IPADAPTER_CANNY})
    lines = [c.line() for c in check_comfyui(settings)]
    [steered] = [line for line in lines if line.startswith("✓ comfyui workflow steered")]
    assert "reference_image → 12.inputs.image (LoadImage)" in steered
    assert "control_image → 25.inputs.image (LoadImage)" in steered
    assert "reference_weight → 21.inputs.weight (IPAdapterAdvanced)" in steered
    assert "control_weight → 30.inputs.strength (ControlNetApplyAdvanced)" in steered
