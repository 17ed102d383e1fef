"""LoRAs on a diffusers worker: loaded once per model through diffusers' adapter API (one adapter
per LoRA name, kept), switched on with the job's weights, and switched off again when the job ends,
so one member's LoRA never reaches the next member's image."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis import Redis

from shared import messages
from shared.drawing.request import LoraUse
from shared.errors import InvalidRequest
from workers.backends.diffusers import texts
from workers.backends.diffusers.config import DiffusersConfig
from workers.backends.diffusers.models import file_hash

log = logging.getLogger(__name__)


class LoraAdapters:
    def __init__(self, config: DiffusersConfig, cache: Redis | None) -> None:
        self._config = config
        self._cache = cache
        self._digests: dict[str, str] = {}

    def trigger(self, name: str) -> str:
        lora = self._config.loras.get(name)
        return lora.trigger.strip() if lora is not None else ""

    def digest(self, name: str) -> str | None:
        """The LoRA file's short hash, for the image's parameters (computed once)."""
        if name not in self._digests:
            file = Path(self._config.loras[name].file).expanduser()
            self._digests[name] = file_hash(file, self._cache) if file.is_file() else ""
        return self._digests[name] or None

    @contextmanager
    def active(self, loaded: Any, uses: tuple[LoraUse, ...]) -> Iterator[None]:
        """The job's LoRAs on `loaded` (a LoadedModel) at their weights while the block runs; none after."""
        if not uses:
            yield
            return
        pipeline = loaded.text2image
        try:
            for use in uses:
                if use.name not in loaded.adapters:
                    self._load(loaded, use.name)  # a new adapter is active at once
            pipeline.enable_lora()
            pipeline.set_adapters([use.name for use in uses], adapter_weights=[use.weight for use in uses])
            yield
        finally:
            if loaded.adapters:  # also when a second LoRA failed to load after a first was switched on
                pipeline.disable_lora()  # the adapters stay loaded for the next job that names them

    def _load(self, loaded: Any, name: str) -> None:
        lora = self._config.loras.get(name)
        if lora is None:
            raise InvalidRequest(messages.unknown_choice("LoRA", name, sorted(self._config.loras)))
        if lora.families and loaded.family not in lora.families:
            raise InvalidRequest(messages.lora_does_not_fit(name, lora.families, loaded.name, loaded.family))
        file = Path(lora.file).expanduser()
        try:
            loaded.text2image.load_lora_weights(str(file), adapter_name=name)
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            log.warning("LoRA %s (%s) does not load into %s: %s", name, file, loaded.name, exc)
            _forget(loaded.text2image, name)
            raise InvalidRequest(texts.lora_unusable(name, loaded.name)) from None
        if not _present(loaded.text2image, name):  # diffusers only warns when no key fits the model
            log.warning(
                "LoRA %s (%s) has no weights that fit %s (%s)", name, file, loaded.name, loaded.family
            )
            _forget(loaded.text2image, name)
            raise InvalidRequest(texts.lora_unusable(name, loaded.name))
        loaded.adapters.add(name)
        log.info("loaded LoRA %s into %s", name, loaded.name)


def _present(pipeline: Any, name: str) -> bool:
    """Whether an adapter of that name went into any of the pipeline's models."""
    try:
        adapters = pipeline.get_list_adapters()
    except (ValueError, AttributeError):
        return False
    return any(name in names for names in adapters.values())


def _forget(pipeline: Any, name: str) -> None:
    """A half-loaded adapter must not linger in the model."""
    try:
        pipeline.delete_adapters([name])
    except (ValueError, KeyError, AttributeError):
        pass
