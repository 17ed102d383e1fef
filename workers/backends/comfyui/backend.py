"""ComfyUI servers running the operator's own workflow: the API-format graph ("Save (API)") with our
values written into the slots `[comfyui.workflows.NAME]` names, queued with `POST /prompt`, followed by
polling `GET /history/{id}`, images fetched from `GET /view`. Image-to-image uploads the previous image
(`POST /upload/image`) into the workflow's LoadImage slot. Servers are pooled like the web UI's.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from PIL import Image, ImageOps
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as ws_connect

from shared import messages
from shared.configuration.settings import Settings
from shared.drawing import sizes
from shared.errors import BackendUnavailable, Cancelled, ConfigError
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled, engine_picture
from workers.backends.comfyui import texts, workflows
from workers.backends.comfyui.config import ComfyUIConfig, ComfyWorkflow
from workers.backends.comfyui.slots import Slots, find_slots
from workers.backends.comfyui.workflows import SHIPPED
from workers.backends.servers import ServerPool, verify_servers

log = logging.getLogger(__name__)
NAME = "comfyui"
SHORT_TIMEOUT = 10.0
SOCKET_OPEN_SECONDS = 2.0
PREVIEW_EVENT = 1  # the binary message type ComfyUI uses for a preview image
CLIENT_ID = f"imagine-{uuid.uuid4().hex[:8]}"


class ComfyUIBackend:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._config: ComfyUIConfig = settings.config.comfyui
        self._graphs: dict[str, dict[str, Any]] = {}
        self._slots: dict[str, Slots] = {}
        for name, spec in self._config.workflows.items():
            self._graphs[name] = load_workflow(name, spec)
            self._slots[name] = find_slots(self._graphs[name], spec, f"[comfyui.workflows.{name}]")
        for name in _picture_workflows(self._config):
            if not self._slots[name].of("image"):
                raise ConfigError(
                    f"[comfyui.workflows.{name}] refines pictures but has no LoadImage to start from: "
                    + (self._slots[name].unclear.get("image") or 'set image = "NODE.inputs.image"')
                )
        self._client = ComfyClient(self._config)
        self._pool = ServerPool(settings, NAME, self._config.servers)

    def verify(self) -> None:
        """At the worker's start: each configured server answers (workers/backends/servers.py)."""
        verify_servers(
            NAME,
            self._config.servers,
            lambda server: self._client.object_info(server, "CheckpointLoaderSimple"),
        )

    def generate(self, task: GenerationTask) -> Generation:
        config = self._config
        run = self._plan(task)
        width, height = sizes.native_size(config.native_edge, task.width, task.height, task.aspect)
        seed = task.seed if task.seed is not None else secrets.randbelow(2**32)
        # Without a batch slot (img2img graphs), each image is its own prompt with the next seed.
        batched = bool(run.slots.of("batch_size"))
        runs = [(seed, task.count)] if batched else [(seed + i, 1) for i in range(task.count)]
        images: list[GeneratedImage] = []
        with self._pool.lease() as server:
            uploaded = (
                self._client.upload(server, task.init_image, width, height, mask=task.mask)
                if run.edit
                else None
            )
            for run_seed, count in runs:
                graph = self._filled(run, task, run_seed, count, width, height, uploaded)
                outputs = self._client.run(
                    server, graph, run.slots.output.node, task.on_preview, task.on_progress, task.check_stop
                )
                for index, image in enumerate(outputs):
                    images.append(GeneratedImage(image, run_seed if index == 0 else None))
        if not images:
            raise BackendUnavailable(
                f"the workflow's output node {run.slots.output.node} saved no images", transient=False
            )
        return Generation(
            images[: task.count],
            model=run.model_name,
            cost_usd=config.usd_per_image * len(images),
            notes=run.notes,
        )

    def upscale(self, picture: Image.Image, factor: int, task: GenerationTask) -> Upscaled | None:
        """The picture through `[comfyui] upscale_model` (the shipped upscale graph); None without one."""
        model = self._config.upscale_model
        if model is None:
            return None
        graph = copy.deepcopy(workflows.UPSCALE)
        graph["13"]["inputs"]["model_name"] = model
        with self._pool.lease() as server:
            graph["10"]["inputs"]["image"] = self._client.upload(server, picture, *picture.size)
            outputs = self._client.run(server, graph, "9")
        if not outputs:
            raise BackendUnavailable("the upscale graph saved no image", transient=False)
        return Upscaled(outputs[0], model)

    def _plan(self, task: GenerationTask) -> _Run:
        """Which workflow draws the task, with which checkpoint, and what it must leave out (said in
        the result's notes, never dropped silently)."""
        config = self._config
        picked = task.model or config.default_model
        chosen = picked if picked in config.workflows else config.workflow
        checkpoint = None if picked in config.workflows else picked
        name, edit, notes = chosen, False, []
        if task.mask is not None and config.inpaint_workflow:  # what to keep rides in the upload's alpha
            name, edit = config.inpaint_workflow, True
        elif task.init_image is not None:
            refiner = _refiner_of(config, chosen, self._slots)
            if refiner is None:
                notes.append(texts.drawn_afresh(chosen))
            else:
                name, edit = refiner, True
        slots = self._slots[name]
        wanted = {
            "negative prompt": ("negative", task.negative),
            "model": ("checkpoint", checkpoint),
            "steps": ("steps", task.steps),
            "guidance": ("cfg", task.guidance),
        }
        for what, (role, value) in wanted.items():
            if value and not slots.of(role):
                notes.append(texts.left_out(what, name))
        model_name = checkpoint or (chosen if picked in config.workflows else None) or "comfyui"
        return _Run(name, slots, edit, checkpoint, model_name, notes)

    def _filled(
        self,
        run: _Run,
        task: GenerationTask,
        seed: int,
        count: int,
        width: int,
        height: int,
        uploaded: str | None,
    ) -> dict[str, Any]:
        config = self._config
        graph = copy.deepcopy(self._graphs[run.workflow])
        values: dict[str, Any] = {
            "prompt": task.prompt,
            "negative": task.negative,  # none asked: the graph's own negative stays
            "seed": seed,
            "steps": task.steps or config.steps,
            "cfg": task.guidance if task.guidance is not None else config.cfg,
            "width": width,
            "height": height,
            "batch_size": count,
            "denoise": task.strength if task.strength is not None else config.denoise,
            "image": uploaded,
            "checkpoint": run.checkpoint,
        }
        if not run.edit:
            values["denoise"] = None  # a drawing from an empty latent keeps the graph's full strength
        for role, value in values.items():
            if value is None:
                continue
            for place in run.slots.of(role):
                graph[place.node]["inputs"][place.input] = value
        return graph


