"""Self-hosted Stable Diffusion-family models through diffusers, each read from disk once per worker.

A worker serves the models it was started with (`--models a,b`), each on its own queue, so no job
makes it load weights. Text-to-image and image-to-image share one set of weights
(AutoPipelineForImage2Image.from_pipe). Each image has its own seeded generator, so an image of a
batch can be reproduced on its own. LoRAs: workers/backends/diffusers/loras.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForText2Image,
)
from PIL import Image
from redis import Redis

from shared import messages
from shared.configuration.settings import Settings
from shared.drawing import sizes
from shared.drawing.references import not_set_up
from shared.errors import ConfigError, InvalidRequest
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled
from workers.backends.diffusers import texts
from workers.backends.diffusers.config import DiffusersConfig, DiffusersModel
from workers.backends.diffusers.control import ControlNets
from workers.backends.diffusers.inpainting import inpainting_unet
from workers.backends.diffusers.inputs import pipeline_and_inputs
from workers.backends.diffusers.ip_adapter import IpAdapter
from workers.backends.diffusers.loaded import LoadedModel
from workers.backends.diffusers.loras import LoraAdapters
from workers.backends.diffusers.models import (
    file_hash,
    model_specs,
    pipeline_class_for,
    pipeline_family,
    single_file_family,
    vae_from,
)
from workers.backends.diffusers.upscaler import SpandrelUpscaler

log = logging.getLogger(__name__)
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
HIRES_STRENGTH = 0.45  # the hires fix's second pass: the composition kept, detail added
FLUX_TRUE_CFG = 4.0  # the true-CFG scale a Flux image with a negative prompt is drawn at


class DiffusersBackend:
    name = "diffusers"

    def __init__(
        self, settings: Settings, models: list[str] | None = None, cache: Redis | None = None
    ) -> None:
        """Serve `models` (names from [diffusers.models]; default: the first configured, or the
        IMAGINE_DIFFUSERS_MODEL shortcut); each is read from disk once."""
        self._config: DiffusersConfig = settings.config.diffusers
        self._specs = model_specs(settings)
        default = self._config.default_model or next(iter(self._specs))
        self.served = list(models or [default])
        unknown = [name for name in self.served if name not in self._specs]
        if unknown:
            raise ConfigError(
                f"--models {', '.join(unknown)}: not in [diffusers.models] "
                f"(configured: {', '.join(self._specs)})"
            )
        self._device = _device(self._config.device)
        self._dtype = _dtype(self._config.dtype, self._device)
        self._cache = cache
        self._loras = LoraAdapters(self._config, cache)
        self._controlnets = ControlNets(self._config.controlnet, self._device, self._dtype)
        adapter = self._config.ip_adapter
        self._ip_adapter = IpAdapter(adapter, self._device, self._dtype) if adapter else None
        self._upscaler = (
            SpandrelUpscaler(self._config.upscaler, self._device, self._dtype)
            if self._config.upscaler
            else None
        )
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()  # least recently used first
        self.failed: dict[str, str] = {}  # a model that did not load, and why: the rest are served
        for name in list(self.served):
            on_device = len(self._loaded) < self._config.models_on_device
            if not (on_device or self._config.evict == "cpu"):
                continue
            try:
                self._loaded[name] = self._load(name, on_device=on_device)
            except ConfigError as exc:
                log.error("diffusers model %s does not load, the worker serves the others: %s", name, exc)
                self.failed[name] = str(exc)
                self.served.remove(name)
        if not self.served:
            raise ConfigError("; ".join(self.failed.values()))

    # --- loading and switching ---------------------------------------------------------------------

    def _load(self, name: str, *, on_device: bool) -> LoadedModel:
        started = time.monotonic()
        spec = self._specs[name]
        pipeline, family, digest = self._read(name, spec)
        scheduler = spec.scheduler or self._config.scheduler
        if scheduler:
            scheduler_class = getattr(diffusers, scheduler, None)
            if scheduler_class is None:
                raise ConfigError(f"{_where(name)} scheduler = {scheduler!r} is not a diffusers scheduler")
            pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
        inpaint_unet = (
            inpainting_unet(_where(name), spec.inpaint, spec.family or family, self._dtype)
            if spec.inpaint
            else None
        )
        if self._config.cpu_offload and self._device == "cuda":
            pipeline.enable_model_cpu_offload()
        else:
            pipeline.to(self._device if on_device else "cpu")
            if inpaint_unet is not None:
                inpaint_unet.to(self._device if on_device else "cpu")
        if self._config.attention_slicing:
            pipeline.enable_attention_slicing()
        pipeline.set_progress_bar_config(disable=True)
        loaded = LoadedModel(
            name=name,
            spec=spec,
            text2image=pipeline,
            image2image=AutoPipelineForImage2Image.from_pipe(pipeline),  # same weights, no copy
            family=spec.family or family,
            native_edge=spec.size or _native_edge(pipeline),
            digest=digest,
            on_device=on_device,
            inpaint_unet=inpaint_unet,
        )
        if on_device and self._config.warmup:
            self._warm_up(loaded)
        log.info(
            "loaded diffusers model %s (%s, native %dpx) %s in %.1f s",
            name,
            loaded.family,
            loaded.native_edge,
            f"on {self._device} ({str(self._dtype).removeprefix('torch.')})" if on_device else "into RAM",
            time.monotonic() - started,
        )
        return loaded

    def _read(self, name: str, spec: DiffusersModel) -> tuple[Any, str, str | None]:
        """The pipeline from its file, folder or hub id, with its family and file hash."""
        checker = (
            {} if self._config.safety_checker else {"safety_checker": None, "requires_safety_checker": False}
        )
        extra: dict[str, Any] = {"dtype": self._dtype, **checker}
        if spec.vae:
            extra["vae"] = vae_from(spec.vae, self._dtype)
        try:
            if spec.file is not None:
                file = Path(spec.file).expanduser()
                if not file.is_file():
                    raise ConfigError(f"{_where(name)} file = {file}: no such file")
                family = single_file_family(file)
                config = spec.config
                local = config is not None and Path(config).expanduser().is_dir()
                pipeline = pipeline_class_for(family, file).from_single_file(
                    str(file),
                    **({"config": str(Path(config).expanduser()) if local else config} if config else {}),
                    local_files_only=local,
                    **extra,
                )
                digest = file_hash(file, self._cache)
            else:
                source = Path(spec.path).expanduser() if spec.path is not None else None
                pipeline = AutoPipelineForText2Image.from_pretrained(
                    str(source) if source is not None else str(spec.hub),
                    local_files_only=source is not None,
                    **extra,
                )
                family, digest = pipeline_family(pipeline), None
        except ConfigError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, AttributeError, TypeError) as exc:
            hint = (
                ""
                if spec.config
                else " (offline: set config = a local diffusers folder of the same architecture)"
            )
            raise ConfigError(f"{_where(name)}: cannot load {spec.source} ({exc}){hint}") from None
        if self._config.safety_checker and getattr(pipeline, "safety_checker", None) is None:
            raise ConfigError(
                f"[diffusers] safety_checker = true, but {spec.source} has no safety_checker component: "
                "use a model that ships one (Stable Diffusion 1.x/2.x do), or check generated images with "
                "OPENAI_API_KEY instead"
            )
        return pipeline, family, digest

    def _warm_up(self, loaded: LoadedModel) -> None:
        """One small step through every part, so the first user's job does not pay for kernel set-up."""
        edge = max(64, loaded.native_edge // 4)
        loaded.text2image(
            "warm-up", width=edge, height=edge, num_inference_steps=1, generator=self._generators([0])
        )

    def model(self, name: str | None) -> LoadedModel:
        """The model a job asks for, on the device: the least recently used beyond
        [diffusers] models_on_device goes to RAM (evict = "cpu") or is dropped ("drop")."""
        name = name or self.served[0]  # the one-model shortcut's jobs name none
        if name not in self.served:
            raise InvalidRequest(messages.model_not_served(name, self.served))
        loaded = self._loaded.get(name)
        if loaded is None:  # dropped earlier: read it again
            started = time.monotonic()
            loaded = self._loaded[name] = self._load(name, on_device=True)
            log.info("switched to model %s by reading it again in %.2f s", name, time.monotonic() - started)
        elif not loaded.on_device:
            started = time.monotonic()
            loaded.move(self._device, on_device=True)
            log.info("switched to model %s from RAM in %.2f s", name, time.monotonic() - started)
        self._loaded.move_to_end(name)
        on_device = [m for m in self._loaded.values() if m.on_device]
        for older in on_device[: max(0, len(on_device) - self._config.models_on_device)]:
            if self._config.evict == "cpu":
                older.move("cpu", on_device=False)
            else:
                del self._loaded[older.name]
        if len(on_device) > self._config.models_on_device:
            _free_memory()
        return loaded

    # --- drawing ------------------------------------------------------------------------------------

    def generate(self, task: GenerationTask) -> Generation:
        if task.hires and task.init_image is None:
            return self._hires(task)
        loaded = self.model(task.model)
        width, height = sizes.native_size(loaded.native_edge, task.width, task.height, task.aspect)
        width, height = _family_size(loaded.family, width, height)
        base_seed = task.seed if task.seed is not None else secrets.randbelow(2**32)
        seeds = [(base_seed + i) % 2**32 for i in range(task.count)]
        images: list[GeneratedImage] = []
        flagged: list[int] = []
        with self._loras.active(loaded, task.loras):
            for start in range(0, len(seeds), self._config.max_batch):
                batch = seeds[start : start + self._config.max_batch]
                for offset, (image, unsafe) in enumerate(
                    self._batch_or_one_by_one(loaded, task, batch, width, height)
                ):
                    if unsafe:
                        flagged.append(start + offset + 1)
                    else:
                        images.append(image)
        notes = [texts.safety_checker_withheld(flagged)] if flagged and images else []
        return Generation(
            images=images,
            model=loaded.name,
            notes=notes,
            withheld=len(flagged),
            parameters=self._parameters(loaded, task),
        )

    def upscale(self, picture: Image.Image, factor: int, task: GenerationTask) -> Upscaled | None:
        """`[diffusers] upscaler` run until the picture is at least `factor` times bigger (a ×2 model
        twice for ×4); None without one: the worker's Lanczos."""
        if self._upscaler is None:
            return None
        big = picture
        while big.width < picture.width * factor:
            task.check_stop()
            big = self._upscaler.upscale(big)
        return Upscaled(big, self._upscaler.name)

    def _references(self, pipeline: Any, family: str, task: GenerationTask):
        if self._ip_adapter is None:
            if task.reference_pictures:
                raise InvalidRequest(not_set_up(self.name, "references", "[diffusers.ip_adapter]"))
            return contextlib.nullcontext({})
        return self._ip_adapter.active(pipeline, family, task)

    def _hires(self, task: GenerationTask) -> Generation:
        """Hires fix: the images drawn at half the size, each enlarged to the size asked (Lanczos) and
        drawn again from it with its own seed at `HIRES_STRENGTH`, adding the detail a small draw lacks."""
        loaded = self.model(task.model)
        width, height = sizes.native_size(loaded.native_edge, task.width, task.height, task.aspect)
        small_width, small_height = sizes.hires_first_pass(width, height)
        small = {"width": small_width, "height": small_height, "aspect": None}
        first = self.generate(task.model_copy(update={**small, "hires": False}))
        images = []
        for drawn in first.images:
            enlarged = drawn.image.resize((width, height), Image.Resampling.LANCZOS)
            again = {"init_image": enlarged, "count": 1, "seed": drawn.seed, "strength": HIRES_STRENGTH}
            images.extend(
                self.generate(task.model_copy(update={**again, "hires": False, "aspect": None})).images
            )
        parameters = {**first.parameters, "hires": f"×2 at strength {HIRES_STRENGTH}"}
        return dataclasses.replace(first, images=images, parameters=parameters)

    def _parameters(self, loaded: LoadedModel, task: GenerationTask) -> dict[str, Any]:
        """What A1111 and ComfyUI need to draw it again, for the image's metadata."""
        return {
            "model_hash": loaded.digest,
            "loras": [
                {"name": use.name, "weight": use.weight, "hash": self._loras.digest(use.name)}
                for use in task.loras
            ],
            "sampler": type(loaded.text2image.scheduler).__name__,
            "steps": self._steps(loaded, task),
            "guidance": self._guidance(loaded, task),
            "clip_skip": loaded.spec.clip_skip,
            **(
                {"true_cfg": FLUX_TRUE_CFG}
                if self._negative(loaded, task) and _is_flux(loaded.family)
                else {}
            ),
        }

    @staticmethod
    def _negative(loaded: LoadedModel, task: GenerationTask) -> str | None:
        return ", ".join(part for part in (task.negative, loaded.spec.negative) if part) or None

    def _steps(self, loaded: LoadedModel, task: GenerationTask) -> int:
        return task.steps or loaded.spec.steps or self._config.steps

    def _guidance(self, loaded: LoadedModel, task: GenerationTask) -> float:
        for value in (task.guidance, loaded.spec.guidance):
            if value is not None:
                return value
        return self._config.guidance

    def _batch_or_one_by_one(
        self, loaded: LoadedModel, task: GenerationTask, seeds: list[int], width: int, height: int
    ):
        try:
            return self._render(loaded, task, seeds, width, height)
        except torch.OutOfMemoryError:
            _free_memory()
            if len(seeds) == 1:
                raise InvalidRequest(texts.out_of_memory()) from None
            log.warning(
                "out of GPU memory for a batch of %d at %dx%d; retrying one by one", len(seeds), width, height
            )
        try:
            return [image for seed in seeds for image in self._render(loaded, task, [seed], width, height)]
        except torch.OutOfMemoryError:
            _free_memory()
            raise InvalidRequest(texts.out_of_memory()) from None

    def _render(
        self, loaded: LoadedModel, task: GenerationTask, seeds: list[int], width: int, height: int
    ) -> list[tuple[GeneratedImage, bool]]:
        """Each image with whether the model's safety checker flagged it (it returns those black)."""
        spec = loaded.spec
        triggers = [self._loras.trigger(use.name) for use in task.loras]
        negative = self._negative(loaded, task)
        common = {
            "prompt": ", ".join(part for part in (task.prompt, *triggers) if part),
            "negative_prompt": negative,
            "num_inference_steps": self._steps(loaded, task),
            "guidance_scale": self._guidance(loaded, task),
            "num_images_per_prompt": len(seeds),
            "generator": self._generators(seeds),
            "callback_on_step_end": _stop_between_steps(task),
            **({"clip_skip": spec.clip_skip} if spec.clip_skip else {}),
            # Flux's guidance is distilled: a negative prompt takes real classifier-free guidance.
            **({"true_cfg_scale": FLUX_TRUE_CFG} if negative and _is_flux(loaded.family) else {}),
        }
        pipeline, inputs = pipeline_and_inputs(
            loaded, task, width, height, self._config.strength, self._controlnets
        )
        with self._references(pipeline, loaded.family, task) as references:
            output = pipeline(**inputs, **references, **common)
        task.check_stop()  # an interrupted pipeline returns what it had: that is not a result
        unsafe = getattr(output, "nsfw_content_detected", None) or [False] * len(seeds)
        return [
            (GeneratedImage(image=image, seed=seed), bool(flag))
            for image, seed, flag in zip(output.images, seeds, unsafe, strict=True)
        ]

    def _generators(self, seeds: list[int]) -> list[torch.Generator]:
        device = "cpu" if self._config.cpu_offload or self._device == "mps" else self._device
        return [torch.Generator(device=device).manual_seed(seed) for seed in seeds]


def _native_edge(pipeline: Any) -> int:
    """The pixel edge a pipeline draws by default: its `default_sample_size` (SDXL, SD3, Flux) or
    its UNet's sample size (SD 1.x/2.x), in latents, times the VAE's scale."""
    latent = getattr(pipeline, "default_sample_size", None)
    if latent is None:
        latent = pipeline.unet.config.sample_size
    return int(latent) * int(pipeline.vae_scale_factor)


def _is_flux(family: str) -> bool:
    return family.startswith("flux")


def _family_size(family: str, width: int, height: int) -> tuple[int, int]:
    """The asked size on the family's grid: multiples of 16 for SD3 and Flux (their latents are
    packed 2x2), of 8 for the UNet families."""
    step = 16 if family.startswith(("sd3", "flux")) else 8  # sd3, sd35_*, flux-*
    return max(step, (width + step // 2) // step * step), max(step, (height + step // 2) // step * step)


def _stop_between_steps(task: GenerationTask):
    """diffusers' step callback: once the member cancels, the pipeline's own `_interrupt` makes it
    skip its remaining steps."""

    def on_step_end(pipe, step: int, timestep, outputs: dict) -> dict:
        if task.stop_requested is not None and task.stop_requested():
            pipe._interrupt = True
        return outputs

    return on_step_end


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype(setting: str, device: str) -> torch.dtype:
    if setting != "auto":
        return DTYPES[setting]
    return torch.float16 if device == "cuda" else torch.float32


def _where(name: str) -> str:
    return f"[diffusers.models.{name}]"


def _free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
