"""The diffusers backend's texts for members."""

from __future__ import annotations


def lora_unusable(lora: str, model: str) -> str:
    return (
        f"The LoRA {lora} could not be loaded into {model} (a missing file or one made for another "
        "model); nothing was charged. Try another LoRA."
    )


def out_of_memory() -> str:
    return (
        "This request needs more GPU memory than the worker has free, so your quota was not charged. "
        "Try a smaller size or fewer images."
    )


def safety_checker_withheld(numbers: list[int]) -> str:
    which = ", ".join(str(n) for n in numbers)
    if len(numbers) == 1:
        return f"Image {which} withheld: the model's safety checker flagged it."
    return f"Images {which} withheld: the model's safety checker flagged them."


def no_ip_adapter_for(family: str) -> str:
    return (
        f"This model ({family}) takes no IP-Adapter here, so reference pictures (--sref, --cref) cannot "
        "be used with it; nothing was charged. Pick a Stable Diffusion 1.x or XL model."
    )


def ip_adapter_does_not_fit(family: str, detail: str) -> str:
    return (
        f"The IP-Adapter this bot has does not fit this model ({family}: {detail}), so reference "
        "pictures cannot be used with it; nothing was charged. Pick another model."
    )


def no_controlnet(kind: str, configured: list[str]) -> str:
    offered = ", ".join(configured) or "none"
    return (
        f"This bot has no {kind} ControlNet, so --control {kind} cannot be used here; nothing was "
        f"charged. Offered: {offered} (the operator adds one in [diffusers.controlnet])."
    )


def no_controlnet_for(family: str, detail: str) -> str:
    return (
        f"This model ({family}) cannot draw with a ControlNet here ({detail}); nothing was charged. "
        "Pick another model or leave --control out."
    )
