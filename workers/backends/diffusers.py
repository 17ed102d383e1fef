"""Self-hosted Stable Diffusion-family models through diffusers, loaded once per worker process.

Text-to-image and image-to-image share one set of weights (AutoPipelineForImage2Image.from_pipe).
Each image has its own seeded generator, so an image of a batch can be reproduced on its own.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

import diffusers
import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image
from PIL import Image

from shared import messages, sizes
from shared.config import DiffusersConfig
from shared.errors import ConfigError, InvalidRequest
from shared.settings import Settings
from workers.backends.base import GeneratedImage, Generation, GenerationTask

log = logging.getLogger(__name__)
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


class DiffusersBackend:
    name = "diffusers"
    supports_edit = True
    several_images = False

    def __init__(self, settings: Settings) -> None:
        if not settings.diffusers_model:
            raise ConfigError(
                "IMAGINE_DIFFUSERS_MODEL is not set: give a hub id such as "
                "stable-diffusion-v1-5/stable-diffusion-v1-5, or a local folder saved with save_pretrained"
            )
        self._config: DiffusersConfig = settings.config.diffusers
        self._device = _device(self._config.device)
        self._dtype = _dtype(self._config.dtype, self._device)
        started = time.monotonic()
        self._text2image = self._load(settings.diffusers_model)
        self._image2image = AutoPipelineForImage2Image.from_pipe(self._text2image)  # same weights, no copy
        self.model_name = _display_name(settings.diffusers_model)
        self.native_edge = self._text2image.unet.config.sample_size * self._text2image.vae_scale_factor
        if self._config.warmup:
            self._warm_up()
        log.info(
            "loaded diffusers pipeline %s on %s (%s, native %dpx) in %.1f s",
            self.model_name,
            self._device,
            str(self._dtype).removeprefix("torch."),
            self.native_edge,
            time.monotonic() - started,
        )

    def _load(self, model: str):
        local = Path(model).expanduser().is_dir()
        # The model's own safety checker only when asked for: it costs memory, and unasked it would
        # blacken images with no word to the member.
        checker = (
            {} if self._config.safety_checker else {"safety_checker": None, "requires_safety_checker": False}
        )
        try:
            pipeline = AutoPipelineForText2Image.from_pretrained(
                str(Path(model).expanduser()) if local else model,
                dtype=self._dtype,
                local_files_only=local,
                **checker,
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"IMAGINE_DIFFUSERS_MODEL={model}: cannot load a diffusers pipeline ({exc})"
            ) from None
        if self._config.safety_checker and getattr(pipeline, "safety_checker", None) is None:
            raise ConfigError(
                f"[diffusers] safety_checker = true, but {model} has no safety_checker component: use a "
                "model that ships one (Stable Diffusion 1.x/2.x do), or check generated images with "
                "OPENAI_API_KEY instead"
            )
        if self._config.scheduler:
            scheduler_class = getattr(diffusers, self._config.scheduler, None)
            if scheduler_class is None:
                raise ConfigError(
                    f"[diffusers] scheduler = {self._config.scheduler!r} is not a diffusers scheduler"
                )
            pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
        if self._config.cpu_offload and self._device == "cuda":
            pipeline.enable_model_cpu_offload()
        else:
            pipeline.to(self._device)
        if self._config.attention_slicing:
            pipeline.enable_attention_slicing()
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _warm_up(self) -> None:
        """One small step through every part, so the first user's job does not pay for kernel set-up."""
        edge = max(64, self.native_edge // 4)
        self._text2image(
            "warm-up", width=edge, height=edge, num_inference_steps=1, generator=self._generators([0])
        )

    def generate(self, task: GenerationTask) -> Generation:
        width, height = sizes.native_size(self.native_edge, task.width, task.height, task.aspect)
        base_seed = task.seed if task.seed is not None else secrets.randbelow(2**32)
        seeds = [(base_seed + i) % 2**32 for i in range(task.count)]
        images: list[GeneratedImage] = []
        flagged: list[int] = []
        for start in range(0, len(seeds), self._config.max_batch):
            batch = seeds[start : start + self._config.max_batch]
            for offset, (image, unsafe) in enumerate(self._batch_or_one_by_one(task, batch, width, height)):
                if unsafe:
                    flagged.append(start + offset + 1)
                else:
                    images.append(image)
        notes = [messages.safety_checker_withheld(flagged)] if flagged and images else []
        return Generation(images=images, model=self.model_name, notes=notes, withheld=len(flagged))

    def _batch_or_one_by_one(self, task: GenerationTask, seeds: list[int], width: int, height: int):
        try:
            return self._render(task, seeds, width, height)
        except torch.OutOfMemoryError:
            _free_memory()
            if len(seeds) == 1:
                raise InvalidRequest(messages.out_of_memory()) from None
            log.warning(
                "out of GPU memory for a batch of %d at %dx%d; retrying one by one", len(seeds), width, height
            )
        try:
            return [image for seed in seeds for image in self._render(task, [seed], width, height)]
        except torch.OutOfMemoryError:
            _free_memory()
            raise InvalidRequest(messages.out_of_memory()) from None

    def _render(
        self, task: GenerationTask, seeds: list[int], width: int, height: int
    ) -> list[tuple[GeneratedImage, bool]]:
        """Each image with whether the model's safety checker flagged it (it returns those black)."""
        common = {
            "prompt": task.prompt,
            "negative_prompt": task.negative,
            "num_inference_steps": task.steps or self._config.steps,
            "guidance_scale": task.guidance if task.guidance is not None else self._config.guidance,
            "num_images_per_prompt": len(seeds),
            "generator": self._generators(seeds),
            "callback_on_step_end": _stop_between_steps(task),
        }
        if task.init_image is not None:
            source = task.init_image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
            strength = task.strength if task.strength is not None else self._config.strength
            output = self._image2image(image=source, strength=strength, **common)
        else:
            output = self._text2image(width=width, height=height, **common)
        task.check_stop()  # an interrupted pipeline returns what it had: that is not a result
        unsafe = getattr(output, "nsfw_content_detected", None) or [False] * len(seeds)
        return [
            (GeneratedImage(image=image, seed=seed), bool(flag))
            for image, seed, flag in zip(output.images, seeds, unsafe, strict=True)
        ]

    def _generators(self, seeds: list[int]) -> list[torch.Generator]:
        device = "cpu" if self._config.cpu_offload or self._device == "mps" else self._device
        return [torch.Generator(device=device).manual_seed(seed) for seed in seeds]


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


def _display_name(model: str) -> str:
    path = Path(model).expanduser()
    return path.name if path.is_dir() else model


def _free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
