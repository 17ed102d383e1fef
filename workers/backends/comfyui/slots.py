"""Where our values go in an operator's ComfyUI graph: found by walking the graph from its output, or
given in `[comfyui.workflows.NAME]` (shared/config.py: ComfyWorkflow).

An API-format graph maps node ids to `{"class_type", "inputs"}`; an input is a literal or a link
`[node id, output index]`. From the output node (the `SaveImage`) the walk finds the samplers
(`KSampler`, `KSamplerAdvanced`, `SamplerCustom`, `SamplerCustomAdvanced`), and from each sampler:

- the prompt and negative: the text encoders its positive and negative conditioning comes from,
  through guiders (`CFGGuider`, `BasicGuider`) and nodes that pass conditioning on (`FluxGuidance`,
  timestep ranges, combines, ControlNet applies), never through `ConditioningZeroOut`;
- the seed on the sampler (`seed`, `noise_seed`) or its `RandomNoise`, the steps on the sampler or its
  scheduler (`BasicScheduler`), the cfg on the sampler or its `CFGGuider`, or the `FluxGuidance` of
  its positive path (Flux's guidance; its sampler's cfg stays 1);
- width, height and batch size on the empty latent it starts from (`EmptyLatentImage`,
  `EmptySD3LatentImage`, … also through a refiner's first sampler), and the size a
  `ModelSamplingFlux` on its model path is told;
- the checkpoint on the loader its model comes from (`CheckpointLoaderSimple`, `UNETLoader`, …).

A base+refiner graph has two samplers: the prompt, seed, steps and cfg go to both. Where the walk
cannot tell (two loaders, two `SaveImage` nodes), the slot is left for the operator to set, and
`imagine doctor` says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConfigError
from workers.backends.comfyui.config import ComfyWorkflow

ROLES = (
    "prompt",
    "negative",
    "seed",
    "steps",
    "cfg",
    "denoise",
    "width",
    "height",
    "batch_size",
    "checkpoint",
    "image",
    "reference_image",
    "reference_weight",
    "control_image",
    "control_weight",
)
SAMPLERS = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
TEXT_ENCODERS: dict[str, tuple[str, ...]] = {  # the inputs that hold the words
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("text",),
    "CLIPTextEncodeSD3": ("clip_l", "clip_g", "t5xxl"),
    "CLIPTextEncodeFlux": ("clip_l", "t5xxl"),
}
CONDITIONING_STOPS = {"ConditioningZeroOut"}  # what passes through here is not a prompt any more
LOADERS: dict[str, str] = {
    "CheckpointLoaderSimple": "ckpt_name",
    "CheckpointLoader": "ckpt_name",
    "UNETLoader": "unet_name",
    "UnetLoaderGGUF": "unet_name",
}
SAVERS = {"SaveImage"}
SOURCES = {"LoadImage"}
# Nodes that steer a drawing by a picture, by the start of their class name (IPAdapter, IPAdapterAdvanced,
# … of ComfyUI_IPAdapter_plus; ControlNetApply, ControlNetApplyAdvanced, …): the role of the LoadImage
# behind their `image`, their weight's input, and its role.
STEERS: dict[str, tuple[str, str, str]] = {
    "IPAdapter": ("reference_image", "weight", "reference_weight"),
    "ControlNetApply": ("control_image", "strength", "control_weight"),
}
_ONE_PLACE = {"checkpoint", "image"}  # members' values that belong in one node only


@dataclass(frozen=True)
class Place:
    """One input of one node: `25.inputs.noise_seed (RandomNoise)`."""

    node: str
    input: str
    class_type: str = ""

    @property
    def path(self) -> str:
        return f"{self.node}.inputs.{self.input}"

    def __str__(self) -> str:
        return f"{self.path} ({self.class_type})" if self.class_type else self.path


@dataclass(frozen=True)
class Slots:
    """Where each of our values goes in one workflow; a role with no places is not set (the graph's
    own value stays). `given` are the roles the config set; `unclear` says, per role the walk could
    not place, what the operator should set."""

    output: Place
    places: dict[str, tuple[Place, ...]]
    given: frozenset[str] = frozenset()
    unclear: dict[str, str] = field(default_factory=dict)

    def of(self, role: str) -> tuple[Place, ...]:
        return self.places.get(role, ())

    def lines(self) -> list[str]:
        """`seed → 25.inputs.noise_seed (RandomNoise)`, one line per role, for doctor."""
        shown = [f"output → node {self.output.node} ({self.output.class_type})"]
        for role in ROLES:
            places = self.of(role)
            how = " (set)" if role in self.given else ""
            if places:
                shown.append(f"{role} → {', '.join(map(str, places))}{how}")
            elif role in self.unclear:
                shown.append(f"{role} → not set: {self.unclear[role]}")
            elif role in self.given:
                shown.append(f"{role} → off (set)")
        return shown


def find_slots(graph: dict[str, Any], spec: ComfyWorkflow, where: str, *, draws: bool = True) -> Slots:
    """Each role's places: the config's where it gives them (a place, a list, or "" for none),
    else what the walk finds. Raises ConfigError naming what to set when the graph cannot run.
    A graph that only finishes a picture (`draws=False`: a face restorer) needs no prompt."""
    walk = _Walk(graph)
    output = _output(graph, spec, where)
    found, unclear = walk.from_output(output.node)
    places: dict[str, tuple[Place, ...]] = {}
    given: set[str] = set()
    for role in ROLES:
        explicit = getattr(spec, role)
        if explicit is None:
            places[role] = found.get(role, ())
            continue
        given.add(role)
        unclear.pop(role, None)
        listed = [explicit] if isinstance(explicit, str) else list(explicit)
        places[role] = tuple(_given_place(graph, role, slot, where) for slot in listed if slot)
    if draws and not places["prompt"]:
        reason = unclear.get("prompt") or (
            'no text encoder feeds a sampler\'s positive conditioning: set prompt = "NODE.inputs.text"'
        )
        raise ConfigError(f"{where}: {reason}")
    shared = {p.path for p in places["prompt"]} & {p.path for p in places["negative"]}
    if shared:
        raise ConfigError(
            f"{where}: {', '.join(sorted(shared))} is both the prompt and the negative: set prompt and "
            "negative to the nodes that hold each"
        )
    return Slots(output, places, frozenset(given), unclear)


def _output(graph: dict[str, Any], spec: ComfyWorkflow, where: str) -> Place:
    if spec.output:
        if spec.output not in graph:
            raise ConfigError(f"{where} output = {spec.output!r}: no such node in the workflow")
        return Place(spec.output, "images", _class(graph, spec.output))
    savers = sorted((n for n, node in graph.items() if node.get("class_type") in SAVERS), key=_node_order)
    if len(savers) != 1:
        what = "no SaveImage node" if not savers else f"{len(savers)} SaveImage nodes ({', '.join(savers)})"
        raise ConfigError(f'{where}: {what}: set output = "NODE" (the node whose images are the result)')
    return Place(savers[0], "images", "SaveImage")


def _given_place(graph: dict[str, Any], role: str, slot: str, where: str) -> Place:
    parts = slot.split(".")
    if len(parts) != 3 or parts[1] != "inputs" or parts[0] not in graph:
        raise ConfigError(
            f"{where} {role} = {slot!r}: no such node (or not NODE.inputs.NAME) in the workflow"
        )
    return Place(parts[0], parts[2], _class(graph, parts[0]))


class _Walk:
    """The graph walked upstream along links, from the output node."""

    def __init__(self, graph: dict[str, Any]) -> None:
        self._graph = graph

    def from_output(self, output: str) -> tuple[dict[str, tuple[Place, ...]], dict[str, str]]:
        samplers = [n for n in self._upstream(output) if _class(self._graph, n) in SAMPLERS]
        found: dict[str, list[Place]] = {role: [] for role in ROLES}
        fluxes: list[Place] = []
        for sampler in sorted(samplers, key=_node_order):
            positive, guidance = self._conditioning(sampler, "positive")
            negative, _ = self._conditioning(sampler, "negative")
            found["prompt"] += positive
            found["negative"] += negative
            fluxes += guidance
            found["seed"] += self._seed(sampler)
            found["steps"] += self._on_or_behind(sampler, "steps", "sigmas")
            found["cfg"] += [] if guidance else self._on_or_behind(sampler, "cfg", "guider")
            found["denoise"] += self._on_or_behind(sampler, "denoise", "sigmas")
            for role in ("width", "height", "batch_size"):
                found[role] += self._latent(sampler, role)
            found["checkpoint"] += self._loaders(sampler)
            for role in ("width", "height"):
                found[role] += self._model_sampling(sampler, role)
        found["cfg"] += fluxes
        steering = self._steering(output)
        for role, places in steering.items():
            found[role] = places
        steered = {p.node for role in ("reference_image", "control_image") for p in steering[role]}
        sources = [
            Place(n, "image", _class(self._graph, n))
            for n in sorted(self._upstream(output), key=_node_order)
            if _class(self._graph, n) in SOURCES and n not in steered
        ]
        found["image"] = sources
        if not sources:
            found["denoise"] = []  # drawn from an empty latent: the full strength stays
        unclear: dict[str, str] = {}
        if not samplers:
            unclear["prompt"] = (
                "no sampler (KSampler, SamplerCustomAdvanced, …) leads to the output: set prompt = "
                '"NODE.inputs.text"'
            )
        placed = {role: tuple(dict.fromkeys(places)) for role, places in found.items()}
        for role in _ONE_PLACE:
            several = placed[role]
            if len(several) > 1:
                nodes = ", ".join(str(p) for p in several)
                unclear[role] = f'several could take it ({nodes}): set {role} = "{several[0].path}" to choose'
                placed[role] = ()
        return placed, unclear

    def _steering(self, output: str) -> dict[str, list[Place]]:
        """The LoadImage nodes whose pictures an IPAdapter or a ControlNet reads (through whatever
        prepares them: a Canny, a PrepImageForClipVision), and those nodes' weights."""
        found: dict[str, list[Place]] = {role: [] for (r, _, w) in STEERS.values() for role in (r, w)}
        for node in sorted(self._upstream(output), key=_node_order):
            kind = _class(self._graph, node)
            for prefix, (picture_role, weight, weight_role) in STEERS.items():
                if not kind.startswith(prefix):
                    continue
                image = self._links(node).get("image")
                if image is not None:
                    found[picture_role] += [
                        Place(n, "image", _class(self._graph, n))
                        for n in sorted(self._upstream(image), key=_node_order)
                        if _class(self._graph, n) in SOURCES
                    ]
                value = _inputs(self._graph, node).get(weight)
                if value is not None and not _is_link(value):
                    found[weight_role].append(Place(node, weight, kind))
        return found

    def _upstream(self, start: str) -> list[str]:
        """Every node the start node depends on, itself included."""
        seen, todo = [start], [start]
        while todo:
            for source in self._links(todo.pop()).values():
                if source not in seen and source in self._graph:
                    seen.append(source)
                    todo.append(source)
        return seen

    def _links(self, node: str) -> dict[str, str]:
        """input name -> the node it is linked to."""
        inputs = (self._graph.get(node) or {}).get("inputs") or {}
        return {name: str(v[0]) for name, v in inputs.items() if _is_link(v)}

    def _output_index(self, node: str, name: str) -> int:
        value = ((self._graph.get(node) or {}).get("inputs") or {}).get(name)
        return int(value[1]) if _is_link(value) else 0

    def _conditioning(self, sampler: str, side: str) -> tuple[list[Place], list[Place]]:
        """The text encoders and FluxGuidance nodes behind a sampler's positive or negative side."""
        links = self._links(sampler)
        start, index = links.get(side), self._output_index(sampler, side)
        if start is None and "guider" in links:  # SamplerCustomAdvanced: the guider holds them
            guider = links["guider"]
            name = side if side in self._links(guider) else "conditioning" if side == "positive" else None
            start = self._links(guider).get(name) if name else None
            index = self._output_index(guider, name) if name else 0
        return self._encoders(start, index) if start else ([], [])

    def _encoders(self, start: str, index: int) -> tuple[list[Place], list[Place]]:
        """The encoders behind output `index` of `start` (a ControlNet apply's 0 is the positive)."""
        encoders: list[Place] = []
        guidance: list[Place] = []
        todo, seen = [(start, index)], set()
        while todo:
            node, index = todo.pop()
            if (node, index) in seen or node not in self._graph:
                continue
            seen.add((node, index))
            kind = _class(self._graph, node)
            if kind in TEXT_ENCODERS:
                encoders += [
                    Place(node, name, kind)
                    for name in TEXT_ENCODERS[kind]
                    if name in _inputs(self._graph, node)
                ]
                continue
            if kind in CONDITIONING_STOPS:
                continue
            if kind == "FluxGuidance":
                guidance.append(Place(node, "guidance", kind))
            links = self._links(node)
            if "positive" in links and "negative" in links:  # e.g. ControlNetApplyAdvanced: out 0, out 1
                side = "positive" if index == 0 else "negative"
                todo.append((links[side], self._output_index(node, side)))
                continue
            for name, source in links.items():
                if name.startswith("conditioning"):
                    todo.append((source, self._output_index(node, name)))
        return encoders, guidance

    def _seed(self, sampler: str) -> list[Place]:
        inputs = _inputs(self._graph, sampler)
        kind = _class(self._graph, sampler)
        for name in ("seed", "noise_seed"):
            if name in inputs and not _is_link(inputs[name]):
                return [Place(sampler, name, kind)]
        noise = self._links(sampler).get("noise")
        if noise and "noise_seed" in _inputs(self._graph, noise):
            return [Place(noise, "noise_seed", _class(self._graph, noise))]
        return []

    def _on_or_behind(self, sampler: str, name: str, via: str) -> list[Place]:
        """`name` on the sampler, else on the node its `via` input comes from (scheduler, guider)."""
        if name in _inputs(self._graph, sampler) and not _is_link(_inputs(self._graph, sampler)[name]):
            return [Place(sampler, name, _class(self._graph, sampler))]
        behind = self._links(sampler).get(via)
        if (
            behind
            and name in _inputs(self._graph, behind)
            and not _is_link(_inputs(self._graph, behind)[name])
        ):
            return [Place(behind, name, _class(self._graph, behind))]
        return []

    def _latent(self, sampler: str, role: str) -> list[Place]:
        """The empty latent a sampler starts from (through a refiner's first sampler)."""
        node: str | None = self._links(sampler).get("latent_image")
        seen: set[str] = set()
        while node is not None and node not in seen:
            seen.add(node)
            kind = _class(self._graph, node)
            if kind.startswith("Empty") and "Latent" in kind:
                return [Place(node, role, kind)] if role in _inputs(self._graph, node) else []
            node = self._links(node).get("latent_image") if kind in SAMPLERS else None
        return []

    def _model_path(self, sampler: str) -> Iterator[str]:
        """The nodes a sampler's model comes through (LoRAs, model sampling), to its loader."""
        starts = [self._links(sampler).get(name) for name in ("model", "guider", "sigmas")]
        seen: set[str] = set()
        todo = [s for s in starts if s]
        while todo:
            node = todo.pop()
            if node in seen or node not in self._graph:
                continue
            seen.add(node)
            yield node
            model = self._links(node).get("model")
            if model:
                todo.append(model)

    def _loaders(self, sampler: str) -> list[Place]:
        return [
            Place(node, LOADERS[kind], kind)
            for node in self._model_path(sampler)
            if (kind := _class(self._graph, node)) in LOADERS
        ]

    def _model_sampling(self, sampler: str, role: str) -> list[Place]:
        """ModelSamplingFlux is told the image's size (its shift depends on it)."""
        return [
            Place(node, role, "ModelSamplingFlux")
            for node in self._model_path(sampler)
            if _class(self._graph, node) == "ModelSamplingFlux" and role in _inputs(self._graph, node)
        ]


def _inputs(graph: dict[str, Any], node: str) -> dict[str, Any]:
    return (graph.get(node) or {}).get("inputs") or {}


def _class(graph: dict[str, Any], node: str) -> str:
    return str((graph.get(node) or {}).get("class_type") or "")


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _node_order(node: str) -> tuple[int, str]:
    """Node ids in their numeric order where they are numbers (ComfyUI's are)."""
    return (int(node), node) if node.isdigit() else (10**9, node)
