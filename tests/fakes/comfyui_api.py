"""A local fake of ComfyUI's HTTP API: /prompt, /history, /view, /upload/image, /queue, /interrupt and
/object_info, answering as ComfyUI does.

A queued graph is checked as ComfyUI checks it (a checkpoint not in the list gets `node_errors` and a
400); it "runs" for `seconds_per_image` per image, then its history holds the output node's images,
coloured by seed. Switches: an execution error, a prompt that never finishes, a dropped connection.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageOps

from tests.fakes.comfyui_graphs import REQUIRED_INPUTS
from tests.fakes.http import FakeServer, Recorded, Reply

CHECKPOINTS = ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"]
MORE_CHECKPOINTS = ["sd_xl_refiner_1.0.safetensors", "sd3.5_large.safetensors"]  # installed, not listed first
UNETS = ["flux1-dev.safetensors"]
LORAS = ["add_detail.safetensors"]
UPSCALE_MODELS = ["RealESRGAN_x4plus.pth", "RealESRGAN_x2plus.pth"]  # models/upscale_models
MODEL_LISTS = {  # the list inputs ComfyUI checks a queued value against
    ("CheckpointLoaderSimple", "ckpt_name"): [*CHECKPOINTS, *MORE_CHECKPOINTS],
    ("UNETLoader", "unet_name"): UNETS,
    ("UpscaleModelLoader", "model_name"): UPSCALE_MODELS,
}


@dataclass
class Queued:
    prompt_id: str
    graph: dict
    started: float
    seconds: float
    client_id: str = ""
    outputs: dict | None = None
    images: dict[str, bytes] = field(default_factory=dict)


class FakeComfyUI(FakeServer):
    def __init__(self, *, seconds_per_image: float = 0.0) -> None:
        super().__init__()
        self.seconds_per_image = seconds_per_image
        self.hang = False  # prompts never finish (until deleted or interrupted)
        self.execution_error_next = 0
        self.drop_next = 0  # /prompt calls whose connection drops (the server restarting)
        self.stall_socket = False  # /ws accepts, then sends nothing
        self.socket = True  # False: no /ws at all (404)
        self.queued: list[Queued] = []
        self.uploads: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.interrupts = 0
        self._lock = threading.Lock()

    def answer(self, request: Recorded) -> Reply:
        url = urlsplit(request.path)
        path, query = url.path, parse_qs(url.query)
        if path == "/ws" and self.socket:
            return Reply(websocket=self._socket(query.get("clientId", [""])[0]))
        if path == "/prompt" and request.method == "POST":
            return self._queue(request.json())
        if path.startswith("/history/"):
            return self._history(path.removeprefix("/history/"))
        if path == "/view":
            return self._view(query)
        if path == "/upload/image" and request.method == "POST":
            name, data = request.form_files()["image"]
            self.uploads[name or "upload.png"] = data
            return Reply.json({"name": name, "subfolder": "", "type": "input"})
        if path == "/queue" and request.method == "POST":
            self.deleted += request.json().get("delete", [])
            return Reply.json({})
        if path == "/interrupt" and request.method == "POST":
            self.interrupts += 1
            return Reply.json({})
        if path.startswith("/object_info/"):
            return self._object_info(path.removeprefix("/object_info/"))
        return Reply(404, b"404: Not Found", {"content-type": "text/plain"})

    def _queue(self, body: dict) -> Reply:
        if self.drop_next:
            self.drop_next -= 1
            raise ConnectionAbortedError("the fake server restarts")
        graph = body.get("prompt")
        if not isinstance(graph, dict) or not body.get("client_id"):
            return Reply.json({"error": {"type": "invalid_prompt", "message": "Cannot execute"}}, 400)
        refused = _validate(graph, self.uploads)
        if refused is not None:
            return refused
        count = _batch(graph)
        queued = Queued(
            uuid.uuid4().hex, graph, time.monotonic(), self.seconds_per_image * count, body["client_id"]
        )
        with self._lock:
            self.queued.append(queued)
        return Reply.json({"prompt_id": queued.prompt_id, "number": len(self.queued), "node_errors": {}})

    def _history(self, prompt_id: str) -> Reply:
        queued = next((q for q in self.queued if q.prompt_id == prompt_id), None)
        if queued is None or prompt_id in self.deleted:
            return Reply.json({})
        if self.hang or time.monotonic() - queued.started < queued.seconds:
            return Reply.json({})  # still queued or running: not in the history yet
        if queued.outputs is None:
            if self.execution_error_next:
                self.execution_error_next -= 1
                status = {
                    "status_str": "error",
                    "completed": False,
                    "messages": [
                        [
                            "execution_error",
                            {
                                "node_id": "3",
                                "node_type": "KSampler",
                                "exception_message": "CUDA out of memory",
                            },
                        ]
                    ],
                }
                return Reply.json({prompt_id: {"prompt": [], "outputs": {}, "status": status}})
            queued.outputs = self._run(queued)
        status = {"status_str": "success", "completed": True, "messages": []}
        return Reply.json({prompt_id: {"prompt": [], "outputs": queued.outputs, "status": status}})

    def _run(self, queued: Queued) -> dict:
        graph = queued.graph
        seed = _seed(graph)
        width, height = _size(graph, self.uploads)
        saver = next(node for node, spec in graph.items() if spec["class_type"] == "SaveImage")
        refs = []
        # an upscaler model's output: the picture, bigger; a face restorer's: the picture, restored
        upscaled = _upscaled(graph, self.uploads) or _restored(graph, self.uploads)
        if upscaled is not None:
            name = f"imagine_{queued.prompt_id[:6]}_00000_.png"
            buffer = io.BytesIO()
            upscaled.save(buffer, format="PNG")
            queued.images[name] = buffer.getvalue()
            return {saver: {"images": [{"filename": name, "subfolder": "", "type": "output"}]}}
        masked = _masked_source(graph, self.uploads)  # a noise mask: draw only where it says
        for index in range(_batch(graph)):
            name = f"imagine_{queued.prompt_id[:6]}_{index:05}_.png"
            buffer = io.BytesIO()
            drawn = Image.new(
                "RGB", (width, height), ((seed + index) * 37 % 256, (seed + index) * 91 % 256, 200)
            )
            if masked is not None:
                source, mask = masked
                drawn = Image.composite(drawn, source, mask)
            drawn.save(buffer, format="PNG")
            queued.images[name] = buffer.getvalue()
            refs.append({"filename": name, "subfolder": "", "type": "output"})
        return {saver: {"images": refs}}

    def _view(self, query: dict[str, list[str]]) -> Reply:
        name = query.get("filename", [""])[0]
        for queued in self.queued:
            if name in queued.images:
                return Reply(200, queued.images[name], {"content-type": "image/png"})
        return Reply(404, b"", {"content-type": "text/plain"})

    def _object_info(self, node_class: str) -> Reply:
        inputs = {
            "CheckpointLoaderSimple": ("ckpt_name", MODEL_LISTS[("CheckpointLoaderSimple", "ckpt_name")]),
            "UNETLoader": ("unet_name", UNETS),
            "LoraLoader": ("lora_name", LORAS),
            "UpscaleModelLoader": ("model_name", UPSCALE_MODELS),
        }
        if node_class not in inputs:
            return Reply.json({})
        name, values = inputs[node_class]
        return Reply.json({node_class: {"input": {"required": {name: [values, {}]}}, "name": node_class}})

    def _socket(self, client_id: str):
        """ComfyUI's /ws: a status on connect, then for each running prompt of this client a progress
        message and a binary preview (4-byte event 1 = preview, 4-byte format 2 = PNG, the image)."""

        def messages(closed: threading.Event):
            yield json.dumps({"type": "status", "data": {"sid": client_id, "status": {}}})
            previewed: set[str] = set()
            while not closed.wait(0.02):
                if self.stall_socket:
                    continue
                for queued in list(self.queued):
                    if queued.client_id != client_id or queued.prompt_id in previewed or queued.outputs:
                        continue
                    previewed.add(queued.prompt_id)
                    progress = {"value": 5, "max": 20, "prompt_id": queued.prompt_id, "node": "3"}
                    yield json.dumps({"type": "progress", "data": progress})
                    buffer = io.BytesIO()
                    Image.new("RGB", (64, 64), (20, 20, 20)).save(buffer, format="PNG")
                    yield struct.pack(">II", 1, 2) + buffer.getvalue()

        return messages

    def graphs(self) -> list[dict]:
        return [q.graph for q in self.queued]

    def requests_to_prompt(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/prompt"]


def _validate(graph: dict, uploads: dict[str, bytes]) -> Reply | None:
    """ComfyUI's checks of a queued graph: every class known, every required input there, every link
    to a node of the graph, each model name one it has; its 400 answers, as it words them."""
    errors: dict[str, dict] = {}
    for node, spec in graph.items():
        kind = spec.get("class_type")
        if kind not in REQUIRED_INPUTS:
            message = f"Cannot execute because node {kind} does not exist."
            error = {"type": "invalid_prompt", "message": message, "details": f"Node ID '#{node}'"}
            return Reply.json({"error": {**error, "extra_info": {}}, "node_errors": {}}, 400)
        inputs = spec.get("inputs") or {}
        problems = [
            {"type": "required_input_missing", "message": "Required input is missing", "details": name}
            for name in REQUIRED_INPUTS[kind]
            if name not in inputs
        ]
        for name, value in inputs.items():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) not in graph:
                problems.append({"type": "invalid_link", "message": "Bad linked input", "details": name})
            allowed = MODEL_LISTS.get((kind, name))
            if allowed is not None and value not in allowed:
                details = f"{name}: '{value}' not in {allowed}"
                problems.append(
                    {"type": "value_not_in_list", "message": "Value not in list", "details": details}
                )
        if kind == "LoadImage" and inputs.get("image") not in uploads:  # ComfyUI's VALIDATE_INPUTS
            details = f"image - Invalid image file: {inputs.get('image')}"
            problems.append(
                {
                    "type": "custom_validation_failed",
                    "message": "Custom validation failed for node",
                    "details": details,
                }
            )
        if problems:
            errors[node] = {"errors": problems, "class_type": kind}
    if not errors:
        return None
    failed = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"}
    return Reply.json({"error": failed, "node_errors": errors}, 400)


def _seed(graph: dict) -> int:
    """The seed the first sampler draws with: its own, or its RandomNoise node's."""
    for kind, name in (
        ("KSampler", "seed"),
        ("KSamplerAdvanced", "noise_seed"),
        ("RandomNoise", "noise_seed"),
    ):
        for spec in graph.values():
            if spec["class_type"] == kind:
                return int(spec["inputs"][name])
    return 0


