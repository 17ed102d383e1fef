"""`imagine doctor` for the diffusers backend: every configured model and LoRA, without loading one.

Each model: its file, folder or hub id is there; a file's architecture is one this worker loads; the
component configs are at hand (an offline host needs `config =`); the GPU memory it will take against
the GPU's (when there is one). Each LoRA: its file is there and holds LoRA weights.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shared.errors import ConfigError
from shared.ops.checks import Check
from workers.backends.diffusers.config import DiffusersConfig, DiffusersModel

if TYPE_CHECKING:
    from shared.configuration.settings import Settings

GIB = 1024**3
# Working memory beyond the weights for one 1-image batch at the native size, by family (measured
# orders of magnitude: activations, the VAE decode, CUDA's own context).
WORKING_GIB = {
    "sd15": 1.5,
    "sd2": 2.0,
    "sdxl": 3.5,
    "sd3": 4.0,
    "sd35_medium": 4.0,
    "sd35_large": 6.0,
    "flux-dev": 6.0,
    "flux-schnell": 6.0,
}


def check(settings: Settings) -> Iterator[Check]:
    if not settings.config.diffusers.models and not settings.diffusers_model:
        return
    try:
        from workers.backends.diffusers.models import model_specs
    except ImportError:
        yield Check("diffusers", False, "the gpu extra is not installed → pip install 'imagine-bot[gpu]'")
        return
    try:
        specs = model_specs(settings)
    except ConfigError as exc:
        yield Check("diffusers models", False, str(exc))
        return
    gpu = _gpu_bytes()
    failures = _worker_failures(settings, list(specs))
    for name, spec in specs.items():
        yield from _model(name, spec, gpu, settings.config.diffusers.dtype)
        if name in failures:
            yield Check(f"diffusers model {name} on the workers", False, f"did not load: {failures[name]}")
    for name, lora in settings.config.diffusers.loras.items():
        yield _lora(name, Path(lora.file).expanduser())
    yield from _finishing_and_steering(settings.config.diffusers)


def _finishing_and_steering(config: DiffusersConfig) -> Iterator[Check]:
    """What Upscale, --sref/--cref and --control will use: each file or folder is there."""
    if config.upscaler is None:
        yield Check("diffusers upscaler", True, "Lanczos (set [diffusers] upscaler for an ESRGAN model)")
    else:
        yield _there("diffusers upscaler", Path(config.upscaler).expanduser(), "[diffusers] upscaler")
    adapter = config.ip_adapter
    if adapter is None:
        yield Check(
            "diffusers IP-Adapter", True, "none: --sref and --cref are refused (set [diffusers.ip_adapter])"
        )
    else:
        for key, value in (("file", adapter.file), ("character_file", adapter.character_file)):
            if value is not None:
                yield _there(
                    f"diffusers IP-Adapter {key}", Path(value).expanduser(), f"[diffusers.ip_adapter] {key}"
                )
        encoder = Path(adapter.image_encoder).expanduser()
        if encoder.is_dir() or not adapter.image_encoder.count("/") == 1:
            yield _there(
                "diffusers IP-Adapter image_encoder", encoder, "[diffusers.ip_adapter] image_encoder"
            )
    for kind in ("canny", "depth", "pose"):
        source = config.controlnet.get(kind)  # type: ignore[call-overload]
        if source is None:
            continue
        path = Path(source).expanduser()
        if path.exists() or source.count("/") != 1:  # else a hub id, read on the worker's first start
            yield _there(f"diffusers ControlNet {kind}", path, f"[diffusers.controlnet] {kind}")
    if not config.controlnet:
        yield Check("diffusers ControlNet", True, "none: --control is refused (set [diffusers.controlnet])")


def _there(label: str, path: Path, setting: str) -> Check:
    if not path.exists():
        return Check(label, False, f"{path} does not exist → fix {setting}")
    size = (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    return Check(label, True, f"{path.name}: {size / 1024**2:.1f} MiB")


def _model(name: str, spec: DiffusersModel, gpu: int | None, dtype: str) -> Iterator[Check]:
    from workers.backends.diffusers.models import PIPELINES, folder_family, single_file_family

    label = f"diffusers model {name}"
    if spec.file is not None:
        file = Path(spec.file).expanduser()
        if not file.is_file():
            yield Check(label, False, f"{file} does not exist → fix file = under [diffusers.models.{name}]")
            return
        try:
            family = single_file_family(file)
        except (OSError, ValueError, KeyError, struct.error) as exc:
            yield Check(label, False, f"{file} cannot be read as a checkpoint ({type(exc).__name__})")
            return
        if family not in PIPELINES:
            yield Check(
                label, False, f"{file} holds a {family} model, not loadable from one file → convert it"
            )
            return
        yield Check(label, True, f"{file.name}: {family}, {file.stat().st_size / GIB:.1f} GiB")
        yield _component_configs(name, spec)
        yield _memory(name, spec.family or family, file.stat().st_size, gpu, dtype, _file_dtype_bytes(file))
        return
    if spec.path is not None:
        folder = Path(spec.path).expanduser()
        if not (folder / "model_index.json").is_file():
            yield Check(label, False, f"{folder} has no model_index.json → save_pretrained() there")
            return
        family = spec.family or folder_family(folder)
        weights = [p for p in folder.rglob("*") if p.suffix in (".safetensors", ".bin")]
        size = sum(p.stat().st_size for p in weights)
        yield Check(label, True, f"{folder}: a {family} pipeline, {size / GIB:.2f} GiB of weights")
        stored = max((_file_dtype_bytes(p) for p in weights), default=2)
        yield _memory(name, family, size, gpu, dtype, stored)
        return
    from huggingface_hub import try_to_load_from_cache

    cached = isinstance(try_to_load_from_cache(str(spec.hub), "model_index.json"), str)
    yield Check(
        label,
        True,
        f"{spec.hub} is in the local cache"
        if cached
        else f"{spec.hub} will be downloaded on the worker's first start",
    )


def _worker_failures(settings: Settings, models: list[str]) -> dict[str, str]:
    """model -> why a worker could not load it, as the workers told Redis (nothing when it is down)."""
    from shared.errors import ImagineError
    from shared.jobs.queue import lane, model_failures
    from shared.ops.redis_conn import connect

    lanes = {lane("diffusers", model): model for model in models}
    try:
        failed = model_failures(connect(settings.redis_url), list(lanes))
    except ImagineError:
        return {}
    return {lanes[name]: reason for name, reason in failed.items()}


def _component_configs(name: str, spec: DiffusersModel) -> Check:
    """A single file carries weights only: diffusers takes the component configs from `config`, or
    from the architecture's reference repository on the hub (which an offline host cannot reach)."""
    label = f"diffusers model {name} configs"
    if spec.config is None:
        return Check(
            label,
            True,
            "fetched from the hub on first load; an offline host must set config = a local diffusers "
            "folder of the same architecture",
        )
    folder = Path(spec.config).expanduser()
    if folder.is_dir():
        found = (folder / "model_index.json").is_file()
        return Check(
            label,
            found,
            f"{folder}" + ("" if found else " has no model_index.json → point config = at a pipeline folder"),
        )
    return Check(label, True, f"from the hub repository {spec.config}")


