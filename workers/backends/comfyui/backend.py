"""ComfyUI servers running the operator's own workflow: the API-format graph ("Save (API)") with our
values written into the slots `[comfyui.workflows.NAME]` names, queued with `POST /prompt`, followed by
polling `GET /history/{id}`, images fetched from `GET /view`. Image-to-image uploads the previous image
(`POST /upload/image`) into the workflow's LoadImage slot. Servers are pooled like the web UI's.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image

from shared.configuration.settings import Settings
from shared.drawing import sizes
from shared.errors import BackendUnavailable, ConfigError, InvalidRequest
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled
from workers.backends.comfyui import texts, workflows
from workers.backends.comfyui.client import ComfyClient
from workers.backends.comfyui.config import ComfyUIConfig, ComfyWorkflow
from workers.backends.comfyui.slots import Slots, find_slots
from workers.backends.comfyui.workflows import SHIPPED
from workers.backends.servers import ServerPool, verify_servers

log = logging.getLogger(__name__)
NAME = "comfyui"


class ComfyUIBackend:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._config: ComfyUIConfig = settings.config.comfyui
        self._graphs: dict[str, dict[str, Any]] = {}
        self._slots: dict[str, Slots] = {}
        for name, spec in self._config.workflows.items():
            self._graphs[name] = load_workflow(name, spec)
            where, finishes = f"[comfyui.workflows.{name}]", name == self._config.face_fix_workflow
            self._slots[name] = find_slots(self._graphs[name], spec, where, draws=not finishes)
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
            uploaded = {
                "image": self._client.upload(server, task.init_image, width, height, mask=task.mask)
                if run.edit
                else None,
                **self._steering(server, run, task),
            }
            for run_seed, count in runs:
                graph = self._filled(run, task, run_seed, count, width, height, uploaded)
                outputs = self._client.run(
                    server, graph, run.slots.output.node, task.on_preview, task.on_progress, task.check_stop
                )
                for index, image in enumerate(outputs):
                    images.append(GeneratedImage(image, run_seed if index == 0 else None))
            if task.face_fix and config.face_fix_workflow:
                images = [self._face_fixed(server, image) for image in images[: task.count]]
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

    def _steering(self, server: str, run: _Run, task: GenerationTask) -> dict[str, list[str]]:
        """The reference and control pictures uploaded, by the slot they go in (at their own size:
        the graph's IPAdapter or ControlNet prepares them)."""
        pictures = {
            "reference_image": [picture for _, picture in task.reference_pictures],
            "control_image": [task.control_picture] if task.control_picture is not None else [],
        }
        return {
            role: [self._client.upload(server, picture, *picture.size) for picture in given]
            for role, given in pictures.items()
            if given and run.slots.of(role)
        }

    def _face_fixed(self, server: str, drawn: GeneratedImage) -> GeneratedImage:
        """One image through `[comfyui] face_fix_workflow`: its LoadImage takes the image, its output
        is the image with faces restored."""
        name = str(self._config.face_fix_workflow)
        graph, slots = copy.deepcopy(self._graphs[name]), self._slots[name]
        uploaded = self._client.upload(server, drawn.image, *drawn.image.size)
        for place in slots.of("image"):
            graph[place.node]["inputs"][place.input] = uploaded
        outputs = self._client.run(server, graph, slots.output.node)
        if not outputs:
            raise BackendUnavailable(f"the {name} workflow saved no image", transient=False)
        return dataclasses.replace(drawn, image=outputs[0])

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
        steering = {
            "reference picture": ("reference_image", task.reference_pictures),
            "control picture": ("control_image", task.control_picture),
        }
        for what, (role, value) in steering.items():
            if not value or slots.of(role):
                continue
            if not edit:  # what the member asked this drawing for: not drawn without it
                raise InvalidRequest(texts.no_place_for(what, name, role))
            notes.append(texts.left_out(what, name))  # a refinement's graph: the rest of the turn kept
        if len(task.reference_pictures) > len(slots.of("reference_image")) > 0:
            notes.append(texts.left_out("second reference picture", name))
        if task.face_fix and not config.face_fix_workflow:  # this worker's config lacks what the bot's had
            notes.append(texts.no_face_fix())
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
        uploaded: dict[str, Any],
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
            "image": uploaded.get("image"),
            "checkpoint": run.checkpoint,
            "reference_weight": task.reference_weight / 100 if "reference_image" in uploaded else None,
            "control_weight": task.control_weight if "control_image" in uploaded else None,
        }
        if not run.edit:
            values["denoise"] = None  # a drawing from an empty latent keeps the graph's full strength
        for role, value in values.items():
            if value is None:
                continue
            for place in run.slots.of(role):
                graph[place.node]["inputs"][place.input] = value
        for role in ("reference_image", "control_image"):  # each place its own picture, the last repeated
            names = uploaded.get(role) or []
            for index, place in enumerate(run.slots.of(role) if names else ()):
                graph[place.node]["inputs"][place.input] = names[min(index, len(names) - 1)]
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
        config.face_fix_workflow,
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