def _masked_source(graph: dict, uploads: dict[str, bytes]) -> tuple[Image.Image, Image.Image] | None:
    """(the loaded picture, where to draw) when a mask from LoadImage reaches the latent, as
    SetLatentNoiseMask or VAEEncodeForInpaint lay it: LoadImage's MASK is 1 - the picture's alpha."""
    for spec in graph.values():
        if spec["class_type"] not in ("SetLatentNoiseMask", "VAEEncodeForInpaint"):
            continue
        loader = graph[str(spec["inputs"]["mask"][0])]
        if loader["class_type"] != "LoadImage" or spec["inputs"]["mask"][1] != 1:
            continue
        with Image.open(io.BytesIO(uploads[loader["inputs"]["image"]])) as upload:
            upload.load()
            alpha = upload.getchannel("A") if upload.mode == "RGBA" else Image.new("L", upload.size, 255)
            return upload.convert("RGB"), ImageOps.invert(alpha)
    return None


def _upscaled(graph: dict, uploads: dict[str, bytes]) -> Image.Image | None:
    """What ImageUpscaleWithModel makes of a loaded picture: it, at the model's scale (its name's 2x/4x)."""
    for spec in graph.values():
        if spec["class_type"] != "ImageUpscaleWithModel":
            continue
        model = graph[str(spec["inputs"]["upscale_model"][0])]["inputs"]["model_name"]
        scale = 2 if "x2" in model.lower() or "2x" in model.lower() else 4
        loader = graph[str(spec["inputs"]["image"][0])]
        with Image.open(io.BytesIO(uploads[loader["inputs"]["image"]])) as upload:
            picture = upload.convert("RGB")
        return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.LANCZOS)
    return None


