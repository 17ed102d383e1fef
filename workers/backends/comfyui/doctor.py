"""`imagine doctor` for the comfyui backend: each workflow and its slots, each server and its models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import Check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def check(settings: Settings) -> Iterator[Check]:
    """Each workflow parses, and where each slot landed in it (found or set); each server answers, has
    the checkpoints members may pick, and lists its LoRAs. Only when the comfyui backend is in use."""
    if settings.backend != "comfyui" and "comfyui" not in settings.config.model_fields_set:
        return
    from shared.errors import ConfigError
    from workers.backends.comfyui.backend import load_workflow
    from workers.backends.comfyui.client import ComfyClient
    from workers.backends.comfyui.slots import find_slots

    config = settings.config.comfyui
    for name, spec in config.workflows.items():
        try:
            graph = load_workflow(name, spec)
            where, finishes = f"[comfyui.workflows.{name}]", name == config.face_fix_workflow
            slots = find_slots(graph, spec, where, draws=not finishes)
        except ConfigError as exc:
            yield Check(f"comfyui workflow {name}", False, str(exc))
            continue
        # A checkpoint the walk could not place matters once members may pick checkpoints.
        pickable = [m for m in config.models if m not in config.workflows]
        blocked = "checkpoint" in slots.unclear and bool(pickable) and name == config.workflow
        summary = f"{len(graph)} nodes" + "".join(f"\n    {line}" for line in slots.lines())
        yield Check(f"comfyui workflow {name}", not blocked, summary)
    client = ComfyClient(config)
    for server in config.servers:
        try:
            checkpoints = _choices(client.object_info(server, "CheckpointLoaderSimple"), "ckpt_name")
            unets = _choices(client.object_info(server, "UNETLoader"), "unet_name")
            loras = _choices(client.object_info(server, "LoraLoader"), "lora_name")
            upscalers = _choices(client.object_info(server, "UpscaleModelLoader"), "model_name")
        except ConfigError as exc:
            yield Check(f"comfyui {server}", False, str(exc))
            continue
        wanted = [*config.models, *([config.default_model] if config.default_model else [])]
        missing = [m for m in wanted if m not in config.workflows and m not in {*checkpoints, *unets}]
        if missing:
            yield Check(
                f"comfyui {server}",
                False,
                f"[comfyui] models {', '.join(missing)} not there → it has: {', '.join(checkpoints + unets)}",
            )
        elif config.upscale_model and config.upscale_model not in upscalers:
            there = ", ".join(upscalers) or "none (models/upscale_models is empty)"
            yield Check(
                f"comfyui {server}",
                False,
                f"[comfyui] upscale_model {config.upscale_model!r} not there → it has: {there}",
            )
        else:
            models = (
                f"{len(checkpoints)} checkpoints, {len(unets)} diffusion models, {len(loras)} LoRAs; "
                f"Upscale by {config.upscale_model or f'Lanczos ({len(upscalers)} upscale models there)'}"
            )
            yield Check(f"comfyui {server}", True, f"answers: {models}")


def _choices(node_info: dict, name: str) -> list[str]:
    """The values a node's list input accepts, from /object_info."""
    spec = (node_info.get("input") or {}).get("required", {}).get(name) or [[]]
    return [str(v) for v in spec[0]] if isinstance(spec[0], list) else []