@dataclass(frozen=True)
class _Run:
    workflow: str
    slots: Slots
    edit: bool  # the task's picture goes into the workflow's LoadImage
    checkpoint: str | None
    model_name: str
    notes: list[str]


def _refiner_of(config: ComfyUIConfig, chosen: str, slots: dict[str, Slots]) -> str | None:
    """The workflow that refines `chosen`'s pictures: itself when it takes a picture, else its
    `img2img`, else (for the default workflow) `[comfyui] img2img_workflow`; None: drawn afresh."""
    if slots[chosen].of("image"):
        return chosen
    spec = config.workflows[chosen]
    if spec.img2img is not None:
        return spec.img2img or None
    return config.img2img_workflow if chosen == config.workflow else None


def _picture_workflows(config: ComfyUIConfig) -> set[str]:
    """The workflows named to refine or repaint pictures: each must have a LoadImage to put one in."""
    named = {
        config.img2img_workflow,
        config.inpaint_workflow,
        *(w.img2img for w in config.workflows.values()),
    }
    return {name for name in named if name}


def load_workflow(name: str, spec: ComfyWorkflow) -> dict[str, Any]:
    """The API-format graph of a workflow; ConfigError says what to fix (its slots: `find_slots`)."""
    where = f"[comfyui.workflows.{name}]"
    if spec.file is None:
        if name not in SHIPPED:
            raise ConfigError(f"{where} has no file, and no workflow of that name is shipped")
        graph = SHIPPED[name]
    else:
        try:
            graph = json.loads(spec.file.expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where} file {spec.file}: cannot read it as JSON ({exc})") from None
        if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
            raise ConfigError(
                f"{where} file {spec.file} is a UI-format workflow: in ComfyUI, enable the dev mode "
                "options and export it with Export (API) (Save (API) in older versions)"
            )
    if not isinstance(graph, dict) or not all(
        isinstance(n, dict) and "class_type" in n for n in graph.values()
    ):
        raise ConfigError(f"{where}: not an API-format workflow (node id -> class_type and inputs)")
    return graph


