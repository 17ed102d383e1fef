"""The checkpoints a diffusers worker may load: which exist ([diffusers.models], or the one-model
shortcut IMAGINE_DIFFUSERS_MODEL), what architecture a file holds, how each is loaded, and the
short file hash written into every image's parameters.

Kept free of the backend's state so `imagine doctor` can ask the same questions without loading.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from pathlib import Path
from typing import Any

from shared import keys
from shared.configuration.settings import Settings
from shared.errors import ConfigError
from workers.backends.diffusers.config import DiffusersModel

log = logging.getLogger(__name__)
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")
# What diffusers' single-file loader calls an architecture -> the family name LoRAs declare.
FAMILIES = {"v1": "sd15", "v2": "sd2", "xl_base": "sdxl", "playground-v2-5": "sdxl"}
# The pipeline class that loads a family from a single file.
PIPELINES = {
    "sd15": "StableDiffusionPipeline",
    "sd2": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "sd3": "StableDiffusion3Pipeline",
    "sd35_large": "StableDiffusion3Pipeline",
    "sd35_medium": "StableDiffusion3Pipeline",
    "flux-dev": "FluxPipeline",
    "flux-schnell": "FluxPipeline",
}
HASH_CHUNK = 8 * 1024 * 1024


def model_specs(settings: Settings) -> dict[str, DiffusersModel]:
    """The configured models by name; with none configured, IMAGINE_DIFFUSERS_MODEL as the one."""
    configured = settings.config.diffusers.models
    if configured:
        if settings.diffusers_model:
            log.warning("IMAGINE_DIFFUSERS_MODEL is ignored: the config's [diffusers.models] list the models")
        return dict(configured)
    source = settings.diffusers_model
    if not source:
        raise ConfigError(
            "IMAGINE_DIFFUSERS_MODEL is not set and the config has no [diffusers.models]: add "
            '[diffusers.models.NAME] with file = "/models/x.safetensors", or set it to a hub id such as '
            "stable-diffusion-v1-5/stable-diffusion-v1-5 or a local folder saved with save_pretrained"
        )
    path = Path(source).expanduser()
    if path.suffix in SINGLE_FILE_SUFFIXES:
        return {path.stem: DiffusersModel(file=path)}
    if path.is_dir():
        return {path.name: DiffusersModel(path=path)}
    return {source: DiffusersModel(hub=source)}


class _Shape:
    """A tensor's shape read from a file's header, standing in for the tensor."""

    def __init__(self, shape: list[int]) -> None:
        self.shape = tuple(shape)


def single_file_family(file: Path) -> str:
    """The architecture of a checkpoint file (sd15, sd2, sdxl, sd3, flux-dev, ...), read as diffusers'
    own loader reads it; a .safetensors file only by its header, without loading the weights."""
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type, load_single_file_checkpoint

    if file.suffix == ".safetensors":
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        checkpoint: Any = {k: _Shape(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    else:
        checkpoint = load_single_file_checkpoint(str(file))
    kind = infer_diffusers_model_type(checkpoint)
    return FAMILIES.get(kind, kind)


def pipeline_family(pipeline: Any) -> str:
    """The family of a pipeline loaded from a folder or the hub, by its class and text encoder."""
    encoder = getattr(pipeline, "text_encoder", None)
    hidden = getattr(getattr(encoder, "config", None), "hidden_size", 768)
    return _family_of(type(pipeline).__name__, hidden)


def folder_family(folder: Path) -> str:
    """The family of a saved pipeline folder, read from its model_index.json (and, for SD 1.x/2.x,
    its text encoder's config) without loading it: what pipeline_family says once it is loaded."""
    index = json.loads((folder / "model_index.json").read_text())
    encoder = folder / "text_encoder" / "config.json"
    hidden = json.loads(encoder.read_text()).get("hidden_size", 768) if encoder.is_file() else 768
    return _family_of(str(index.get("_class_name", "")), hidden)


def _family_of(pipeline_class: str, text_hidden_size: int) -> str:
    if "XL" in pipeline_class:
        return "sdxl"
    if pipeline_class.startswith("StableDiffusion3"):
        return "sd3"
    if pipeline_class.startswith("Flux"):
        return "flux-dev"
    return "sd2" if text_hidden_size == 1024 else "sd15"  # SD 2.x's OpenCLIP is 1024 wide


def pipeline_class_for(family: str, file: Path) -> Any:
    import diffusers

    name = PIPELINES.get(family)
    if name is None:
        raise ConfigError(
            f"{file} holds a {family} checkpoint, which this worker cannot load from a single file: "
            "convert it to a diffusers folder and give path = instead"
        )
    return getattr(diffusers, name)


def file_hash(file: Path, cache: Any | None = None) -> str:
    """The first 10 hex digits of the file's SHA-256 (A1111's "Model hash"), computed once per file
    version: `cache` (a Redis client) keeps it by path, size and modification time."""
    stat = file.stat()
    version = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    key = keys.file_hash(hashlib.sha256(version.encode()).hexdigest())
    if cache is not None:
        known = cache.get(key)
        if known:
            return known.decode()
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    short = digest.hexdigest()[:10]
    if cache is not None:
        cache.set(key, short)
    return short


def vae_from(source: str, dtype: Any) -> Any:
    """A model's own VAE: a single file, a diffusers folder or a hub id."""
    from diffusers import AutoencoderKL

    path = Path(source).expanduser()
    if path.is_file():
        return AutoencoderKL.from_single_file(str(path), dtype=dtype)
    return AutoencoderKL.from_pretrained(
        str(path) if path.is_dir() else source, dtype=dtype, local_files_only=path.is_dir()
    )