def _file_dtype_bytes(file: Path) -> int:
    """Bytes per weight in a .safetensors file (2 for fp16/bf16, 4 for fp32), from its header."""
    if file.suffix != ".safetensors":
        return 4  # a pickled file: torch saves fp32 unless told
    with file.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    kinds = {v.get("dtype") for k, v in header.items() if k != "__metadata__"}
    return 4 if "F32" in kinds else 2


def _memory(name: str, family: str | None, size: int, gpu: int | None, dtype: str, stored: int) -> Check:
    """Weights as loaded (fp16 on CUDA unless [diffusers] dtype says) plus working memory."""
    loaded_bytes = 4 if dtype == "float32" else 2
    weights = size * loaded_bytes / stored
    need = weights + WORKING_GIB.get(family or "", 2.0) * GIB
    label = f"diffusers model {name} memory"
    working = WORKING_GIB.get(family or "", 2.0)
    parts = f"{weights / GIB:.2f} GiB of {family or 'model'} weights + {working:.1f} GiB to work"
    if gpu is None:
        return Check(label, True, f"needs about {need / GIB:.1f} GiB of GPU memory ({parts}; no GPU here)")
    ok = need <= gpu
    fix = "" if ok else " → set [diffusers] cpu_offload = true or use a smaller model"
    return Check(
        label, ok, f"needs about {need / GIB:.1f} GiB ({parts}); the GPU has {gpu / GIB:.1f} GiB{fix}"
    )


def _lora(name: str, file: Path) -> Check:
    label = f"diffusers LoRA {name}"
    if not file.is_file():
        return Check(label, False, f"{file} does not exist → fix file = under [diffusers.loras.{name}]")
    if file.suffix == ".safetensors":
        try:
            with file.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                names = json.loads(handle.read(length))
        except (OSError, ValueError, struct.error):
            return Check(label, False, f"{file} is not a readable .safetensors file")
        if not any("lora" in key.lower() for key in names):
            return Check(label, False, f"{file} holds no LoRA weights")
    return Check(label, True, f"{file.name}, {file.stat().st_size / (1024 * 1024):.1f} MiB")


def _gpu_bytes() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return int(torch.cuda.get_device_properties(0).total_memory)
