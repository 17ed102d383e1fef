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
