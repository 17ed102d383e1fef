"""Reference pictures (--sref, --cref) on diffusers: `[diffusers.ip_adapter]`'s weights and image
encoder, read once per worker, put on a pipeline's UNet for a job that has references and taken off
after it, so the jobs without one draw exactly as before. The reference's weight (--sw 0..100) is
the adapter's scale (0..1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from shared.errors import ConfigError, InvalidRequest
from workers.backends.base import GenerationTask
from workers.backends.diffusers import texts
from workers.backends.diffusers.config import DiffusersIpAdapter

WHERE = "[diffusers.ip_adapter]"


class IpAdapter:
    def __init__(self, config: DiffusersIpAdapter, device: str, dtype: torch.dtype) -> None:
        from transformers import CLIPVisionModelWithProjection

        self._weights = {"style": _read(config.file, "file")}
        character = config.character_file
        self._weights["character"] = (
            _read(character, "character_file") if character else self._weights["style"]
        )
        source = Path(config.image_encoder).expanduser()
        try:
            self._encoder = CLIPVisionModelWithProjection.from_pretrained(
                str(source) if source.is_dir() else config.image_encoder,
                local_files_only=source.is_dir(),
                dtype=dtype,
            ).to(device)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{WHERE} image_encoder = {config.image_encoder}: cannot load it ({exc})"
            ) from None

    @contextlib.contextmanager
    def active(self, pipeline: Any, family: str, task: GenerationTask) -> Iterator[dict[str, Any]]:
        """The pipeline's arguments for the task's references, the adapters on its UNet meanwhile;
        nothing where the task has none."""
        if not task.reference_pictures:
            yield {}
            return
        if not hasattr(pipeline, "load_ip_adapter"):
            raise InvalidRequest(texts.no_ip_adapter_for(family))
        adapters: list[dict[str, Any]] = []  # one per weights file, each with its pictures
        pictures: list[list[Any]] = []
        for kind, picture in task.reference_pictures:
            weights = self._weights[kind]
            found = next((i for i, known in enumerate(adapters) if known is weights), None)
            if found is None:
                adapters.append(weights)
                pictures.append([])
                found = len(adapters) - 1
            pictures[found].append(picture.convert("RGB"))
        pipeline.register_modules(image_encoder=self._encoder)
        try:
            pipeline.load_ip_adapter(
                adapters, subfolder=[None] * len(adapters), weight_name=[None] * len(adapters)
            )
            pipeline.set_ip_adapter_scale([task.reference_weight / 100] * len(adapters))
        except (ValueError, KeyError, RuntimeError) as exc:  # weights of another family's shapes
            pipeline.unload_ip_adapter()
            raise InvalidRequest(texts.ip_adapter_does_not_fit(family, str(exc)[:200])) from None
        try:
            yield {"ip_adapter_image": pictures}
        finally:
            pipeline.unload_ip_adapter()


def _read(file: Path, key: str) -> dict[str, dict[str, torch.Tensor]]:
    """An IP-Adapter's weights as diffusers takes them: {"image_proj": {...}, "ip_adapter": {...}}."""
    path = Path(file).expanduser()
    if not path.is_file():
        raise ConfigError(f"{WHERE} {key} = {path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            flat = load_file(str(path))
            weights: dict[str, dict[str, torch.Tensor]] = {"image_proj": {}, "ip_adapter": {}}
            for name, tensor in flat.items():
                part, _, rest = name.partition(".")
                if part in weights:
                    weights[part][rest] = tensor
        else:
            weights = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"{WHERE} {key} = {path}: cannot read it ({exc})") from None
    if not weights.get("image_proj") or not weights.get("ip_adapter"):
        raise ConfigError(
            f"{WHERE} {key} = {path}: not IP-Adapter weights (no image_proj and ip_adapter parts)"
        )
    return weights