class ComfyClient:
    """ComfyUI's HTTP API, with its errors turned into what to fix."""

    def __init__(self, config: ComfyUIConfig) -> None:
        self._config = config
        self._http = httpx2.Client(timeout=httpx2.Timeout(SHORT_TIMEOUT, read=60.0))

    def upload(
        self,
        server: str,
        image: Image.Image | None,
        width: int,
        height: int,
        *,
        mask: Image.Image | None = None,
    ) -> str:
        """The picture into the server's input folder; with `mask`, transparent where to draw (what
        LoadImage gives as its MASK output)."""
        assert image is not None
        picture = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        if mask is not None:
            picture.putalpha(ImageOps.invert(mask.convert("L").resize((width, height))))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        name = f"imagine-{uuid.uuid4().hex}.png"
        files = {"image": (name, buffer.getvalue(), "image/png")}
        answer = self._call("POST", server, "/upload/image", files=files, data={"overwrite": "true"})
        return str(answer.get("name") or name)

    def run(
        self,
        server: str,
        graph: dict[str, Any],
        output: str,
        on_preview: Callable[[bytes], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
        check_stop: Callable[[], None] = lambda: None,
    ) -> list[Image.Image]:
        """Queue the graph, wait for it, and fetch the output node's images; previews and steps from
        the server's websocket meanwhile, where someone listens. `check_stop` raises once the member
        cancels: the prompt is then taken off the server's queue, or interrupted."""
        with ProgressWatcher(server, on_preview, on_progress):
            return self._run(server, graph, output, check_stop)

    def _run(
        self, server: str, graph: dict[str, Any], output: str, check_stop: Callable[[], None]
    ) -> list[Image.Image]:
        answer = self._call("POST", server, "/prompt", json={"prompt": graph, "client_id": CLIENT_ID})
        prompt_id = answer["prompt_id"]
        deadline = time.monotonic() + self._config.timeout_seconds
        while True:
            history = self._call("GET", server, f"/history/{prompt_id}").get(prompt_id)
            if history:
                status = history.get("status") or {}
                if status.get("status_str") == "error":
                    raise BackendUnavailable(
                        f"{server}: the workflow failed: {_execution_error(status)}", transient=False
                    )
                if status.get("completed", True) and history.get("outputs") is not None:
                    refs = (history["outputs"].get(output) or {}).get("images") or []
                    return [self._view(server, ref) for ref in refs if ref.get("type") == "output"]
            try:
                check_stop()
            except Cancelled:
                self._cancel(server, prompt_id)
                raise
            if time.monotonic() > deadline:
                self._cancel(server, prompt_id)
                raise BackendUnavailable(
                    f"the image server did not finish in {self._config.timeout_seconds:.0f} s",
                    transient=False,
                )
            time.sleep(self._config.poll_seconds)

    def _view(self, server: str, ref: dict[str, Any]) -> Image.Image:
        params = {"filename": ref["filename"], "subfolder": ref.get("subfolder", ""), "type": ref["type"]}
        response = self._request("GET", server, "/view", params=params)
        return engine_picture(response.content, server)

    def _cancel(self, server: str, prompt_id: str) -> None:
        """Take the prompt out of the queue, and stop it if it is the one running."""
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            try:
                self._http.post(f"{server}{path}", json=body, timeout=SHORT_TIMEOUT)
            except httpx2.HTTPError as exc:
                log.warning("comfyui: could not %s on %s: %s", path, server, type(exc).__name__)

    def object_info(self, server: str, node_class: str) -> dict[str, Any]:
        """A node class's inputs (checkpoint and LoRA names for doctor); raises ConfigError."""
        try:
            return self._call("GET", server, f"/object_info/{node_class}").get(node_class) or {}
        except BackendUnavailable as exc:
            raise ConfigError(str(exc)) from None

    def _call(self, method: str, server: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._request(method, server, path, **kwargs).json()

    def _request(self, method: str, server: str, path: str, **kwargs: Any) -> httpx2.Response:
        try:
            response = self._http.request(method, f"{server}{path}", **kwargs)
        except httpx2.TransportError as exc:  # refused, reset: the server is (re)starting
            raise BackendUnavailable(f"cannot reach {server}: {type(exc).__name__}") from None
        if response.status_code == 400 and path == "/prompt":
            raise BackendUnavailable(
                f"{server} refused the workflow: {_node_errors(response)}", transient=False
            )
        if response.status_code == 404:
            raise BackendUnavailable(
                f"{server} has no {path.split('?')[0]}: is it a ComfyUI server?", transient=False
            )
        if response.status_code >= 400:
            raise BackendUnavailable(f"{server} answered {response.status_code} to {path}")  # retried
        return response


class ProgressWatcher:
    """ComfyUI's websocket (`/ws?clientId=…`), read on a thread of its own for previews (binary
    messages: event 1, format 1 JPEG / 2 PNG, the image) and steps (`progress` messages). It only adds
    to the status: a socket that fails or stalls is dropped, and the job goes on by /history."""

    def __init__(
        self,
        server: str,
        on_preview: Callable[[bytes], None] | None,
        on_progress: Callable[[str], None] | None,
    ) -> None:
        self._url = server.replace("http", "ws", 1) + f"/ws?clientId={CLIENT_ID}"
        self._on_preview = on_preview
        self._on_progress = on_progress
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="comfyui-progress", daemon=True)

    def __enter__(self) -> ProgressWatcher:
        if self._on_preview is not None or self._on_progress is not None:
            self._thread.start()
            self._ready.wait(SOCKET_OPEN_SECONDS)  # queued before the socket is open, a preview is missed
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _watch(self) -> None:
        try:
            with ws_connect(
                self._url, open_timeout=SOCKET_OPEN_SECONDS, proxy=None, close_timeout=1
            ) as socket:
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        message = socket.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    self._handle(message)
        except (OSError, WebSocketException) as exc:
            log.info("comfyui: no live previews from %s (%s)", self._url, type(exc).__name__)
        finally:
            self._ready.set()

    def _handle(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            if len(message) > 8 and struct.unpack(">I", message[:4])[0] == PREVIEW_EVENT and self._on_preview:
                self._on_preview(message[8:])
            return
        try:
            event = json.loads(message)
        except ValueError:
            return
        data = event.get("data") or {}
        if event.get("type") == "progress" and self._on_progress and data.get("max"):
            self._on_progress(messages.drawing_step(int(data.get("value") or 0), int(data["max"])))


def _node_errors(response: httpx2.Response) -> str:
    """'node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name …' from a refused /prompt."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    parts = []
    for node, problem in (body.get("node_errors") or {}).items():
        for error in problem.get("errors") or []:
            parts.append(
                f"node {node} ({problem.get('class_type')}): {error.get('message')}: {error.get('details')}"
            )
    error = body.get("error") or {}
    return "; ".join(parts) or f"{error.get('message', '')} {error.get('details', '')}".strip()


def _execution_error(status: dict[str, Any]) -> str:
    for kind, data in status.get("messages") or []:
        if kind == "execution_error":
            return f"node {data.get('node_id')} ({data.get('node_type')}): {data.get('exception_message')}"
    return "an execution error"
