"""A request's own faults: what was typed that cannot be drawn, and buttons or payloads we cannot read."""

from __future__ import annotations

from collections.abc import Iterable


def empty_prompt() -> str:
    return "Your prompt is empty: describe the image you want, e.g. “a fox in the snow at dusk”."


def too_long(what: str, length: int, limit: int) -> str:
    return f"Your {what} is {length:,} characters long; the limit is {limit:,}. Please shorten it."


def control_characters(what: str, char: str) -> str:
    return f"Your {what} contains a control character (U+{ord(char):04X}); please remove it."


def not_a_number(what: str, value: str) -> str:
    return f"The {what} must be a whole number, not “{value[:40]}”."


def out_of_range(what: str, value: int, low: int, high: int) -> str:
    return f"The {what} must be between {low} and {high:,} (you asked for {value:,})."


def bad_size(text: str) -> str:
    return (
        f"“{text[:40]}” is not a size I can draw: use WIDTHxHEIGHT, each side a multiple of 8 "
        "from 64 to 2048, e.g. 1024x768."
    )


def bad_aspect(text: str, names: Iterable[str]) -> str:
    return (
        f"“{text[:40]}” is not an aspect I know: use {', '.join(names)}, "
        "or a ratio between 1:4 and 4:1 such as 16:9."
    )


def unsupported_ratio(model: str, low: str, high: str) -> str:
    return (
        f"The model {model} draws aspect ratios from {low} to {high}; please pick a size within that range."
    )


def size_and_aspect() -> str:
    return "Give either a size or an aspect ratio, not both."


def unknown_choice(what: str, value: str, choices: Iterable[str]) -> str:
    return f"There is no {what} called “{value[:40]}”. Choose one of: {', '.join(choices)}."


def no_model_choice(backend: str) -> str:
    return f"Models can't be picked here: the {backend} backend draws with the model its operator set up."


def no_seeds(backend: str) -> str:
    return f"The {backend} backend picks its own seed, so --seed cannot be chosen there. Leave it out."


def no_loras(backend: str) -> str:
    return f"LoRAs can't be added here: the {backend} backend has none configured."


def too_many_loras(given: int, limit: int) -> str:
    return f"{given} LoRAs is more than one image may use (at most {limit})."


def lora_given_twice(name: str) -> str:
    return f"The LoRA {name} is given twice; give it once, with one weight."


def bad_lora_weight(text: str) -> str:
    return f"“{text[:20]}” is not a LoRA weight: give a number from -4 to 4, e.g. --lora NAME:0.8."


def lora_does_not_fit(lora: str, families: list[str], model: str, family: str) -> str:
    return (
        f"The LoRA {lora} is made for {', '.join(families)} models; {model} is {family}. "
        "Pick another model or LoRA."
    )


def nsfw_only(what: str, name: str) -> str:
    return f"The {what} {name} is only offered in channels marked NSFW."


def model_not_served(model: str, served: Iterable[str]) -> str:
    listed = ", ".join(served) or "none right now"
    return f"No worker serves the model {model}, so it cannot be drawn now. Models being served: {listed}."


def model_did_not_load(model: str, served: Iterable[str]) -> str:
    listed = ", ".join(served) or "none right now"
    return (
        f"The model {model} could not be loaded on the image workers, so it cannot be drawn now (the "
        f"operator's worker log says why). Models being served: {listed}. Nothing was charged."
    )


def channel_not_allowed() -> str:
    return "Image generation isn't enabled in this channel. Ask an admin which channels it works in."


def stale_button() -> str:
    return "This button no longer works — run /imagine again."


def stale_command() -> str:
    return "This command is not one I know (any more) — run /imagine again."


def unreadable_option() -> str:
    return "One of this command's options could not be read — run /imagine again."


def unreadable_request(fault: str) -> str:
    """A request whose shape is its own fault (a client bug, an old client, a forged body)."""
    return f"This request could not be read: {fault}. Nothing was done — try the command again."


def prompt_tag_refused(tag: str, allowed: list[str]) -> str:
    offered = f" (allowed here: {', '.join(f'<{name}>' for name in allowed)})" if allowed else ""
    return (
        f"Your prompt asks the image server for {tag[:60]}, which is not open to members{offered}. "
        "Remove it and try again; nothing was charged."
    )


def internal_error() -> str:
    return "Something went wrong on my side and the request was not taken; please try again."


def strength_range(value: float) -> str:
    return f"--strength is how far to move from your picture, from 0 (not at all) to 1; {value:g} is outside."


def backend_draws_from_words(backend: str) -> str:
    return (
        f"The {backend} backend draws from words only; it cannot start from a picture. Nothing was charged."
    )


def already_submitted() -> str:
    return "That request was already received; its images will arrive once."


def one_canvas_edit(flags: list[str]) -> str:
    return f"{' and '.join(flags)} each make a new canvas: give one at a time."


def no_canvas_edits(backend: str, flag: str) -> str:
    return f"The {backend} backend cannot draw around a picture, so {flag} is not offered there."


def canvas_edit_needs_picture(flag: str) -> str:
    return (
        f"{flag} extends a picture: use it in a reply in an image's thread, or give the picture "
        "(attach it; --image on the command line)."
    )


def no_region_edits(backend: str) -> str:
    return f"The {backend} backend cannot repaint part of a picture, so a mask is not offered there."


def mask_needs_one_picture(given: int) -> str:
    return f"A mask says what to repaint in one picture; this request has {given}. Give one picture with it."