def _restored(graph: dict, uploads: dict[str, bytes]) -> Image.Image | None:
    """What FaceRestoreCFWithModel makes of a loaded picture: here, the picture halfway to white."""
    for spec in graph.values():
        if spec["class_type"] != "FaceRestoreCFWithModel":
            continue
        loader = graph[str(spec["inputs"]["image"][0])]
        with Image.open(io.BytesIO(uploads[loader["inputs"]["image"]])) as upload:
            picture = upload.convert("RGB")
        return Image.blend(picture, Image.new("RGB", picture.size, "white"), 0.5)
    return None


def _latent(graph: dict) -> dict | None:
    return next(
        (s for s in graph.values() if s["class_type"] in ("EmptyLatentImage", "EmptySD3LatentImage")), None
    )


def _batch(graph: dict) -> int:
    latent = _latent(graph)
    return int(latent["inputs"]["batch_size"]) if latent else 1


def _size(graph: dict, uploads: dict[str, bytes]) -> tuple[int, int]:
    latent = _latent(graph)
    if latent is not None:
        return int(latent["inputs"]["width"]), int(latent["inputs"]["height"])
    for spec in graph.values():
        if spec["class_type"] == "LoadImage":
            with Image.open(io.BytesIO(uploads[spec["inputs"]["image"]])) as image:
                return image.size
    return 512, 512


def ui_format_workflow() -> str:
    """What ComfyUI's plain Save writes: nodes and links, not the API graph."""
    return json.dumps(
        {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": [], "version": 0.4}
    )
