"""LoRAs on an image, as members type them (`--lora NAME[:WEIGHT]`, repeated or comma-separated) and
as the backend with LoRAs configures them ([diffusers.loras]): names, weights, how many, and the model
families each fits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared import messages
from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.errors import InvalidRequest


class LoraUse(BaseModel):
    """A LoRA on an image, by its configured name, at a weight."""

    model_config = ConfigDict(frozen=True)

    name: str
    weight: float


def checked_loras(given: str | tuple[str, ...], config: AppConfig, backend: str) -> tuple[LoraUse, ...]:
    """`name`, `name:0.8`, repeated or comma-separated; an empty value (or "none") clears them."""
    values = (given,) if isinstance(given, str) else given
    items = [item.strip() for value in values for item in value.split(",")]
    items = [item for item in items if item and item.lower() != "none"]
    configured = config.diffusers.loras
    if len(items) > config.diffusers.max_loras:
        raise InvalidRequest(messages.too_many_loras(len(items), config.diffusers.max_loras))
    uses: list[LoraUse] = []
    for item in items:
        name, _, weight_text = item.partition(":")
        name = name.strip()
        spec = BACKENDS.get(backend)
        if spec is None or not spec.loras(config):
            raise InvalidRequest(messages.no_loras(backend))
        if name not in configured:
            raise InvalidRequest(messages.unknown_choice("LoRA", name, sorted(configured)))
        if any(use.name == name for use in uses):
            raise InvalidRequest(messages.lora_given_twice(name))
        try:
            weight = float(weight_text) if weight_text.strip() else configured[name].weight
        except ValueError:
            raise InvalidRequest(messages.bad_lora_weight(weight_text)) from None
        if not -4 <= weight <= 4:
            raise InvalidRequest(messages.bad_lora_weight(weight_text))
        uses.append(LoraUse(name=name, weight=weight))
    return tuple(uses)


def check_lora_families(loras: tuple[LoraUse, ...], model: str, config: AppConfig) -> None:
    """A LoRA made for another model family is refused before anything is queued, where the model's
    family is declared ([diffusers.models.NAME] family); otherwise the worker refuses it, refunded."""
    spec = config.diffusers.models.get(model)
    for use in loras:
        lora = config.diffusers.loras.get(use.name)
        if lora is None:  # kept by a thread from before the operator removed it
            raise InvalidRequest(messages.unknown_choice("LoRA", use.name, sorted(config.diffusers.loras)))
        if spec is not None and spec.family and lora.families and spec.family not in lora.families:
            raise InvalidRequest(messages.lora_does_not_fit(use.name, lora.families, model, spec.family))
